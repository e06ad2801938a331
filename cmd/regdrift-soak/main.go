// Command regdrift-soak is a load test of a served regdrift on loopback, bounded in count and
// time: it is a script to run by hand (`make soak`), not a test, and it reports figures
// rather than asserting speeds.
//
// It starts two CNCF Distribution 2.8 registries in this process and fills them with a large
// fixture, runs `regdrift serve` (built from ./cmd/regdrift) against them, starts a dry run of
// every repository, and while that scan runs lets many clients read the dashboard's pages and
// the API and sends a burst of registry webhook events spread over a few repositories. It
// reports the p50 and p99 latency of page and API reads, the runs the events became, the
// server's resident memory over time and every error, and exits 1 when a read failed, the scan
// did not finish, or the events became more runs than the bound.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the soak's flags.
type options struct {
	repos, tags    int
	clients        int
	duration       time.Duration
	events         int
	eventRepos     int
	eventsPerPost  int
	burstAfter     time.Duration
	webhook        string
	drain          time.Duration
	bin            string
	keep           bool
	maxRunsPerRepo int
	jsonOut        string
}

func parseFlags() options {
	var o options
	flag.IntVar(&o.repos, "repos", 1000, "repositories in the fixture")
	flag.IntVar(&o.tags, "tags", 20, "tags per repository")
	flag.IntVar(&o.clients, "clients", 50, "clients reading pages and the API at once")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long the clients read")
	flag.IntVar(&o.events, "events", 1000, "registry webhook events in the burst")
	flag.IntVar(&o.eventRepos, "event-repos", 5, "repositories the events are spread over")
	flag.IntVar(&o.eventsPerPost, "events-per-post", 1, "events in each notification envelope")
	flag.DurationVar(&o.burstAfter, "burst-after", 5*time.Second,
		"when the burst starts, after the clients")
	flag.StringVar(&o.webhook, "webhook", "auto",
		"on: send the burst; off: skip it; auto: skip it when the endpoint answers 404")
	flag.DurationVar(&o.drain, "drain", 90*time.Second,
		"how long to wait for the runs to finish after the clients stop")
	flag.StringVar(&o.bin, "bin", "", "regdrift binary (default: built from ./cmd/regdrift)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (database, server log)")
	flag.IntVar(&o.maxRunsPerRepo, "max-runs-per-repo", 3,
		"the bound: runs the events may become per repository")
	flag.StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file")
	flag.Parse()
	return o
}

func (o options) validate() error {
	switch {
	case o.repos < 1 || o.tags < 1 || o.clients < 1:
		return fmt.Errorf("--repos, --tags and --clients must be positive")
	case o.eventRepos < 1 || o.eventRepos > o.repos:
		return fmt.Errorf("--event-repos must be between 1 and --repos (%d)", o.repos)
	case o.eventsPerPost < 1:
		return fmt.Errorf("--events-per-post must be positive")
	case o.webhook != "on" && o.webhook != "off" && o.webhook != "auto":
		return fmt.Errorf("--webhook %q: want on, off or auto", o.webhook)
	case o.duration <= 0 || o.drain <= 0:
		return fmt.Errorf("--duration and --drain must be positive")
	}
	return nil
}

func main() {
	o := parseFlags()
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "regdrift-soak:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := soak(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "regdrift-soak:", err)
		os.Exit(2)
	}
	rep.print(os.Stdout)
	if o.jsonOut != "" {
		if err := rep.writeJSON(o.jsonOut); err != nil {
			fmt.Fprintln(os.Stderr, "regdrift-soak:", err)
			os.Exit(2)
		}
	}
	if problems := rep.verdict(o); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "regdrift-soak: FAIL:", p)
		}
		os.Exit(1)
	}
}
