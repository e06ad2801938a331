package reconcile

import (
	"sync"

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
func (m *Metrics) observe(run *regdrift.Run, actions *actionTally) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(string(run.Mode), string(run.Status), string(run.Outcome)).Inc()
	if run.StartedAt != nil && run.FinishedAt != nil {
		m.duration.WithLabelValues(string(run.Mode), string(run.Status)).
			Observe(run.FinishedAt.Sub(*run.StartedAt).Seconds())
	}
	if actions == nil {
		return
	}
	actions.mu.Lock()
	defer actions.mu.Unlock()
	for k, n := range actions.n {
		m.actions.WithLabelValues(string(k.action), string(k.result)).Add(float64(n))
	}
}

// actionTally counts a run's tag actions by kind and result as its repositories finish, so
// that the metrics need not keep every tag row until the run ends.
type actionTally struct {
	mu sync.Mutex
	n  map[actionKey]int
}

type actionKey struct {
	action regdrift.Action
	result regdrift.Result
}

func newActionTally() *actionTally { return &actionTally{n: map[actionKey]int{}} }

// add counts the actions of one repository's rows.
func (a *actionTally) add(tags []regdrift.TagDrift) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range tags {
		if t.Action == regdrift.ActionNone || t.Action == "" || t.Result == regdrift.ResultNone {
			continue
		}
		a.n[actionKey{t.Action, t.Result}]++
	}
}
