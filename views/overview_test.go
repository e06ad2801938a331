package views_test

import (
	"net/url"
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

// TestDryRunForms_AreDeep asserts that every dry run the dashboard starts is deep: a shallow
// one reads a matching digest as in sync and would hide the broken tags of the last check.
func TestDryRunForms_AreDeep(t *testing.T) {
	repos := []*regdrift.RepoSummary{{Name: "base", Status: regdrift.RepoInSync}}
	pages := map[string]*viewtest.Doc{
		"overview": render(t, views.Overview(views.OverviewPage{Layout: layout("Overview"),
			Repos: repos, Now: now})),
		"runs": render(t, views.RunList(views.RunListPage{Layout: layout("Runs"), Limit: 50,
			Now: now})),
	}
	for name, doc := range pages {
		form := doc.One(t, "dry-run-all").Parent
		got := viewtest.FormValues(form)
		want := url.Values{"mode": {"dry_run"}, "deep": {"true"}}
		if !reflect.DeepEqual(got, want) || attrOf(form, "method") != "post" {
			t.Errorf("%s: dry run form sends %v by %s, want %v by post", name, got,
				attrOf(form, "method"), want)
		}
	}
}

// TestTables_ScrollInTheirBox asserts that every table of every page sits in a box of its own,
// which scrolls a wide table instead of the page.
func TestTables_ScrollInTheirBox(t *testing.T) {
	run := &regdrift.Run{ID: 7, Mode: regdrift.ModeExecute, Status: regdrift.RunDone}
	repoResults := []*regdrift.RepoResult{{RunID: 7, Name: "team/app/api",
		Before: regdrift.Counts{Unresolved: 1, Broken: 1, Stale: 1, OnlyOnPrimary: 1,
			OnlyOnSecondary: 1, InSync: 1}}}
	summaries := []*regdrift.RepoSummary{{Name: "team/app/api", Status: regdrift.RepoDrift}}
	pages := map[string]*viewtest.Doc{
		"overview": render(t, views.Overview(views.OverviewPage{Layout: layout("Overview"),
			Repos: summaries, Now: now})),
		"repository": render(t, views.Repository(views.RepositoryPage{Layout: layout("r"),
			Repo: summaries[0], Tags: tagRows("team/app/api"), Runs: []*regdrift.Run{run},
			Now: now})),
		"runs": render(t, views.RunList(views.RunListPage{Layout: layout("Runs"),
			Runs: []*regdrift.Run{run}, Total: 1, Limit: 50, Now: now})),
		"run": render(t, views.Run(views.NewRunPage(layout("Run #7"), run, repoResults,
			tagRows("team/app/api"), views.TagView{}, now))),
		"confirm": render(t, views.Confirm(views.NewConfirmPage(layout("Confirm"), nil,
			summaries, now))),
	}
	for name, doc := range pages {
		tables := viewtest.Elements(doc.Root(), "table")
		if len(tables) == 0 {
			t.Errorf("%s: no table", name)
		}
		for _, tb := range tables {
			box := tb.Parent
			if attrOf(box, "class") != "table-box" || attrOf(box, "tabindex") != "0" ||
				attrOf(box, "aria-label") == "" {
				t.Errorf("%s: table %s is not in a focusable, labelled table box", name,
					attrOf(tb, "data-testid"))
			}
		}
	}
}
