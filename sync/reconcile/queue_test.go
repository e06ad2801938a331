package reconcile_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/reconcile"
	"github.com/regdrift/regdrift/sync/registry"
	"github.com/regdrift/regdrift/sync/regtest"
)

// serialEngine is an engine over e's registries that handles one repository and one request
// at a time, so that a run has repositories left when it is stopped.
func serialEngine(t *testing.T, e *env) *reconcile.Engine {
	t.Helper()
	pair, err := registry.NewPair(registry.Config{URL: e.primary.URL},
		registry.Config{URL: e.secondary.URL}, registry.Options{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	return reconcile.New(reconcile.Config{Primary: pair.Primary, Secondary: pair.Secondary,
		Store: e.store, Concurrency: 1, Logger: testLogger()})
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunner_ShutdownFinishesTheRepositoryAndTheNextRunnerResumes(t *testing.T) {
	e := newEnv(t)
	engine := serialEngine(t, e)
	r := reconcile.NewRunner(engine, e.store, testLogger())

	// The first copy to the secondary waits until the shutdown has begun.
	entered, release := make(chan struct{}), make(chan struct{})
	e.secondary.SetFault(func(req *http.Request) (int, bool) {
		if req.Method == http.MethodPut {
			select {
			case entered <- struct{}{}:
				<-release
			default:
			}
		}
		return 0, false
	})
	run, err := r.StartRun(t.Context(), regdrift.RunRequest{Mode: regdrift.ModeExecute,
		Trigger: regdrift.TriggerAPI})
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- r.Shutdown(t.Context()) }()
	waitUntil(t, "the runner refuses new runs", func() bool {
		_, err := r.StartRun(t.Context(), regdrift.RunRequest{})
		return regdrift.ErrorCode(err) == regdrift.EUNAVAILABLE
	})
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	got, err := e.store.GetRun(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != regdrift.RunInterrupted || got.Interruptions != 1 || got.ReposDone == 0 ||
		got.ReposDone == got.ReposTotal || got.Summary.FailedActions != 0 {
		t.Fatalf("after shutdown %+v, want interrupted after some repositories, none failed", got)
	}
	before, err := e.store.ListRunRepos(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	finished := map[string]*regdrift.RepoResult{}
	for _, res := range before {
		if !res.Finished || res.Status == regdrift.RepoError {
			t.Errorf("%s after shutdown: finished %v, status %s (%s); want finished cleanly",
				res.Name, res.Finished, res.Status, res.Error)
		}
		finished[res.Name] = res
	}

	// A new runner on the same database resumes the run without redoing those repositories.
	e.secondary.SetFault(nil)
	r2 := reconcile.NewRunner(engine, e.store, testLogger())
	defer r2.Close()
	done, err := r2.Wait(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The demo keeps drift an execute may not repair (deletions withheld), never errors.
	if done.Status != regdrift.RunDone || done.Outcome == regdrift.OutcomeError ||
		done.Summary.FailedActions != 0 || done.Interruptions != 1 ||
		done.ReposDone != done.ReposTotal || done.ReposTotal != 6 {
		t.Errorf("resumed run %+v, want done without errors over 6 repositories", done)
	}
	after, err := e.store.ListRunRepos(t.Context(), run.ID)
	if err != nil || len(after) != 6 {
		t.Fatalf("repositories after resume %v, %v; want 6", after, err)
	}
	for _, res := range after {
		if b, ok := finished[res.Name]; ok && !res.CheckedAt.Equal(b.CheckedAt) {
			t.Errorf("%s was handled again on resume (checked %v, then %v)", res.Name,
				b.CheckedAt, res.CheckedAt)
		}
	}
}

func TestRunner_PicksUpRunsQueuedBeforeItStarted(t *testing.T) {
	e := newEnv(t)
	queued := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerWebhook,
		Scope: []string{regtest.DemoApp}}
	if _, err := e.store.QueueRun(t.Context(), queued, false); err != nil {
		t.Fatal(err)
	}
	r := reconcile.NewRunner(e.engine, e.store, testLogger())
	defer r.Close()
	got, err := r.Wait(t.Context(), queued.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != regdrift.RunDone || got.Outcome != regdrift.OutcomeDrift ||
		got.Summary.Stale != 2 {
		t.Errorf("queued run %+v, want done with 2 stale tags", got)
	}
}

func TestRunner_CancelAQueuedRun(t *testing.T) {
	e := newEnv(t)
	r := reconcile.NewRunner(e.engine, e.store, testLogger(), reconcile.WithMaxRuns(1))
	defer r.Close()
	entered, release := make(chan struct{}), make(chan struct{})
	e.primary.SetFault(func(req *http.Request) (int, bool) {
		if strings.HasSuffix(req.URL.Path, "/tags/list") {
			select {
			case entered <- struct{}{}:
				<-release
			default:
			}
		}
		return 0, false
	})
	first, err := r.StartRun(t.Context(), regdrift.RunRequest{Repositories: []string{
		regtest.DemoApp}})
	if err != nil {
		t.Fatal(err)
	}
	<-entered // the only slot is taken: the next run waits in the queue
	second, err := r.StartRun(t.Context(), regdrift.RunRequest{Repositories: []string{
		regtest.DemoApp}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CancelRun(t.Context(), second.ID); err != nil {
		t.Fatalf("cancel the queued run: %v", err)
	}
	close(release)
	got, err := r.Wait(t.Context(), second.ID)
	if err != nil || got.Status != regdrift.RunCanceled || got.StartedAt != nil {
		t.Errorf("queued run after cancel %+v, %v; want canceled, never started", got, err)
	}
	if got, err := r.Wait(t.Context(), first.ID); err != nil || got.Status != regdrift.RunDone {
		t.Errorf("first run %+v, %v; want done", got, err)
	}
}

func TestRunner_ScheduleQueuesAtTicksWithoutABacklog(t *testing.T) {
	e := newEnv(t)
	r := reconcile.NewRunner(e.engine, e.store, testLogger(), reconcile.WithMaxRuns(1))
	defer r.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ticks := make(chan time.Time)
	go r.Schedule(ctx, ticks, regdrift.RunRequest{Mode: regdrift.ModeDryRun})

	scheduled := func() []*regdrift.Run {
		runs, _, err := e.store.ListRuns(t.Context(), regdrift.RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var out []*regdrift.Run
		for _, run := range runs {
			if run.Trigger == regdrift.TriggerSchedule {
				out = append(out, run)
			}
		}
		return out
	}
	ticks <- time.Now()
	waitUntil(t, "the first scheduled run is done", func() bool {
		runs := scheduled()
		return len(runs) == 1 && runs[0].Status == regdrift.RunDone
	})

	// While a scheduled run is held inside its listing, five ticks queue one run, not five.
	entered, release := make(chan struct{}), make(chan struct{})
	e.primary.SetFault(func(req *http.Request) (int, bool) {
		if KindIsCatalog(req) {
			select {
			case entered <- struct{}{}:
				<-release
			default:
			}
		}
		return 0, false
	})
	ticks <- time.Now()
	<-entered
	for range 5 {
		ticks <- time.Now()
	}
	waitUntil(t, "five ticks are queued", func() bool {
		runs := scheduled() // newest first
		return len(runs) == 3 && runs[0].Coalesced == 4
	})
	close(release)
	waitUntil(t, "every scheduled run is done", func() bool {
		for _, run := range scheduled() {
			if run.Status != regdrift.RunDone || run.Mode != regdrift.ModeDryRun {
				return false
			}
		}
		return true
	})
	if n := len(scheduled()); n != 3 {
		t.Errorf("%d scheduled runs, want 3", n)
	}
}

// KindIsCatalog reports whether req lists a registry's catalog.
func KindIsCatalog(req *http.Request) bool {
	return regtest.KindOf(req.URL.Path) == regtest.PathCatalog
}

// A deletion an earlier attempt recorded as running, of a tag now listed on neither side, was
// done; but when a listing fails now nobody can tell, and the row says it failed, not ok.
func TestEngine_ResumeConfirmsARunningDeletionOnlyFromListings(t *testing.T) {
	for _, tc := range []struct {
		name       string
		listFails  bool
		wantResult regdrift.Result
	}{
		{"listings read", false, regdrift.ResultOK},
		{"secondary listing fails", true, regdrift.ResultFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := guardRepo{"resume/c", 3, 0}
			e := newEnvWith(t, fillGuard(t, repo), reconcile.Config{})
			ctx := t.Context()
			run := &regdrift.Run{Mode: regdrift.ModeExecute, Trigger: regdrift.TriggerAPI,
				Status: regdrift.RunQueued, Scope: []string{repo.name}}
			if err := e.store.CreateRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			gone := regdrift.TagDrift{Tag: "gone", State: regdrift.StateOnlyOnSecondary,
				Secondary: regdrift.Manifest{Digest: "sha256:" + strings.Repeat("a", 64)},
				Action:    regdrift.ActionDelete, Result: regdrift.ResultRunning}
			if err := e.store.SaveRepoResult(ctx, &regdrift.RepoResult{RunID: run.ID,
				Name: repo.name, Status: regdrift.RepoDrift, Actions: 1,
				Before:    regdrift.Counts{InSync: 3, OnlyOnSecondary: 1},
				CheckedAt: time.Now(), Tags: []regdrift.TagDrift{gone}}); err != nil {
				t.Fatal(err)
			}
			run.Status, run.Interruptions = regdrift.RunInterrupted, 1
			if err := e.store.UpdateRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			if tc.listFails {
				e.secondary.SetFault(func(req *http.Request) (int, bool) {
					return http.StatusInternalServerError,
						strings.HasSuffix(req.URL.Path, "/tags/list")
				})
			}

			if _, err := e.engine.RunWith(ctx, run, reconcile.Signals{}); err != nil {
				t.Fatal(err)
			}
			rows, _, err := e.store.ListRunTags(ctx, run.ID,
				regdrift.TagFilter{Repository: repo.name})
			if err != nil {
				t.Fatal(err)
			}
			var got *regdrift.TagRow
			for _, r := range rows {
				if r.Tag == gone.Tag {
					got = r
				}
			}
			if got == nil || got.Action != regdrift.ActionDelete || got.Result != tc.wantResult {
				t.Fatalf("row of the earlier deletion: %+v, want delete %s", got, tc.wantResult)
			}
		})
	}
}
