package views_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"golang.org/x/net/html"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/views"
	"github.com/regdrift/regdrift/views/viewtest"
)

// now is the clock of every page in these tests.
var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

const (
	ociIndex    = "application/vnd.oci.image.index.v1+json"
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	dockerV2    = "application/vnd.docker.distribution.manifest.v2+json"
)

// digest is a sha256 digest of 64 times c.
func digest(c string) string { return "sha256:" + strings.Repeat(c, 64) }

// short is what the pages show of digest(c).
func short(c string) string { return "sha256:" + strings.Repeat(c, 12) }

func render(t *testing.T, c templ.Component) *viewtest.Doc {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	return viewtest.Parse(t, buf.String())
}

// layout is a page frame for a viewer who may do everything, as without access control.
func layout(title string) views.Layout {
	return views.Layout{Title: title, StyleURL: "/static/style.0123abcd.css",
		IconURL: "/static/icon.4567cdef.svg", Viewer: admin}
}

var admin = views.Viewer{DryRun: true, Execute: true, Cancel: true}

var attrOf = viewtest.Attr

// attrsOf joins the attribute key of nodes; no node gives "".
func attrsOf(nodes []*html.Node, key string) string {
	var s []string
	for _, n := range nodes {
		s = append(s, viewtest.Attr(n, key))
	}
	return strings.Join(s, " ")
}

// textOf joins the texts of nodes; no node gives "".
func textOf(nodes []*html.Node) string {
	var s []string
	for _, n := range nodes {
		s = append(s, viewtest.Text(n))
	}
	return strings.Join(s, " ")
}

// tagRows holds one tag in every state, with what a run did about it.
func tagRows(repo string) []*regdrift.TagRow {
	row := func(d regdrift.TagDrift) *regdrift.TagRow {
		return &regdrift.TagRow{RunID: 7, Repository: repo, TagDrift: d}
	}
	return []*regdrift.TagRow{
		row(regdrift.TagDrift{Tag: "v0", State: regdrift.StateUnresolved,
			Primary: regdrift.Manifest{Digest: digest("a"), MediaType: ociIndex},
			Action:  regdrift.ActionNone, Result: regdrift.ResultSkipped,
			Error: "secondary: HEAD manifest: 429 too many requests"}),
		row(regdrift.TagDrift{Tag: "v1", State: regdrift.StateBroken,
			Primary:   regdrift.Manifest{Digest: digest("b"), MediaType: ociIndex},
			Secondary: regdrift.Manifest{Digest: digest("b"), MediaType: ociIndex},
			Missing:   []string{"manifest " + digest("c"), "blob " + digest("d")},
			Platforms: []string{"linux/amd64", "linux/arm64/v8"},
			Action:    regdrift.ActionCopy, Result: regdrift.ResultPlanned}),
		row(regdrift.TagDrift{Tag: "v2", State: regdrift.StateStale,
			Primary:   regdrift.Manifest{Digest: digest("e"), MediaType: ociManifest},
			Secondary: regdrift.Manifest{Digest: digest("f"), MediaType: dockerV2},
			Action:    regdrift.ActionCopy, Result: regdrift.ResultFailed,
			Error: "copy: secondary answered 500", Verified: regdrift.StateStale}),
		row(regdrift.TagDrift{Tag: "v3", State: regdrift.StateOnlyOnPrimary,
			Primary: regdrift.Manifest{Digest: digest("1"), MediaType: "application/x-custom"},
			Action:  regdrift.ActionCopy, Result: regdrift.ResultOK,
			Verified: regdrift.StateInSync}),
		row(regdrift.TagDrift{Tag: "old", State: regdrift.StateOnlyOnSecondary,
			Secondary: regdrift.Manifest{Digest: digest("2"), MediaType: ociManifest},
			Action:    regdrift.ActionDelete, Result: regdrift.ResultPlanned}),
		row(regdrift.TagDrift{Tag: "latest", State: regdrift.StateInSync,
			Primary:   regdrift.Manifest{Digest: digest("3"), MediaType: ociIndex},
			Secondary: regdrift.Manifest{Digest: digest("3"), MediaType: ociIndex},
			Action:    regdrift.ActionNone}),
	}
}

// tagWant is what a tag row shows.
type tagWant struct {
	repo, tag, state, verified       string
	primary, primaryTitle, primaryMT string
	secondary, secondaryTitle, secMT string
	missing, missingTitle            string
	platforms                        string
	action, result, err              string
	// copies are the digests the copy buttons put on the clipboard.
	copies string
}

// tagWants matches tagRows.
func tagWants(repo string) []tagWant {
	return []tagWant{
		{repo, "v0", "unresolved", "", short("a"), digest("a"), "OCI index", "unknown", "", "",
			"", "", "", "none", "skipped", "secondary: HEAD manifest: 429 too many requests",
			digest("a")},
		{repo, "v1", "broken", "", short("b"), digest("b"), "OCI index", short("b"), digest("b"),
			"OCI index", "manifest " + short("c") + " blob " + short("d"),
			"manifest " + digest("c") + " blob " + digest("d"), "linux/amd64 linux/arm64/v8",
			"copy", "planned", "", digest("b") + " " + digest("b")},
		{repo, "v2", "stale", "stale", short("e"), digest("e"), "OCI manifest", short("f"), digest("f"),
			"Docker manifest v2", "", "", "", "copy", "failed", "copy: secondary answered 500",
			digest("e") + " " + digest("f")},
		{repo, "v3", "only_on_primary", "in_sync", short("1"), digest("1"), "application/x-custom",
			"absent", "", "", "", "", "", "copy", "ok", "", digest("1")},
		{repo, "old", "only_on_secondary", "", "absent", "", "", short("2"), digest("2"),
			"OCI manifest", "", "", "", "delete", "planned", "", digest("2")},
		{repo, "latest", "in_sync", "", short("3"), digest("3"), "OCI index", short("3"), digest("3"),
			"OCI index", "", "", "", "none", "—", "", digest("3") + " " + digest("3")},
	}
}

// checkTagTable asserts every field of every tag row on a page.
func checkTagTable(t *testing.T, doc *viewtest.Doc, want []tagWant) {
	t.Helper()
	rows := doc.All("tag-row")
	if len(rows) != len(want) {
		t.Fatalf("tag rows: got %d, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		got := tagWant{
			repo:           attrOf(r, "data-repo"),
			tag:            attrOf(r, "data-tag"),
			state:          attrOf(viewtest.OneIn(t, r, "state-badge"), "data-state"),
			verified:       attrsOf(viewtest.In(r, "verified-state"), "data-state"),
			primary:        viewtest.Text(viewtest.OneIn(t, r, "primary-digest")),
			primaryTitle:   attrOf(viewtest.OneIn(t, r, "primary-digest"), "title"),
			primaryMT:      textOf(viewtest.In(r, "primary-media-type")),
			secondary:      viewtest.Text(viewtest.OneIn(t, r, "secondary-digest")),
			secondaryTitle: attrOf(viewtest.OneIn(t, r, "secondary-digest"), "title"),
			secMT:          textOf(viewtest.In(r, "secondary-media-type")),
			missing:        viewtest.Text(viewtest.OneIn(t, r, "missing")),
			missingTitle:   attrsOf(viewtest.In(r, "missing-item"), "title"),
			platforms:      textOf(viewtest.In(r, "platform")),
			copies:         copyTargets(r),
			action:         viewtest.Text(viewtest.OneIn(t, r, "action")),
			result:         viewtest.Text(viewtest.OneIn(t, r, "result")),
			err:            viewtest.Text(viewtest.OneIn(t, r, "tag-error")),
		}
		if got != w {
			t.Errorf("tag row %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
}

// copyTargets lists what the copy buttons below n put on the clipboard. They start hidden:
// only the script shows them, so a page without JavaScript offers no dead button.
func copyTargets(n *html.Node) string {
	var out []string
	for _, b := range viewtest.Elements(n, "button") {
		if v := viewtest.Attr(b, "data-copy"); v != "" && viewtest.HasAttr(b, "hidden") {
			out = append(out, v)
		}
	}
	return strings.Join(out, " ")
}
