// Command regdrift-demo shows regdrift on real drift with nothing installed: it starts two
// CNCF Distribution 2.8 registries in-process, fills them with the demo drift (a stale index
// whose old children are gone, children without mediaType, a Docker list replaced by one of
// its children, orphans, a repository only on the secondary, one with many tags, and broken
// content behind matching digests), records a first check and serves the dashboard.
//
// The registries live in this binary only; the regdrift binary does not link them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/regdrift/regdrift/cmd/internal/cli"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx)
	stop()
	os.Exit(code)
}

func run(ctx context.Context) int {
	listen := flag.String("listen", "127.0.0.1:8080", "address of the dashboard")
	dbPath := flag.String("db", "",
		"SQLite file (default: a temporary one, removed when the demo stops)")
	flag.Parse()

	// Fail before any work when the dashboard's address is taken.
	if err := checkFree(*listen); err != nil {
		fmt.Fprintf(os.Stderr, "regdrift-demo: %v (choose another with --listen)\n", err)
		return 2
	}
	if *dbPath == "" {
		dir, err := os.MkdirTemp("", "regdrift-demo-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "regdrift-demo: %v\n", err)
			return 2
		}
		defer cleanup("remove the demo database", func() error { return os.RemoveAll(dir) })
		*dbPath = filepath.Join(dir, "regdrift.db")
	}
	primary, secondary, err := startRegistries(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "regdrift-demo: %v\n", err)
		return 2
	}
	defer cleanup("stop the primary", primary.Close)
	defer cleanup("stop the secondary", secondary.Close)

	fmt.Printf("primary registry:   %s\nsecondary registry: %s\ndatabase:           %s\n\n",
		primary.URL, secondary.URL, *dbPath)
	common := []string{"--primary", primary.URL, "--secondary", secondary.URL, "--db", *dbPath}

	// A first check, so the dashboard opens on the drift. Its exit code is 1 (drift found) or
	// 2; either way the dashboard is what the demo is for.
	fmt.Println("first check (regdrift check --deep):")
	cli.Main(ctx, append([]string{"check", "--deep", "--log-level", "warn"}, common...),
		os.Getenv, os.Stdout, os.Stderr)
	fmt.Println()
	fmt.Println("Try: the dashboard below; or, in another shell:")
	fmt.Printf("  curl -s -X POST http://%s/api/v1/runs -d '{\"mode\":\"dry_run\"}'\n", *listen)
	fmt.Printf("  go run ./cmd/regdrift reconcile --primary %s --secondary %s --db %s\n\n",
		primary.URL, secondary.URL, *dbPath)
	return cli.Main(ctx, append([]string{"serve", "--listen", *listen}, common...),
		os.Getenv, os.Stdout, os.Stderr)
}

// cleanup runs fn and reports a failure: the demo is ending, so there is nothing else to do.
func cleanup(what string, fn func() error) {
	if err := fn(); err != nil {
		fmt.Fprintf(os.Stderr, "regdrift-demo: %s: %v\n", what, err)
	}
}

// checkFree reports whether addr can be listened on now.
func checkFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ln.Close()
}

// startRegistries starts the primary and the secondary and fills them with the demo drift.
func startRegistries(ctx context.Context) (primary, secondary *dist2.Registry, err error) {
	primary, err = dist2.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("start primary: %w", err)
	}
	secondary, err = dist2.Start()
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("start secondary: %w", err), primary.Close())
	}
	if _, err := regtest.Demo(ctx, primary.Host, secondary.Host); err != nil {
		return nil, nil, errors.Join(fmt.Errorf("fill demo registries: %w", err),
			primary.Close(), secondary.Close())
	}
	return primary, secondary, nil
}
