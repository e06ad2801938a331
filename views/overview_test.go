package views_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/views"
	"github.com/regdrift/regdrift/views/viewtest"
)

func TestOverview_RepositoriesWorstFirst(t *testing.T) {
	repos := []*regdrift.RepoSummary{
		{Name: "team/app/api", Status: regdrift.RepoError, Error: "list tags: 401 unauthorized",
			RunID: 9, CheckedAt: now.Add(-2 * time.Hour),
			Counts: regdrift.Counts{Unresolved: 1, Broken: 2, InSync: 3}},
		{Name: "team/web", Status: regdrift.RepoDrift, RunID: 8,
			CheckedAt: now.Add(-90 * time.Second),
			Counts:    regdrift.Counts{Stale: 4, OnlyOnPrimary: 5, OnlyOnSecondary: 6}},
		{Name: "base", Status: regdrift.RepoInSync, RunID: 7, CheckedAt: now.Add(-3 * 24 * time.Hour),
			Counts: regdrift.Counts{InSync: 10}},
	}
	p := views.OverviewPage{
		Layout:    layout("Overview"),
		Primary:   "https://primary.example:5000",
		Secondary: "https://mirror.example",
		Repos:     repos,
		Now:       now,
	}
	for _, r := range repos {
		p.Totals.Merge(r.Counts)
	}
	doc := render(t, views.Overview(p))

	if got := viewtest.Text(doc.One(t, "primary-url")); got != p.Primary {
		t.Errorf("primary: got %q, want %q", got, p.Primary)
	}
	if got := viewtest.Text(doc.One(t, "secondary-url")); got != p.Secondary {
		t.Errorf("secondary: got %q, want %q", got, p.Secondary)
	}
	doc.One(t, "dry-run-all")
	doc.One(t, "execute-all")
	if n := len(doc.All("empty-state")); n != 0 {
		t.Errorf("empty state shown beside %d repositories", len(repos))
	}

	wantTotals := map[regdrift.State]string{
		regdrift.StateUnresolved: "1 unresolved", regdrift.StateBroken: "2 broken",
		regdrift.StateStale: "4 stale", regdrift.StateOnlyOnPrimary: "5 only on primary",
		regdrift.StateOnlyOnSecondary: "6 only on secondary", regdrift.StateInSync: "13 in sync",
	}
	for s, want := range wantTotals {
		if got := viewtest.Text(doc.One(t, "total-"+string(s))); got != want {
			t.Errorf("total of %s: got %q, want %q", s, got, want)
		}
	}

	type row struct {
		name, href, status, err string
		counts                  []string // in regdrift.States order
		checked, runHref        string
	}
	want := []row{
		{"team/app/api", "/repositories/team/app/api", "error", "list tags: 401 unauthorized",
			[]string{"1", "2", "0", "0", "0", "3"},
			"2 hours ago (2026-12-03 10:00:00 UTC) run #9", "/runs/9"},
		{"team/web", "/repositories/team/web", "drift", "",
			[]string{"0", "0", "4", "5", "6", "0"},
			"1 minute ago (2026-12-03 11:58:30 UTC) run #8", "/runs/8"},
		{"base", "/repositories/base", "in_sync", "",
			[]string{"0", "0", "0", "0", "0", "10"},
			"3 days ago (2026-11-30 12:00:00 UTC) run #7", "/runs/7"},
	}
	rows := doc.All("repo-row")
	if len(rows) != len(want) {
		t.Fatalf("repository rows: got %d, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		links := viewtest.Elements(r, "a")
		checked := viewtest.OneIn(t, r, "checked-at")
		got := row{
			name:    attrOf(r, "data-repo"),
			href:    attrOf(links[0], "href"),
			status:  attrOf(viewtest.OneIn(t, r, "repo-status"), "data-status"),
			err:     textOf(viewtest.In(r, "repo-error")),
			checked: viewtest.Text(checked),
			runHref: attrOf(viewtest.Elements(checked, "a")[0], "href"),
		}
		for _, s := range regdrift.States {
			got.counts = append(got.counts, viewtest.Text(viewtest.OneIn(t, r, "count-"+string(s))))
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
}

func TestOverview_EmptySaysWhatToDo(t *testing.T) {
	doc := render(t, views.Overview(views.OverviewPage{Layout: layout("Overview"), Now: now}))

	got := viewtest.Text(doc.One(t, "empty-state"))
	if want := "No check yet: start a dry run"; !strings.HasPrefix(got, want) {
		t.Errorf("empty state: got %q, want it to start with %q", got, want)
	}
	doc.One(t, "dry-run-all")
	if n := len(doc.All("repo-table")) + len(doc.All("totals")); n != 0 {
		t.Errorf("empty overview shows %d tables or totals", n)
	}
}
