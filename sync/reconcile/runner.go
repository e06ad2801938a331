package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/regdrift/regdrift"
)

// Runner starts runs in the background and lets callers cancel and wait for them. It
// implements regdrift.RunService.
type Runner struct {
	engine *Engine
	store  regdrift.Store
	log    *slog.Logger

	// base is the context runs execute in: a request's context ends with its request.
	base context.Context
	stop context.CancelFunc

	mu     sync.Mutex
	active map[int64]*activeRun
	wg     sync.WaitGroup
}

type activeRun struct {
	cancel     chan struct{}
	cancelOnce sync.Once
	done       chan struct{}
}

var _ regdrift.RunService = (*Runner)(nil)

// NewRunner returns a runner for engine that records runs in store.
func NewRunner(engine *Engine, store regdrift.Store, log *slog.Logger) *Runner {
	base, stop := context.WithCancel(context.Background())
	return &Runner{
		engine: engine, store: store, log: log,
		base: base, stop: stop,
		active: map[int64]*activeRun{},
	}
}

// StartRun validates req, records the run as queued and starts it.
func (r *Runner) StartRun(ctx context.Context, req regdrift.RunRequest) (*regdrift.Run, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	run := &regdrift.Run{
		Mode: req.Mode, Trigger: req.Trigger, Scope: req.Repositories,
		Deep: req.Deep, NoDelete: req.NoDelete, Status: regdrift.RunQueued,
	}
	if run.Scope == nil {
		run.Scope = []string{}
	}
	if err := r.store.CreateRun(ctx, run); err != nil {
		return nil, fmt.Errorf("record new run: %w", err)
	}
	a := &activeRun{cancel: make(chan struct{}), done: make(chan struct{})}
	r.mu.Lock()
	r.active[run.ID] = a
	r.mu.Unlock()

	// The goroutine owns its own copy, so the caller's answer is not raced by progress.
	queued := *run
	r.wg.Go(func() {
		defer r.forget(run.ID, a)
		if _, err := r.engine.run(r.base, run, a.cancel, false); err != nil {
			r.log.Error("run could not be recorded", "run_id", run.ID, "err", err)
			r.markFailed(run, err)
		}
	})
	return &queued, nil
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

func (r *Runner) forget(id int64, a *activeRun) {
	r.mu.Lock()
	delete(r.active, id)
	r.mu.Unlock()
	close(a.done)
}

// CancelRun asks a running run to stop between repositories.
func (r *Runner) CancelRun(ctx context.Context, id int64) error {
	r.mu.Lock()
	a, ok := r.active[id]
	r.mu.Unlock()
	if ok {
		a.cancelOnce.Do(func() { close(a.cancel) })
		return nil
	}
	run, err := r.store.GetRun(ctx, id)
	if err != nil {
		return err
	}
	return regdrift.Errorf(regdrift.ECONFLICT, "run %d is not running (status %s)", run.ID,
		run.Status)
}

// Wait blocks until the run has finished or ctx ends, and returns it as recorded.
func (r *Runner) Wait(ctx context.Context, id int64) (*regdrift.Run, error) {
	r.mu.Lock()
	a, ok := r.active[id]
	r.mu.Unlock()
	if ok {
		select {
		case <-a.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return r.store.GetRun(ctx, id)
}

// Close stops every run and waits for them to record their end.
//
// TODO: it also ends the registry requests of the repository each run is working on, so its
// copies fail as "context canceled" instead of finishing; let the current repository finish.
func (r *Runner) Close() {
	r.stop()
	r.wg.Wait()
}
