// Command regdrift finds and repairs drift between a primary container registry and its
// secondary. See `regdrift help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/regdrift/regdrift/cmd/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
