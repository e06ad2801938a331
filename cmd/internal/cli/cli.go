package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/db"
	"github.com/regdrift/regdrift/sync/reconcile"
	"github.com/regdrift/regdrift/sync/registry"
)

// Exit codes, as diff(1) has them.
const (
	exitClean = 0
	exitDrift = 1
	exitError = 2
)

const usage = `regdrift finds and repairs drift between a primary registry and its secondary.

Usage:
  regdrift check     [flags]   report drift; changes nothing
  regdrift reconcile [flags]   plan a reconcile; with --execute, carry it out and verify
  regdrift serve     [flags]   serve the dashboard and the REST API
  regdrift token               print a new random API token and its SHA-256

Exit codes of check and reconcile: 0 no drift (after --execute: reconciled and verified),
1 drift found or remaining, 2 errors. Run 'regdrift COMMAND -h' for the flags of a command.
`

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, getenv func(string) string,
	stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitError
		}
		return exitClean
	}
	cmd := args[0]
	if cmd == "token" {
		if err := newToken(stdout); err != nil {
			return exitError
		}
		return exitClean
	}
	if cmd != "check" && cmd != "reconcile" && cmd != "serve" {
		fmt.Fprintf(stderr, "regdrift: unknown command %q\n\n%s", cmd, usage)
		return exitError
	}
	cfg, err := loadConfig(cmd, args[1:], getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitClean
	}
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintf(stderr, "regdrift %s: %v\n", cmd, err)
		}
		return exitError
	}
	log := newLogger(cfg, stderr)
	code := exitClean
	switch cmd {
	case "serve":
		err = serve(ctx, cfg, log, stdout)
	default:
		code, err = check(ctx, cfg, log, stdout)
	}
	if err != nil {
		log.Error("regdrift failed", "command", cmd, "err", err)
		return exitError
	}
	return code
}

// errReported is a failure the flag package has already told the user about.
var errReported = errors.New("reported")

// loadConfig builds the configuration of cmd from defaults, the file that --config (or
// REGDRIFT_CONFIG) names, the environment and the flags in args, each overriding the one
// before. The file's name is looked for before the flags are parsed, since their defaults
// come from it.
func loadConfig(cmd string, args []string, getenv func(string) string,
	stderr io.Writer) (Config, error) {
	cfg := defaults()
	if path := configPath(args, getenv); path != "" {
		if err := cfg.loadFile(path); err != nil {
			return cfg, err
		}
	}
	if err := cfg.applyEnv(getenv); err != nil {
		return cfg, err
	}
	fs := flag.NewFlagSet("regdrift "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.flags(fs, cmd)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, errReported
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, nil
}

// configPath finds the value of --config in args, as the flag package would read it, or
// else REGDRIFT_CONFIG.
func configPath(args []string, getenv func(string) string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name != "config" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return getenv("REGDRIFT_CONFIG")
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// app is the wired product: a store, the two registries and the engine.
type app struct {
	store  *db.DB
	engine *reconcile.Engine
}

// open wires the product. metrics, when set, gets the registries' and the runs' metrics.
func open(ctx context.Context, cfg Config, log *slog.Logger,
	metrics prometheus.Registerer) (*app, error) {
	opts := registry.Options{Logger: log, Concurrency: cfg.Concurrency, DockerCreds: true}
	var runMetrics *reconcile.Metrics
	if metrics != nil {
		opts.Metrics = registry.NewMetrics(metrics)
		runMetrics = reconcile.NewMetrics(metrics)
	}
	pair, err := registry.NewPair(cfg.Primary.registry(), cfg.Secondary.registry(), opts)
	if err != nil {
		return nil, err
	}
	store, err := db.Open(ctx, cfg.DBPath)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", cfg.DBPath, err)
	}
	engine := reconcile.New(reconcile.Config{
		Primary: pair.Primary, Secondary: pair.Secondary, Store: store, Logger: log,
		Concurrency: cfg.Concurrency, DeleteLimits: cfg.deleteLimits(), Metrics: runMetrics,
	})
	return &app{store: store, engine: engine}, nil
}

func (a *app) close(log *slog.Logger) {
	if err := a.store.Close(); err != nil {
		log.Error("close database", "err", err)
	}
}

// check runs check or reconcile in the foreground and prints the report.
func check(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) (int, error) {
	a, err := open(ctx, cfg, log, nil)
	if err != nil {
		return exitError, err
	}
	defer a.close(log)
	run := &regdrift.Run{
		Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerCLI, Scope: cfg.Repos,
		Deep: cfg.Deep, NoDelete: cfg.NoDelete, AllowMassDelete: cfg.AllowMassDelete,
		Status: regdrift.RunQueued,
	}
	if cfg.Execute {
		run.Mode = regdrift.ModeExecute
	}
	if run.Scope == nil {
		run.Scope = []string{}
	}
	if err := a.store.CreateRun(ctx, run); err != nil {
		return exitError, fmt.Errorf("record run: %w", err)
	}
	// The results keep counts; the report reads each repository's rows back from the store.
	results, err := a.engine.RunCounts(ctx, run, nil)
	if err != nil {
		return exitError, err
	}
	rows := func(r *regdrift.RepoResult) ([]regdrift.TagDrift, error) {
		if r.Tags != nil {
			return r.Tags, nil // not recorded: the result kept them
		}
		recorded, _, err := a.store.ListRunTags(ctx, run.ID,
			regdrift.TagFilter{Repository: r.Name})
		if err != nil {
			return nil, err
		}
		tags := make([]regdrift.TagDrift, len(recorded))
		for i, t := range recorded {
			tags[i] = t.TagDrift
		}
		return tags, nil
	}
	rep := newReport(run, a.engine.Primary().URL, a.engine.Secondary().URL, results, rows)
	if cfg.Format == "json" {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeTable(stdout)
	}
	if err != nil {
		return exitError, fmt.Errorf("write report: %w", err)
	}
	return run.Outcome.ExitCode(), nil
}
