package views_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/views"
	"github.com/regdrift/regdrift/views/viewtest"
)

func TestRepository_EveryTagState(t *testing.T) {
	const name = "team/app/api"
	finished := now.Add(-time.Minute)
	started := finished.Add(-30 * time.Second)
	p := views.RepositoryPage{
		Layout: layout(name),
		Repo: &regdrift.RepoSummary{Name: name, Status: regdrift.RepoError,
			Error: "secondary: 1 tag unresolved", RunID: 7, CheckedAt: now.Add(-5 * time.Minute),
			Counts: regdrift.Counts{Unresolved: 1, Broken: 1, Stale: 1, OnlyOnPrimary: 1,
				OnlyOnSecondary: 1, InSync: 1}},
		Tags: tagRows(name),
		Runs: []*regdrift.Run{
			{ID: 7, Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerUI, Scope: []string{name},
				Status: regdrift.RunDone, Outcome: regdrift.OutcomeError, CreatedAt: started,
				StartedAt: &started, FinishedAt: &finished, Summary: regdrift.Summary{Tags: 6,
					Errors: 2, Actions: 4, FailedActions: 1,
					Counts: regdrift.Counts{Unresolved: 1, Broken: 1, Stale: 1, OnlyOnPrimary: 1,
						OnlyOnSecondary: 1, InSync: 1}}},
			{ID: 3, Mode: regdrift.ModeExecute, Trigger: regdrift.TriggerAPI,
				Status: regdrift.RunRunning, CreatedAt: now.Add(-3 * time.Hour)},
		},
		Now: now,
	}
	doc := render(t, views.Repository(p))

	if got := viewtest.Text(doc.One(t, "repo-name")); got != name {
		t.Errorf("name: got %q, want %q", got, name)
	}
	if got := attrOf(doc.One(t, "repo-status"), "data-status"); got != "error" {
		t.Errorf("status: got %q, want error", got)
	}
	if got, want := viewtest.Text(doc.One(t, "repo-error")), p.Repo.Error; got != want {
		t.Errorf("error: got %q, want %q", got, want)
	}
	if got, want := viewtest.Text(doc.One(t, "checked-at")),
		"5 minutes ago (2026-12-03 11:55:00 UTC) in run #7"; got != want {
		t.Errorf("checked: got %q, want %q", got, want)
	}
	checkRepoForms(t, doc, name)
	checkTagTable(t, doc, tagWants(name))

	// The tag table of a repository page has no repository column. What was done and why
	// comes before the manifests, so that it shows without scrolling the table.
	if got := len(viewtest.Elements(doc.One(t, "tag-table"), "th")); got != 9+len(p.Tags) {
		t.Errorf("tag table: %d header cells, want %d", got, 9+len(p.Tags))
	}
	head := viewtest.Elements(doc.One(t, "tag-table"), "thead")[0]
	if got, want := textOf(viewtest.Elements(head, "th")), "Tag State Action Result Error "+
		"Missing on secondary Primary Secondary Platforms"; got != want {
		t.Errorf("tag table columns:\n got %q\nwant %q", got, want)
	}
	checkRunRows(t, doc, []runRow{
		{"7", "done", "error", "dry run", "ui", name, "1 minute ago (2026-12-03 11:58:30 UTC)",
			"30s", "6", "4", "4", "1", "2"},
		{"3", "running", "", "execute", "api", "all repositories",
			"not started; created 3 hours ago (2026-12-03 09:00:00 UTC)", "—", "0", "0", "0", "0", "0"},
	})
}

// TestRepository_WrongTagsFirst asserts that a repository's tags are listed worst first, names
// in order within a state, whatever order the store gives them in.
func TestRepository_WrongTagsFirst(t *testing.T) {
	const name = "big/many"
	var tags []*regdrift.TagRow
	state := map[string]regdrift.State{"r007": regdrift.StateOnlyOnPrimary,
		"r042": regdrift.StateStale, "r101": regdrift.StateOnlyOnSecondary,
		"r119": regdrift.StateOnlyOnPrimary}
	for i := range 120 {
		tag := fmt.Sprintf("r%03d", i)
		s, ok := state[tag]
		if !ok {
			s = regdrift.StateInSync
		}
		tags = append(tags, &regdrift.TagRow{Repository: name,
			TagDrift: regdrift.TagDrift{Tag: tag, State: s}})
	}
	doc := render(t, views.Repository(views.RepositoryPage{Layout: layout(name),
		Repo: &regdrift.RepoSummary{Name: name, Status: regdrift.RepoDrift}, Tags: tags,
		Now: now}))

	var got []string
	for _, r := range doc.All("tag-row")[:6] {
		got = append(got, attrOf(r, "data-tag"))
	}
	if want := []string{"r042", "r007", "r119", "r101", "r000", "r001"}; !reflect.DeepEqual(got,
		want) {
		t.Errorf("first rows: got %v, want %v", got, want)
	}
	if n := len(doc.All("tag-row")); n != 120 {
		t.Errorf("rows: got %d, want every one of 120", n)
	}
}

func TestRepository_NoTagsNoRuns(t *testing.T) {
	p := views.RepositoryPage{
		Layout: layout("empty"),
		Repo:   &regdrift.RepoSummary{Name: "empty", Status: regdrift.RepoInSync, RunID: 1},
		Now:    now,
	}
	doc := render(t, views.Repository(p))

	doc.One(t, "no-tags")
	doc.One(t, "no-runs")
	if n := len(doc.All("tag-table")) + len(doc.All("run-table")); n != 0 {
		t.Errorf("%d tables shown without rows", n)
	}
}

// checkRepoForms asserts the dry run of one repository posts straight away and its execute
// only leads to the confirmation.
func checkRepoForms(t *testing.T, doc *viewtest.Doc, name string) {
	t.Helper()
	type form struct {
		method, action string
		fields         map[string]string
	}
	formOf := func(id string) form {
		f := doc.One(t, id).Parent
		got := form{method: attrOf(f, "method"), action: attrOf(f, "action"),
			fields: map[string]string{}}
		for _, in := range viewtest.Elements(f, "input") {
			got.fields[attrOf(in, "name")] = attrOf(in, "value")
		}
		return got
	}
	want := map[string]form{
		"dry-run-repo": {"post", "/ui/runs",
			map[string]string{"mode": "dry_run", "deep": "true", "repository": name}},
		"execute-repo": {"get", "/ui/execute", map[string]string{"repository": name}},
	}
	for id, w := range want {
		if got := formOf(id); !reflect.DeepEqual(got, w) {
			t.Errorf("%s form:\n got %+v\nwant %+v", id, got, w)
		}
	}
}

// runRow is what a row of a run table shows.
type runRow struct {
	id, status, outcome, mode, trigger, scope, started, duration string
	tags, drift, actions, failed, errors                         string
}

func checkRunRows(t *testing.T, doc *viewtest.Doc, want []runRow) {
	t.Helper()
	rows := doc.All("run-row")
	if len(rows) != len(want) {
		t.Fatalf("run rows: got %d, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		text := func(id string) string { return viewtest.Text(viewtest.OneIn(t, r, id)) }
		got := runRow{
			id:       attrOf(r, "data-run"),
			status:   attrOf(viewtest.OneIn(t, r, "run-status"), "data-status"),
			outcome:  attrOf(viewtest.OneIn(t, r, "run-outcome"), "data-outcome"),
			mode:     text("run-mode"),
			trigger:  text("run-trigger"),
			scope:    text("run-scope"),
			started:  text("run-started"),
			duration: text("run-duration"),
			tags:     text("run-tags"),
			drift:    text("run-drift"),
			actions:  text("run-actions"),
			failed:   text("run-failed"),
			errors:   text("run-errors"),
		}
		if got != want[i] {
			t.Errorf("run row %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
}

// TestTagTable_WithheldIsANote checks that the reason a deliberately skipped action gives reads
// as a note, while a failed action and an unresolved tag (skipped too, but because it could
// not be read) stay errors.
func TestTagTable_WithheldIsANote(t *testing.T) {
	const name = "team/ci"
	row := func(d regdrift.TagDrift) *regdrift.TagRow {
		return &regdrift.TagRow{RunID: 7, Repository: name, TagDrift: d}
	}
	const withheldMsg = "the primary lists no tags in this repository"
	p := views.RepositoryPage{
		Layout: layout(name),
		Repo:   &regdrift.RepoSummary{Name: name, Status: regdrift.RepoError, RunID: 7},
		Tags: []*regdrift.TagRow{
			row(regdrift.TagDrift{Tag: "old", State: regdrift.StateOnlyOnSecondary,
				Secondary: regdrift.Manifest{Digest: digest("2"), MediaType: ociManifest},
				Action:    regdrift.ActionDelete, Result: regdrift.ResultSkipped,
				Error: withheldMsg}),
			row(regdrift.TagDrift{Tag: "v2", State: regdrift.StateStale,
				Primary:   regdrift.Manifest{Digest: digest("e"), MediaType: ociManifest},
				Secondary: regdrift.Manifest{Digest: digest("f"), MediaType: ociManifest},
				Action:    regdrift.ActionCopy, Result: regdrift.ResultFailed,
				Error: "copy: secondary answered 500"}),
			row(regdrift.TagDrift{Tag: "v0", State: regdrift.StateUnresolved,
				Action: regdrift.ActionNone, Result: regdrift.ResultSkipped,
				Error: "secondary: HEAD manifest: 429 too many requests"}),
			row(regdrift.TagDrift{Tag: "latest", State: regdrift.StateInSync,
				Primary:   regdrift.Manifest{Digest: digest("3"), MediaType: ociIndex},
				Secondary: regdrift.Manifest{Digest: digest("3"), MediaType: ociIndex}}),
		},
		Now: now,
	}
	doc := render(t, views.Repository(p))

	type cell struct{ class, text string }
	want := map[string]cell{
		"old":    {"msg note", "withheld: " + withheldMsg},
		"v2":     {"error msg", "copy: secondary answered 500"},
		"v0":     {"error msg", "secondary: HEAD manifest: 429 too many requests"},
		"latest": {"error", ""},
	}
	rows := doc.All("tag-row")
	if len(rows) != len(want) {
		t.Fatalf("tag rows: got %d, want %d", len(rows), len(want))
	}
	got := map[string]cell{}
	for _, r := range rows {
		c := viewtest.OneIn(t, r, "tag-error")
		classes := strings.Fields(attrOf(c, "class"))
		slices.Sort(classes)
		got[attrOf(r, "data-tag")] = cell{strings.Join(classes, " "), viewtest.Text(c)}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tag messages:\n got %+v\nwant %+v", got, want)
	}
	if got["old"].class == got["v2"].class {
		t.Errorf("a withheld and a failed action share the class %q", got["old"].class)
	}
}
