package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
)

var (
	manA = regdrift.Manifest{Digest: "sha256:aaaa",
		MediaType: "application/vnd.oci.image.index.v1+json"}
	manB = regdrift.Manifest{Digest: "sha256:bbbb",
		MediaType: "application/vnd.oci.image.manifest.v1+json"}
)

// tagsOf turns tag drifts into the rows a store returns for them.
func tagsOf(runID int64, repo string, tags []regdrift.TagDrift) []*regdrift.TagRow {
	rows := []*regdrift.TagRow{}
	for _, t := range tags {
		rows = append(rows, &regdrift.TagRow{RunID: runID, Repository: repo, TagDrift: t})
	}
	return rows
}

// planned is one tag in every state with every field of TagDrift used somewhere, as a run
// stores it after classifying.
func planned() []regdrift.TagDrift {
	return []regdrift.TagDrift{
		{Tag: "a-broken", State: regdrift.StateBroken, Primary: manA, Secondary: manA,
			Missing: []string{"sha256:1111", "sha256:2222"}, Action: regdrift.ActionCopy,
			Result: regdrift.ResultPlanned, Platforms: []string{"linux/amd64", "linux/arm64"}},
		{Tag: "b-in-sync", State: regdrift.StateInSync, Primary: manA, Secondary: manA,
			Action: regdrift.ActionNone, Platforms: []string{}},
		{Tag: "c-only-primary", State: regdrift.StateOnlyOnPrimary, Primary: manB,
			Action: regdrift.ActionCopy, Result: regdrift.ResultPlanned},
		{Tag: "d-only-secondary", State: regdrift.StateOnlyOnSecondary, Secondary: manB,
			Missing: []string{}, Action: regdrift.ActionDelete, Result: regdrift.ResultSkipped},
		{Tag: "e-stale", State: regdrift.StateStale, Primary: manA, Secondary: manB,
			Action: regdrift.ActionCopy, Result: regdrift.ResultPlanned},
		{Tag: "f-unresolved", State: regdrift.StateUnresolved, Primary: manA,
			Error: "HEAD secondary: 500", Action: regdrift.ActionNone},
	}
}

func TestSaveRepoResult_RoundTrip(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	run := createRun(t, d)
	checked := time.Date(2026, 5, 6, 7, 8, 9, 10, time.FixedZone("EST", -5*3600))
	tests := []struct {
		name string
		res  regdrift.RepoResult
	}{
		{"dry run without verification", regdrift.RepoResult{
			RunID: run.ID, Name: "team/app", Status: regdrift.RepoDrift, Error: "partial",
			Before: regdrift.CountTags(planned()), Actions: 3, Failed: 1, Skipped: 2, HeldBack: 1,
			CheckedAt: checked, Tags: planned(),
		}},
		{"execute with verification", regdrift.RepoResult{
			RunID: run.ID, Name: "team/db", Status: regdrift.RepoInSync,
			Before: regdrift.Counts{InSync: 1, OnlyOnPrimary: 2, OnlyOnSecondary: 3, Stale: 4,
				Broken: 5, Unresolved: 6},
			After: &regdrift.Counts{InSync: 7, OnlyOnPrimary: 8, OnlyOnSecondary: 9,
				Stale: 10, Broken: 11, Unresolved: 12},
			CheckedAt: checked, Tags: []regdrift.TagDrift{{Tag: "v1", State: "in_sync"}},
		}},
		{"verified to zero", regdrift.RepoResult{
			RunID: run.ID, Name: "team/empty", Status: regdrift.RepoInSync,
			After: &regdrift.Counts{}, CheckedAt: checked,
		}},
		{"error without tags", regdrift.RepoResult{
			RunID: run.ID, Name: "team/gone", Status: regdrift.RepoError,
			Error: "list tags: 404", CheckedAt: checked,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.res
			saveResult(t, d, &res)

			want := tt.res
			want.CheckedAt, want.Tags = checked.UTC(), nil
			repos, err := d.ListRunRepos(ctx, run.ID)
			if err != nil {
				t.Fatalf("ListRunRepos: %v", err)
			}
			var got *regdrift.RepoResult
			for _, r := range repos {
				if r.Name == want.Name {
					got = r
				}
			}
			checkEqual(t, "repository result", got, &want)

			tags, _, err := d.ListRunTags(ctx, run.ID, regdrift.TagFilter{Repository: want.Name})
			if err != nil {
				t.Fatalf("ListRunTags: %v", err)
			}
			checkEqual(t, "tag rows", tags, tagsOf(run.ID, want.Name, tt.res.Tags))
		})
	}

	repos, err := d.ListRunRepos(ctx, run.ID)
	if err != nil {
		t.Fatalf("ListRunRepos: %v", err)
	}
	var names []string
	for _, r := range repos {
		names = append(names, r.Name)
	}
	checkEqual(t, "repositories by name", names,
		[]string{"team/app", "team/db", "team/empty", "team/gone"})
}

func TestSaveRepoResult_StampsZeroCheckedAt(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	run := createRun(t, d) // reads the clock once
	res := &regdrift.RepoResult{RunID: run.ID, Name: "app", Status: regdrift.RepoInSync}
	saveResult(t, d, res)

	want := base.Add(2 * time.Second)
	checkEqual(t, "CheckedAt set on the argument", res.CheckedAt, want)
	repos, err := d.ListRunRepos(ctx, run.ID)
	if err != nil {
		t.Fatalf("ListRunRepos: %v", err)
	}
	checkEqual(t, "stored CheckedAt", repos[0].CheckedAt, want)
}

func TestSaveRepoResult_ReplacesEarlierSave(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	other := createRun(t, d)
	run := createRun(t, d)
	saveResult(t, d, &regdrift.RepoResult{RunID: other.ID, Name: "app",
		Status: regdrift.RepoDrift, Tags: planned()})

	// The run saves after classifying, then after executing and verifying.
	first := &regdrift.RepoResult{RunID: run.ID, Name: "app", Status: regdrift.RepoDrift,
		Before: regdrift.CountTags(planned()), Actions: 4, Tags: planned()}
	saveResult(t, d, first)
	done := planned()[:3]
	done[0].Result, done[0].Missing = regdrift.ResultOK, nil
	done[2].Result, done[2].Error = regdrift.ResultFailed, "PUT manifest: 403"
	second := &regdrift.RepoResult{RunID: run.ID, Name: "app", Status: regdrift.RepoDrift,
		Before: first.Before, After: &regdrift.Counts{InSync: 2, OnlyOnPrimary: 1},
		Actions: 4, Failed: 1, Skipped: 5, CheckedAt: base.Add(time.Hour), Tags: done}
	saveResult(t, d, second)

	repos, err := d.ListRunRepos(ctx, run.ID)
	if err != nil {
		t.Fatalf("ListRunRepos: %v", err)
	}
	want := *second
	want.Tags = nil
	checkEqual(t, "repository results", repos, []*regdrift.RepoResult{&want})

	tags, _, err := d.ListRunTags(ctx, run.ID, regdrift.TagFilter{})
	if err != nil {
		t.Fatalf("ListRunTags: %v", err)
	}
	checkEqual(t, "tag rows", tags, tagsOf(run.ID, "app", done))

	// The other run's rows are untouched.
	tags, _, err = d.ListRunTags(ctx, other.ID, regdrift.TagFilter{})
	if err != nil {
		t.Fatalf("ListRunTags: %v", err)
	}
	checkEqual(t, "other run's tag rows", tags, tagsOf(other.ID, "app", planned()))
}

func TestSaveRepoResult_DuplicateTagRollsBack(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	run := createRun(t, d)
	good := &regdrift.RepoResult{RunID: run.ID, Name: "app", Status: regdrift.RepoInSync,
		Before: regdrift.Counts{InSync: 1}, CheckedAt: base,
		Tags: []regdrift.TagDrift{{Tag: "v1", State: regdrift.StateInSync}}}
	saveResult(t, d, good)

	bad := &regdrift.RepoResult{RunID: run.ID, Name: "app", Status: regdrift.RepoDrift,
		Tags: []regdrift.TagDrift{{Tag: "v2", State: "stale"}, {Tag: "v2", State: "stale"}}}
	if err := d.SaveRepoResult(ctx, bad); err == nil {
		t.Fatal("SaveRepoResult with a duplicate tag succeeded, want an error")
	}

	repos, err := d.ListRunRepos(ctx, run.ID)
	if err != nil {
		t.Fatalf("ListRunRepos: %v", err)
	}
	want := *good
	want.Tags = nil
	checkEqual(t, "repository results", repos, []*regdrift.RepoResult{&want})
	tags, _, err := d.ListRunTags(ctx, run.ID, regdrift.TagFilter{})
	if err != nil {
		t.Fatalf("ListRunTags: %v", err)
	}
	checkEqual(t, "tag rows", tags, tagsOf(run.ID, "app", good.Tags))
}

func TestSaveRepoResult_RequiresName(t *testing.T) {
	d, _ := openDB(t)
	run := createRun(t, d)
	err := d.SaveRepoResult(context.Background(), &regdrift.RepoResult{RunID: run.ID})
	checkEqual(t, "error code", regdrift.ErrorCode(err), regdrift.EINVALID)
}

func TestListRunTags_Filters(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	run := createRun(t, d)
	for _, name := range []string{"b", "a"} {
		saveResult(t, d, &regdrift.RepoResult{RunID: run.ID, Name: name,
			Status: regdrift.RepoDrift, Tags: planned()})
	}
	all := append(tagsOf(run.ID, "a", planned()), tagsOf(run.ID, "b", planned())...)
	stale := []*regdrift.TagRow{all[4], all[10]}
	tests := []struct {
		name   string
		filter regdrift.TagFilter
		want   []*regdrift.TagRow
	}{
		{"all by repository and tag", regdrift.TagFilter{}, all},
		{"repository", regdrift.TagFilter{Repository: "b"}, all[6:]},
		{"state", regdrift.TagFilter{State: regdrift.StateStale}, stale},
		{"repository and state",
			regdrift.TagFilter{Repository: "b", State: regdrift.StateStale}, stale[1:]},
		{"limit", regdrift.TagFilter{Limit: 4}, all[:4]},
		{"limit and offset", regdrift.TagFilter{Limit: 4, Offset: 4}, all[4:8]},
		{"offset without limit", regdrift.TagFilter{Offset: 10}, all[10:]},
		{"page of a state", regdrift.TagFilter{State: regdrift.StateStale, Limit: 1, Offset: 1},
			stale[1:]},
		{"unknown repository", regdrift.TagFilter{Repository: "c"}, []*regdrift.TagRow{}},
		{"past the end", regdrift.TagFilter{Offset: 12}, []*regdrift.TagRow{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := d.ListRunTags(ctx, run.ID, tt.filter)
			if err != nil {
				t.Fatalf("ListRunTags: %v", err)
			}
			checkEqual(t, "tag rows", got, tt.want)
		})
	}

	t.Run("unknown state", func(t *testing.T) {
		_, _, err := d.ListRunTags(ctx, run.ID, regdrift.TagFilter{State: "weird"})
		checkEqual(t, "error code", regdrift.ErrorCode(err), regdrift.EINVALID)
	})
}

func TestListRepositories_WorstFirst(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	old, run := createRun(t, d), createRun(t, d)
	at := base.Add(time.Hour)
	results := []regdrift.RepoResult{
		{Name: "sync-a", Status: regdrift.RepoInSync, Before: regdrift.Counts{InSync: 9}},
		{Name: "drift-1", Status: regdrift.RepoDrift, Before: regdrift.Counts{Stale: 1}},
		{Name: "err-b", Status: regdrift.RepoError, Error: "401"},
		{Name: "drift-5b", Status: regdrift.RepoDrift,
			Before: regdrift.Counts{InSync: 1, OnlyOnPrimary: 2, OnlyOnSecondary: 1, Broken: 1,
				Stale: 1, Unresolved: 4}},
		{Name: "err-a", Status: regdrift.RepoError, Error: "timeout",
			Before: regdrift.Counts{Unresolved: 3}},
		{Name: "drift-5a", Status: regdrift.RepoDrift, Before: regdrift.Counts{Broken: 5}},
		// Verified: the counts after the run are the latest known.
		{Name: "fixed", Status: regdrift.RepoInSync, Before: regdrift.Counts{Stale: 50},
			After: &regdrift.Counts{InSync: 50}},
	}
	for i := range results {
		results[i].RunID, results[i].CheckedAt = run.ID, at
		saveResult(t, d, &results[i])
	}
	// A late save from an older run does not hide the newer result.
	saveResult(t, d, &regdrift.RepoResult{RunID: old.ID, Name: "sync-a",
		Status: regdrift.RepoDrift, Before: regdrift.Counts{Stale: 100}, CheckedAt: at})

	sum := func(r regdrift.RepoResult) *regdrift.RepoSummary {
		c := r.Before
		if r.After != nil {
			c = *r.After
		}
		return &regdrift.RepoSummary{Name: r.Name, Status: r.Status, Error: r.Error,
			Counts: c, RunID: run.ID, CheckedAt: at}
	}
	want := []*regdrift.RepoSummary{
		sum(results[4]), sum(results[2]), // errors by name
		sum(results[5]), sum(results[3]), sum(results[1]), // drift, most first, then name
		sum(results[6]), sum(results[0]), // in sync by name
	}
	got, _, err := d.ListRepositories(ctx, regdrift.RepoFilter{})
	if err != nil {
		t.Fatalf("ListRepositories: %v", err)
	}
	checkEqual(t, "repositories", got, want)
}

func TestGetRepository_LatestRun(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	r1, r2 := createRun(t, d), createRun(t, d)
	older := []regdrift.TagDrift{{Tag: "v1", State: regdrift.StateStale, Primary: manA,
		Secondary: manB, Action: regdrift.ActionCopy, Result: regdrift.ResultPlanned}}
	newer := []regdrift.TagDrift{{Tag: "v1", State: regdrift.StateInSync, Primary: manA,
		Secondary: manA}, {Tag: "v2", State: regdrift.StateOnlyOnPrimary, Primary: manB}}
	saveResult(t, d, &regdrift.RepoResult{RunID: r1.ID, Name: "app", Status: regdrift.RepoDrift,
		Before: regdrift.CountTags(older), CheckedAt: base, Tags: older})
	latest := &regdrift.RepoResult{RunID: r2.ID, Name: "app", Status: regdrift.RepoDrift,
		Before: regdrift.CountTags(newer), CheckedAt: base.Add(time.Minute), Tags: newer}
	saveResult(t, d, latest)
	saveResult(t, d, &regdrift.RepoResult{RunID: r2.ID, Name: "other",
		Status: regdrift.RepoDrift, Tags: planned()})

	check := func(t *testing.T) {
		t.Helper()
		repo, tags, err := d.GetRepository(ctx, "app")
		if err != nil {
			t.Fatalf("GetRepository: %v", err)
		}
		checkEqual(t, "summary", repo, &regdrift.RepoSummary{Name: "app",
			Status: regdrift.RepoDrift, Counts: regdrift.Counts{InSync: 1, OnlyOnPrimary: 1},
			RunID: r2.ID, CheckedAt: base.Add(time.Minute)})
		checkEqual(t, "tag rows", tags, tagsOf(r2.ID, "app", newer))
	}
	t.Run("newest run", check)

	// A save of an older run that checked earlier does not displace the newer check.
	saveResult(t, d, &regdrift.RepoResult{RunID: r1.ID, Name: "app", Status: regdrift.RepoError,
		CheckedAt: base.Add(time.Second), Tags: older})
	t.Run("after a late save of an earlier check", check)

	// But an older run that checked later (it waited for the repository) is the latest word:
	// runs on one repository take turns, so the later check saw the registries last.
	saveResult(t, d, &regdrift.RepoResult{RunID: r1.ID, Name: "app", Status: regdrift.RepoError,
		Before: regdrift.CountTags(older), CheckedAt: base.Add(time.Hour), Tags: older})
	repo, tags, err := d.GetRepository(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "summary", repo, &regdrift.RepoSummary{Name: "app",
		Status: regdrift.RepoError, Counts: regdrift.Counts{Stale: 1}, RunID: r1.ID,
		CheckedAt: base.Add(time.Hour)})
	checkEqual(t, "tag rows", tags, tagsOf(r1.ID, "app", older))
}

func TestDB_ReadersWhileWriting(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	run := createRun(t, d)
	tagSet := func(n int) []regdrift.TagDrift {
		tags := make([]regdrift.TagDrift, n)
		for i := range tags {
			tags[i] = regdrift.TagDrift{Tag: fmt.Sprintf("v%04d", i), State: regdrift.StateStale,
				Primary: manA, Secondary: manB}
		}
		return tags
	}
	saveResult(t, d, &regdrift.RepoResult{RunID: run.ID, Name: "hot",
		Status: regdrift.RepoDrift, Before: regdrift.Counts{Stale: 10}, Tags: tagSet(10)})

	// Readers check that a repository's counts and tag rows come from the same save while
	// the writer keeps replacing them with sets of another size.
	done := make(chan struct{})
	var wg sync.WaitGroup
	reads := make([]int, 4)
	for r := range reads {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				repo, tags, err := d.GetRepository(ctx, "hot")
				if err != nil {
					t.Errorf("GetRepository: %v", err)
					return
				}
				if len(tags) != repo.Counts.Total() {
					t.Errorf("read %d tag rows of a save that counted %d", len(tags),
						repo.Counts.Total())
					return
				}
				if _, _, err := d.ListRepositories(ctx, regdrift.RepoFilter{}); err != nil {
					t.Errorf("ListRepositories: %v", err)
					return
				}
				reads[r]++
			}
		})
	}

	for i := range 60 {
		n := 10 + (i%2)*490
		saveResult(t, d, &regdrift.RepoResult{RunID: run.ID, Name: "hot",
			Status: regdrift.RepoDrift, Before: regdrift.Counts{Stale: n}, Tags: tagSet(n)})
		saveResult(t, d, &regdrift.RepoResult{RunID: run.ID, Name: fmt.Sprintf("cold-%02d", i),
			Status: regdrift.RepoDrift, Tags: tagSet(100)})
	}
	close(done)
	wg.Wait()

	for r, n := range reads {
		if n == 0 {
			t.Errorf("reader %d read nothing while the writer wrote", r)
		}
	}
	repos, _, err := d.ListRepositories(ctx, regdrift.RepoFilter{})
	if err != nil {
		t.Fatalf("ListRepositories: %v", err)
	}
	checkEqual(t, "repositories", len(repos), 61)
	if err := d.IntegrityCheck(ctx); err != nil {
		t.Errorf("IntegrityCheck: %v", err)
	}
}

func TestForgetRepositories_KeepsListedAndNewer(t *testing.T) {
	d, _ := openDB(t)
	ctx := context.Background()
	run := createRun(t, d)
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	save := func(name string, at time.Time, absent bool) {
		t.Helper()
		res := &regdrift.RepoResult{RunID: run.ID, Name: name, Status: regdrift.RepoError,
			Error: "x", CheckedAt: at, Absent: absent}
		if err := d.SaveRepoResult(ctx, res); err != nil {
			t.Fatal(err)
		}
	}
	save("listed", start.Add(-time.Hour), false)
	save("gone", start.Add(-time.Hour), false)
	save("newer", start.Add(time.Minute), false)
	save("typo", start.Add(-time.Hour), false)
	// A later check that finds a name nowhere drops its latest state at once.
	save("typo", start.Add(-time.Minute), true)

	n, err := d.ForgetRepositories(ctx, []string{"listed"}, start)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "forgotten", n, int64(1))
	repos, total, err := d.ListRepositories(ctx, regdrift.RepoFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range repos {
		names = append(names, r.Name)
	}
	checkEqual(t, "total", total, 2)
	checkEqual(t, "names", fmt.Sprint(names), "[listed newer]")
	// The run still has every result it recorded.
	results, err := d.ListRunRepos(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "run results", len(results), 4)
}
