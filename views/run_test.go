package views_test

import (
	"fmt"
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
	})
	if got := attrOf(doc.One(t, "run-status"), "data-status"); got != "running" {
		t.Errorf("status: got %q", got)
	}
	if got := viewtest.Text(doc.One(t, "run-outcome")); got != "not yet" {
		t.Errorf("outcome: got %q, want not yet", got)
	}
	doc.One(t, "no-repos")
	doc.One(t, "no-tags")
	if n := len(doc.All("run-error")); n != 0 {
		t.Errorf("run error shown for a run without one")
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
			FailedActions: 1, Errors: 3}}
	after := regdrift.Counts{InSync: 4, Stale: 1}
	repos := []*regdrift.RepoResult{
		{RunID: 7, Name: "base", Status: regdrift.RepoError, Error: "list tags: 401",
			CheckedAt: finished},
		{RunID: 7, Name: name, Status: regdrift.RepoDrift, Before: counts, After: &after,
			Actions: 4, Failed: 1, CheckedAt: finished},
	}
	doc := render(t, views.Run(views.RunPage{Layout: layout("Run #7"), Run: run, Repos: repos,
		Tags: tagRows(name), Now: now}))

	if n := len(doc.All("refresh")) + len(doc.All("cancel-run")); n != 0 {
		t.Errorf("a finished run still reloads or offers to cancel")
	}
	doc.CheckTexts(t, map[string]string{
		"run-mode": "execute", "run-trigger": "api", "run-scope": name + ", base",
		"run-options": "deep, no delete", "run-duration": "1m0s",
		"run-progress": "2 of 2 repositories", "run-error": run.Error,
		"summary-repositories": "2", "summary-tags": "6", "summary-actions": "4",
		"summary-failed": "1", "summary-errors": "3",
	})
	if got := attrOf(doc.One(t, "run-outcome"), "data-outcome"); got != "error" {
		t.Errorf("outcome: got %q", got)
	}
	for _, s := range regdrift.States {
		if got, want := viewtest.Text(doc.One(t, "total-"+string(s))),
			fmt.Sprintf("1 %s", stateWords(s)); got != want {
			t.Errorf("total of %s: got %q, want %q", s, got, want)
		}
	}

	type repoRow struct{ name, status, before, after, actions, failed, err string }
	want := []repoRow{
		{"base", "error", "no tags", "—", "0", "0", "list tags: 401"},
		{name, "drift", "unresolved 1 broken 1 stale 1 only on primary 1 only on secondary 1 " +
			"in sync 1", "stale 1 in sync 4", "4", "1", ""},
	}
	rows := doc.All("run-repo-row")
	if len(rows) != len(want) {
		t.Fatalf("repository rows: got %d, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		text := func(id string) string { return viewtest.Text(viewtest.OneIn(t, r, id)) }
		got := repoRow{attrOf(r, "data-repo"),
			attrOf(viewtest.OneIn(t, r, "repo-status"), "data-status"), text("before"),
			text("after"), text("actions"), text("failed"), text("repo-error")}
		if got != want[i] {
			t.Errorf("repository row %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	checkTagTable(t, doc, tagWants(name))
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
