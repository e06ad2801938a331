package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/regdrift/regdrift"
)

// metricsPath serves Prometheus. It needs a viewer token like every page: the counts say how
// far the mirror is behind, and Prometheus sends a bearer token with authorization.credentials.
const metricsPath = "/metrics"

// storeTimeout bounds the store reads of one scrape, inside Prometheus's usual 10s.
const storeTimeout = 5 * time.Second

// metricsHandler serves reg (or a registry of its own) with the store's gauges added. A
// registry that already holds them (a second server on one registry, in tests) keeps its own.
func (s *Server) metricsHandler(reg *prometheus.Registry) http.Handler {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if err := reg.Register(storeCollector{store: s.store}); err != nil {
		s.log.Debug("store metrics already registered", keyError, err)
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

var (
	descTags = prometheus.NewDesc("regdrift_tags",
		"Tags per state in the latest check of every repository.", []string{"state"}, nil)
	descRepos = prometheus.NewDesc("regdrift_repositories",
		"Repositories per status in their latest check.", []string{"status"}, nil)
	descLastCheck = prometheus.NewDesc("regdrift_last_check_timestamp_seconds",
		"When the latest check of any repository completed (Unix time); 0 before the first.",
		nil, nil)
)

// storeCollector reads the gauges from the store at each scrape, so that they are right
// after a restart and agree with the dashboard.
type storeCollector struct{ store regdrift.Store }

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTags
	ch <- descRepos
	ch <- descLastCheck
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	// One aggregate query, not a walk over every repository: a scrape stays cheap with
	// 10,000 of them.
	t, err := c.store.RepoTotals(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descRepos, err)
		return
	}
	counts, last := t.Tags, t.LastCheckedAt
	byStatus := map[regdrift.RepoStatus]int{regdrift.RepoInSync: t.InSync,
		regdrift.RepoDrift: t.Drift, regdrift.RepoError: t.Errors}
	for _, st := range regdrift.States {
		ch <- prometheus.MustNewConstMetric(descTags, prometheus.GaugeValue,
			float64(counts.Get(st)), string(st))
	}
	for st, n := range byStatus {
		ch <- prometheus.MustNewConstMetric(descRepos, prometheus.GaugeValue, float64(n),
			string(st))
	}
	ts := 0.0
	if !last.IsZero() {
		ts = float64(last.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(descLastCheck, prometheus.GaugeValue, ts)
}

// hookMetrics count what the webhooks receive and what it comes to.
type hookMetrics struct {
	// events counts registry notification events: accepted (they name a repository to run)
	// or ignored (pulls, blobs, other hosts, names outside the configuration).
	events *prometheus.CounterVec
	// runs counts the runs webhook calls asked for, by webhook (registry, ci) and outcome:
	// queued (a new run) or joined (coalesced into a run already queued).
	runs *prometheus.CounterVec
}

func newHookMetrics(reg prometheus.Registerer) hookMetrics {
	return hookMetrics{
		events: registerCounter(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regdrift_webhook_events_total",
			Help: "Registry notification events received, by outcome (accepted, ignored).",
		}, []string{"outcome"})),
		runs: registerCounter(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regdrift_webhook_runs_total",
			Help: "Runs webhooks asked for, by webhook (registry, ci) and outcome (queued; " +
				"joined: coalesced into a run already queued).",
		}, []string{"webhook", "outcome"})),
	}
}

// registerCounter registers c with reg, or returns the one a server before registered there.
func registerCounter(reg prometheus.Registerer, c *prometheus.CounterVec) *prometheus.CounterVec {
	err := reg.Register(c)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if old, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
			return old
		}
	}
	if err != nil {
		panic(fmt.Sprintf("server: register metric: %v", err)) // a wiring mistake
	}
	return c
}

// countRun counts one run a webhook asked for.
func (m hookMetrics) countRun(webhook string, joined bool) {
	outcome := "queued"
	if joined {
		outcome = "joined"
	}
	m.runs.WithLabelValues(webhook, outcome).Inc()
}
