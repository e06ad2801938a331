package reconcile_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/reconcile"
	"github.com/regdrift/regdrift/sync/regtest"
)

// guardRepo is a repository of the guard fixture: tags on both registries, and orphans only
// on the secondary.
type guardRepo struct {
	name           string
	shared, orphan int
}

// fillGuard pushes one small image under every tag of repos: s0.. on both registries, o0.. on
// the secondary only.
func fillGuard(t *testing.T, repos ...guardRepo) func(pHost, sHost string) error {
	return func(pHost, sHost string) error {
		ctx := t.Context()
		rc := regtest.NewClient(pHost, sHost)
		for _, r := range repos {
			c, err := regtest.Build(regtest.Spec{Kind: regtest.OCIImage, Seed: r.name})
			if err != nil {
				return err
			}
			for i := range r.shared + r.orphan {
				tag := fmt.Sprint("s", i)
				hosts := []string{pHost, sHost}
				if i >= r.shared {
					tag, hosts = fmt.Sprint("o", i-r.shared), []string{sHost}
				}
				for _, h := range hosts {
					if err := c.Push(ctx, rc, h, r.name, tag); err != nil {
						return fmt.Errorf("push %s:%s: %w", r.name, tag, err)
					}
				}
			}
		}
		return nil
	}
}

// orphansLeft counts the orphans of r still on the secondary, asking the registry itself.
func orphansLeft(t *testing.T, e *env, r guardRepo) int {
	t.Helper()
	n := 0
	for i := range r.orphan {
		if headDigest(t, e.sReg.URL, r.name, fmt.Sprint("o", i)) != "" {
			n++
		}
	}
	return n
}

func TestGuard_RepositoryRule(t *testing.T) {
	mass := guardRepo{"guard/mass", 9, 12}         // 12 of 21: more than half and than 10
	routine := guardRepo{"guard/routine", 10, 3}   // routine cleanup
	vanished := guardRepo{"guard/vanished", 15, 0} // the primary will list none of them
	e := newEnvWith(t, fillGuard(t, mass, routine, vanished), reconcile.Config{})
	// The primary suddenly answers an empty tag list for one repository.
	e.primary.SetModify(regtest.ReplaceBody(regtest.Match{Kind: regtest.PathTags,
		Path: "/v2/guard/vanished/tags/list"}, func([]byte) []byte {
		return []byte(`{"name":"guard/vanished","tags":[]}`)
	}))

	run, results := e.run(t, regdrift.ModeExecute, false)

	for _, c := range []struct {
		repo     guardRepo
		held     int
		left     int
		inReason string
	}{
		{mass, 12, 12, "would delete 12 of the 21 tags"},
		{routine, 0, 0, ""},
		{vanished, 15, 0, "the primary lists no tags here"},
	} {
		res := results[c.repo.name]
		if res.HeldBack != c.held {
			t.Errorf("%s: %d held back, want %d", c.repo.name, res.HeldBack, c.held)
		}
		if got := orphansLeft(t, e, c.repo); got != c.left {
			t.Errorf("%s: %d orphans left, want %d", c.repo.name, got, c.left)
		}
		if c.inReason == "" {
			if res.Error != "" || res.Status != regdrift.RepoInSync {
				t.Errorf("%s: %s %q, want in sync", c.repo.name, res.Status, res.Error)
			}
			continue
		}
		if res.Status != regdrift.RepoError || !strings.Contains(res.Error, c.inReason) ||
			!strings.Contains(res.Error, "--allow-mass-delete") {
			t.Errorf("%s: %s %q, want an error saying %q and how to override", c.repo.name,
				res.Status, res.Error, c.inReason)
		}
	}
	// The vanished repository's tags are all still there on the secondary.
	for i := range vanished.shared {
		if headDigest(t, e.sReg.URL, vanished.name, fmt.Sprint("s", i)) == "" {
			t.Errorf("%s:s%d deleted although the primary's listing was empty", vanished.name, i)
		}
	}

	g := run.Guard
	if !g.Tripped || g.RunTripped || g.HeldBack != 27 || g.Repositories != 2 ||
		g.WouldDelete != 30 || g.Limits != regdrift.DefaultDeleteLimits() ||
		!strings.Contains(g.Note, "--allow-mass-delete") {
		t.Errorf("guard %+v, want 27 held back in 2 repositories of 30 deletions", g)
	}
	if run.Summary.HeldBack != 27 || run.Outcome != regdrift.OutcomeError ||
		run.Outcome.ExitCode() == 0 {
		t.Errorf("summary %+v outcome %s, want 27 held back and an error", run.Summary,
			run.Outcome)
	}

	// The record says the same.
	stored, err := e.store.GetRun(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Guard != run.Guard || stored.Summary.HeldBack != 27 {
		t.Errorf("stored guard %+v held %d, want %+v", stored.Guard, stored.Summary.HeldBack,
			run.Guard)
	}
	rows, total, err := e.store.ListRunTags(t.Context(), run.ID, regdrift.TagFilter{
		Repository: mass.name, State: regdrift.StateOnlyOnSecondary})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(rows) || len(rows) == 0 {
		t.Errorf("stored %d of %d orphan rows, want all of a non-empty set", len(rows), total)
	}
	for _, row := range rows {
		if row.Result != regdrift.ResultSkipped ||
			!strings.HasPrefix(row.Error, "held back by the deletion guard") {
			t.Errorf("stored %s: %s %q, want skipped by the guard", row.Tag, row.Result,
				row.Error)
		}
	}
	if len(rows) != mass.orphan {
		t.Errorf("%d stored orphan rows, want %d", len(rows), mass.orphan)
	}
}

func TestGuard_AllowMassDeleteForOneRun(t *testing.T) {
	mass := guardRepo{"guard/mass", 9, 12}
	e := newEnvWith(t, fillGuard(t, mass), reconcile.Config{})
	run, results := e.runWith(t, &regdrift.Run{Mode: regdrift.ModeExecute,
		AllowMassDelete: true})
	if got := orphansLeft(t, e, mass); got != 0 {
		t.Errorf("%d orphans left, want none", got)
	}
	res := results[mass.name]
	if run.Guard.Tripped || res.HeldBack != 0 || res.Status != regdrift.RepoInSync ||
		run.Outcome != regdrift.OutcomeInSync {
		t.Errorf("guard %+v, repo %s %q, outcome %s; want all deleted and in sync",
			run.Guard, res.Status, res.Error, run.Outcome)
	}
	stored, err := e.store.GetRun(t.Context(), run.ID)
	if err != nil || !stored.AllowMassDelete {
		t.Errorf("stored run %+v %v, want allow_mass_delete recorded", stored, err)
	}

	// The next run has the guard again: a new mass deletion is held back.
	e.secondary.ResetCounts()
	more := guardRepo{"guard/mass", 0, 12}
	if err := fillGuard(t, more)("", e.sReg.Host); err != nil {
		t.Fatal(err)
	}
	run2, _ := e.run(t, regdrift.ModeExecute, false)
	if !run2.Guard.Tripped || orphansLeft(t, e, more) != 12 {
		t.Errorf("second run: guard %+v, %d left; want the guard back", run2.Guard,
			orphansLeft(t, e, more))
	}
}

func TestGuard_RunRule(t *testing.T) {
	// Each repository's cleanup is routine; together they pass the run's limit of 5.
	a, b := guardRepo{"guard/a", 10, 3}, guardRepo{"guard/b", 10, 3}
	limits := regdrift.DeleteLimits{RepoShare: 0.5, RepoMin: 10, RunMax: 5}
	e := newEnvWith(t, fillGuard(t, a, b), reconcile.Config{DeleteLimits: limits})

	// A dry run counts as it goes, without listing every repository first: whichever
	// repository comes second passes the limit and shows its deletions held back.
	run, results := e.run(t, regdrift.ModeDryRun, false)
	g := run.Guard
	if !g.RunTripped || g.HeldBack != 3 || g.Repositories != 1 || g.WouldDelete != 6 ||
		!strings.Contains(g.Note, "6 tags in all") {
		t.Errorf("dry run: guard %+v, want the run tripped at 6 of 5, 3 held back", g)
	}
	held := 0
	for _, r := range []guardRepo{a, b} {
		res := results[r.name]
		switch {
		case res.HeldBack == 3 && res.Status == regdrift.RepoError &&
			strings.Contains(res.Error, "in all"):
			held++
		case res.HeldBack != 0 || res.Status != regdrift.RepoDrift:
			t.Errorf("dry run %s: held %d, %s %q; want 3 held by the run's limit or none",
				r.name, res.HeldBack, res.Status, res.Error)
		}
	}
	if held != 1 {
		t.Errorf("dry run: %d repositories held back, want the one past the limit", held)
	}
	if n := e.primary.Count(http.MethodGet, regtest.PathTags); n != 2 {
		t.Errorf("dry run listed tags %d times on the primary, want once a repository", n)
	}

	// An execute counts first, so no repository deletes anything.
	run, results = e.run(t, regdrift.ModeExecute, false)
	g = run.Guard
	if !g.RunTripped || g.HeldBack != 6 || g.Repositories != 2 || g.WouldDelete != 6 ||
		g.Limits != limits || !strings.Contains(g.Note, "6 tags in all") {
		t.Errorf("execute: guard %+v, want the run tripped at 6 of 5", g)
	}
	for _, r := range []guardRepo{a, b} {
		res := results[r.name]
		if res.HeldBack != 3 || res.Status != regdrift.RepoError ||
			!strings.Contains(res.Error, "in all") {
			t.Errorf("execute %s: held %d, %s %q; want 3 held by the run's limit", r.name,
				res.HeldBack, res.Status, res.Error)
		}
	}
	if run.Outcome != regdrift.OutcomeError {
		t.Errorf("execute: outcome %s, want error", run.Outcome)
	}
	if got := orphansLeft(t, e, a) + orphansLeft(t, e, b); got != 6 {
		t.Errorf("%d orphans left, want all 6", got)
	}
	if n := e.secondary.Count(http.MethodDelete, regtest.PathManifest); n != 0 {
		t.Errorf("%d manifest DELETEs on the secondary, want none", n)
	}
}

// A resumed execute counts the run's deletions over every repository again: the orphans an
// earlier attempt held back in the repositories it finished still trip the run's limit, so
// the repositories left do not delete what the first attempt would not.
func TestGuard_RunRuleHoldsAcrossResume(t *testing.T) {
	a, b := guardRepo{"guard/a", 10, 3}, guardRepo{"guard/b", 10, 3}
	limits := regdrift.DeleteLimits{RepoShare: 0.5, RepoMin: 10, RunMax: 5}
	e := newEnvWith(t, fillGuard(t, a, b), reconcile.Config{DeleteLimits: limits})
	ctx := t.Context()

	// An earlier attempt finished guard/a with its 3 deletions held back by the run's
	// limit, then the process stopped.
	run := &regdrift.Run{Mode: regdrift.ModeExecute, Trigger: regdrift.TriggerAPI,
		Status: regdrift.RunQueued, Scope: []string{}}
	if err := e.store.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SaveRepoResult(ctx, &regdrift.RepoResult{RunID: run.ID, Name: a.name,
		Status: regdrift.RepoError, Error: "the run would delete 6 tags in all",
		Before: regdrift.Counts{InSync: 10, OnlyOnSecondary: 3}, Skipped: 3, HeldBack: 3,
		Finished: true, CheckedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	run.Status, run.Interruptions = regdrift.RunInterrupted, 1
	if err := e.store.UpdateRun(ctx, run); err != nil {
		t.Fatal(err)
	}

	results, err := e.engine.RunWith(ctx, run, reconcile.Signals{})
	if err != nil {
		t.Fatal(err)
	}
	var rb *regdrift.RepoResult
	for _, r := range results {
		if r.Name == b.name {
			rb = r
		}
	}
	if rb == nil || rb.HeldBack != 3 || !strings.Contains(rb.Error, "in all") {
		t.Fatalf("resumed %s: %+v, want its 3 deletions held by the run's limit", b.name, rb)
	}
	if !run.Guard.RunTripped || run.Guard.HeldBack != 6 {
		t.Errorf("resumed run's guard %+v, want the run tripped with 6 held back", run.Guard)
	}
	if got := orphansLeft(t, e, a) + orphansLeft(t, e, b); got != 6 {
		t.Errorf("%d orphans left, want all 6", got)
	}
}
