package reconcile

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/regdrift/regdrift"
)

// Metrics records each finished run for Prometheus. A nil *Metrics records nothing.
type Metrics struct {
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	actions  *prometheus.CounterVec
}

// NewMetrics registers the run metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regdrift_runs_total",
			Help: "Finished runs by mode, status (done, canceled, failed) and outcome " +
				"(in_sync, drift, error).",
		}, []string{"mode", "status", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "regdrift_run_duration_seconds",
			Help: "How long finished runs took, from start to end, by mode and status.",
			// One second to nine hours: a few repositories to a large registry, deep.
			Buckets: prometheus.ExponentialBuckets(1, 2, 16),
		}, []string{"mode", "status"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regdrift_actions_total",
			Help: "Tag actions of finished runs by kind (copy, delete) and result (planned in " +
				"a dry run; ok, failed or skipped).",
		}, []string{"action", "result"}),
	}
	reg.MustRegister(m.runs, m.duration, m.actions)
	return m
}

// observe records a finished run and the actions of its repositories.
func (m *Metrics) observe(run *regdrift.Run, results []*regdrift.RepoResult) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(string(run.Mode), string(run.Status), string(run.Outcome)).Inc()
	if run.StartedAt != nil && run.FinishedAt != nil {
		m.duration.WithLabelValues(string(run.Mode), string(run.Status)).
			Observe(run.FinishedAt.Sub(*run.StartedAt).Seconds())
	}
	for _, r := range results {
		for _, t := range r.Tags {
			if t.Action == regdrift.ActionNone || t.Action == "" || t.Result == regdrift.ResultNone {
				continue
			}
			m.actions.WithLabelValues(string(t.Action), string(t.Result)).Inc()
		}
	}
}
