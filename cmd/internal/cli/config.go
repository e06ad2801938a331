// Package cli parses regdrift's command line and wires the engine, the store and the server.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/registry"
)

// Config is everything a command needs. It comes from four places, each overriding the one
// before: defaults, the YAML file of --config, the environment, and flags. A setting is one
// field here: its yaml tag names it in the file, its env tag in the environment (config_env.go
// applies both by reflection), and a line in flags gives it a flag when it has one.
type Config struct {
	Primary     Registry `yaml:"primary"`
	Secondary   Registry `yaml:"secondary"`
	Repos       []string `yaml:"repositories" env:"REGDRIFT_REPOSITORIES"`
	Concurrency int      `yaml:"concurrency" env:"REGDRIFT_CONCURRENCY"`
	Deep        bool     `yaml:"deep" env:"REGDRIFT_DEEP"`
	DBPath      string   `yaml:"db" env:"REGDRIFT_DB"`
	Format      string   `yaml:"format" env:"REGDRIFT_FORMAT"`
	// Execute is asked for on each invocation, never kept in a file.
	Execute  bool `yaml:"-"`
	NoDelete bool `yaml:"no_delete" env:"REGDRIFT_NO_DELETE"`
	// AllowMassDelete turns the deletion guard off, for one invocation only.
	AllowMassDelete bool `yaml:"-"`
	// The deletion guard's limits (regdrift.DeleteLimits).
	GuardRepoShare float64    `yaml:"guard_repo_share" env:"REGDRIFT_GUARD_REPO_SHARE"`
	GuardRepoMin   int        `yaml:"guard_repo_min" env:"REGDRIFT_GUARD_REPO_MIN"`
	GuardRunMax    int        `yaml:"guard_run_max" env:"REGDRIFT_GUARD_RUN_MAX"`
	Listen         string     `yaml:"listen" env:"REGDRIFT_LISTEN"`
	LogLevel       slog.Level `yaml:"log_level" env:"REGDRIFT_LOG_LEVEL"`
	LogFormat      string     `yaml:"log_format" env:"REGDRIFT_LOG_FORMAT"`

	// Access control of serve (tokens.go). REGDRIFT_TOKENS and REGDRIFT_TOKENS_FILE replace
	// the file's list.
	Tokens []TokenConfig `yaml:"tokens"`
	// InsecureNoAuth lets serve listen beyond loopback without tokens.
	InsecureNoAuth bool `yaml:"insecure_no_auth" env:"REGDRIFT_INSECURE_NO_AUTH"`
	// ExternalURL is the address browsers use, when a proxy in front differs from Listen; an
	// https one makes the session cookie Secure.
	ExternalURL string        `yaml:"external_url" env:"REGDRIFT_EXTERNAL_URL"`
	TLSCert     string        `yaml:"tls_cert_file" env:"REGDRIFT_TLS_CERT_FILE"`
	TLSKey      string        `yaml:"tls_key_file" env:"REGDRIFT_TLS_KEY_FILE"`
	SessionTTL  time.Duration `yaml:"session_ttl" env:"REGDRIFT_SESSION_TTL"`

	// Triggers of serve (triggers.go). The webhooks' secrets are not the API tokens: a
	// registry sends WebhookSecret as a header, CI signs its requests with CISecret.
	WebhookSecret Secret        `yaml:"webhook_secret" env:"REGDRIFT_WEBHOOK_SECRET"`
	CISecret      Secret        `yaml:"ci_secret" env:"REGDRIFT_CI_SECRET"`
	WebhookMode   regdrift.Mode `yaml:"webhook_mode" env:"REGDRIFT_WEBHOOK_MODE"`
	// WebhookSettle holds a notification's run back until its repository has been quiet
	// that long, so that the events of one push make one run.
	WebhookSettle time.Duration `yaml:"webhook_settle" env:"REGDRIFT_WEBHOOK_SETTLE"`
	// WebhookHosts are more names (host[:port]) the registries go by in their events, such
	// as the one clients push to behind a load balancer; the configured hosts always count.
	WebhookHosts []string `yaml:"webhook_hosts" env:"REGDRIFT_WEBHOOK_HOSTS"`
	// CheckInterval and ExecuteInterval queue a dry run or an execute of every repository
	// that often; zero is off.
	CheckInterval   time.Duration `yaml:"check_interval" env:"REGDRIFT_CHECK_INTERVAL"`
	ExecuteInterval time.Duration `yaml:"execute_interval" env:"REGDRIFT_EXECUTE_INTERVAL"`
	// DrainTimeout bounds how long a stopping server lets runs finish their repository.
	DrainTimeout time.Duration `yaml:"drain_timeout" env:"REGDRIFT_DRAIN_TIMEOUT"`

	// ConfigFile is the file the rest came from, if any.
	ConfigFile string `yaml:"-"`
}

// Registry is one registry's address and credentials. Without credentials the docker config
// file and its helpers are asked.
type Registry struct {
	URL      string `yaml:"url"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
}

func (r Registry) registry() registry.Config {
	return registry.Config{URL: r.URL, Username: r.Username, Password: string(r.Password)}
}

// defaults is the configuration before any file, environment or flag.
func defaults() Config {
	d := regdrift.DefaultDeleteLimits()
	return Config{Concurrency: 8, DBPath: "regdrift.db", Listen: "127.0.0.1:8080",
		LogLevel: slog.LevelInfo, LogFormat: "text", SessionTTL: 12 * time.Hour,
		GuardRepoShare: d.RepoShare, GuardRepoMin: d.RepoMin, GuardRunMax: d.RunMax,
		WebhookMode: regdrift.ModeDryRun, WebhookSettle: 2 * time.Second,
		DrainTimeout: 30 * time.Second}
}

// deleteLimits are the deletion guard's limits as configured.
func (c *Config) deleteLimits() regdrift.DeleteLimits {
	return regdrift.DeleteLimits{RepoShare: c.GuardRepoShare, RepoMin: c.GuardRepoMin,
		RunMax: c.GuardRunMax}
}

// repoList is a repeatable --repo flag. The first --repo replaces the list of the file or the
// environment instead of adding to it.
type repoList struct {
	list *[]string
	set  bool
}

func (r *repoList) String() string {
	if r.list == nil {
		return ""
	}
	return strings.Join(*r.list, ",")
}

func (r *repoList) Set(v string) error {
	if !r.set {
		*r.list, r.set = nil, true
	}
	*r.list = append(*r.list, v)
	return nil
}

// flags registers the flags of cmd on fs. Each flag's default is the value c already holds,
// from defaults, the file and the environment, so that a flag given wins and one left out
// changes nothing.
func (c *Config) flags(fs *flag.FlagSet, cmd string) {
	fs.StringVar(&c.ConfigFile, "config", c.ConfigFile,
		"YAML configuration file (env REGDRIFT_CONFIG); flags and the environment override it")
	fs.StringVar(&c.Primary.URL, "primary", c.Primary.URL,
		"primary registry URL: http://host:port for plain HTTP, https://host or host for TLS "+
			"(env REGDRIFT_PRIMARY)")
	fs.StringVar(&c.Secondary.URL, "secondary", c.Secondary.URL,
		"secondary registry URL (env REGDRIFT_SECONDARY)")
	fs.Var(&repoList{list: &c.Repos}, "repo",
		"repository to check, repeatable; default: every repository in both catalogs")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "requests in flight per registry")
	fs.BoolVar(&c.Deep, "deep", c.Deep,
		"check that the secondary holds every child manifest and blob behind matching digests")
	fs.StringVar(&c.DBPath, "db", c.DBPath, "SQLite database file (env REGDRIFT_DB)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
	fs.TextVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn, error")
	fs.Float64Var(&c.GuardRepoShare, "guard-repo-share", c.GuardRepoShare,
		"deletion guard: a repository where a run would delete more than this share of its "+
			"tags on the secondary, and more than --guard-repo-min, deletes nothing")
	fs.IntVar(&c.GuardRepoMin, "guard-repo-min", c.GuardRepoMin,
		"deletion guard: the number of deletions in a repository that may pass as routine")
	fs.IntVar(&c.GuardRunMax, "guard-run-max", c.GuardRunMax,
		"deletion guard: a run that would delete more tags than this deletes none")
	switch cmd {
	case "check", "reconcile":
		fs.StringVar(&c.Format, "format", orDefault(c.Format, "table"), "output: table or json")
		fs.BoolVar(&c.NoDelete, "no-delete", c.NoDelete, "keep orphan tags on the secondary")
		fs.BoolVar(&c.AllowMassDelete, "allow-mass-delete", false,
			"turn the deletion guard off for this run")
	case "serve":
		fs.StringVar(&c.Listen, "listen", c.Listen, "address to listen on (env REGDRIFT_LISTEN)")
		fs.BoolVar(&c.InsecureNoAuth, "insecure-no-auth", c.InsecureNoAuth,
			"listen beyond loopback although no API token is configured: anyone who reaches "+
				"the address may execute")
		fs.StringVar(&c.ExternalURL, "external-url", c.ExternalURL,
			"URL browsers reach the server at, behind a proxy; https makes cookies Secure")
		fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "serve HTTPS with this certificate file")
		fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "and this key file")
		c.triggerFlags(fs)
	}
	if cmd == "reconcile" {
		fs.BoolVar(&c.Execute, "execute", false,
			"carry the plan out; without it the reconcile is a dry run")
	}
	// Secrets are never flags: flags show up in process listings.
}

func orDefault(v, def string) string {
	if v != "" {
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
	if err := c.deleteLimits().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--guard-*: %w", err))
	}
	if c.DBPath == "" {
		errs = append(errs, errors.New("--db must name a file"))
	}
	if _, err := c.serverTokens(); err != nil {
		errs = append(errs, err)
	}
	if c.ExternalURL != "" {
		if u, err := url.Parse(c.ExternalURL); err != nil || u.Host == "" ||
			(u.Scheme != "http" && u.Scheme != "https") {
			errs = append(errs, fmt.Errorf("--external-url %q: want http(s)://host", c.ExternalURL))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, fmt.Errorf("session_ttl %s: want a minute or more", c.SessionTTL))
	}
	errs = append(errs, c.validateTriggers())
	return errors.Join(errs...)
}

// secureCookies reports whether browsers reach the server over HTTPS.
func (c *Config) secureCookies() bool {
	return c.TLSCert != "" || strings.HasPrefix(c.ExternalURL, "https://")
}
