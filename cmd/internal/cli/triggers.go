package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/server"
	"github.com/regdrift/regdrift/sync/registry"
)

// Triggers configures what starts runs on a server besides the API and the dashboard: the
// registry and CI webhooks and the schedules, and how long a stopping server lets runs drain.
type Triggers struct {
	// WebhookSecret and CISecret come from the environment or from a file named there, never
	// from a flag: flags show up in process listings.
	WebhookSecret string
	CISecret      string
	// WebhookMode is the mode of the runs registry notifications start.
	WebhookMode regdrift.Mode
	// CheckInterval and ExecuteInterval queue a dry run or an execute of every repository that
	// often; zero turns them off.
	CheckInterval   time.Duration
	ExecuteInterval time.Duration
	// DrainTimeout bounds how long a stopping server waits for runs to finish the
	// repositories they are working on.
	DrainTimeout time.Duration

	webhookSecretFile, ciSecretFile string
}

// Environment variables of the webhook secrets; NAME_FILE names a file that holds it.
const (
	envWebhookSecret = "REGDRIFT_WEBHOOK_SECRET"
	envCISecret      = "REGDRIFT_CI_SECRET"
)

func (t *Triggers) flags(fs *flag.FlagSet, getenv func(string) string) {
	t.WebhookMode = regdrift.Mode(envOr(getenv, "REGDRIFT_WEBHOOK_MODE",
		string(regdrift.ModeDryRun)))
	fs.Func("webhook-mode", "runs of registry notifications: dry_run or execute "+
		"(env REGDRIFT_WEBHOOK_MODE; default dry_run)", func(v string) error {
		t.WebhookMode = regdrift.Mode(v)
		return nil
	})
	fs.DurationVar(&t.CheckInterval, "check-interval", envDuration(getenv,
		"REGDRIFT_CHECK_INTERVAL"), "queue a dry run of every repository this often, "+
		"such as 15m; 0 is off (env REGDRIFT_CHECK_INTERVAL)")
	fs.DurationVar(&t.ExecuteInterval, "execute-interval", envDuration(getenv,
		"REGDRIFT_EXECUTE_INTERVAL"), "queue an execute of every repository this often; "+
		"0 is off (env REGDRIFT_EXECUTE_INTERVAL)")
	fs.DurationVar(&t.DrainTimeout, "drain-timeout", 30*time.Second,
		"on SIGTERM, how long runs may take to finish the repositories they are working on")
	t.WebhookSecret, t.webhookSecretFile = getenv(envWebhookSecret),
		getenv(envWebhookSecret+"_FILE")
	t.CISecret, t.ciSecretFile = getenv(envCISecret), getenv(envCISecret+"_FILE")
}

// envDuration reads a duration from the environment; a malformed one is left for the flag
// package to refuse, as if given on the command line.
func envDuration(getenv func(string) string, key string) time.Duration {
	d, err := time.ParseDuration(getenv(key))
	if err != nil {
		return 0
	}
	return d
}

func (t *Triggers) validate() error {
	var errs []error
	if !t.WebhookMode.Valid() {
		errs = append(errs, fmt.Errorf("--webhook-mode %q: want dry_run or execute",
			t.WebhookMode))
	}
	if t.CheckInterval < 0 || t.ExecuteInterval < 0 {
		errs = append(errs, errors.New("--check-interval and --execute-interval must not be "+
			"negative"))
	}
	if t.DrainTimeout <= 0 {
		errs = append(errs, errors.New("--drain-timeout must be positive"))
	}
	var err error
	if t.WebhookSecret, err = secret(envWebhookSecret, t.WebhookSecret,
		t.webhookSecretFile); err != nil {
		errs = append(errs, err)
	}
	if t.CISecret, err = secret(envCISecret, t.CISecret, t.ciSecretFile); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// secret returns the value of env, or the content of the file env_FILE names, without its
// trailing newline. Setting both is a mistake worth refusing: which one wins is a guess.
func secret(env, value, file string) (string, error) {
	switch {
	case file == "":
		return value, nil
	case value != "":
		return "", fmt.Errorf("set %s or %s_FILE, not both", env, env)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", env, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s_FILE: %s is empty", env, file)
	}
	return s, nil
}

// webhooks is the server's webhook configuration. Events count for the two registries only.
func (t *Triggers) webhooks(cfg Config, primary, secondary registry.Endpoint) server.Webhooks {
	return server.Webhooks{
		RegistrySecret: t.WebhookSecret, CISecret: t.CISecret, Mode: t.WebhookMode,
		Deep: cfg.Deep, Repositories: cfg.Repos, Hosts: []string{primary.Host, secondary.Host},
	}
}
