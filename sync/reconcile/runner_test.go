package reconcile_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/reconcile"
	"github.com/regdrift/regdrift/sync/registry"
	"github.com/regdrift/regdrift/sync/regtest"
)

func TestRunner_StartAndWait(t *testing.T) {
	e := newEnv(t)
	r := reconcile.NewRunner(e.engine, e.store, testLogger())
	defer r.Close()
	run, err := r.StartRun(t.Context(), regdrift.RunRequest{
		Repositories: []string{regtest.DemoApp}, Trigger: regdrift.TriggerAPI})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != regdrift.RunQueued || run.Mode != regdrift.ModeDryRun || run.ID == 0 {
		t.Errorf("started %+v, want a queued dry run with an id", run)
	}
	if run.Guard.Limits != regdrift.DefaultDeleteLimits() {
		t.Errorf("queued run's guard limits %+v, want the defaults", run.Guard.Limits)
	}
	done, err := r.Wait(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != regdrift.RunDone || done.Outcome != regdrift.OutcomeDrift ||
		done.Summary.Stale != 2 || done.FinishedAt == nil {
		t.Errorf("finished %+v, want done with 2 stale tags", done)
	}
	if err := r.CancelRun(t.Context(), run.ID); regdrift.ErrorCode(err) != regdrift.ECONFLICT {
		t.Errorf("cancel of a finished run: %v, want a conflict", err)
	}
	if err := r.CancelRun(t.Context(), 9999); !regdrift.IsNotFound(err) {
		t.Errorf("cancel of an unknown run: %v, want not found", err)
	}
	if _, err := r.StartRun(t.Context(), regdrift.RunRequest{Mode: "delete-all"}); regdrift.
		ErrorCode(err) != regdrift.EINVALID {
		t.Errorf("bad mode: %v, want invalid", err)
	}
}

func TestRunner_CancelStopsBetweenRepositories(t *testing.T) {
	e := newEnv(t)
	// One repository at a time, so the run has repositories left when it is canceled.
	pair, err := registry.NewPair(registry.Config{URL: e.primary.URL},
		registry.Config{URL: e.secondary.URL}, registry.Options{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	engine := reconcile.New(reconcile.Config{Primary: pair.Primary,
		Secondary: pair.Secondary, Store: e.store, Concurrency: 1})
	r := reconcile.NewRunner(engine, e.store, testLogger())
	defer r.Close()

	// Hold the first repository's own tag listing until the cancel has been asked for. Its
	// first listing belongs to the deletion guard's count, before any repository starts.
	entered, release := make(chan struct{}), make(chan struct{})
	first := "/v2/" + regtest.DemoBase + "/tags/list"
	var listings atomic.Int64
	e.primary.SetFault(func(req *http.Request) (int, bool) {
		if strings.HasPrefix(req.URL.Path, first) && listings.Add(1) == 2 {
			entered <- struct{}{}
			<-release
		}
		return 0, false
	})
	run, err := r.StartRun(t.Context(), regdrift.RunRequest{Mode: regdrift.ModeExecute})
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := r.CancelRun(t.Context(), run.ID); err != nil {
		t.Fatal(err)
	}
	close(release)
	got, err := r.Wait(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != regdrift.RunCanceled || got.ReposDone != 1 || got.ReposTotal != 6 ||
		got.Outcome != regdrift.OutcomeError {
		t.Errorf("canceled run %+v, want canceled after 1 of 6 repositories", got)
	}
	repos, err := e.store.ListRunRepos(t.Context(), run.ID)
	if err != nil || len(repos) != 1 || repos[0].Name != regtest.DemoBase {
		t.Errorf("recorded repositories %v (%v), want only %s", repos, err, regtest.DemoBase)
	}
}

// A cancel while the deletion guard counts what the run would delete (it lists every
// repository first) ends the run there: no repository is started, nothing is copied.
func TestRunner_CancelDuringTheGuardCount(t *testing.T) {
	e := newEnv(t)
	r := reconcile.NewRunner(e.engine, e.store, testLogger())
	defer r.Close()
	entered, release := make(chan struct{}), make(chan struct{})
	first := "/v2/" + regtest.DemoBase + "/tags/list"
	var listings atomic.Int64
	e.primary.SetFault(func(req *http.Request) (int, bool) {
		if strings.HasPrefix(req.URL.Path, first) && listings.Add(1) == 1 {
			entered <- struct{}{}
			<-release
		}
		return 0, false
	})
	run, err := r.StartRun(t.Context(), regdrift.RunRequest{Mode: regdrift.ModeExecute})
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := r.CancelRun(t.Context(), run.ID); err != nil {
		t.Fatal(err)
	}
	close(release)
	got, err := r.Wait(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := e.store.ListRunRepos(t.Context(), run.ID)
	if got.Status != regdrift.RunCanceled || got.ReposDone != 0 || err != nil || len(repos) != 0 {
		t.Errorf("run %s with %d repositories done, %d recorded (%v); want canceled, none",
			got.Status, got.ReposDone, len(repos), err)
	}
	if n := e.secondary.Count(http.MethodPut, regtest.PathManifest); n != 0 {
		t.Errorf("%d manifests pushed to the secondary after the cancel", n)
	}
}

func TestRunner_CancelWhileWaitingForTheRepository(t *testing.T) {
	e := newEnv(t)
	r := reconcile.NewRunner(e.engine, e.store, testLogger())
	defer r.Close()

	// Run A holds base/alpine inside its tag listing until released.
	entered, release := make(chan struct{}), make(chan struct{})
	first := "/v2/" + regtest.DemoBase + "/tags/list"
	e.primary.SetFault(func(req *http.Request) (int, bool) {
		if strings.HasPrefix(req.URL.Path, first) {
			select {
			case entered <- struct{}{}:
				<-release
			default:
			}
		}
		return 0, false
	})
	scope := []string{regtest.DemoBase}
	a, err := r.StartRun(t.Context(), regdrift.RunRequest{Mode: regdrift.ModeExecute,
		Repositories: scope, NoDelete: true})
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	// Run B waits for the repository; it is canceled before it gets it.
	b, err := r.StartRun(t.Context(), regdrift.RunRequest{Mode: regdrift.ModeExecute,
		Repositories: scope})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CancelRun(t.Context(), b.ID); err != nil {
		t.Fatal(err)
	}
	gotB, err := r.Wait(t.Context(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	if _, err := r.Wait(t.Context(), a.ID); err != nil {
		t.Fatal(err)
	}

	if gotB.Status != regdrift.RunCanceled || gotB.ReposDone != 0 {
		t.Errorf("run B %+v, want canceled with no repository done", gotB)
	}
	repos, err := e.store.ListRunRepos(t.Context(), b.ID)
	if err != nil || len(repos) != 0 {
		t.Errorf("run B recorded %d repositories (%v), want none", len(repos), err)
	}
	// A kept its orphans (no_delete) and B never acted: old-stable is still there.
	if d := headDigest(t, e.sReg.URL, regtest.DemoBase, "old-stable"); d == "" {
		t.Error("old-stable was deleted by a canceled run")
	}
}

func TestRunner_CloseMidRunRecordsWhatWasDone(t *testing.T) {
	e := newEnv(t)
	r := reconcile.NewRunner(e.engine, e.store, testLogger())
	// The first upload to the secondary hangs until the client gives up on it.
	entered := make(chan struct{})
	e.secondary.SetFault(func(req *http.Request) (int, bool) {
		if req.Method != http.MethodPut {
			return 0, false
		}
		select {
		case entered <- struct{}{}:
			<-req.Context().Done()
			return http.StatusBadGateway, true
		default:
			return 0, false
		}
	})
	run, err := r.StartRun(t.Context(), regdrift.RunRequest{Mode: regdrift.ModeExecute,
		Repositories: []string{regtest.DemoApp}})
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	r.Close() // a hard stop: ends the run's registry requests and waits for its records
	got, err := r.Wait(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != regdrift.RunInterrupted || !strings.HasPrefix(got.Error, "interrupted") ||
		got.Interruptions != 1 || got.FinishedAt != nil {
		t.Errorf("run %+v, want interrupted, to resume", got)
	}
	repos, err := e.store.ListRunRepos(t.Context(), run.ID)
	if err != nil || len(repos) != 1 || repos[0].Status != regdrift.RepoError ||
		repos[0].Finished {
		t.Fatalf("recorded %v (%v), want geo/app with an error, to be done again", repos, err)
	}
	rows, _, err := e.store.ListRunTags(t.Context(), run.ID, regdrift.TagFilter{})
	if err != nil || len(rows) != 3 {
		t.Fatalf("recorded %d tag rows (%v), want 3", len(rows), err)
	}
	for _, row := range rows {
		if row.Result == regdrift.ResultPlanned {
			t.Errorf("%s still planned after the run stopped", row.Tag)
		}
	}
}
