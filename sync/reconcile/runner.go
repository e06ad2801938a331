package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/regdrift/regdrift"
)

// Runner carries out the runs queued in the store, a few at once, oldest first, and lets
// callers cancel and wait for them. It implements regdrift.RunService.
//
// The queue is the store, not memory: StartRun records a queued run and wakes the runner,
// which claims it. A runner started on a store that holds queued or interrupted runs (from
// a process that stopped) picks them up; an interrupted run resumes from the repositories it
// had not finished.
type Runner struct {
	engine  *Engine
	store   regdrift.Store
	log     *slog.Logger
	maxRuns int

	// base is the context runs execute in: a request's context ends with its request. It ends
	// only when a shutdown runs out of time.
	base     context.Context
	hardStop context.CancelFunc

	wake     chan struct{} // a run was queued or a slot freed
	quit     chan struct{} // no more runs start
	quitOnce sync.Once
	loopDone chan struct{} // the dispatcher has stopped claiming runs
	closed   chan struct{} // every run has stopped
	shutOnce sync.Once

	mu      sync.Mutex
	closing bool
	active  map[int64]*activeRun
	changed chan struct{} // closed and replaced whenever a run ends or is canceled
	wg      sync.WaitGroup
}

type activeRun struct {
	cancel, drain         chan struct{}
	cancelOnce, drainOnce sync.Once
}

var _ regdrift.RunService = (*Runner)(nil)

// DefaultMaxRuns is how many runs a runner carries out at once unless told otherwise. Runs on
// one repository still take turns.
const DefaultMaxRuns = 4

// RunnerOption changes a runner.
type RunnerOption func(*Runner)

// WithMaxRuns sets how many runs go on at once; the others wait in the queue.
func WithMaxRuns(n int) RunnerOption {
	return func(r *Runner) {
		if n > 0 {
			r.maxRuns = n
		}
	}
}

// NewRunner returns a runner for engine that records runs in store, and starts taking the
// runs queued there. Stop it with Shutdown or Close.
func NewRunner(engine *Engine, store regdrift.Store, log *slog.Logger,
	opts ...RunnerOption) *Runner {
	base, stop := context.WithCancel(context.Background())
	r := &Runner{
		engine: engine, store: store, log: log, maxRuns: DefaultMaxRuns,
		base: base, hardStop: stop,
		wake: make(chan struct{}, 1), quit: make(chan struct{}),
		loopDone: make(chan struct{}), closed: make(chan struct{}),
		active: map[int64]*activeRun{}, changed: make(chan struct{}),
	}
	for _, o := range opts {
		o(r)
	}
	go r.dispatch()
	return r
}

// StartRun validates req and queues a run for it, or joins a queued twin when req.Coalesce
// says so. The run starts when a slot is free. A runner shutting down refuses with
// EUNAVAILABLE.
func (r *Runner) StartRun(ctx context.Context, req regdrift.RunRequest) (*regdrift.Run, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	closing := r.closing
	r.mu.Unlock()
	if closing {
		return nil, regdrift.Errorf(regdrift.EUNAVAILABLE,
			"the server is shutting down; ask again once it is back")
	}
	if req.Trigger == "" {
		req.Trigger = regdrift.TriggerAPI // the queue takes the triggers of a server only
	}
	run := &regdrift.Run{
		Mode: req.Mode, Trigger: req.Trigger, Scope: req.Repositories,
		Deep: req.Deep, NoDelete: req.NoDelete, AllowMassDelete: req.AllowMassDelete,
		Status: regdrift.RunQueued,
		// The limits it will run under, so that a queued run does not read as unguarded.
		Guard: regdrift.Guard{Limits: r.engine.limits},
	}
	if run.Scope == nil {
		run.Scope = []string{}
	}
	if req.Settle > 0 {
		due := r.engine.now().Add(req.Settle)
		run.NotBefore = &due
	}
	joined, err := r.store.QueueRun(ctx, run, req.Coalesce)
	if err != nil {
		return nil, fmt.Errorf("record new run: %w", err)
	}
	if joined {
		r.log.Debug("request joined a queued run", "run_id", run.ID, "trigger", run.Trigger,
			"coalesced", run.Coalesced)
	} else {
		r.log.Info("run queued", "run_id", run.ID, "trigger", run.Trigger, "mode", run.Mode,
			"not_before", run.NotBefore)
		r.poke()
	}
	return run, nil
}

// poke wakes the dispatcher without ever blocking.
func (r *Runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// dispatch claims waiting runs while a slot is free, until the runner shuts down.
func (r *Runner) dispatch() {
	defer close(r.loopDone)
	slots := make(chan struct{}, r.maxRuns)
	for {
		select {
		case slots <- struct{}{}:
		case <-r.quit:
			return
		}
		run, err := r.store.ClaimRun(r.base, regdrift.ServerTriggers...)
		if err != nil {
			r.log.Error("claim a queued run", "err", err)
		}
		if run == nil {
			<-slots
			if !r.idle(err != nil) {
				return
			}
			continue
		}
		a := r.track(run.ID)
		r.wg.Go(func() {
			defer func() {
				<-slots
				r.untrack(run.ID)
				r.poke()
			}()
			r.execute(run, a)
		})
	}
}

// idle waits for a reason to look at the queue again: a new run, a freed slot, a held-back
// run coming due, or after a store error a moment's pause. It returns false when the runner
// shuts down.
func (r *Runner) idle(failed bool) bool {
	wait := time.Duration(-1)
	if failed {
		wait = time.Second
	} else if due, ok, err := r.store.NextDue(r.base, regdrift.ServerTriggers...); err != nil {
		r.log.Error("look for held-back runs", "err", err)
		wait = time.Second
	} else if ok {
		wait = max(due.Sub(r.engine.now()), 0)
	}
	var timer <-chan time.Time
	if wait >= 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-r.wake:
	case <-timer:
	case <-r.quit:
		return false
	}
	return true
}

func (r *Runner) track(id int64) *activeRun {
	a := &activeRun{cancel: make(chan struct{}), drain: make(chan struct{})}
	r.mu.Lock()
	r.active[id] = a
	r.mu.Unlock()
	return a
}

// untrack forgets a run that has stopped and tells the waiters.
func (r *Runner) untrack(id int64) {
	r.mu.Lock()
	delete(r.active, id)
	r.mu.Unlock()
	r.broadcast()
}

func (r *Runner) broadcast() {
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *Runner) execute(run *regdrift.Run, a *activeRun) {
	// A run of the server is read back from the store: its results keep counts, not rows.
	_, err := r.engine.run(r.base, run, Signals{Cancel: a.cancel, Drain: a.drain}, false)
	if err != nil {
		r.log.Error("run could not be recorded", "run_id", run.ID, "err", err)
		r.markFailed(run, err)
	}
}

// markFailed makes one last attempt to record that run ended in failure, so that it does not
// stay queued or running for ever when the store failed only for a moment.
func (r *Runner) markFailed(run *regdrift.Run, cause error) {
	if run.FinishedAt == nil {
		now := r.engine.now()
		run.FinishedAt = &now
	}
	run.Status, run.Outcome = regdrift.RunFailed, regdrift.OutcomeError
	run.Error = joinMsg(run.Error, "recording the run failed: "+cause.Error())
	if err := r.store.UpdateRun(context.Background(), run); err != nil {
		r.log.Error("record failed run", "run_id", run.ID, "err", err)
	}
}

// CancelRun asks a running run to stop between repositories, or cancels a run that waits in
// the queue. A finished run is an ECONFLICT error.
func (r *Runner) CancelRun(ctx context.Context, id int64) error {
	for range 2 { // the dispatcher may claim the run between the two looks
		r.mu.Lock()
		a, ok := r.active[id]
		r.mu.Unlock()
		if ok {
			a.cancelOnce.Do(func() { close(a.cancel) })
			return nil
		}
		err := r.store.CancelQueuedRun(ctx, id, "canceled before it was carried out")
		if err == nil {
			r.broadcast()
			return nil
		}
		if regdrift.ErrorCode(err) != regdrift.ECONFLICT {
			return err
		}
		run, gerr := r.store.GetRun(ctx, id)
		if gerr != nil {
			return gerr
		}
		if run.Status != regdrift.RunRunning {
			return regdrift.Errorf(regdrift.ECONFLICT, "run %d is not running (status %s)",
				run.ID, run.Status)
		}
	}
	return regdrift.Errorf(regdrift.ECONFLICT, "run %d is running in another process", id)
}

// Wait blocks until the run has finished, ctx ends or the runner has shut down, and returns
// the run as recorded: after a shutdown it may still be queued or interrupted.
func (r *Runner) Wait(ctx context.Context, id int64) (*regdrift.Run, error) {
	for {
		r.mu.Lock()
		changed := r.changed
		r.mu.Unlock()
		run, err := r.store.GetRun(ctx, id)
		if err != nil {
			return nil, err
		}
		if run.Status.Finished() {
			return run, nil
		}
		select {
		case <-changed:
		case <-r.closed:
			return r.store.GetRun(ctx, id)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Schedule queues req every time ticks fires, as a TriggerSchedule run, until ctx ends or the
// runner shuts down. A tick while the previous scheduled run of the same kind still waits in
// the queue joins it, so runs slower than the ticks never pile up.
func (r *Runner) Schedule(ctx context.Context, ticks <-chan time.Time, req regdrift.RunRequest) {
	req.Trigger, req.Coalesce = regdrift.TriggerSchedule, true
	for {
		select {
		case <-ticks:
		case <-ctx.Done():
			return
		case <-r.quit:
			return
		}
		if _, err := r.StartRun(ctx, req); err != nil {
			r.log.Error("queue scheduled run", "mode", req.Mode, "err", err)
		}
	}
}

// Shutdown stops taking runs, lets each running run finish the repositories it is working on
// and records it as interrupted (it resumes at the next start), then returns. Queued runs stay
// queued. When ctx ends first, the registry requests of the runs still going are canceled;
// what they had not finished is done again on resume, and the error says so.
func (r *Runner) Shutdown(ctx context.Context) error {
	var err error
	r.shutOnce.Do(func() { err = r.shutdown(ctx) })
	return err
}

func (r *Runner) shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
	r.quitOnce.Do(func() { close(r.quit) })
	<-r.loopDone // from here on, no run is claimed that the loop below misses

	r.mu.Lock()
	for _, a := range r.active {
		a.drainOnce.Do(func() { close(a.drain) })
	}
	r.mu.Unlock()
	stopped := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(stopped)
	}()
	var err error
	select {
	case <-stopped:
	case <-ctx.Done():
		r.hardStop()
		<-stopped
		err = errors.New("runs did not stop in time: the repositories they were working on " +
			"are done again when they resume")
	}
	r.hardStop()
	close(r.closed)
	r.broadcast()
	return err
}

// Close stops at once: like Shutdown with no time to finish, so registry requests in flight
// are canceled. Tests and failed start-ups use it; a server shuts down with Shutdown.
func (r *Runner) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Shutdown(ctx); err != nil {
		r.log.Debug("runner closed", "err", err)
	}
}
