package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/server"
	"github.com/regdrift/regdrift/sync/registry"
)

// The triggers of serve besides the API and the dashboard: the registry and CI webhooks and
// the schedules, and how long a stopping server lets runs drain. The webhooks' secrets come
// from the file or the environment (NAME or NAME_FILE), never from a flag.

func (c *Config) triggerFlags(fs *flag.FlagSet) {
	fs.Func("webhook-mode", "runs of registry notifications: dry_run or execute "+
		"(env REGDRIFT_WEBHOOK_MODE; default "+string(c.WebhookMode)+")", func(v string) error {
		c.WebhookMode = regdrift.Mode(v)
		return nil
	})
	fs.DurationVar(&c.WebhookSettle, "webhook-settle", c.WebhookSettle,
		"hold a notification's run until its repository has had no event for this long, "+
			"so one push makes one run; 0 starts at once (env REGDRIFT_WEBHOOK_SETTLE)")
	fs.Var(&repoList{list: &c.WebhookHosts}, "webhook-host", "another host[:port] the "+
		"registries' events may name (the one clients push to), repeatable; the configured "+
		"registries' hosts always count (env REGDRIFT_WEBHOOK_HOSTS)")
	fs.DurationVar(&c.CheckInterval, "check-interval", c.CheckInterval,
		"queue a dry run of every repository this often, such as 15m; 0 is off "+
			"(env REGDRIFT_CHECK_INTERVAL)")
	fs.DurationVar(&c.ExecuteInterval, "execute-interval", c.ExecuteInterval,
		"queue an execute of every repository this often; 0 is off "+
			"(env REGDRIFT_EXECUTE_INTERVAL)")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout,
		"on SIGTERM, how long runs may take to finish the repositories they are working on")
}

func (c *Config) validateTriggers() error {
	var errs []error
	if !c.WebhookMode.Valid() {
		errs = append(errs, fmt.Errorf("--webhook-mode %q: want dry_run or execute",
			c.WebhookMode))
	}
	if c.WebhookSettle < 0 || c.WebhookSettle > regdrift.MaxSettle {
		errs = append(errs, fmt.Errorf("--webhook-settle %v: want 0 to %v", c.WebhookSettle,
			regdrift.MaxSettle))
	}
	for _, h := range c.WebhookHosts {
		if h == "" || strings.ContainsAny(h, "/ ") {
			errs = append(errs, fmt.Errorf("--webhook-host %q: want host or host:port", h))
		}
	}
	if c.CheckInterval < 0 || c.ExecuteInterval < 0 {
		errs = append(errs, errors.New("--check-interval and --execute-interval must not be "+
			"negative"))
	}
	if c.DrainTimeout <= 0 {
		errs = append(errs, errors.New("--drain-timeout must be positive"))
	}
	return errors.Join(errs...)
}

// webhooks is the server's webhook configuration. Events count for the two registries only.
func (c *Config) webhooks(primary, secondary registry.Endpoint) server.Webhooks {
	return server.Webhooks{
		RegistrySecret: string(c.WebhookSecret), CISecret: string(c.CISecret),
		Mode: c.WebhookMode, Deep: c.Deep, Settle: c.WebhookSettle, Repositories: c.Repos,
		Hosts: append([]string{primary.Host, secondary.Host}, c.WebhookHosts...),
	}
}
