package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
)

func TestListRunTags_ResultNotableAndTotal(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	run := createRun(t, d)
	tags := append(planned(),
		regdrift.TagDrift{Tag: "g-quiet", State: regdrift.StateInSync, Primary: manA,
			Secondary: manA, Action: regdrift.ActionNone},
		regdrift.TagDrift{Tag: "h-fixed", State: regdrift.StateStale, Primary: manA,
			Secondary: manB, Action: regdrift.ActionCopy, Result: regdrift.ResultFailed,
			Error: "PUT 400", Verified: regdrift.StateStale},
		regdrift.TagDrift{Tag: "i-verified-odd", State: regdrift.StateInSync, Primary: manA,
			Secondary: manA, Verified: regdrift.StateUnresolved})
	saveResult(t, d, &regdrift.RepoResult{RunID: run.ID, Name: "app",
		Status: regdrift.RepoDrift, Tags: tags})
	all := tagsOf(run.ID, "app", tags)

	var notable []*regdrift.TagRow
	for _, r := range all {
		if r.Notable() {
			notable = append(notable, r)
		}
	}
	// The rows the SQL condition keeps are exactly those the Go rule calls notable.
	tests := []struct {
		name      string
		filter    regdrift.TagFilter
		want      []*regdrift.TagRow
		wantTotal int
	}{
		{"notable", regdrift.TagFilter{Notable: true}, notable, len(notable)},
		{"failed", regdrift.TagFilter{Result: regdrift.ResultFailed}, all[7:8], 1},
		{"planned, paged", regdrift.TagFilter{Result: regdrift.ResultPlanned, Limit: 2},
			[]*regdrift.TagRow{all[0], all[2]}, 3},
		{"state and result",
			regdrift.TagFilter{State: regdrift.StateStale, Result: regdrift.ResultPlanned},
			all[4:5], 1},
		{"page past the end keeps the total", regdrift.TagFilter{Limit: 5, Offset: 50},
			[]*regdrift.TagRow{}, len(all)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := d.ListRunTags(ctx, run.ID, tt.filter)
			if err != nil {
				t.Fatalf("ListRunTags: %v", err)
			}
			checkEqual(t, "rows", got, tt.want)
			checkEqual(t, "total", total, tt.wantTotal)
		})
	}
	checkEqual(t, "notable rows", len(notable), 7) // the quiet in-sync ones are left out

	t.Run("unknown result", func(t *testing.T) {
		_, _, err := d.ListRunTags(ctx, run.ID, regdrift.TagFilter{Result: "weird"})
		checkEqual(t, "error code", regdrift.ErrorCode(err), regdrift.EINVALID)
	})
}

// saveRepos stores the results in a new run, each checked at at, and returns the run id.
func saveRepos(t *testing.T, d interface {
	CreateRun(context.Context, *regdrift.Run) error
	SaveRepoResult(context.Context, *regdrift.RepoResult) error
}, at time.Time, results ...regdrift.RepoResult) int64 {
	t.Helper()
	run := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerCLI}
	if err := d.CreateRun(context.Background(), run); err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	for i := range results {
		results[i].RunID, results[i].CheckedAt = run.ID, at
		if err := d.SaveRepoResult(context.Background(), &results[i]); err != nil {
			t.Fatalf("SaveRepoResult: %v", err)
		}
	}
	return run.ID
}

func TestListRepositories_FilterSearchPage(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	at := base.Add(time.Hour)
	runID := saveRepos(t, d, at,
		regdrift.RepoResult{Name: "team/ok", Status: regdrift.RepoInSync,
			Before: regdrift.Counts{InSync: 3}},
		regdrift.RepoResult{Name: "team/drift", Status: regdrift.RepoDrift,
			Before: regdrift.Counts{InSync: 1, Stale: 2}},
		regdrift.RepoResult{Name: "web/err-drift", Status: regdrift.RepoError, Error: "500",
			Before: regdrift.Counts{OnlyOnPrimary: 1, Unresolved: 1}},
		regdrift.RepoResult{Name: "web/err", Status: regdrift.RepoError, Error: "401",
			Before: regdrift.Counts{Unresolved: 4}},
		regdrift.RepoResult{Name: "lib_x/100%", Status: regdrift.RepoInSync,
			Before: regdrift.Counts{InSync: 1}},
	)
	names := func(repos []*regdrift.RepoSummary) []string {
		out := []string{}
		for _, r := range repos {
			out = append(out, r.Name)
		}
		return out
	}
	tests := []struct {
		name      string
		filter    regdrift.RepoFilter
		want      []string
		wantTotal int
	}{
		{"all, worst first", regdrift.RepoFilter{},
			[]string{"web/err-drift", "web/err", "team/drift", "lib_x/100%", "team/ok"}, 5},
		{"errors", regdrift.RepoFilter{Status: regdrift.RepoError},
			[]string{"web/err-drift", "web/err"}, 2},
		{"drift keeps the repository in error that drifts too",
			regdrift.RepoFilter{Status: regdrift.RepoDrift},
			[]string{"web/err-drift", "team/drift"}, 2},
		{"in sync", regdrift.RepoFilter{Status: regdrift.RepoInSync},
			[]string{"lib_x/100%", "team/ok"}, 2},
		{"search", regdrift.RepoFilter{Query: "team/"}, []string{"team/drift", "team/ok"}, 2},
		{"search and status", regdrift.RepoFilter{Query: "err", Status: regdrift.RepoDrift},
			[]string{"web/err-drift"}, 1},
		{"search takes % and _ literally", regdrift.RepoFilter{Query: "_x/100%"},
			[]string{"lib_x/100%"}, 1},
		{"a wildcard character matches only itself", regdrift.RepoFilter{Query: "%"},
			[]string{"lib_x/100%"}, 1},
		{"page", regdrift.RepoFilter{Limit: 2, Offset: 2},
			[]string{"team/drift", "lib_x/100%"}, 5},
		{"nothing matches", regdrift.RepoFilter{Query: "nope"}, []string{}, 0},
		{"names", regdrift.RepoFilter{Names: []string{"team/ok", "never/checked", "web/err"}},
			[]string{"web/err", "team/ok"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := d.ListRepositories(ctx, tt.filter)
			if err != nil {
				t.Fatalf("ListRepositories: %v", err)
			}
			checkEqual(t, "names", names(got), tt.want)
			checkEqual(t, "total", total, tt.wantTotal)
			for _, r := range got {
				checkEqual(t, "run id of "+r.Name, r.RunID, runID)
			}
		})
	}
	t.Run("unknown status", func(t *testing.T) {
		_, _, err := d.ListRepositories(ctx, regdrift.RepoFilter{Status: "weird"})
		checkEqual(t, "error code", regdrift.ErrorCode(err), regdrift.EINVALID)
	})
}

func TestRepoTotals(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)

	got, err := d.RepoTotals(ctx)
	if err != nil {
		t.Fatalf("RepoTotals of an empty store: %v", err)
	}
	checkEqual(t, "empty totals", got, regdrift.RepoTotals{})

	saveRepos(t, d, base, regdrift.RepoResult{Name: "a", Status: regdrift.RepoInSync,
		Before: regdrift.Counts{InSync: 2}})
	saveRepos(t, d, base.Add(time.Minute),
		regdrift.RepoResult{Name: "b", Status: regdrift.RepoDrift,
			Before: regdrift.Counts{InSync: 1, Stale: 2, OnlyOnSecondary: 3}},
		regdrift.RepoResult{Name: "c", Status: regdrift.RepoError,
			Before: regdrift.Counts{Broken: 1, OnlyOnPrimary: 4, Unresolved: 5}},
		// Verified after an execute: the counts after acting are the latest.
		regdrift.RepoResult{Name: "d", Status: regdrift.RepoInSync,
			Before: regdrift.Counts{Stale: 9}, After: &regdrift.Counts{InSync: 9}})
	got, err = d.RepoTotals(ctx)
	if err != nil {
		t.Fatalf("RepoTotals: %v", err)
	}
	checkEqual(t, "totals", got, regdrift.RepoTotals{
		Repositories: 4, InSync: 2, Drift: 1, Errors: 1,
		Tags: regdrift.Counts{InSync: 12, Stale: 2, OnlyOnSecondary: 3, Broken: 1,
			OnlyOnPrimary: 4, Unresolved: 5},
		LastCheckedAt: base.Add(time.Minute),
	})
}

func TestListRuns_StatusAndWholeRegistry(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	mk := func(status regdrift.RunStatus, scope ...string) int64 {
		run := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerAPI,
			Scope: scope}
		if err := d.CreateRun(ctx, run); err != nil {
			t.Fatalf("CreateRun: %v", err)
		}
		run.Status = status
		if err := d.UpdateRun(ctx, run); err != nil {
			t.Fatalf("UpdateRun: %v", err)
		}
		return run.ID
	}
	done := mk(regdrift.RunDone)
	scoped := mk(regdrift.RunDone, "app")
	running := mk(regdrift.RunRunning)
	queued := mk(regdrift.RunQueued, "app")
	ids := func(f regdrift.RunFilter) ([]int64, int) {
		runs, total, err := d.ListRuns(ctx, f)
		if err != nil {
			t.Fatalf("ListRuns(%+v): %v", f, err)
		}
		out := []int64{}
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out, total
	}
	tests := []struct {
		name      string
		filter    regdrift.RunFilter
		want      []int64
		wantTotal int
	}{
		{"all", regdrift.RunFilter{}, []int64{queued, running, scoped, done}, 4},
		{"going on", regdrift.RunFilter{
			Statuses: []regdrift.RunStatus{regdrift.RunQueued, regdrift.RunRunning}},
			[]int64{queued, running}, 2},
		{"whole registry, done", regdrift.RunFilter{WholeRegistry: true,
			Statuses: []regdrift.RunStatus{regdrift.RunDone}}, []int64{done}, 1},
		{"whole registry, paged", regdrift.RunFilter{WholeRegistry: true, Limit: 1},
			[]int64{running}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := ids(tt.filter)
			checkEqual(t, "ids", got, tt.want)
			checkEqual(t, "total", total, tt.wantTotal)
		})
	}
}

// BenchmarkOverviewQueries measures what the overview asks of a store holding 10,000
// repositories: the totals and one page of the worst, of those drifting, and of a search.
func BenchmarkOverviewQueries(b *testing.B) {
	ctx := context.Background()
	d, _ := openDB(b)
	run := createRun(b, d)
	for i := range 10000 {
		res := &regdrift.RepoResult{RunID: run.ID, Name: fmt.Sprintf("team%03d/app%05d", i%100, i),
			Status: regdrift.RepoInSync, Before: regdrift.Counts{InSync: 100}}
		if i%10 == 0 {
			res.Status, res.Before = regdrift.RepoDrift, regdrift.Counts{InSync: 90, Stale: 10}
		}
		saveResult(b, d, res)
	}
	filters := map[string]regdrift.RepoFilter{
		"worst":  {Limit: 50},
		"drift":  {Status: regdrift.RepoDrift, Limit: 50, Offset: 500},
		"search": {Query: "app0999", Limit: 50},
	}
	for name, f := range filters {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := d.RepoTotals(ctx); err != nil {
					b.Fatal(err)
				}
				if _, _, err := d.ListRepositories(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestWorstRunRepos(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	runID := saveRepos(t, d, base,
		regdrift.RepoResult{Name: "b-ok", Status: regdrift.RepoInSync},
		regdrift.RepoResult{Name: "a-ok", Status: regdrift.RepoInSync},
		regdrift.RepoResult{Name: "z-drift", Status: regdrift.RepoDrift},
		regdrift.RepoResult{Name: "y-err", Status: regdrift.RepoError, Error: "401"},
		regdrift.RepoResult{Name: "c-drift", Status: regdrift.RepoDrift})
	names := func(limit int) string {
		repos, err := d.WorstRunRepos(ctx, runID, limit)
		if err != nil {
			t.Fatalf("WorstRunRepos: %v", err)
		}
		var out []string
		for _, r := range repos {
			out = append(out, r.Name)
		}
		return fmt.Sprint(out)
	}
	checkEqual(t, "all", names(0), "[y-err c-drift z-drift a-ok b-ok]")
	checkEqual(t, "worst three", names(3), "[y-err c-drift z-drift]")
	_, err := d.WorstRunRepos(ctx, runID+1, 3)
	checkEqual(t, "unknown run", regdrift.IsNotFound(err), true)
}
