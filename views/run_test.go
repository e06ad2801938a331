package views_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/views"
	"github.com/regdrift/regdrift/views/viewtest"
)

func TestRun_Running(t *testing.T) {
	started := now.Add(-90 * time.Second)
	run := &regdrift.Run{ID: 12, Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerUI,
		Status: regdrift.RunRunning, CreatedAt: started, StartedAt: &started,
		ReposTotal: 3, ReposDone: 1}
	l := layout("Run #12")
	l.Refresh = true
	doc := render(t, views.Run(views.RunPage{Layout: l, Run: run, Now: now}))

	if got := attrOf(doc.One(t, "refresh"), "content"); got != "2" {
		t.Errorf("refresh: got %q, want 2", got)
	}
	form := doc.One(t, "cancel-run").Parent
	if got := attrOf(form, "method") + " " + attrOf(form, "action"); got != "post /ui/runs/12/cancel" {
		t.Errorf("cancel form: got %q", got)
	}
	doc.CheckTexts(t, map[string]string{
		"run-mode": "dry run", "run-trigger": "ui", "run-scope": "all repositories",
		"run-options": "—", "run-duration": "1m30s", "run-progress": "1 of 3 repositories",
		"run-deep": "digests only",
	})
	if got := attrOf(doc.One(t, "run-deep"), "data-deep"); got != "false" {
		t.Errorf("data-deep: got %q, want false", got)
	}
	if got := attrOf(doc.One(t, "run-status"), "data-status"); got != "running" {
		t.Errorf("status: got %q", got)
	}
	if got := viewtest.Text(doc.One(t, "run-outcome")); got != "not yet" {
		t.Errorf("outcome: got %q, want not yet", got)
	}
	doc.One(t, "no-repos")
	doc.One(t, "no-tags")
	for _, id := range []string{"run-error", "tag-filters", "tag-count", "before-heading",
		"after-heading", "withheld-hint"} {
		if n := len(doc.All(id)); n != 0 {
			t.Errorf("%s shown on a dry run that has found nothing yet", id)
		}
	}
}

func TestRun_FinishedExecute(t *testing.T) {
	const name = "team/app/api"
	created := now.Add(-time.Hour)
	started, finished := created.Add(time.Second), created.Add(61*time.Second)
	counts := regdrift.Counts{Unresolved: 1, Broken: 1, Stale: 1, OnlyOnPrimary: 1,
		OnlyOnSecondary: 1, InSync: 1}
	run := &regdrift.Run{ID: 7, Mode: regdrift.ModeExecute, Trigger: regdrift.TriggerAPI,
		Scope: []string{name, "base"}, Deep: true, NoDelete: true, Status: regdrift.RunDone,
		Outcome: regdrift.OutcomeError, Error: "1 repository could not be listed",
		CreatedAt: created, StartedAt: &started, FinishedAt: &finished,
		ReposTotal: 2, ReposDone: 2,
		Summary: regdrift.Summary{Repositories: 2, Tags: 6, Counts: counts, Actions: 4,
			FailedActions: 1, SkippedActions: 2, Errors: 3}}
	after := regdrift.Counts{InSync: 4, Stale: 1}
	repos := []*regdrift.RepoResult{
		{RunID: 7, Name: "base", Status: regdrift.RepoError, Error: "list tags: 401",
			CheckedAt: finished},
		{RunID: 7, Name: name, Status: regdrift.RepoDrift, Before: counts, After: &after,
			Actions: 4, Failed: 1, Skipped: 2, CheckedAt: finished},
	}
	doc := render(t, views.Run(views.NewRunPage(layout("Run #7"), run, repos, tagRows(name),
		views.TagView{}, now)))

	if n := len(doc.All("refresh")) + len(doc.All("cancel-run")); n != 0 {
		t.Errorf("a finished run still reloads or offers to cancel")
	}
	doc.CheckTexts(t, map[string]string{
		"run-mode": "execute", "run-trigger": "api", "run-scope": name + ", base",
		"run-options": "no delete", "run-duration": "1m0s",
		"run-deep":     "digests and every child manifest and blob",
		"run-progress": "2 of 2 repositories", "run-error": run.Error,
		"summary-repositories": "2", "summary-tags": "6", "summary-actions": "4",
		"summary-failed": "1", "summary-withheld": "2", "summary-errors": "3",
		"withheld-hint": "deletions kept back by “delete nothing” or because the primary " +
			"lists no tags",
		"before-heading": "Found before acting", "after-heading": "After the execute",
		"after-partial": "These counts cover the 1 of 2 repositories verified after acting; " +
			"see the table below for the others.",
	})
	if got := attrOf(doc.One(t, "run-deep"), "data-deep"); got != "true" {
		t.Errorf("data-deep: got %q, want true", got)
	}
	if got := attrOf(doc.One(t, "run-outcome"), "data-outcome"); got != "error" {
		t.Errorf("outcome: got %q", got)
	}
	// The counts found before acting, then those the verification found after it.
	afterWant := map[regdrift.State]int{regdrift.StateInSync: 4, regdrift.StateStale: 1}
	for _, s := range regdrift.States {
		if got, want := viewtest.Text(doc.One(t, "total-"+string(s))),
			fmt.Sprintf("1 %s", stateWords(s)); got != want {
			t.Errorf("total of %s: got %q, want %q", s, got, want)
		}
		if got, want := viewtest.Text(doc.One(t, "after-total-"+string(s))),
			fmt.Sprintf("%d %s", afterWant[s], stateWords(s)); got != want {
			t.Errorf("total after of %s: got %q, want %q", s, got, want)
		}
	}

	checkRunRepoRows(t, doc, []runRepoRow{
		{"base", "error", "no tags", "not verified", "0", "0", "0", "list tags: 401"},
		{name, "drift", "unresolved 1 broken 1 stale 1 only on primary 1 only on secondary 1 " +
			"in sync 1", "stale 1 in sync 4", "4", "1", "2", ""},
	})
	if got, want := textOf(viewtest.Elements(doc.One(t, "run-repo-table"), "th")[:9]),
		"Repository Status Found before acting After the execute Actions Failed Withheld "+
			"Error Checked"; got != want {
		t.Errorf("repository table headers:\n got %q\nwant %q", got, want)
	}
	// By default the in-sync tag nothing was done about is left out.
	wants := tagWants(name)
	checkTagTable(t, doc, wants[:len(wants)-1])
	doc.CheckTexts(t, map[string]string{
		"tag-count": "Showing 5 of 6 tags: those not in sync or acted on. show all 6 tags"})
}

func TestRun_DryRunHasNoAfter(t *testing.T) {
	finished := now.Add(-time.Minute)
	run := &regdrift.Run{ID: 8, Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerUI,
		Deep: true, Status: regdrift.RunDone, Outcome: regdrift.OutcomeDrift,
		CreatedAt: finished, FinishedAt: &finished,
		Summary: regdrift.Summary{Repositories: 1, Tags: 2, Actions: 1, SkippedActions: 1,
			Counts: regdrift.Counts{OnlyOnSecondary: 1, InSync: 1}}}
	repos := []*regdrift.RepoResult{{RunID: 8, Name: "base", Status: regdrift.RepoDrift,
		Before: regdrift.Counts{OnlyOnSecondary: 1, InSync: 1}, Actions: 1, Skipped: 1,
		CheckedAt: finished}}
	doc := render(t, views.Run(views.NewRunPage(layout("Run #8"), run, repos, nil,
		views.TagView{}, now)))

	for _, id := range []string{"before-heading", "after-heading", "after-totals", "after",
		"no-after"} {
		if n := len(doc.All(id)); n != 0 {
			t.Errorf("%s shown on a dry run", id)
		}
	}
	doc.CheckTexts(t, map[string]string{"run-deep": "digests and every child manifest and blob",
		"summary-withheld": "1", "total-only_on_secondary": "1 only on secondary"})
	if got, want := textOf(viewtest.Elements(doc.One(t, "run-repo-table"), "th")[:7]),
		"Repository Status Found Actions Failed Withheld Error"; got != want {
		t.Errorf("repository table headers:\n got %q\nwant %q", got, want)
	}
	row := doc.One(t, "run-repo-row")
	if got := viewtest.Text(viewtest.OneIn(t, row, "withheld")); got != "1" {
		t.Errorf("withheld of base: got %q, want 1", got)
	}
}

func TestRun_ExecuteNotVerifiedYet(t *testing.T) {
	run := &regdrift.Run{ID: 9, Mode: regdrift.ModeExecute, Status: regdrift.RunRunning,
		CreatedAt: now}
	repos := []*regdrift.RepoResult{{RunID: 9, Name: "base", Status: regdrift.RepoError,
		Error: "list tags: 401", CheckedAt: now}}
	doc := render(t, views.Run(views.NewRunPage(layout("Run #9"), run, repos, nil,
		views.TagView{}, now)))

	doc.CheckTexts(t, map[string]string{"no-after": "No repository has been verified yet."})
	if n := len(doc.All("after-totals")); n != 0 {
		t.Errorf("after counts shown before any verification")
	}

	// Once every repository is verified, the counts after need no warning.
	repos[0].After = &regdrift.Counts{InSync: 2}
	doc = render(t, views.Run(views.NewRunPage(layout("Run #9"), run, repos, nil,
		views.TagView{}, now)))
	doc.CheckTexts(t, map[string]string{"after-total-in_sync": "2 in sync"})
	if n := len(doc.All("after-partial")) + len(doc.All("no-after")); n != 0 {
		t.Errorf("a fully verified execute warns about unverified repositories")
	}
}

// TestRun_TagViews covers the default view, one state, all rows and the empty states.
func TestRun_TagViews(t *testing.T) {
	const name = "team/app/api"
	// actedInSync is in sync but was copied, so it says something and stays in the default.
	actedInSync := &regdrift.TagRow{RunID: 7, Repository: name, TagDrift: regdrift.TagDrift{
		Tag: "zz", State: regdrift.StateInSync, Action: regdrift.ActionCopy,
		Result: regdrift.ResultOK, Verified: regdrift.StateInSync}}
	rows := append(tagRows(name), actedInSync)
	inSync := regdrift.Counts{InSync: 3}
	counts := regdrift.Counts{Unresolved: 1, Broken: 1, Stale: 1, OnlyOnPrimary: 1,
		OnlyOnSecondary: 1, InSync: 2}
	run := &regdrift.Run{ID: 7, Mode: regdrift.ModeDryRun, Status: regdrift.RunDone,
		CreatedAt: now}
	repos := []*regdrift.RepoResult{{RunID: 7, Name: name, Before: counts}}

	tests := []struct {
		name    string
		view    views.TagView
		repos   []*regdrift.RepoResult
		rows    []*regdrift.TagRow
		tags    []string
		count   string
		empty   string
		current string
		filters string
	}{
		{"default leaves out in sync with nothing done", views.TagView{}, repos, rows,
			[]string{"v0", "v1", "v2", "v3", "old", "zz"},
			"Showing 6 of 7 tags: those not in sync or acted on. show all 7 tags", "", "notable",
			"notable unresolved broken stale only_on_primary only_on_secondary in_sync all"},
		{"one state", views.TagView{State: regdrift.StateStale}, repos, rows,
			[]string{"v2"}, "Showing 1 of 7 tags: those stale. show all 7 tags", "", "stale",
			"notable unresolved broken stale only_on_primary only_on_secondary in_sync all"},
		{"all", views.TagView{All: true}, repos, rows,
			[]string{"v0", "v1", "v2", "v3", "old", "latest", "zz"}, "Showing all 7 tags.", "",
			"all",
			"notable unresolved broken stale only_on_primary only_on_secondary in_sync all"},
		{"state wins over all", views.TagView{All: true, State: regdrift.StateBroken}, repos,
			rows, []string{"v1"}, "Showing 1 of 7 tags: those broken. show all 7 tags", "",
			"broken",
			"notable unresolved broken stale only_on_primary only_on_secondary in_sync all"},
		{"default with everything in sync",
			views.TagView{}, []*regdrift.RepoResult{{Name: "base", Before: inSync}},
			inSyncRows(3), nil, "Showing 0 of 3 tags: those not in sync or acted on. " +
				"show all 3 tags",
			"All 3 tags are in sync and nothing was done about them.", "notable",
			"notable in_sync all"},
		{"a state without tags", views.TagView{State: regdrift.StateStale},
			[]*regdrift.RepoResult{{Name: "base", Before: inSync}}, nil, nil,
			"Showing 0 of 3 tags: those stale. show all 3 tags",
			"No tag of this run is stale.", "stale", "notable stale in_sync all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := views.NewRunPage(layout("Run #7"), run, tt.repos, tt.rows, tt.view, now)
			doc := render(t, views.Run(p))

			var tags []string
			for _, r := range doc.All("tag-row") {
				tags = append(tags, attrOf(r, "data-tag"))
			}
			if !slices.Equal(tags, tt.tags) {
				t.Errorf("tags: got %v, want %v", tags, tt.tags)
			}
			doc.CheckTexts(t, map[string]string{"tag-count": tt.count})
			if got := textOf(doc.All("no-matching-tags")); got != tt.empty {
				t.Errorf("empty state: got %q, want %q", got, tt.empty)
			}
			if n := len(doc.All("no-tags")); n != 0 {
				t.Errorf("no-tags shown for a run with tags")
			}
			links := doc.All("tag-filter")
			if got := attrsOf(links, "data-filter"); got != tt.filters {
				t.Errorf("filters:\n got %q\nwant %q", got, tt.filters)
			}
			var current []string
			for _, l := range links {
				if attrOf(l, "aria-current") == "page" {
					current = append(current, attrOf(l, "data-filter"))
				}
			}
			if got := strings.Join(current, " "); got != tt.current {
				t.Errorf("current filter: got %q, want %q", got, tt.current)
			}
			if show := doc.All("show-all-tags"); len(show) == 1 {
				if got := attrOf(show[0], "href"); got != "/runs/7?all=1" {
					t.Errorf("show all link: got %q", got)
				}
			}
		})
	}
}

func TestRun_TagFilterLinks(t *testing.T) {
	run := &regdrift.Run{ID: 7, Mode: regdrift.ModeDryRun, Status: regdrift.RunDone}
	repos := []*regdrift.RepoResult{{Name: "base",
		Before: regdrift.Counts{OnlyOnPrimary: 2, InSync: 5}}}
	doc := render(t, views.Run(views.NewRunPage(layout("Run #7"), run, repos, nil,
		views.TagView{}, now)))

	type link struct{ text, href string }
	var got []link
	for _, l := range doc.All("tag-filter") {
		got = append(got, link{viewtest.Text(l), attrOf(l, "href")})
	}
	want := []link{
		{"not in sync or acted on", "/runs/7"},
		{"only on primary 2", "/runs/7?state=only_on_primary"},
		{"in sync 5", "/runs/7?state=in_sync"},
		{"all 7", "/runs/7?all=1"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("filter links:\n got %+v\nwant %+v", got, want)
	}
}

func TestNotable(t *testing.T) {
	tests := []struct {
		name string
		tag  regdrift.TagDrift
		want bool
	}{
		{"in sync, nothing done", regdrift.TagDrift{State: regdrift.StateInSync,
			Action: regdrift.ActionNone}, false},
		{"in sync, no action recorded", regdrift.TagDrift{State: regdrift.StateInSync}, false},
		{"in sync, verified in sync", regdrift.TagDrift{State: regdrift.StateInSync,
			Action: regdrift.ActionNone, Verified: regdrift.StateInSync}, false},
		{"stale", regdrift.TagDrift{State: regdrift.StateStale}, true},
		{"in sync with an action", regdrift.TagDrift{State: regdrift.StateInSync,
			Action: regdrift.ActionCopy}, true},
		{"in sync with a result", regdrift.TagDrift{State: regdrift.StateInSync,
			Result: regdrift.ResultSkipped}, true},
		{"in sync with an error", regdrift.TagDrift{State: regdrift.StateInSync,
			Error: "verify: 500"}, true},
		{"in sync, verified stale", regdrift.TagDrift{State: regdrift.StateInSync,
			Verified: regdrift.StateStale}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := views.Notable(tt.tag); got != tt.want {
				t.Errorf("Notable: got %v, want %v", got, tt.want)
			}
		})
	}
}

// inSyncRows returns n in-sync tags of one repository that nothing was done about.
func inSyncRows(n int) []*regdrift.TagRow {
	var rows []*regdrift.TagRow
	for i := range n {
		rows = append(rows, &regdrift.TagRow{Repository: "base", TagDrift: regdrift.TagDrift{
			Tag: fmt.Sprintf("1.%d", i), State: regdrift.StateInSync,
			Action: regdrift.ActionNone}})
	}
	return rows
}

// runRepoRow is what a row of a run's repository table shows.
type runRepoRow struct{ name, status, before, after, actions, failed, withheld, err string }

func checkRunRepoRows(t *testing.T, doc *viewtest.Doc, want []runRepoRow) {
	t.Helper()
	rows := doc.All("run-repo-row")
	if len(rows) != len(want) {
		t.Fatalf("repository rows: got %d, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		text := func(id string) string { return viewtest.Text(viewtest.OneIn(t, r, id)) }
		got := runRepoRow{attrOf(r, "data-repo"),
			attrOf(viewtest.OneIn(t, r, "repo-status"), "data-status"), text("before"),
			text("after"), text("actions"), text("failed"), text("withheld"),
			text("repo-error")}
		if got != want[i] {
			t.Errorf("repository row %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
}

func TestRunList_Pages(t *testing.T) {
	created := now.Add(-24 * time.Hour)
	runs := []*regdrift.Run{
		{ID: 60, Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerCLI, Status: regdrift.RunQueued,
			CreatedAt: created},
		{ID: 59, Mode: regdrift.ModeExecute, Trigger: regdrift.TriggerUI, Scope: []string{"a/b"},
			Status: regdrift.RunCanceled, CreatedAt: created},
		{ID: 58, Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerAPI, Status: regdrift.RunFailed,
			Outcome: regdrift.OutcomeError, CreatedAt: created,
			Summary: regdrift.Summary{Tags: 2, Errors: 1, Counts: regdrift.Counts{Unresolved: 1,
				InSync: 1}}},
		{ID: 57, Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerAPI, Status: regdrift.RunDone,
			Outcome: regdrift.OutcomeInSync, CreatedAt: created,
			Summary: regdrift.Summary{Tags: 3, Counts: regdrift.Counts{InSync: 3}}},
		{ID: 56, Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerAPI, Status: regdrift.RunDone,
			Outcome: regdrift.OutcomeDrift, CreatedAt: created,
			Summary: regdrift.Summary{Tags: 3, Counts: regdrift.Counts{Stale: 2, InSync: 1}}},
	}
	doc := render(t, views.RunList(views.RunListPage{Layout: layout("Runs"), Runs: runs,
		Total: 120, Offset: 50, Limit: 5, Now: now}))

	checkRunRows(t, doc, []runRow{
		{"60", "queued", "", "dry run", "cli", "all repositories", "0", "0", "0"},
		{"59", "canceled", "", "execute", "ui", "a/b", "0", "0", "0"},
		{"58", "failed", "error", "dry run", "api", "all repositories", "2", "0", "1"},
		{"57", "done", "in_sync", "dry run", "api", "all repositories", "3", "0", "0"},
		{"56", "done", "drift", "dry run", "api", "all repositories", "3", "2", "0"},
	})
	doc.CheckTexts(t, map[string]string{"page-range": "Runs 51–55 of 120"})
	for id, want := range map[string]string{
		"newer": "/runs?offset=45&limit=5", "older": "/runs?offset=55&limit=5",
	} {
		if got := attrOf(doc.One(t, id), "href"); got != want {
			t.Errorf("%s link: got %q, want %q", id, got, want)
		}
	}
}

func TestRunList_Empty(t *testing.T) {
	doc := render(t, views.RunList(views.RunListPage{Layout: layout("Runs"), Limit: 50, Now: now}))

	doc.One(t, "no-runs")
	if n := len(doc.All("pager")); n != 0 {
		t.Errorf("pager shown without runs")
	}
}

// stateWords is how the pages name a state.
func stateWords(s regdrift.State) string {
	return map[regdrift.State]string{
		regdrift.StateUnresolved: "unresolved", regdrift.StateBroken: "broken",
		regdrift.StateStale: "stale", regdrift.StateOnlyOnPrimary: "only on primary",
		regdrift.StateOnlyOnSecondary: "only on secondary", regdrift.StateInSync: "in sync",
	}[s]
}
