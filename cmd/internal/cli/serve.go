package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/server"
	"github.com/regdrift/regdrift/sync/reconcile"
)

// shutdownGrace bounds how long a stopping server waits for requests in flight.
const shutdownGrace = 10 * time.Second

// serve runs the dashboard and API until ctx ends, then stops taking requests, lets runs stop
// between repositories and closes the store.
func serve(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	a, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close(log)
	// Runs this server started and never finished died with an earlier process: say so,
	// rather than show them running forever. CLI runs may belong to a process still alive.
	n, err := a.store.AbandonRuns(ctx, "interrupted: the server stopped before the run finished",
		regdrift.TriggerAPI, regdrift.TriggerUI)
	if err != nil {
		return fmt.Errorf("close unfinished runs: %w", err)
	}
	if n > 0 {
		log.Warn("marked unfinished runs of an earlier server as failed", "runs", n)
	}
	runner := reconcile.NewRunner(a.engine, a.store, log)
	defer runner.Close()

	handler := server.New(server.Config{
		Store: a.store, Runs: runner, Logger: log,
		Ready: func(ctx context.Context) error {
			_, err := a.store.SchemaVersion(ctx)
			return err
		},
		Primary: a.engine.Primary().URL, Secondary: a.engine.Secondary().URL,
	})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	addr := "http://" + ln.Addr().String()
	log.Info("serving", "url", addr, "primary", a.engine.Primary().URL,
		"secondary", a.engine.Secondary().URL, "db", cfg.DBPath)
	fmt.Fprintf(stdout, "regdrift dashboard: %s/\n", addr)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
