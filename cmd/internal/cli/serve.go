package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/server"
	"github.com/regdrift/regdrift/sync/reconcile"
)

// shutdownGrace bounds how long a stopping server waits for requests in flight.
const shutdownGrace = 10 * time.Second

// serve runs the dashboard and API until ctx ends (SIGTERM or SIGINT), then drains: run
// requests and webhooks are refused with 503 while runs finish the repositories they are
// working on and are recorded as interrupted, to resume at the next start. Then the HTTP
// server stops and the store closes.
func serve(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	tokens, err := cfg.serverTokens()
	if err != nil {
		return err
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a, err := open(ctx, cfg, log, metrics)
	if err != nil {
		return err
	}
	defer a.close(log)
	// Runs that were running when an earlier server died resume from the repositories they
	// had not finished; queued ones simply wait their turn. CLI runs belong to their process.
	n, err := a.store.InterruptRuns(ctx, "interrupted: the server stopped before the run "+
		"finished; it resumes", regdrift.ServerTriggers...)
	if err != nil {
		return fmt.Errorf("mark unfinished runs interrupted: %w", err)
	}
	if n > 0 {
		log.Warn("runs of an earlier server were cut short; they resume", "runs", n)
	}
	runner := reconcile.NewRunner(a.engine, a.store, log)
	defer runner.Close()

	var draining atomic.Bool
	handler := server.New(server.Config{
		Store: a.store, Runs: runner, Logger: log,
		Ready: func(ctx context.Context) error {
			if draining.Load() {
				return errors.New("draining: the server is shutting down")
			}
			_, err := a.store.SchemaVersion(ctx)
			return err
		},
		Primary: a.engine.Primary().URL, Secondary: a.engine.Secondary().URL,
		Webhooks: cfg.webhooks(a.engine.Primary(), a.engine.Secondary()),
		Tokens:   tokens, SecureCookies: cfg.secureCookies(), SessionTTL: cfg.SessionTTL,
		Metrics: metrics,
	})
	ln, err := listen(cfg, len(tokens), log)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	addr := scheme + "://" + ln.Addr().String()
	log.Info("serving", "url", addr, "primary", a.engine.Primary().URL,
		"secondary", a.engine.Secondary().URL, "db", cfg.DBPath, "tokens", len(tokens),
		"registry_webhook", cfg.WebhookSecret != "", "ci_webhook", cfg.CISecret != "",
		"webhook_mode", cfg.WebhookMode, "check_interval", cfg.CheckInterval,
		"execute_interval", cfg.ExecuteInterval)
	fmt.Fprintf(stdout, "regdrift dashboard: %s/\n", addr)

	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	stopSchedules := schedule(ctx, runner, cfg)
	defer stopSchedules()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	draining.Store(true)
	drain(ctx, runner, cfg.DrainTimeout, log)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	log.Info("stopped")
	return nil
}

// drain lets the runs finish the repositories they are working on, within timeout. The HTTP
// server goes on meanwhile: reads are served, new runs are refused with 503, and callers
// waiting for a run get it as interrupted.
func drain(ctx context.Context, runner *reconcile.Runner, timeout time.Duration,
	log *slog.Logger) {
	log.Info("draining: no new runs; running ones finish their current repositories",
		"timeout", timeout)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := runner.Shutdown(dctx); err != nil {
		// Not a failure of the server: the cut-short repositories are done again on resume.
		log.Warn("drain ran out of time", "timeout", timeout, "err", err)
		return
	}
	log.Info("drained")
}

// schedule queues the periodic dry run and execute of cfg until ctx ends or the returned
// function is called.
func schedule(ctx context.Context, runner *reconcile.Runner, cfg Config) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, s := range []struct {
		every time.Duration
		mode  regdrift.Mode
	}{
		{cfg.CheckInterval, regdrift.ModeDryRun},
		{cfg.ExecuteInterval, regdrift.ModeExecute},
	} {
		if s.every <= 0 {
			continue
		}
		ticker := time.NewTicker(s.every)
		wg.Go(func() {
			defer ticker.Stop()
			runner.Schedule(ctx, ticker.C, regdrift.RunRequest{Mode: s.mode,
				Repositories: cfg.Repos, Deep: cfg.Deep})
		})
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// listen opens the server's address. Without tokens anyone who reaches the address may
// execute, so it must be a loopback one unless --insecure-no-auth says otherwise. An address
// that is plainly not loopback (":8080", "0.0.0.0:8080", "10.0.0.5:8080") is refused before
// binding; for a host name, the address the socket got is what is checked.
func listen(cfg Config, tokens int, log *slog.Logger) (net.Listener, error) {
	guard := tokens == 0 && !cfg.InsecureNoAuth
	if guard && !maybeLoopback(cfg.Listen) {
		return nil, exposedError(cfg.Listen)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	if tokens > 0 {
		return ln, nil
	}
	tcp, _ := ln.Addr().(*net.TCPAddr)
	switch {
	case tcp != nil && tcp.IP.IsLoopback():
		log.Warn("access control is off: no API token is configured, so the server listens "+
			"on loopback only and every local user may execute", "listen", ln.Addr().String())
	case !guard:
		log.Warn("access control is off and the server listens beyond loopback "+
			"(--insecure-no-auth): anyone who reaches it may execute", "listen", ln.Addr().String())
	default:
		if err := ln.Close(); err != nil {
			log.Debug("close listener", "err", err)
		}
		return nil, exposedError(cfg.Listen)
	}
	return ln, nil
}

// maybeLoopback reports whether addr could bind to loopback: a loopback IP or a host name.
func maybeLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || ip.IsLoopback()
}

func exposedError(addr string) error {
	return fmt.Errorf("--listen %s is not a loopback address and no API token is configured: "+
		"set tokens (REGDRIFT_TOKENS, REGDRIFT_TOKENS_FILE or tokens in the config file), or "+
		"pass --insecure-no-auth", addr)
}
