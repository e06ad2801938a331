package views_test

import (
	"net/url"
	"reflect"
	"slices"
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
		Totals:    totalsOf(repos),
		Filter:    regdrift.RepoFilter{Limit: views.RepoPageSize},
		Repos:     repos,
		Matched:   len(repos),
		Now:       now,
	}
	p.Totals.LastCheckedAt = now.Add(-90 * time.Second)
	doc := render(t, views.Overview(p))
	doc.CheckTexts(t, map[string]string{
		"last-check":  "1 minute ago (2026-12-03 11:58:30 UTC)",
		"repos-error": "1 with errors", "repos-drift": "1 drifting", "repos-in_sync": "1 in sync",
		"repo-range": "Repositories 1–3 of 3",
	})
	if n := len(doc.All("repo-prev")) + len(doc.All("repo-next")); n != 0 {
		t.Errorf("one page of repositories links to %d others", n)
	}

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

// TestOverview_NoneIsGrey asserts that a card counting nothing is marked zero (grey), and
// only such a card, so that an alarm colour at the top of the page means there is something.
func TestOverview_NoneIsGrey(t *testing.T) {
	repos := []*regdrift.RepoSummary{{Name: "team/web", Status: regdrift.RepoDrift, RunID: 8,
		CheckedAt: now, Counts: regdrift.Counts{Stale: 1, InSync: 3}}}
	doc := render(t, views.Overview(views.OverviewPage{Layout: layout("Overview"),
		Totals: totalsOf(repos), Filter: regdrift.RepoFilter{Limit: views.RepoPageSize},
		Repos: repos, Matched: 1, Now: now}))

	zero := func(id string) bool {
		return slices.Contains(strings.Fields(attrOf(doc.One(t, id), "class")), "zero")
	}
	for id, want := range map[string]bool{"repos-error": true, "repos-drift": false,
		"repos-in_sync": true, "total-unresolved": true, "total-broken": true,
		"total-stale": false, "total-only_on_primary": true, "total-only_on_secondary": true,
		"total-in_sync": false} {
		if got := zero(id); got != want {
			t.Errorf("%s: marked zero %v, want %v", id, got, want)
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
			Totals: totalsOf(repos), Repos: repos, Matched: 1, Now: now})),
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
			Totals: totalsOf(summaries), Repos: summaries, Matched: 1, Now: now})),
		"repository": render(t, views.Repository(views.RepositoryPage{Layout: layout("r"),
			Repo: summaries[0], Tags: tagRows("team/app/api"), Runs: []*regdrift.Run{run},
			Now: now})),
		"runs": render(t, views.RunList(views.RunListPage{Layout: layout("Runs"),
			Runs: []*regdrift.Run{run}, Total: 1, Limit: 50, Now: now})),
		"run": render(t, views.Run(views.NewRunPage(layout("Run #7"), run, repoResults,
			tagRows("team/app/api"), 6, views.TagView{}, now))),
		"confirm": render(t, views.Confirm(views.NewConfirmPage(layout("Confirm"), nil,
			summaries, totalsOf(summaries), 0, now))),
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

func TestOverview_Verdict(t *testing.T) {
	tests := []struct {
		name    string
		totals  regdrift.RepoTotals
		verdict string
		text    string
	}{
		{"nothing checked", regdrift.RepoTotals{}, "unknown",
			"Nothing is known yet: no repository has been checked."},
		{"in sync", regdrift.RepoTotals{Repositories: 2, InSync: 2,
			Tags: regdrift.Counts{InSync: 5}}, "in_sync",
			"The secondary is in sync: all 5 tags in 2 repositories match the primary."},
		{"drift", regdrift.RepoTotals{Repositories: 2, InSync: 1, Drift: 1,
			Tags: regdrift.Counts{InSync: 5, Stale: 1}}, "drift",
			"The secondary has drifted: 1 tag in 1 repository differ from the primary."},
		{"an unresolved tag outweighs drift", regdrift.RepoTotals{Repositories: 3, Drift: 2,
			Errors: 1, Tags: regdrift.Counts{Stale: 3, Unresolved: 2}}, "error",
			"Not trustworthy: 1 repository could not be fully checked or repaired; " +
				"2 tags unresolved, 3 tags drifting."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := render(t, views.Overview(views.OverviewPage{Layout: layout("Overview"),
				Totals: tt.totals, Now: now}))
			v := doc.One(t, "verdict")
			if got := attrOf(v, "data-verdict"); got != tt.verdict {
				t.Errorf("verdict: got %q, want %q", got, tt.verdict)
			}
			if got := viewtest.Text(v); got != tt.text {
				t.Errorf("verdict text:\n got %q\nwant %q", got, tt.text)
			}
		})
	}
}

func TestOverview_ActiveRuns(t *testing.T) {
	started := now.Add(-time.Minute)
	active := []*regdrift.Run{
		{ID: 12, Mode: regdrift.ModeExecute, Status: regdrift.RunRunning, StartedAt: &started,
			Scope: []string{"geo/app"}, ReposTotal: 1, Summary: regdrift.Summary{Tags: 0}},
		{ID: 11, Mode: regdrift.ModeDryRun, Status: regdrift.RunRunning, StartedAt: &started,
			ReposTotal: 6, ReposDone: 2, Summary: regdrift.Summary{Tags: 30}},
		{ID: 10, Mode: regdrift.ModeDryRun, Status: regdrift.RunQueued},
	}
	doc := render(t, views.Overview(views.OverviewPage{Layout: layout("Overview"),
		Totals: regdrift.RepoTotals{Repositories: 1, InSync: 1}, Active: active, Now: now}))
	want := []string{
		"Run #12 running execute of geo/app: 0 of 1 repositories, 0 tags checked",
		"Run #11 running dry run of all repositories: 2 of 6 repositories, 30 tags checked",
		"Run #10 queued dry run of all repositories: waiting to start",
	}
	if got := doc.Texts("active-run"); !reflect.DeepEqual(got, want) {
		t.Errorf("active runs:\n got %q\nwant %q", got, want)
	}
	if got := attrOf(viewtest.Elements(doc.All("active-run")[1], "a")[0], "href"); got != "/runs/11" {
		t.Errorf("active run link: got %q", got)
	}
}

func TestOverview_FiltersSearchAndPages(t *testing.T) {
	repos := []*regdrift.RepoSummary{{Name: "team/web", Status: regdrift.RepoDrift, RunID: 3,
		Counts: regdrift.Counts{Stale: 1}}}
	p := views.OverviewPage{Layout: layout("Overview"),
		Totals: regdrift.RepoTotals{Repositories: 400, Drift: 160, InSync: 240},
		Filter: regdrift.RepoFilter{Status: regdrift.RepoDrift, Query: "te a",
			Limit: views.RepoPageSize, Offset: 50},
		Repos: repos, Matched: 160, Now: now}
	doc := render(t, views.Overview(p))

	type link struct{ filter, href, current string }
	var got []link
	for _, l := range doc.All("repo-filter") {
		got = append(got, link{attrOf(l, "data-filter"), attrOf(l, "href"),
			attrOf(l, "aria-current")})
	}
	want := []link{
		{"all", "/?q=te+a", ""},
		{"drift", "/?q=te+a&status=drift", "page"},
		{"error", "/?q=te+a&status=error", ""},
		{"in_sync", "/?q=te+a&status=in_sync", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("filters:\n got %+v\nwant %+v", got, want)
	}

	// The search keeps the status filter and works as a plain GET form.
	form := doc.One(t, "repo-search")
	if got := attrOf(form, "method") + " " + attrOf(form, "action"); got != "get /" {
		t.Errorf("search form: got %q", got)
	}
	if got := viewtest.FormValues(form); !reflect.DeepEqual(got,
		url.Values{"status": {"drift"}, "q": {"te a"}}) {
		t.Errorf("search form sends %v", got)
	}
	if got := attrOf(doc.One(t, "clear-search"), "href"); got != "/?status=drift" {
		t.Errorf("clear search: got %q", got)
	}
	labels := viewtest.Elements(form, "label")
	if len(labels) != 1 || attrOf(labels[0], "for") != "q" {
		t.Errorf("the search box has no label")
	}

	doc.CheckTexts(t, map[string]string{"repo-range": "Repositories 51–51 of 160"})
	for id, want := range map[string]string{
		"repo-prev": "/?q=te+a&status=drift",
		"repo-next": "/?offset=100&q=te+a&status=drift",
	} {
		if got := attrOf(doc.One(t, id), "href"); got != want {
			t.Errorf("%s: got %q, want %q", id, got, want)
		}
	}

	// A search that matches nothing says so, and the filters stay.
	p.Repos, p.Matched, p.Filter.Offset = nil, 0, 0
	doc = render(t, views.Overview(p))
	doc.CheckTexts(t, map[string]string{
		"no-match": "No drifting repository has a name containing “te a”."})
	doc.One(t, "repo-filters")
}

func TestOverview_DriftChart(t *testing.T) {
	// Newest first, as the store lists them.
	history := []*regdrift.Run{
		{ID: 9, Mode: regdrift.ModeExecute, CreatedAt: now.Add(-time.Hour),
			Summary: regdrift.Summary{Counts: regdrift.Counts{Stale: 2, Unresolved: 2}}},
		{ID: 8, Mode: regdrift.ModeDryRun, CreatedAt: now.Add(-2 * time.Hour),
			Summary: regdrift.Summary{Counts: regdrift.Counts{Stale: 6, OnlyOnPrimary: 2}}},
		{ID: 7, Mode: regdrift.ModeDryRun, CreatedAt: now.Add(-3 * time.Hour)},
	}
	doc := render(t, views.Overview(views.OverviewPage{Layout: layout("Overview"),
		Totals: regdrift.RepoTotals{Repositories: 1, Drift: 1}, History: history, Now: now}))

	type bar struct{ run, drift, unresolved, href string }
	var got []bar
	for _, b := range doc.All("chart-bar") {
		got = append(got, bar{attrOf(b, "data-run"), attrOf(b, "data-drift"),
			attrOf(b, "data-unresolved"), attrOf(b, "href")})
	}
	want := []bar{{"7", "0", "0", "/runs/7"}, {"8", "8", "0", "/runs/8"},
		{"9", "2", "2", "/runs/9"}} // oldest on the left
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bars:\n got %+v\nwant %+v", got, want)
	}
	// The tallest bar fills the height but for the headroom; the others scale to it.
	rects := viewtest.Elements(doc.All("chart-bar")[1], "rect")
	if h := attrOf(rects[1], "height"); h != "116.0" {
		t.Errorf("tallest drift bar height: got %s, want 116.0", h)
	}
	rects = viewtest.Elements(doc.All("chart-bar")[2], "rect")
	if h := attrOf(rects[1], "height") + " " + attrOf(rects[2], "height"); h != "29.0 29.0" {
		t.Errorf("last bar drift and unresolved heights: got %s, want 29.0 29.0", h)
	}
	doc.CheckTexts(t, map[string]string{"chart-caption": "Drifting and unresolved tags found " +
		"by the last 3 runs over every repository (an execute's before it acted), oldest on " +
		"the left. Latest, run #9: 2 tags drifting, 2 unresolved before acting; oldest shown, " +
		"run #7: 0 drifting, 0 unresolved."})
	// Each bar's title says whether its counts are an execute's before it acted.
	var titles []string
	for _, b := range doc.All("chart-bar") {
		titles = append(titles, viewtest.Text(viewtest.Elements(b, "title")[0]))
	}
	wantTitles := []string{"Run #7, dry run (3 hours ago): 0 tags drifting, 0 unresolved",
		"Run #8, dry run (2 hours ago): 8 tags drifting, 0 unresolved",
		"Run #9, execute (1 hour ago): 2 tags drifting, 2 unresolved before acting"}
	if !reflect.DeepEqual(titles, wantTitles) {
		t.Errorf("bar titles:\n got %q\nwant %q", titles, wantTitles)
	}

	doc = render(t, views.Overview(views.OverviewPage{Layout: layout("Overview"),
		Totals: regdrift.RepoTotals{Repositories: 1, InSync: 1}, Now: now}))
	doc.One(t, "no-history")
}
