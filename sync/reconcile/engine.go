package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/registry"
)

// Engine checks and reconciles repositories between a primary and a secondary.
type Engine struct {
	primary   *registry.Primary
	secondary *registry.Secondary
	store     regdrift.Store
	log       *slog.Logger
	now       func() time.Time
	metrics   *Metrics

	// workers bounds the tags resolved, checked or acted on at once on each registry.
	workers int
	// limits are the deletion guard's.
	limits regdrift.DeleteLimits
	// primarySem and secondarySem bound the requests in flight to each registry across all
	// the repositories a run handles at once.
	primarySem   chan struct{}
	secondarySem chan struct{}
	locks        repoLocks
}

// Config holds what an Engine needs.
type Config struct {
	Primary     *registry.Primary
	Secondary   *registry.Secondary
	Store       regdrift.Store
	Logger      *slog.Logger
	Concurrency int
	// DeleteLimits are the deletion guard's; zero values take the defaults.
	DeleteLimits regdrift.DeleteLimits
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Metrics, when set, records every finished run.
	Metrics *Metrics
}

// New returns an engine.
func New(c Config) *Engine {
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Engine{
		primary:      c.Primary,
		secondary:    c.Secondary,
		store:        c.Store,
		log:          c.Logger,
		now:          func() time.Time { return c.Now().UTC() },
		metrics:      c.Metrics,
		workers:      c.Concurrency,
		limits:       c.DeleteLimits.WithDefaults(),
		primarySem:   make(chan struct{}, c.Concurrency),
		secondarySem: make(chan struct{}, c.Concurrency),
		locks:        repoLocks{held: map[string]chan struct{}{}},
	}
}

// Primary and Secondary name the two registries, for reports.
func (e *Engine) Primary() registry.Endpoint   { return e.primary.Endpoint() }
func (e *Engine) Secondary() registry.Endpoint { return e.secondary.Endpoint() }

// Signals stop a run between repositories. A nil channel never fires.
type Signals struct {
	// Cancel ends the run for good: it is recorded as canceled.
	Cancel <-chan struct{}
	// Drain stops it for a shutdown: it is recorded as interrupted, to resume later.
	Drain <-chan struct{}
}

// Run carries out run, which must already be in the store, and returns its repository results
// with their tags. Closing cancel stops the run between repositories. The run's status,
// outcome, summary and progress are written to the store as it goes; the returned error is
// only for a failure to record.
func (e *Engine) Run(ctx context.Context, run *regdrift.Run,
	cancel <-chan struct{}) ([]*regdrift.RepoResult, error) {
	return e.RunWith(ctx, run, Signals{Cancel: cancel})
}

// RunWith is Run with both signals. A run that was interrupted before resumes: the
// repositories it finished keep their results (returned without their tags) and are not
// handled again. A run that ctx ends is interrupted too, except a CLI run, which nobody
// resumes and which is canceled.
func (e *Engine) RunWith(ctx context.Context, run *regdrift.Run,
	sig Signals) ([]*regdrift.RepoResult, error) {
	return e.run(ctx, run, sig, true)
}

// RunCounts is Run, but each result drops its tag rows once they are recorded (Tags is nil),
// keeping its counts: the rows are read back from the store. A run that holds a million tag
// rows until it ends needs hundreds of megabytes; one that holds counts, a few.
func (e *Engine) RunCounts(ctx context.Context, run *regdrift.Run,
	cancel <-chan struct{}) ([]*regdrift.RepoResult, error) {
	return e.run(ctx, run, Signals{Cancel: cancel}, false)
}

// run is RunWith, or RunCounts without keepTags.
func (e *Engine) run(ctx context.Context, run *regdrift.Run, sig Signals,
	keepTags bool) ([]*regdrift.RepoResult, error) {
	if run.StartedAt == nil {
		started := e.now()
		run.StartedAt = &started
	}
	run.Status = regdrift.RunRunning
	if err := e.store.UpdateRun(ctx, run); err != nil {
		return nil, fmt.Errorf("record start of run %d: %w", run.ID, err)
	}
	log := e.log.With("run_id", run.ID, "mode", run.Mode)
	log.Info("run started", "scope", run.Scope, "deep", run.Deep, "trigger", run.Trigger,
		"interruptions", run.Interruptions)

	names, err := e.repositories(ctx, run.Scope)
	if err != nil {
		log.Error("run failed", "err", err)
		return nil, e.finish(ctx, run, nil, nil, regdrift.RunFailed, err.Error())
	}
	done, todo, err := e.finishedBefore(ctx, run, names)
	if err != nil {
		return nil, err
	}
	run.ReposTotal, run.ReposDone, run.Summary = len(names), len(done), Summarize(done)
	run.Guard = regdrift.Guard{Limits: e.limits}
	if err := e.store.UpdateRun(ctx, run); err != nil {
		return nil, fmt.Errorf("record repositories of run %d: %w", run.ID, err)
	}
	if len(done) > 0 {
		log.Info("run resumed", "finished_before", len(done), "left", len(todo))
	}

	// A resumed run counts the repositories left from their listings and the finished ones
	// from their records (without asking the registries again): the deletions an earlier
	// attempt held back there still count against the limit, and those it carried out use
	// up the same budget, so that attempts after crashes do not each delete up to it.
	budget := e.budget(ctx, run, todo, sig, done)
	actions := newActionTally()
	results, stopped := e.runRepos(ctx, run, todo, budget, sig,
		repoOpts{keepTags: keepTags, actions: actions})
	results = append(done, results...)
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	status := stopStatus(run, stopped, sig)
	if status == regdrift.RunDone && len(run.Scope) == 0 {
		e.forgetGone(ctx, run, names)
	}
	run.Guard = guardReport(e.limits, results, budget.tripped())
	if err := e.finish(ctx, run, results, actions, status, stopped); err != nil {
		return results, err
	}
	log.Info("run finished", "status", run.Status, "outcome", run.Outcome,
		"repositories", run.Summary.Repositories, "tags", run.Summary.Tags,
		"drift", run.Summary.Drift(), "actions", run.Summary.Actions,
		"failed_actions", run.Summary.FailedActions, "errors", run.Summary.Errors)
	return results, nil
}

// forgetGone drops the latest state of repositories that neither catalog lists any more,
// once a run over both catalogs has finished: else a repository deleted on both sides would
// stay on the overview for ever. A failure costs only a stale line there, so it is logged.
func (e *Engine) forgetGone(ctx context.Context, run *regdrift.Run, names []string) {
	n, err := e.store.ForgetRepositories(context.WithoutCancel(ctx), names, *run.StartedAt)
	if err != nil {
		e.log.Warn("forget repositories gone from both registries", "run_id", run.ID,
			"err", err)
		return
	}
	if n > 0 {
		e.log.Info("repositories gone from both registries forgotten", "run_id", run.ID,
			"repositories", n)
	}
}

// finishedBefore splits names into the results an earlier, interrupted attempt of run
// finished and the names still to do. A run never interrupted has done nothing yet.
func (e *Engine) finishedBefore(ctx context.Context, run *regdrift.Run,
	names []string) (done []*regdrift.RepoResult, todo []string, err error) {
	if run.Interruptions == 0 {
		return nil, names, nil
	}
	prior, err := e.store.ListRunRepos(ctx, run.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("read what run %d finished before: %w", run.ID, err)
	}
	finished := map[string]*regdrift.RepoResult{}
	for _, r := range prior {
		if r.Finished {
			finished[r.Name] = r
		}
	}
	for _, n := range names {
		if r, ok := finished[n]; ok {
			done = append(done, r)
		} else {
			todo = append(todo, n)
		}
	}
	return done, todo, nil
}

// stopStatus is the status a run ends in, given why it stopped early ("" when it did not).
func stopStatus(run *regdrift.Run, stopped string, sig Signals) regdrift.RunStatus {
	switch {
	case stopped == "":
		return regdrift.RunDone
	case fired(sig.Cancel) || run.Trigger == regdrift.TriggerCLI:
		return regdrift.RunCanceled
	default:
		return regdrift.RunInterrupted
	}
}

func fired(c <-chan struct{}) bool {
	select {
	case <-c:
		return c != nil
	default:
		return false
	}
}

// runRepos handles the repositories, several at once, and returns their results in name
// order. When the run is canceled, drained or ctx ends, repositories not yet started
// (including those waiting for another run to let go of them) are left out, and the reason
// is returned. A repository already started goes on to its end unless ctx ends.
func (e *Engine) runRepos(ctx context.Context, run *regdrift.Run, names []string,
	budget *runBudget, sig Signals, opts repoOpts) ([]*regdrift.RepoResult, string) {
	stop, release := stopContext(ctx, sig)
	defer release()
	var (
		mu      sync.Mutex
		results []*regdrift.RepoResult
		wg      sync.WaitGroup
	)
	jobs := make(chan string)
	for range min(e.workers, max(len(names), 1)) {
		wg.Go(func() {
			for name := range jobs {
				res := e.repo(ctx, stop, run, budget, name, opts)
				if res == nil {
					continue // stopped before it started
				}
				mu.Lock()
				results = append(results, res)
				e.progress(ctx, run, res)
				mu.Unlock()
			}
		})
	}
	for _, name := range names {
		if stop.Err() != nil {
			break
		}
		select {
		case jobs <- name:
		case <-stop.Done():
		}
	}
	close(jobs)
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	if len(results) < len(names) || ctx.Err() != nil {
		return results, stopReason(ctx, sig)
	}
	return results, ""
}

// stopContext returns a context that ends when ctx does or a signal fires: what a run
// watches between and before repositories.
func stopContext(ctx context.Context, sig Signals) (context.Context, context.CancelFunc) {
	stop, release := context.WithCancel(ctx)
	// A signal that fired already stops at once, not when the goroutine below gets to run.
	select {
	case <-sig.Cancel:
		release()
	case <-sig.Drain:
		release()
	default:
	}
	go func() {
		select {
		case <-sig.Cancel:
			release()
		case <-sig.Drain:
			release()
		case <-stop.Done():
		}
	}()
	return stop, release
}

// stopReason says why a run stopped early.
func stopReason(ctx context.Context, sig Signals) string {
	switch {
	case fired(sig.Cancel):
		return "canceled"
	case fired(sig.Drain):
		return "interrupted: the server stopped; the run resumes when it starts again"
	}
	if err := ctx.Err(); err != nil {
		return "interrupted: " + err.Error()
	}
	return "stopped"
}

// progress adds one finished repository to the run's figures and records them. A failure to
// record progress is logged and the run goes on: the final update carries the same figures.
func (e *Engine) progress(ctx context.Context, run *regdrift.Run, res *regdrift.RepoResult) {
	run.ReposDone++
	addResult(&run.Summary, res)
	if err := e.store.UpdateRun(context.WithoutCancel(ctx), run); err != nil {
		e.log.Warn("record progress", "run_id", run.ID, "err", err)
	}
}

// finish records the end of a run.
func (e *Engine) finish(ctx context.Context, run *regdrift.Run, results []*regdrift.RepoResult,
	actions *actionTally, status regdrift.RunStatus, msg string) error {
	done := e.now()
	run.Status, run.FinishedAt, run.Error = status, &done, msg
	run.ReposDone = len(results)
	run.Summary = Summarize(results)
	run.Outcome = Outcome(results)
	if status != regdrift.RunDone {
		run.Outcome = regdrift.OutcomeError
	}
	if status == regdrift.RunInterrupted {
		// Not over: it waits to resume, and what it did so far is already recorded.
		run.FinishedAt, run.Outcome = nil, regdrift.OutcomeNone
		run.Interruptions++
	}
	if status == regdrift.RunFailed {
		run.Summary.Errors++ // the failure that kept every repository from being handled
	}
	// The run's own context may be over (a shutdown); the record must still be written.
	ctx = context.WithoutCancel(ctx)
	e.metrics.observe(run, actions)
	if err := e.store.UpdateRun(ctx, run); err != nil {
		return fmt.Errorf("record end of run %d: %w", run.ID, err)
	}
	return nil
}

// repositories returns the scope, or the union of both catalogs.
func (e *Engine) repositories(ctx context.Context, scope []string) ([]string, error) {
	if len(scope) > 0 {
		return dedupe(scope), nil
	}
	var p, s []string
	var perr, serr error
	var wg sync.WaitGroup
	wg.Go(func() { p, perr = e.primary.Repositories(ctx) })
	wg.Go(func() { s, serr = e.secondary.Repositories(ctx) })
	wg.Wait()
	if err := errors.Join(perr, serr); err != nil {
		return nil, err
	}
	// Names are checked per repository, so one odd name fails only itself.
	return newLast(dedupe(append(p, s...)), s), nil
}

// newLast moves the repositories the secondary's catalog lacks to the end, keeping the order
// otherwise. An execute copies them whole; by then the copies into the other repositories have
// shown where the secondary holds the layers they share, which are mounted from there instead
// of uploaded again.
func newLast(names, onSecondary []string) []string {
	known := make(map[string]bool, len(onSecondary))
	for _, n := range onSecondary {
		known[n] = true
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if known[n] {
			out = append(out, n)
		}
	}
	for _, n := range names {
		if !known[n] {
			out = append(out, n)
		}
	}
	return out
}

func dedupe(names []string) []string {
	out := append([]string(nil), names...)
	sort.Strings(out)
	k := 0
	for i, n := range out {
		if i == 0 || n != out[k-1] {
			out[k] = n
			k++
		}
	}
	return out[:k]
}
