// Package cli parses regdrift's command line and wires the engine, the store and the server.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/registry"
)

// Config is everything a command needs, read from flags with environment fallbacks.
type Config struct {
	Primary, Secondary registry.Config
	Repos              []string
	Concurrency        int
	Deep               bool
	DBPath             string
	Format             string
	Execute            bool
	NoDelete           bool
	AllowMassDelete    bool
	DeleteLimits       regdrift.DeleteLimits
	Listen             string
	LogLevel           slog.Level
	LogFormat          string
}

// repoList is a repeatable --repo flag.
type repoList []string

func (r *repoList) String() string     { return strings.Join(*r, ",") }
func (r *repoList) Set(v string) error { *r = append(*r, v); return nil }

// flags registers the flags of cmd on fs, defaults taken from the environment.
func (c *Config) flags(fs *flag.FlagSet, cmd string, getenv func(string) string) {
	fs.StringVar(&c.Primary.URL, "primary", getenv("REGDRIFT_PRIMARY"),
		"primary registry URL: http://host:port for plain HTTP, https://host or host for TLS "+
			"(env REGDRIFT_PRIMARY)")
	fs.StringVar(&c.Secondary.URL, "secondary", getenv("REGDRIFT_SECONDARY"),
		"secondary registry URL (env REGDRIFT_SECONDARY)")
	fs.Var((*repoList)(&c.Repos), "repo",
		"repository to check, repeatable; default: every repository in both catalogs")
	fs.IntVar(&c.Concurrency, "concurrency", 8, "requests in flight per registry")
	fs.BoolVar(&c.Deep, "deep", false,
		"check that the secondary holds every child manifest and blob behind matching digests")
	fs.StringVar(&c.DBPath, "db", envOr(getenv, "REGDRIFT_DB", "regdrift.db"),
		"SQLite database file (env REGDRIFT_DB)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.TextVar(&c.LogLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn, error")
	d := regdrift.DefaultDeleteLimits()
	fs.Float64Var(&c.DeleteLimits.RepoShare, "guard-repo-share", d.RepoShare,
		"deletion guard: a repository where a run would delete more than this share of its "+
			"tags on the secondary, and more than --guard-repo-min, deletes nothing")
	fs.IntVar(&c.DeleteLimits.RepoMin, "guard-repo-min", d.RepoMin,
		"deletion guard: the number of deletions in a repository that may pass as routine")
	fs.IntVar(&c.DeleteLimits.RunMax, "guard-run-max", d.RunMax,
		"deletion guard: a run that would delete more tags than this deletes none")
	switch cmd {
	case "check", "reconcile":
		fs.StringVar(&c.Format, "format", "table", "output: table or json")
		fs.BoolVar(&c.NoDelete, "no-delete", false, "keep orphan tags on the secondary")
		fs.BoolVar(&c.AllowMassDelete, "allow-mass-delete", false,
			"turn the deletion guard off for this run")
	case "serve":
		fs.StringVar(&c.Listen, "listen", envOr(getenv, "REGDRIFT_LISTEN", "127.0.0.1:8080"),
			"address to listen on (env REGDRIFT_LISTEN)")
	}
	if cmd == "reconcile" {
		fs.BoolVar(&c.Execute, "execute", false,
			"carry the plan out; without it the reconcile is a dry run")
	}
	// Secrets come from the environment only: flags show up in process listings.
	c.Primary.Username = getenv("REGDRIFT_PRIMARY_USERNAME")
	c.Primary.Password = getenv("REGDRIFT_PRIMARY_PASSWORD")
	c.Secondary.Username = getenv("REGDRIFT_SECONDARY_USERNAME")
	c.Secondary.Password = getenv("REGDRIFT_SECONDARY_PASSWORD")
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func endpoint(flagName, env, url string) (registry.Endpoint, error) {
	if url == "" {
		return registry.Endpoint{}, fmt.Errorf("%s (or %s) is required", flagName, env)
	}
	e, err := registry.ParseEndpoint(url)
	if err != nil {
		return e, fmt.Errorf("%s: %w", flagName, err)
	}
	return e, nil
}

// Validate checks the configuration as a whole.
func (c *Config) Validate() error {
	var errs []error
	pe, perr := endpoint("--primary", "REGDRIFT_PRIMARY", c.Primary.URL)
	se, serr := endpoint("--secondary", "REGDRIFT_SECONDARY", c.Secondary.URL)
	errs = append(errs, perr, serr)
	if perr == nil && serr == nil && pe.Same(se) {
		errs = append(errs, fmt.Errorf("--primary %s and --secondary %s name the same registry",
			pe.URL, se.URL))
	}
	for _, r := range c.Repos {
		if err := regdrift.ValidateRepoName(r); err != nil {
			errs = append(errs, fmt.Errorf("--repo: %w", err))
		}
	}
	if c.Concurrency < 1 || c.Concurrency > 256 {
		errs = append(errs, fmt.Errorf("--concurrency %d: want 1 to 256", c.Concurrency))
	}
	if c.Format != "" && c.Format != "table" && c.Format != "json" {
		errs = append(errs, fmt.Errorf("--format %q: want table or json", c.Format))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if err := c.DeleteLimits.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--guard-*: %w", err))
	}
	if c.DBPath == "" {
		errs = append(errs, errors.New("--db must name a file"))
	}
	return errors.Join(errs...)
}
