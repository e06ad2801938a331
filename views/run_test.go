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
	run.Summary = regdrift.Summary{Tags: 40, Actions: 3}
	l := layout("Run #12")
	l.Live = true
	doc := render(t, views.Run(views.RunPage{Layout: l, Run: run, Now: now}))

	doc.One(t, "live-status")
	var live []string
	for c := range doc.Root().Descendants() {
		if v := attrOf(c, "data-live"); v != "" {
			live = append(live, v)
		}
	}
	if got := strings.Join(live, " "); got != "progress facts summary repos tags" {
		t.Errorf("live parts: got %q", got)
	}
	bar := viewtest.Elements(doc.One(t, "run-progress"), "progress")[0]
	if got := attrOf(bar, "value") + "/" + attrOf(bar, "max"); got != "1/3" {
		t.Errorf("progress bar: got %q, want 1/3", got)
	}
	form := doc.One(t, "cancel-run").Parent
	if got := attrOf(form, "method") + " " + attrOf(form, "action"); got != "post /ui/runs/12/cancel" {
		t.Errorf("cancel form: got %q", got)
	}
	doc.CheckTexts(t, map[string]string{
		"run-mode": "dry run", "run-trigger": "ui", "run-scope": "all repositories",
		"run-options": "—", "run-duration": "1m30s", "progress-repos": "1 of 3 repositories",
		"progress-tags": "40 tags checked", "progress-actions": "3 actions planned",
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
	// The store gives the rows the default view selects: all but the quiet in-sync one.
	rows := tagRows(name)
	doc := render(t, views.Run(views.NewRunPage(layout("Run #7"), run, repos,
		rows[:len(rows)-1], len(rows)-1, views.TagView{}, now)))

	if n := len(doc.All("live-status")) + len(doc.All("cancel-run")); n != 0 {
		t.Errorf("a finished run still says it is live or offers to cancel")
	}
	doc.CheckTexts(t, map[string]string{
		"run-mode": "execute", "run-trigger": "api", "run-scope": name + ", base",
		"run-options": "no delete", "run-duration": "1m0s",
		"run-deep":       "digests and every child manifest and blob",
		"progress-repos": "2 of 2 repositories", "progress-actions": "3 ok, 1 failed of 4 actions",
		"run-error":            run.Error,
		"summary-repositories": "2", "summary-tags": "6", "summary-actions": "4",
		"summary-failed": "1", "summary-withheld": "2", "summary-errors": "3",
		"withheld-hint": "deletions kept back by “delete nothing”, by the deletion guard, " +
			"or because the primary lists no tags",
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
	doc := render(t, views.Run(views.NewRunPage(layout("Run #8"), run, repos, nil, 0,
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
	doc := render(t, views.Run(views.NewRunPage(layout("Run #9"), run, repos, nil, 0,
		views.TagView{}, now)))

	doc.CheckTexts(t, map[string]string{"no-after": "No repository has been verified yet."})
	if n := len(doc.All("after-totals")); n != 0 {
		t.Errorf("after counts shown before any verification")
	}

	// Once every repository is verified, the counts after need no warning.
	repos[0].After = &regdrift.Counts{InSync: 2}
	doc = render(t, views.Run(views.NewRunPage(layout("Run #9"), run, repos, nil, 0,
		views.TagView{}, now)))
	doc.CheckTexts(t, map[string]string{"after-total-in_sync": "2 in sync"})
	if n := len(doc.All("after-partial")) + len(doc.All("no-after")); n != 0 {
		t.Errorf("a fully verified execute warns about unverified repositories")
	}
}

// TestRun_TagViews covers how a page of the rows a view selects is shown: counts, the filter
// links and the one marked current, paging and the empty states. The store does the selecting
// (its tests check it against regdrift.TagDrift.Notable); the page shows what it is given.
func TestRun_TagViews(t *testing.T) {
	const name = "team/app/api"
	// actedInSync is in sync but was copied, so it says something and stays in the default.
	actedInSync := &regdrift.TagRow{RunID: 7, Repository: name, TagDrift: regdrift.TagDrift{
		Tag: "zz", State: regdrift.StateInSync, Action: regdrift.ActionCopy,
		Result: regdrift.ResultOK, Verified: regdrift.StateInSync}}
	rows := append(tagRows(name), actedInSync) // v0 v1 v2 v3 old latest zz
	notable := append(slices.Clone(rows[:5]), actedInSync)
	inSync := regdrift.Counts{InSync: 3}
	counts := regdrift.Counts{Unresolved: 1, Broken: 1, Stale: 1, OnlyOnPrimary: 1,
		OnlyOnSecondary: 1, InSync: 2}
	run := &regdrift.Run{ID: 7, Mode: regdrift.ModeDryRun, Status: regdrift.RunDone,
		CreatedAt: now}
	repos := []*regdrift.RepoResult{{RunID: 7, Name: name, Before: counts}}
	const states = "notable unresolved broken stale only_on_primary only_on_secondary in_sync all"
	const results = "result-failed result-ok result-planned result-skipped"

	tests := []struct {
		name    string
		view    views.TagView
		repos   []*regdrift.RepoResult
		rows    []*regdrift.TagRow
		matched int
		tags    []string
		count   string
		empty   string
		current string
		filters string
		pager   string
	}{
		{"default", views.TagView{}, repos, notable, 6,
			[]string{"v0", "v1", "v2", "v3", "old", "zz"},
			"Showing 6 of 7 tags: those not in sync or acted on. show all 7 tags", "", "notable",
			states + " " + results, ""},
		{"one state", views.TagView{State: regdrift.StateStale}, repos, rows[2:3], 1,
			[]string{"v2"}, "Showing 1 of 7 tags: those stale. show all 7 tags", "", "stale",
			states + " stale+failed stale+ok stale+planned stale+skipped", ""},
		{"all", views.TagView{All: true}, repos, rows, 7,
			[]string{"v0", "v1", "v2", "v3", "old", "latest", "zz"}, "Showing all 7 tags.", "",
			"all", states + " " + results, ""},
		{"state wins over all", views.TagView{All: true, State: regdrift.StateBroken}, repos,
			rows[1:2], 1, []string{"v1"}, "Showing 1 of 7 tags: those broken. show all 7 tags",
			"", "broken",
			states + " broken+failed broken+ok broken+planned broken+skipped", ""},
		{"one result", views.TagView{Result: regdrift.ResultOK}, repos,
			[]*regdrift.TagRow{actedInSync}, 1, []string{"zz"},
			"Showing 1 of 7 tags: those whose action succeeded. show all 7 tags", "",
			"result-ok", "notable unresolved+ok broken+ok stale+ok only_on_primary+ok " +
				"only_on_secondary+ok in_sync+ok all " + results, ""},
		{"state and result without a match",
			views.TagView{State: regdrift.StateStale, Result: regdrift.ResultFailed}, repos,
			nil, 0, nil,
			"Showing 0 of 7 tags: those stale whose action failed. show all 7 tags",
			"No tag of this run is stale with an action that failed.", "stale+failed",
			"notable unresolved+failed broken+failed stale+failed only_on_primary+failed " +
				"only_on_secondary+failed in_sync+failed all " +
				"stale+failed stale+ok stale+planned stale+skipped", ""},
		{"second page", views.TagView{All: true, Offset: 100}, repos, rows, 250,
			[]string{"v0", "v1", "v2", "v3", "old", "latest", "zz"}, "Showing all 250 tags.", "",
			"all", states + " " + results,
			"Tags 101–107 of 250 /runs/7?all=1 /runs/7?all=1&offset=200"},
		{"default with everything in sync",
			views.TagView{}, []*regdrift.RepoResult{{Name: "base", Before: inSync}}, nil, 0,
			nil, "Showing 0 of 3 tags: those not in sync or acted on. show all 3 tags",
			"All 3 tags are in sync and nothing was done about them.", "notable",
			"notable in_sync all " + results, ""},
		{"a state without tags", views.TagView{State: regdrift.StateStale},
			[]*regdrift.RepoResult{{Name: "base", Before: inSync}}, nil, 0, nil,
			"Showing 0 of 3 tags: those stale. show all 3 tags",
			"No tag of this run is stale.", "stale",
			"notable stale in_sync all stale+failed stale+ok stale+planned stale+skipped", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := views.NewRunPage(layout("Run #7"), summed(run, tt.repos), tt.repos, tt.rows,
				tt.matched, tt.view, now)
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
			if got := strings.Join(slices.Compact(current), " "); got != tt.current {
				t.Errorf("current filter: got %q, want %q", got, tt.current)
			}
			if show := doc.All("show-all-tags"); len(show) == 1 {
				if got := attrOf(show[0], "href"); got != "/runs/7?all=1" {
					t.Errorf("show all link: got %q", got)
				}
			}
			var pager []string
			for _, n := range doc.All("tag-range") {
				pager = append(pager, viewtest.Text(n))
			}
			for _, id := range []string{"tags-prev", "tags-next"} {
				for _, n := range doc.All(id) {
					pager = append(pager, attrOf(n, "href"))
				}
			}
			if got := strings.Join(pager, " "); got != tt.pager {
				t.Errorf("pager: got %q, want %q", got, tt.pager)
			}
		})
	}
}

func TestRun_TagFilterLinks(t *testing.T) {
	run := &regdrift.Run{ID: 7, Mode: regdrift.ModeDryRun, Status: regdrift.RunDone}
	repos := []*regdrift.RepoResult{{Name: "base",
		Before: regdrift.Counts{OnlyOnPrimary: 2, InSync: 5}}}
	doc := render(t, views.Run(views.NewRunPage(layout("Run #7"), summed(run, repos), repos,
		nil, 0, views.TagView{}, now)))

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
		{"failed", "/runs/7?result=failed"},
		{"ok", "/runs/7?result=ok"},
		{"planned", "/runs/7?result=planned"},
		{"skipped", "/runs/7?result=skipped"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("filter links:\n got %+v\nwant %+v", got, want)
	}
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
	finished := created.Add(65 * time.Second)
	const queued = "not started; created 1 day ago (2026-12-02 12:00:00 UTC)"
	const day = "1 day ago (2026-12-02 12:00:00 UTC)"
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
			Outcome: regdrift.OutcomeInSync, CreatedAt: created, StartedAt: &created,
			FinishedAt: &finished,
			Summary:    regdrift.Summary{Tags: 3, Counts: regdrift.Counts{InSync: 3}}},
		{ID: 56, Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerAPI, Status: regdrift.RunDone,
			Outcome: regdrift.OutcomeDrift, CreatedAt: created, StartedAt: &created,
			FinishedAt: &finished, Summary: regdrift.Summary{Tags: 3, Actions: 2,
				Counts: regdrift.Counts{Stale: 2, InSync: 1}}},
	}
	doc := render(t, views.RunList(views.RunListPage{Layout: layout("Runs"), Runs: runs,
		Total: 120, Offset: 50, Limit: 5, Now: now}))

	checkRunRows(t, doc, []runRow{
		{"60", "queued", "", "dry run", "cli", "all repositories", queued, "—", "0", "0", "0",
			"0", "0"},
		{"59", "canceled", "", "execute", "ui", "a/b", queued, "—", "0", "0", "0", "0", "0"},
		{"58", "failed", "error", "dry run", "api", "all repositories", queued, "—", "2", "0",
			"0", "0", "1"},
		{"57", "done", "in_sync", "dry run", "api", "all repositories", day, "1m5s", "3", "0",
			"0", "0", "0"},
		{"56", "done", "drift", "dry run", "api", "all repositories", day, "1m5s", "3", "2",
			"2", "0", "0"},
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

// TestRunList_PastTheLastPage asserts that a page past the last run says there are runs
// elsewhere and links to the first page, rather than "No runs yet".
func TestRunList_PastTheLastPage(t *testing.T) {
	doc := render(t, views.RunList(views.RunListPage{Layout: layout("Runs"), Total: 2,
		Offset: 1000, Limit: 50, Now: now}))

	if n := len(doc.All("no-runs")); n != 0 {
		t.Errorf("a page past the last of 2 runs says there are none")
	}
	doc.CheckTexts(t, map[string]string{"no-runs-here": "No runs on this page. Go to the " +
		"first page", "page-range": "No runs on this page; 2 in all"})
	if got := attrOf(doc.One(t, "first-page"), "href"); got != "/runs?offset=0&limit=50" {
		t.Errorf("first page link: got %q", got)
	}
}

// TestPastTheLastPage_LinksToTheFirst asserts that the overview's list and a run's tags, asked
// for a page past their last, say so and link to their first page.
func TestPastTheLastPage_LinksToTheFirst(t *testing.T) {
	f := regdrift.RepoFilter{Status: regdrift.RepoDrift, Limit: views.RepoPageSize,
		Offset: 500}
	overview := render(t, views.Overview(views.OverviewPage{Layout: layout("Overview"),
		Totals: regdrift.RepoTotals{Repositories: 3, Drift: 3}, Filter: f, Matched: 3,
		Now: now}))
	overview.CheckTexts(t, map[string]string{
		"no-match": "No drifting repository on this page. Go to the first page"})
	if got := attrOf(overview.One(t, "first-page"), "href"); got != "/?status=drift" {
		t.Errorf("overview: first page link %q, want /?status=drift", got)
	}

	run := &regdrift.Run{ID: 7, Mode: regdrift.ModeDryRun, Status: regdrift.RunDone,
		CreatedAt: now, Summary: regdrift.Summary{Counts: regdrift.Counts{Stale: 3}}}
	page := render(t, views.Run(views.NewRunPage(layout("Run #7"), run, nil, nil, 3,
		views.TagView{State: regdrift.StateStale, Offset: 500}, now)))
	page.CheckTexts(t, map[string]string{
		"no-matching-tags": "No tags on this page. Go to the first page"})
	if got := attrOf(page.One(t, "first-page"), "href"); got != "/runs/7?state=stale" {
		t.Errorf("run: first page link %q, want /runs/7?state=stale", got)
	}
}

func TestRunList_Empty(t *testing.T) {
	doc := render(t, views.RunList(views.RunListPage{Layout: layout("Runs"), Limit: 50, Now: now}))

	doc.CheckTexts(t, map[string]string{
		"no-runs": "No runs yet: a dry run compares the two registries and changes nothing."})
	if n := len(doc.All("pager")); n != 0 {
		t.Errorf("pager shown without runs")
	}
}

// TestScope_LongListIsShortened asserts that a run asked for thousands of repositories names
// the first ten and counts the others, in the runs table, on the run page and in the
// overview's list of runs in progress, rather than printing every name on every row.
func TestScope_LongListIsShortened(t *testing.T) {
	var scope []string
	for i := range 3005 {
		scope = append(scope, fmt.Sprintf("zz/n%d", i))
	}
	const want = "zz/n0, zz/n1, zz/n2, zz/n3, zz/n4, zz/n5, zz/n6, zz/n7, zz/n8, zz/n9 " +
		"and 2995 more"
	started := now.Add(-time.Minute)
	run := &regdrift.Run{ID: 9, Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerAPI,
		Scope: scope, Status: regdrift.RunRunning, CreatedAt: started, StartedAt: &started,
		ReposTotal: len(scope)}

	list := render(t, views.RunList(views.RunListPage{Layout: layout("Runs"),
		Runs: []*regdrift.Run{run}, Total: 1, Limit: 50, Now: now}))
	list.CheckTexts(t, map[string]string{"run-scope": want})

	page := render(t, views.Run(views.NewRunPage(layout("Run #9"), run, nil, nil, 0,
		views.TagView{}, now)))
	page.CheckTexts(t, map[string]string{"run-scope": want})

	overview := render(t, views.Overview(views.OverviewPage{Layout: layout("Overview"),
		Active: []*regdrift.Run{run}, Now: now}))
	if got := viewtest.Text(overview.One(t, "active-run")); !strings.Contains(got, want) ||
		strings.Contains(got, "zz/n10,") {
		t.Errorf("runs in progress: got %q, want the scope as %q", got, want)
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

func TestRun_ManyRepositories(t *testing.T) {
	// The store gives the worst hundred of 150; the summary counts them all.
	var repos []*regdrift.RepoResult
	for i := range 150 {
		repos = append(repos, &regdrift.RepoResult{Name: fmt.Sprintf("r%03d", i),
			Status: regdrift.RepoInSync, Before: regdrift.Counts{InSync: 2}})
	}
	run := summed(&regdrift.Run{ID: 3, Mode: regdrift.ModeDryRun, Status: regdrift.RunDone},
		repos)
	doc := render(t, views.Run(views.NewRunPage(layout("Run #3"), run,
		repos[:views.RunReposShown], nil, 0, views.TagView{}, now)))

	if n := len(doc.All("run-repo-row")); n != views.RunReposShown {
		t.Fatalf("repository rows: got %d, want %d", n, views.RunReposShown)
	}
	doc.CheckTexts(t, map[string]string{
		"more-repos": "The 100 repositories above are the worst of 150; the other 50 are " +
			"listed by their tags below and on the overview.",
		"tag-count": "Showing 0 of 300 tags: those not in sync or acted on. show all 300 tags"})
}

// summed is run with the summary of repos, as the engine records it.
func summed(run *regdrift.Run, repos []*regdrift.RepoResult) *regdrift.Run {
	r := *run
	r.Summary = regdrift.Summary{}
	for _, x := range repos {
		r.Summary.Repositories++
		r.Summary.Tags += x.Before.Total()
		r.Summary.Counts.Merge(x.Before)
	}
	return &r
}

func TestRun_GuardTripped(t *testing.T) {
	finished := now.Add(-time.Minute)
	guard := regdrift.Guard{Limits: regdrift.DefaultDeleteLimits(), Tripped: true,
		WouldDelete: 40, HeldBack: 30, Repositories: 1,
		Note: "deletion guard: 30 deletions held back in 1 repositories; " +
			regdrift.OverrideHint}
	run := &regdrift.Run{ID: 9, Mode: regdrift.ModeExecute, Trigger: regdrift.TriggerAPI,
		Status: regdrift.RunDone, Outcome: regdrift.OutcomeDrift, Guard: guard,
		AllowMassDelete: false, NoDelete: true, CreatedAt: finished, FinishedAt: &finished,
		Summary: regdrift.Summary{Repositories: 1, Tags: 40, SkippedActions: 30, HeldBack: 30,
			Counts: regdrift.Counts{OnlyOnSecondary: 40}}}
	doc := render(t, views.Run(views.NewRunPage(layout("Run #9"), run, nil, nil, 0,
		views.TagView{}, now)))
	doc.CheckTexts(t, map[string]string{"guard-tripped": guard.Note,
		"run-options": "no delete", "summary-withheld": "30"})
	if got := viewtest.Text(doc.One(t, "withheld-hint")); !strings.Contains(got,
		"deletion guard") {
		t.Errorf("withheld hint %q does not name the deletion guard", got)
	}

	run.Guard, run.AllowMassDelete, run.NoDelete = regdrift.Guard{}, true, false
	doc = render(t, views.Run(views.NewRunPage(layout("Run #9"), run, nil, nil, 0,
		views.TagView{}, now)))
	if n := len(doc.All("guard-tripped")); n != 0 {
		t.Errorf("guard note shown on a run it did not trip")
	}
	doc.CheckTexts(t, map[string]string{"run-options": "deletion guard off"})
}

func TestRun_History(t *testing.T) {
	started := now.Add(-time.Minute)
	run := &regdrift.Run{ID: 3, Mode: regdrift.ModeExecute, Trigger: regdrift.TriggerWebhook,
		Status: regdrift.RunInterrupted, CreatedAt: started, StartedAt: &started,
		Interruptions: 1, Coalesced: 24, Scope: []string{"team/app"}}
	doc := render(t, views.Run(views.NewRunPage(layout("Run #3"), run, nil, nil, 0,
		views.TagView{}, now)))
	doc.CheckTexts(t, map[string]string{"run-trigger": "webhook",
		"run-history": "interrupted once by a server stop, resumed where it was; " +
			"24 more requests joined it while it was queued"})
	if got := attrOf(doc.One(t, "run-status"), "data-status"); got != "interrupted" {
		t.Errorf("status %q, want interrupted", got)
	}

	run.Interruptions, run.Coalesced = 0, 0
	doc = render(t, views.Run(views.NewRunPage(layout("Run #3"), run, nil, nil, 0,
		views.TagView{}, now)))
	if n := len(doc.All("run-history")); n != 0 {
		t.Error("a run with no history shows one")
	}
}
