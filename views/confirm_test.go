package views_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/views"
	"github.com/regdrift/regdrift/views/viewtest"
)

// known are the latest results of the repositories the store knows.
var known = []*regdrift.RepoSummary{
	{Name: "team/app/api", Status: regdrift.RepoDrift, RunID: 4, CheckedAt: now.Add(-time.Hour),
		Counts: regdrift.Counts{OnlyOnPrimary: 1, Stale: 2, Broken: 3, OnlyOnSecondary: 4,
			Unresolved: 5, InSync: 6}},
	{Name: "base", Status: regdrift.RepoInSync, RunID: 4, CheckedAt: now.Add(-time.Hour),
		Counts: regdrift.Counts{InSync: 2, OnlyOnSecondary: 1}},
}

func TestConfirm_Scope(t *testing.T) {
	type row struct{ name, copies, deletes, unknown string }
	tests := []struct {
		name            string
		scope           []string
		copies, deletes string
		scopeText       string
		rows            []row
		allNote         bool
	}{
		{"one known, one never checked", []string{"team/app/api", "new/repo"}, "6", "4",
			"team/app/api, new/repo",
			[]row{{"team/app/api", "6", "4", ""}, {"new/repo", "", "", "never checked: unknown"}},
			false},
		{"none ever checked", []string{"new/repo"}, "unknown", "unknown", "new/repo",
			[]row{{"new/repo", "", "", "never checked: unknown"}}, false},
		{"all", nil, "6", "5", "all repositories",
			[]row{{"team/app/api", "6", "4", ""}, {"base", "0", "1", ""}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := views.NewConfirmPage(layout("Confirm execute"), tt.scope, known,
				totalsOf(known), 0, now)
			doc := render(t, views.Confirm(p))

			doc.CheckTexts(t, map[string]string{"confirm-scope": tt.scopeText,
				"confirm-copies": tt.copies, "confirm-deletes": tt.deletes})
			if got := len(doc.All("confirm-all-note")) == 1; got != tt.allNote {
				t.Errorf("note on repositories new since the check: got %v, want %v", got,
					tt.allNote)
			}
			var rows []row
			for _, r := range doc.All("confirm-row") {
				rows = append(rows, row{attrOf(r, "data-repo"), textOf(viewtest.In(r, "copies")),
					textOf(viewtest.In(r, "deletes")), textOf(viewtest.In(r, "never-checked"))})
			}
			if !reflect.DeepEqual(rows, tt.rows) {
				t.Errorf("rows:\n got %+v\nwant %+v", rows, tt.rows)
			}
			checkConfirmForm(t, doc, tt.scope)
		})
	}
}

func TestConfirm_NothingKnown(t *testing.T) {
	doc := render(t, views.Confirm(views.NewConfirmPage(layout("Confirm"), nil, nil,
		regdrift.RepoTotals{}, 0, now)))

	doc.One(t, "confirm-unknown")
	doc.One(t, "confirm-execute")
	// Nothing is known, so no count is: a 0 would say there is nothing to do.
	doc.CheckTexts(t, map[string]string{"confirm-copies": "unknown",
		"confirm-deletes": "unknown"})
}

// TestConfirm_AllAtScale asserts that an execute of every repository counts from the totals
// and lists only a page of the drifting repositories, saying how many more there are.
func TestConfirm_AllAtScale(t *testing.T) {
	totals := regdrift.RepoTotals{Repositories: 10000, Drift: 1200, InSync: 8800,
		Tags: regdrift.Counts{InSync: 990000, Stale: 3000, OnlyOnPrimary: 500, Broken: 7,
			OnlyOnSecondary: 40}}
	doc := render(t, views.Confirm(views.NewConfirmPage(layout("Confirm"), nil, known[:1],
		totals, 1199, now)))

	doc.CheckTexts(t, map[string]string{"confirm-copies": "3507", "confirm-deletes": "40",
		"confirm-listed": "The repositories whose latest check found drift; 1199 more are " +
			"not listed."})
	if n := len(doc.All("confirm-row")); n != 1 {
		t.Errorf("rows: got %d, want 1", n)
	}

	// Known, but nothing drifts: the page says so rather than listing nothing.
	doc = render(t, views.Confirm(views.NewConfirmPage(layout("Confirm"), nil, nil,
		regdrift.RepoTotals{Repositories: 3, InSync: 3}, 0, now)))
	doc.One(t, "confirm-no-drift")
	if n := len(doc.All("confirm-unknown")) + len(doc.All("confirm-table")); n != 0 {
		t.Errorf("nothing to do, yet the page shows %d unknowns or tables", n)
	}
}

// totalsOf adds up summaries as the store would.
func totalsOf(summaries []*regdrift.RepoSummary) regdrift.RepoTotals {
	var t regdrift.RepoTotals
	for _, s := range summaries {
		t.Repositories++
		t.Tags.Merge(s.Counts)
		switch s.Status {
		case regdrift.RepoInSync:
			t.InSync++
		case regdrift.RepoDrift:
			t.Drift++
		case regdrift.RepoError:
			t.Errors++
		}
	}
	return t
}

// checkConfirmForm asserts that the confirmation posts an execute of exactly scope, deep
// unless the user unticks it and deleting unless the user ticks "delete nothing".
func checkConfirmForm(t *testing.T, doc *viewtest.Doc, scope []string) {
	t.Helper()
	form := doc.One(t, "confirm-execute").Parent.Parent
	if got := attrOf(form, "method") + " " + attrOf(form, "action"); got != "post /ui/runs" {
		t.Errorf("form: got %q, want post /ui/runs", got)
	}
	hidden := map[string][]string{}
	var boxes []string
	for _, in := range viewtest.Elements(form, "input") {
		switch attrOf(in, "type") {
		case "hidden":
			hidden[attrOf(in, "name")] = append(hidden[attrOf(in, "name")], attrOf(in, "value"))
		case "checkbox":
			name := attrOf(in, "name")
			if got, want := viewtest.HasAttr(in, "checked"), name == "deep"; got != want {
				t.Errorf("checkbox %s ticked by default: got %v, want %v", name, got, want)
			}
			boxes = append(boxes, name)
		}
	}
	want := map[string][]string{"mode": {"execute"}, "confirm": {"yes"}}
	if len(scope) > 0 {
		want["repository"] = scope
	}
	if !reflect.DeepEqual(hidden, want) {
		t.Errorf("hidden fields: got %v, want %v", hidden, want)
	}
	if !slices.Equal(boxes, []string{"no_delete", "deep"}) {
		t.Errorf("checkboxes: got %v", boxes)
	}
	// Every checkbox has a label.
	for _, l := range viewtest.Elements(form, "label") {
		if !slices.Contains(boxes, attrOf(l, "for")) {
			t.Errorf("label for %q labels no checkbox", attrOf(l, "for"))
		}
	}
}

func TestError_ShowsRequestID(t *testing.T) {
	doc := render(t, views.Error(views.ErrorPage{Layout: layout("Not Found"), Status: 404,
		Message: "not found", RequestID: "0123456789abcdef"}))

	doc.CheckTexts(t, map[string]string{"error-status": "404 Not Found",
		"error-message": "not found", "request-id": "0123456789abcdef"})
}

// TestLayout_NoExternalResources checks that a page loads its stylesheet and icon from this
// server and nothing else from anywhere.
func TestLayout_NoExternalResources(t *testing.T) {
	doc := render(t, views.Error(views.ErrorPage{Layout: layout("x"), Status: 500}))

	var loads []string
	for _, tag := range []string{"link", "script", "img", "iframe"} {
		for _, n := range viewtest.Elements(doc.Root(), tag) {
			loads = append(loads, tag+" "+attrOf(n, "href")+attrOf(n, "src"))
		}
	}
	want := []string{"link /static/style.0123abcd.css", "link /static/icon.4567cdef.svg"}
	if !slices.Equal(loads, want) {
		t.Errorf("resources: got %v, want %v", loads, want)
	}
}

// TestLayout_NoIconWithoutURL checks that a layout without an icon links none, rather than an
// empty href that would fetch the page itself again.
func TestLayout_NoIconWithoutURL(t *testing.T) {
	l := layout("x")
	l.IconURL = ""
	doc := render(t, views.Error(views.ErrorPage{Layout: l, Status: 500}))

	for _, n := range viewtest.Elements(doc.Root(), "link") {
		if rel := attrOf(n, "rel"); rel != "stylesheet" {
			t.Errorf("link rel=%q href=%q without an icon URL", rel, attrOf(n, "href"))
		}
	}
}
