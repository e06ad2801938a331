package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/static"
	"github.com/regdrift/regdrift/views/viewtest"
)

// page fetches a page, checks its status and parses it.
func (e *env) page(t *testing.T, path string, status int) *viewtest.Doc {
	t.Helper()
	res := e.do(t, http.MethodGet, path, nil)
	checkStatus(t, res, status)
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type: got %q", ct)
	}
	return viewtest.Parse(t, readBody(t, res))
}

// body fetches a page and returns it as text.
func (e *env) body(t *testing.T, path string) string {
	t.Helper()
	res := e.do(t, http.MethodGet, path, nil)
	checkStatus(t, res, http.StatusOK)
	return readBody(t, res)
}

// countAttr counts the elements whose attribute key is val.
func countAttr(doc *viewtest.Doc, key, val string) int {
	n := 0
	for c := range doc.Root().Descendants() {
		if viewtest.Attr(c, key) == val {
			n++
		}
	}
	return n
}

func TestPages_FromTheStore(t *testing.T) {
	e := newEnv(t)
	run := e.seed(t)
	runPath := fmt.Sprintf("/runs/%d", run.ID)

	t.Run("overview", func(t *testing.T) {
		doc := e.page(t, "/", http.StatusOK)
		doc.CheckTexts(t, map[string]string{"primary-url": "https://primary.example",
			"secondary-url": "https://mirror.example", "total-in_sync": "2 in sync",
			"total-broken": "1 broken", "total-only_on_secondary": "1 only on secondary"})
		var names []string
		for _, r := range doc.All("repo-row") {
			names = append(names, viewtest.Attr(r, "data-repo"))
		}
		if want := []string{seeded, "base"}; !reflect.DeepEqual(names, want) {
			t.Errorf("repositories: got %v, want %v (worst first)", names, want)
		}
	})
	t.Run("repository with slashes", func(t *testing.T) {
		doc := e.page(t, "/repositories/"+seeded, http.StatusOK)
		doc.CheckTexts(t, map[string]string{"repo-name": seeded})
		var tags []string
		for _, r := range doc.All("tag-row") {
			tags = append(tags, viewtest.Attr(r, "data-tag")+" "+
				viewtest.Attr(viewtest.OneIn(t, r, "state-badge"), "data-state"))
		}
		// Worst first, whatever order the store lists them in.
		want := []string{"v1 broken", "v2 only_on_secondary", "latest in_sync"}
		if !reflect.DeepEqual(tags, want) {
			t.Errorf("tags: got %v, want %v", tags, want)
		}
		if got := viewtest.Attr(doc.One(t, "run-row"), "data-run"); got != fmt.Sprint(run.ID) {
			t.Errorf("runs that touched it: got %q, want %d", got, run.ID)
		}
	})
	t.Run("runs", func(t *testing.T) {
		doc := e.page(t, "/runs", http.StatusOK)
		if got := viewtest.Attr(doc.One(t, "run-row"), "data-run"); got != fmt.Sprint(run.ID) {
			t.Errorf("run: got %q, want %d", got, run.ID)
		}
		doc.CheckTexts(t, map[string]string{"page-range": "Runs 1–1 of 1"})
	})
	t.Run("finished run", func(t *testing.T) {
		doc := e.page(t, runPath, http.StatusOK)
		doc.CheckTexts(t, map[string]string{"run-mode": "dry run", "run-trigger": "cli",
			"run-progress":   "2 of 2 repositories · 4 tags checked · 2 actions planned",
			"progress-repos": "2 of 2 repositories", "summary-tags": "4",
			"run-deep": "digests only"})
		if n := len(doc.All("cancel-run")) + len(doc.All("live-status")); n != 0 {
			t.Errorf("finished run offers to cancel or says it is live")
		}
		if page := e.body(t, runPath); strings.Contains(page, "refresh") ||
			strings.Contains(page, "data-live=") {
			t.Errorf("finished run reloads or is kept live:\n%s", page)
		}
		if got := len(doc.All("run-repo-row")); got != 2 {
			t.Errorf("repository rows: got %d, want 2", got)
		}
	})
	t.Run("run tag views", func(t *testing.T) {
		tests := []struct {
			query, count, empty string
			tags                []string
		}{
			{"", "Showing 2 of 4 tags: those not in sync or acted on. show all 4 tags", "",
				[]string{seeded + " v1", seeded + " v2"}},
			{"?all=1", "Showing all 4 tags.", "",
				[]string{"base 1.0", seeded + " latest", seeded + " v1", seeded + " v2"}},
			{"?state=in_sync", "Showing 2 of 4 tags: those in sync. show all 4 tags", "",
				[]string{"base 1.0", seeded + " latest"}},
			{"?state=stale&all=1", "Showing 0 of 4 tags: those stale. show all 4 tags",
				"No tag of this run is stale.", nil},
		}
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				doc := e.page(t, runPath+tt.query, http.StatusOK)
				var tags []string
				for _, r := range doc.All("tag-row") {
					tags = append(tags, viewtest.Attr(r, "data-repo")+" "+
						viewtest.Attr(r, "data-tag"))
				}
				if !reflect.DeepEqual(tags, tt.tags) {
					t.Errorf("tags: got %v, want %v", tags, tt.tags)
				}
				doc.CheckTexts(t, map[string]string{"tag-count": tt.count})
				if got := strings.Join(doc.Texts("no-matching-tags"), ""); got != tt.empty {
					t.Errorf("empty state: got %q, want %q", got, tt.empty)
				}
			})
		}
	})
	t.Run("running run is live", func(t *testing.T) {
		queued := e.startQueued(t)
		path := fmt.Sprintf("/runs/%d", queued.ID)
		doc := e.page(t, path, http.StatusOK)
		doc.One(t, "cancel-run")
		doc.One(t, "live-status")
		for _, part := range []string{"progress", "facts", "summary", "repos", "tags"} {
			if n := countAttr(doc, "data-live", part); n != 1 {
				t.Errorf("live part %q: found %d, want 1", part, n)
			}
		}
		// Without JavaScript the page reloads itself; with it, app.js keeps it current.
		page := e.body(t, path)
		if !strings.Contains(page,
			`<noscript><meta http-equiv="refresh" content="2" data-testid="refresh"></noscript>`) {
			t.Errorf("no reload for browsers without JavaScript:\n%s", page)
		}
		if src := viewtest.Attr(doc.One(t, "app-script"), "src"); src != static.ScriptURL() {
			t.Errorf("script: got %q, want %q", src, static.ScriptURL())
		}
	})
}

func TestPages_StylesheetAndIcon(t *testing.T) {
	e := newEnv(t)
	doc := e.page(t, "/", http.StatusOK)
	var links []string
	for _, n := range viewtest.Elements(doc.Root(), "link") {
		links = append(links, viewtest.Attr(n, "rel")+" "+viewtest.Attr(n, "href"))
	}
	want := []string{"stylesheet " + static.StyleURL(), "icon " + static.IconURL()}
	if !slices.Equal(links, want) {
		t.Fatalf("links: got %q, want %q", links, want)
	}
	for _, u := range []string{static.StyleURL(), static.IconURL()} {
		res := e.do(t, http.MethodGet, u, nil)
		checkStatus(t, res, http.StatusOK)
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control: got %q", u, got)
		}
	}
}

// TestFavicon_RedirectsToIcon checks that the path browsers try by habit leads to the icon
// instead of a 404 in the log and the console.
func TestFavicon_RedirectsToIcon(t *testing.T) {
	e := newEnv(t)
	res := e.do(t, http.MethodGet, "/favicon.ico", nil)
	checkStatus(t, res, http.StatusFound)
	loc := res.Header.Get("Location")
	if loc != static.IconURL() {
		t.Fatalf("Location: got %q, want %q", loc, static.IconURL())
	}

	res = e.do(t, http.MethodGet, loc, nil)
	checkStatus(t, res, http.StatusOK)
	if got := res.Header.Get("Content-Type"); got != "image/svg+xml" {
		t.Errorf("icon Content-Type: got %q, want image/svg+xml", got)
	}
}

func TestPages_EmptyStore(t *testing.T) {
	e := newEnv(t)
	doc := e.page(t, "/", http.StatusOK)
	doc.One(t, "empty-state")
	doc.One(t, "dry-run-all")
	e.page(t, "/runs", http.StatusOK).One(t, "no-runs")
}

func TestPages_Errors(t *testing.T) {
	e := newEnv(t)
	e.seed(t)
	tests := []struct {
		path   string
		status int
		msg    string
	}{
		{"/runs/999", http.StatusNotFound, "run 999 not found"},
		{"/runs/999?state=stale", http.StatusNotFound, "run 999 not found"},
		{"/runs/x", http.StatusBadRequest, `run id "x" is not a positive integer`},
		{"/runs/1?state=drifted", http.StatusBadRequest, `state "drifted" is not a tag state`},
		{"/runs/1?all=yes", http.StatusBadRequest, `all "yes" is not 1 or 0`},
		{"/repositories/team/app", http.StatusNotFound,
			"repository team/app has not been checked yet"},
		{"/repositories/Team", http.StatusBadRequest, `invalid repository name "Team"`},
		{"/nothing/here", http.StatusNotFound, "no page at /nothing/here"},
		{"/runs?limit=0", http.StatusBadRequest, `limit "0" is not between 1 and 500`},
		{"/ui/execute?repository=a//b", http.StatusBadRequest, `invalid repository name "a//b"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := e.do(t, http.MethodGet, tt.path, nil)
			checkStatus(t, res, tt.status)
			doc := viewtest.Parse(t, readBody(t, res))
			doc.CheckTexts(t, map[string]string{"error-message": tt.msg,
				"request-id":   res.Header.Get("X-Request-Id"),
				"error-status": fmt.Sprintf("%d %s", tt.status, http.StatusText(tt.status))})
		})
	}
}

// TestForms_DryRunStartsAtOnce posts the Dry run button of a repository page, which starts a
// deep dry run at once.
func TestForms_DryRunStartsAtOnce(t *testing.T) {
	e := newEnv(t)
	e.seed(t)
	form := e.page(t, "/repositories/"+seeded, http.StatusOK).One(t, "dry-run-repo").Parent
	res := e.postForm(t, viewtest.Attr(form, "action"), viewtest.FormValues(form))

	checkStatus(t, res, http.StatusSeeOther)
	want := []regdrift.RunRequest{{Mode: regdrift.ModeDryRun, Repositories: []string{seeded},
		Deep: true, Trigger: regdrift.TriggerUI}}
	started := e.runs.Started()
	if !reflect.DeepEqual(started, want) {
		t.Fatalf("started: got %+v, want %+v", started, want)
	}
	runs, _, err := e.store.ListRuns(t.Context(), regdrift.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Header.Get("Location"), fmt.Sprintf("/runs/%d", runs[0].ID); got != want {
		t.Errorf("Location: got %q, want %q", got, want)
	}
	doc := e.page(t, res.Header.Get("Location"), http.StatusOK)
	doc.CheckTexts(t, map[string]string{"run-deep": "digests and every child manifest and blob"})
}

// TestForms_RepeatedNamesDropped asserts that a scope names each repository once, on the
// confirmation page and in the run it starts.
func TestForms_RepeatedNamesDropped(t *testing.T) {
	e := newEnv(t)
	e.seed(t)
	confirm := e.page(t, "/ui/execute?repository=base&repository="+seeded+"&repository=base",
		http.StatusOK)
	confirm.CheckTexts(t, map[string]string{"confirm-scope": "base, " + seeded})
	if got := len(confirm.All("confirm-row")); got != 2 {
		t.Errorf("confirmation rows: got %d, want 2", got)
	}
	form := confirm.One(t, "confirm-execute").Parent.Parent
	if got := viewtest.FormValues(form)["repository"]; !reflect.DeepEqual(got,
		[]string{"base", seeded}) {
		t.Errorf("confirmation form repositories: got %v", got)
	}

	res := e.postForm(t, "/ui/runs", url.Values{"mode": {"dry_run"},
		"repository": {seeded, seeded}})
	checkStatus(t, res, http.StatusSeeOther)
	want := []regdrift.RunRequest{{Mode: regdrift.ModeDryRun, Repositories: []string{seeded},
		Trigger: regdrift.TriggerUI}}
	if started := e.runs.Started(); !reflect.DeepEqual(started, want) {
		t.Fatalf("started: got %+v, want %+v", started, want)
	}
	doc := e.page(t, res.Header.Get("Location"), http.StatusOK)
	doc.CheckTexts(t, map[string]string{"run-scope": seeded})
}

// TestForms_ExecuteAsksFirst follows a browser from the Execute button of a repository page
// through the confirmation to the run.
func TestForms_ExecuteAsksFirst(t *testing.T) {
	e := newEnv(t)
	e.seed(t)

	// The Execute button is a GET form to the confirmation: it changes nothing.
	repoPage := e.page(t, "/repositories/"+seeded, http.StatusOK)
	button := repoPage.One(t, "execute-repo").Parent
	target := viewtest.Attr(button, "action") + "?" + viewtest.FormValues(button).Encode()
	if m := viewtest.Attr(button, "method"); m != "get" {
		t.Fatalf("execute button method: got %q, want get", m)
	}
	confirm := e.page(t, target, http.StatusOK)
	confirm.CheckTexts(t, map[string]string{"confirm-scope": seeded, "confirm-copies": "1",
		"confirm-deletes": "1"})
	if n := len(e.runs.Started()); n != 0 {
		t.Fatalf("the confirmation page started %d runs", n)
	}

	// An execute posted without the confirmation is sent to it and starts nothing.
	res := e.postForm(t, "/ui/runs", url.Values{"mode": {"execute"}, "repository": {seeded}})
	checkStatus(t, res, http.StatusSeeOther)
	want := "/ui/execute?repository=team%2Fapp%2Fapi"
	if got := res.Header.Get("Location"); got != want {
		t.Errorf("Location: got %q, want %q", got, want)
	}
	if n := len(e.runs.Started()); n != 0 {
		t.Fatalf("an unconfirmed execute started %d runs", n)
	}

	// Confirming, with "delete nothing" ticked and the deep check left ticked, starts a deep
	// execute.
	form := confirm.One(t, "confirm-execute").Parent.Parent
	values := viewtest.FormValues(form)
	values.Set("no_delete", "true")
	res = e.postForm(t, viewtest.Attr(form, "action"), values)
	checkStatus(t, res, http.StatusSeeOther)
	wantRuns := []regdrift.RunRequest{{Mode: regdrift.ModeExecute, Repositories: []string{seeded},
		Deep: true, NoDelete: true, Trigger: regdrift.TriggerUI}}
	if started := e.runs.Started(); !reflect.DeepEqual(started, wantRuns) {
		t.Fatalf("started: got %+v, want %+v", started, wantRuns)
	}
	loc := res.Header.Get("Location")
	doc := e.page(t, loc, http.StatusOK)
	doc.CheckTexts(t, map[string]string{"run-mode": "execute", "run-trigger": "ui",
		"run-scope": seeded, "run-options": "no delete",
		"run-deep": "digests and every child manifest and blob"})
}

// TestForms_OnlyWhatTheFormsSend asserts that a run form the dashboard could not have sent
// is refused with a 400 and starts nothing: no mode, or a switch that is not "true".
func TestForms_OnlyWhatTheFormsSend(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
		msg  string
	}{
		{"no mode", url.Values{}, "mode is missing"},
		{"no mode, a repository", url.Values{"repository": {seeded}}, "mode is missing"},
		{"no_delete not true", url.Values{"mode": {"execute"}, "confirm": {"yes"},
			"no_delete": {"yes"}}, `no_delete "yes" is not true`},
		{"deep not true", url.Values{"mode": {"dry_run"}, "deep": {"1"}}, `deep "1" is not true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.seed(t)
			res := e.postForm(t, "/ui/runs", tt.form)

			checkStatus(t, res, http.StatusBadRequest)
			doc := viewtest.Parse(t, readBody(t, res))
			doc.CheckTexts(t, map[string]string{"error-message": tt.msg})
			if n := len(e.runs.Started()); n != 0 {
				t.Errorf("the form started %d runs", n)
			}
		})
	}
}

func TestForms_CrossOriginRefused(t *testing.T) {
	form := url.Values{"mode": {"execute"}, "confirm": {"yes"}}
	tests := []struct {
		name    string
		path    string
		headers []string
	}{
		{"cross-site form", "/ui/runs", []string{"Sec-Fetch-Site", "cross-site"}},
		{"same-site other origin", "/ui/runs", []string{"Sec-Fetch-Site", "same-site"}},
		{"foreign Origin without Sec-Fetch-Site", "/ui/runs",
			[]string{"Sec-Fetch-Site", "", "Origin", "https://evil.example"}},
		{"cross-site cancel", "/ui/runs/1/cancel", []string{"Sec-Fetch-Site", "cross-site"}},
		{"cross-site API", "/api/v1/runs", []string{"Sec-Fetch-Site", "cross-site"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			queued := e.startQueued(t)
			res := e.postForm(t, tt.path, form, tt.headers...)

			checkStatus(t, res, http.StatusForbidden)
			if n := len(e.runs.Started()); n != 0 {
				t.Errorf("a cross-origin request started %d runs", n)
			}
			run, err := e.store.GetRun(t.Context(), queued.ID)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != regdrift.RunQueued {
				t.Errorf("a cross-origin request canceled run %d", run.ID)
			}
			if strings.HasPrefix(tt.path, "/api/") {
				return
			}
			doc := viewtest.Parse(t, readBody(t, res))
			doc.CheckTexts(t, map[string]string{"error-message": "cross-origin request refused"})
		})
	}
}

func TestForms_CancelRun(t *testing.T) {
	e := newEnv(t)
	finished := e.seed(t)
	queued := e.startQueued(t)
	path := fmt.Sprintf("/ui/runs/%d/cancel", queued.ID)

	res := e.postForm(t, path, nil)
	checkStatus(t, res, http.StatusSeeOther)
	if got, want := res.Header.Get("Location"), fmt.Sprintf("/runs/%d", queued.ID); got != want {
		t.Errorf("Location: got %q, want %q", got, want)
	}
	doc := e.page(t, fmt.Sprintf("/runs/%d", queued.ID), http.StatusOK)
	if got := viewtest.Attr(doc.One(t, "run-status"), "data-status"); got != "canceled" {
		t.Errorf("status: got %q, want canceled", got)
	}

	res = e.postForm(t, fmt.Sprintf("/ui/runs/%d/cancel", finished.ID), nil)
	checkStatus(t, res, http.StatusConflict)

	res = e.postForm(t, "/ui/runs/999/cancel", nil)
	checkStatus(t, res, http.StatusNotFound)
	doc = viewtest.Parse(t, readBody(t, res))
	doc.CheckTexts(t, map[string]string{"error-message": "run 999 not found"})
}
