package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/server"
)

// apiError is the body of an API error.
type apiError struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// checkAPIError asserts the status, the code, a message that contains msg and the request id
// of an error answer, and returns the message.
func checkAPIError(t *testing.T, res *http.Response, status int, code, msg string) string {
	t.Helper()
	checkStatus(t, res, status)
	var got apiError
	decode(t, res, &got)
	if got.Error.Code != code {
		t.Errorf("code: got %q, want %q", got.Error.Code, code)
	}
	if !strings.Contains(got.Error.Message, msg) {
		t.Errorf("message: got %q, want it to contain %q", got.Error.Message, msg)
	}
	if id := res.Header.Get("X-Request-Id"); got.Error.RequestID == "" || got.Error.RequestID != id {
		t.Errorf("request id: got %q in the body, %q in the header", got.Error.RequestID, id)
	}
	return got.Error.Message
}

// servedRun is a stored run as the API serves it: the scope is [] rather than null.
func servedRun(run *regdrift.Run) *regdrift.Run {
	if run.Scope == nil {
		run.Scope = []string{}
	}
	return run
}

func TestAPI_StartRun(t *testing.T) {
	tests := []struct {
		name string
		body string
		want regdrift.RunRequest
	}{
		{"execute of two repositories",
			`{"mode":"execute","repositories":["team/app/api","base"],"deep":true,"no_delete":true}`,
			regdrift.RunRequest{Mode: regdrift.ModeExecute, Repositories: []string{seeded, "base"},
				Deep: true, NoDelete: true, Trigger: regdrift.TriggerAPI}},
		{"empty object is a shallow dry run of all", `{}`,
			regdrift.RunRequest{Mode: regdrift.ModeDryRun, Repositories: []string{},
				Trigger: regdrift.TriggerAPI}},
		{"empty body is a shallow dry run of all", ``,
			regdrift.RunRequest{Mode: regdrift.ModeDryRun, Repositories: []string{},
				Trigger: regdrift.TriggerAPI}},
		{"an execute that allows mass deletion", `{"mode":"execute","allow_mass_delete":true}`,
			regdrift.RunRequest{Mode: regdrift.ModeExecute, Repositories: []string{},
				AllowMassDelete: true, Trigger: regdrift.TriggerAPI}},
		{"repeated names are dropped", `{"repositories":["geo/app","base","geo/app"]}`,
			regdrift.RunRequest{Mode: regdrift.ModeDryRun,
				Repositories: []string{"geo/app", "base"}, Trigger: regdrift.TriggerAPI}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			res := e.do(t, http.MethodPost, "/api/v1/runs", strings.NewReader(tt.body))

			checkStatus(t, res, http.StatusAccepted)
			var run regdrift.Run
			decode(t, res, &run)
			if got, want := res.Header.Get("Location"), fmt.Sprintf("/api/v1/runs/%d", run.ID); got != want {
				t.Errorf("Location: got %q, want %q", got, want)
			}
			stored, err := e.store.GetRun(t.Context(), run.ID)
			if err != nil {
				t.Fatalf("get run: %v", err)
			}
			checkSameJSON(t, "answer and store", &run, servedRun(stored))
			got := []any{run.Mode, run.Trigger, run.Scope, run.Deep, run.NoDelete, run.Status}
			want := []any{tt.want.Mode, regdrift.TriggerAPI, tt.want.Repositories, tt.want.Deep,
				tt.want.NoDelete, regdrift.RunQueued}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("run: got %v, want %v", got, want)
			}
			if started := e.runs.Started(); !reflect.DeepEqual(started, []regdrift.RunRequest{tt.want}) {
				t.Errorf("started: got %+v, want %+v", started, tt.want)
			}
		})
	}
}

func TestAPI_StartRun_Invalid(t *testing.T) {
	tests := []struct {
		name, body, msg string
	}{
		{"bad JSON", `{"mode":`, "invalid JSON"},
		{"not JSON", `mode=execute`, "invalid JSON at byte 1"},
		{"unknown field", `{"mode":"execute","nodelete":true}`, `unknown field "nodelete"`},
		{"wrong type", `{"deep":"yes"}`, `field "deep" must be true or false, not a string`},
		{"number for a named string type", `{"mode":5}`,
			`field "mode" must be a string, not a number`},
		{"string for a list", `{"repositories":"geo/app"}`,
			`field "repositories" must be a list of strings, not a string`},
		{"number in a list", `{"repositories":["geo/app",1]}`,
			`field "repositories" must be a list of strings, not a number`},
		{"list for the body", `[]`, `the body must be a JSON object, not a list`},
		{"string for the body", `"execute"`, `the body must be a JSON object, not a string`},
		{"two values", `{} {}`, "more than one value"},
		{"bad mode", `{"mode":"force"}`, `mode "force" is not one of dry_run, execute`},
		{"bad repository name", `{"repositories":["Team/App"]}`,
			`invalid repository name "Team/App"`},
		{"empty repository name", `{"repositories":[""]}`, `invalid repository name ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			res := e.do(t, http.MethodPost, "/api/v1/runs", strings.NewReader(tt.body))

			msg := checkAPIError(t, res, http.StatusBadRequest, regdrift.EINVALID, tt.msg)
			if strings.Contains(msg, "regdrift.") || strings.Contains(msg, "[]string") {
				t.Errorf("message %q names a Go type", msg)
			}
			if started := e.runs.Started(); len(started) != 0 {
				t.Errorf("a refused request started %d runs", len(started))
			}
		})
	}
}

func TestAPI_StartRun_BodyTooLarge(t *testing.T) {
	e := newEnv(t)
	body := `{"repositories":["` + strings.Repeat("a", 1<<20) + `"]}`
	res := e.do(t, http.MethodPost, "/api/v1/runs", strings.NewReader(body))

	checkAPIError(t, res, http.StatusRequestEntityTooLarge, "too_large", "larger than")
}

func TestAPI_GetRun(t *testing.T) {
	e := newEnv(t)
	run := e.seed(t)
	res := e.do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", run.ID), nil)

	checkStatus(t, res, http.StatusOK)
	var got struct {
		Run          regdrift.Run           `json:"run"`
		Repositories []*regdrift.RepoResult `json:"repositories"`
	}
	decode(t, res, &got)
	stored, err := e.store.GetRun(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkSameJSON(t, "run", &got.Run, servedRun(stored))
	repos, err := e.store.ListRunRepos(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkSameJSON(t, "repositories", got.Repositories, repos)
	if len(got.Repositories) != 2 {
		t.Errorf("repositories: got %d, want 2", len(got.Repositories))
	}
}

func TestAPI_ListRuns(t *testing.T) {
	e := newEnv(t)
	var ids []int64
	for range 3 {
		ids = append(ids, e.startQueued(t).ID)
	}
	tests := []struct {
		query string
		want  []int64
	}{
		{"", []int64{ids[2], ids[1], ids[0]}},
		{"?limit=1", []int64{ids[2]}},
		{"?limit=2&offset=1", []int64{ids[1], ids[0]}},
		{"?offset=3", []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res := e.do(t, http.MethodGet, "/api/v1/runs"+tt.query, nil)

			checkStatus(t, res, http.StatusOK)
			var got struct {
				Runs  []regdrift.Run `json:"runs"`
				Total int            `json:"total"`
			}
			decode(t, res, &got)
			gotIDs := []int64{}
			for _, r := range got.Runs {
				gotIDs = append(gotIDs, r.ID)
			}
			if !reflect.DeepEqual(gotIDs, tt.want) || got.Total != 3 {
				t.Errorf("got runs %v of %d, want %v of 3", gotIDs, got.Total, tt.want)
			}
		})
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?limit=501", "?offset=-1"} {
		t.Run(q, func(t *testing.T) {
			res := e.do(t, http.MethodGet, "/api/v1/runs"+q, nil)
			checkAPIError(t, res, http.StatusBadRequest, regdrift.EINVALID, "")
		})
	}
}

// tagJSON is the tag shape the CLI prints too, with every field.
type tagJSON struct {
	Repository         string   `json:"repository,omitempty"`
	Tag                string   `json:"tag"`
	State              string   `json:"state"`
	PrimaryDigest      string   `json:"primary_digest"`
	SecondaryDigest    string   `json:"secondary_digest"`
	PrimaryMediaType   string   `json:"primary_media_type"`
	SecondaryMediaType string   `json:"secondary_media_type"`
	Missing            []string `json:"missing"`
	Platforms          []string `json:"platforms"`
	Action             string   `json:"action"`
	Result             string   `json:"result"`
	Error              string   `json:"error"`
	VerifiedState      string   `json:"verified_state"`
}

// seededTags are the tags seed stores for the repository seeded, by tag.
var seededTags = []tagJSON{
	{seeded, "latest", "in_sync", digestA, digestA, ociIndex, ociIndex, []string{},
		[]string{"linux/amd64", "linux/arm64"}, "none", "", "", ""},
	{seeded, "v1", "broken", digestB, digestB, ociIndex, ociIndex, []string{"blob " + digestC},
		[]string{}, "copy", "planned", "", ""},
	{seeded, "v2", "only_on_secondary", "", digestC, "", ociIndex, []string{}, []string{},
		"delete", "planned", "", ""},
}

func TestAPI_RunTags(t *testing.T) {
	e := newEnv(t)
	run := e.seed(t)
	base := tagJSON{"base", "1.0", "in_sync", digestA, digestA, ociIndex, ociIndex, []string{},
		[]string{}, "none", "", "", ""}
	tests := []struct {
		query string
		want  []tagJSON
		total int
	}{
		{"", append([]tagJSON{base}, seededTags...), 4},
		{"?state=in_sync", []tagJSON{base, seededTags[0]}, 2},
		{"?repository=team/app/api&state=broken", []tagJSON{seededTags[1]}, 1},
		{"?state=stale", []tagJSON{}, 0},
		{"?limit=1&offset=1", []tagJSON{seededTags[0]}, 4},
		{"?result=planned", seededTags[1:], 2},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res := e.do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/tags%s", run.ID,
				tt.query), nil)

			checkStatus(t, res, http.StatusOK)
			var got struct {
				Tags  []tagJSON `json:"tags"`
				Total int       `json:"total"`
			}
			decode(t, res, &got)
			if !reflect.DeepEqual(got.Tags, tt.want) {
				t.Errorf("tags:\n got %+v\nwant %+v", got.Tags, tt.want)
			}
			if got.Total != tt.total {
				t.Errorf("total: got %d, want %d", got.Total, tt.total)
			}
		})
	}
	bad := map[string]string{
		"?state=drifted":       `state "drifted" is not a tag state`,
		"?repository=Bad/Name": `invalid repository name "Bad/Name"`,
		"?result=done":         `result "done" is not one of`,
		"?limit=x":             `limit "x" is not between`,
	}
	for q, msg := range bad {
		t.Run(q, func(t *testing.T) {
			res := e.do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/tags%s", run.ID, q), nil)
			checkAPIError(t, res, http.StatusBadRequest, regdrift.EINVALID, msg)
		})
	}
}

// TestAPI_TagShape pins the field names and their order, which the CLI shares.
func TestAPI_TagShape(t *testing.T) {
	e := newEnv(t)
	e.seed(t)
	res := e.do(t, http.MethodGet, "/api/v1/repositories/"+seeded, nil)

	checkStatus(t, res, http.StatusOK)
	body := readBody(t, res)
	want := `{"tag":"v2","state":"only_on_secondary","primary_digest":"",` +
		`"secondary_digest":"` + digestC + `","primary_media_type":"",` +
		`"secondary_media_type":"` + ociIndex + `","missing":[],"platforms":[],"action":"delete",` +
		`"result":"planned","error":"","verified_state":""}`
	if !strings.Contains(body, want) {
		t.Errorf("body %s\ndoes not hold %s", body, want)
	}
}

func TestNewTagJSON_NilMissingIsEmpty(t *testing.T) {
	got := server.NewTagJSON(regdrift.TagDrift{Tag: "x", State: regdrift.StateInSync})
	if got.Missing == nil || len(got.Missing) != 0 {
		t.Errorf("Missing: got %#v, want an empty list", got.Missing)
	}
}

func TestAPI_Repositories(t *testing.T) {
	e := newEnv(t)
	run := e.seed(t)

	res := e.do(t, http.MethodGet, "/api/v1/repositories", nil)
	checkStatus(t, res, http.StatusOK)
	var list struct {
		Repositories []*regdrift.RepoSummary `json:"repositories"`
		Total        int                     `json:"total"`
		Totals       regdrift.RepoTotals     `json:"totals"`
	}
	decode(t, res, &list)
	want, _, err := e.store.ListRepositories(t.Context(), regdrift.RepoFilter{})
	if err != nil {
		t.Fatal(err)
	}
	checkSameJSON(t, "repositories", list.Repositories, want)
	if len(want) != 2 || list.Total != 2 {
		t.Errorf("repositories: got %d (total %d), want 2", len(want), list.Total)
	}
	totals, err := e.store.RepoTotals(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	checkSameJSON(t, "totals", list.Totals, totals)

	// Filtered and paged: the drifting ones, one at a time.
	res = e.do(t, http.MethodGet, "/api/v1/repositories?status=drift&limit=1", nil)
	checkStatus(t, res, http.StatusOK)
	decode(t, res, &list)
	drifting, total, err := e.store.ListRepositories(t.Context(),
		regdrift.RepoFilter{Status: regdrift.RepoDrift, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkSameJSON(t, "drifting repositories", list.Repositories, drifting)
	if list.Total != total || len(list.Repositories) != 1 {
		t.Errorf("drifting: got %d of %d, want 1 of %d", len(list.Repositories), list.Total,
			total)
	}
	bad := map[string]string{
		"status=weird":                  `status "weird" is not one of`,
		"limit=0":                       `limit "0" is not between 1 and`,
		"offset=-1":                     `offset "-1" is not a whole number`,
		"q=" + strings.Repeat("a", 256): "q is longer than 255 characters",
		"q=%00":                         "q holds a control character",
		"q=geo%0Aapp":                   "q holds a control character",
		"offset=99999999999999999999":   `offset "99999999999999999999" is too large`,
		// A message cuts long input at a character, not inside one.
		"status=a" + strings.Repeat("%C3%A9", 30): `status "a` + strings.Repeat("é", 19) + `…"`,
	}
	for query, msg := range bad {
		res = e.do(t, http.MethodGet, "/api/v1/repositories?"+query, nil)
		checkAPIError(t, res, http.StatusBadRequest, regdrift.EINVALID, msg)
	}

	// A name with slashes is one repository, not a longer route.
	res = e.do(t, http.MethodGet, "/api/v1/repositories/"+seeded, nil)
	checkStatus(t, res, http.StatusOK)
	var one struct {
		Repository *regdrift.RepoSummary `json:"repository"`
		Tags       []tagJSON             `json:"tags"`
	}
	decode(t, res, &one)
	wantRepo := &regdrift.RepoSummary{Name: seeded, Status: regdrift.RepoDrift, RunID: run.ID,
		CheckedAt: now.Add(-time.Hour), Counts: regdrift.Counts{InSync: 1, Broken: 1,
			OnlyOnSecondary: 1}}
	checkSameJSON(t, "repository", one.Repository, wantRepo)
	var wantTags []tagJSON
	for _, tag := range seededTags {
		tag.Repository = ""
		wantTags = append(wantTags, tag)
	}
	if !reflect.DeepEqual(one.Tags, wantTags) {
		t.Errorf("tags:\n got %+v\nwant %+v", one.Tags, wantTags)
	}
}

func TestAPI_NotFound(t *testing.T) {
	e := newEnv(t)
	e.seed(t)
	tests := []struct{ method, path, msg string }{
		{http.MethodGet, "/api/v1/runs/999999", "run 999999 not found"},
		{http.MethodGet, "/api/v1/runs/999/tags", "run 999 not found"},
		{http.MethodGet, "/api/v1/runs/999/tags?state=stale", "run 999 not found"},
		{http.MethodPost, "/api/v1/runs/999/cancel", "run 999 not found"},
		{http.MethodGet, "/api/v1/repositories/team/app",
			"repository team/app has not been checked yet"},
		{http.MethodGet, "/api/v1/nothing", "no page at /api/v1/nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := e.do(t, tt.method, tt.path, nil)
			msg := checkAPIError(t, res, http.StatusNotFound, regdrift.ENOTFOUND, tt.msg)
			if msg != tt.msg {
				t.Errorf("message: got %q, want %q", msg, tt.msg)
			}
		})
	}
}

func TestAPI_BadPathValues(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ path, msg string }{
		{"/api/v1/runs/abc", `run id "abc" is not a positive integer`},
		{"/api/v1/runs/0", `run id "0"`},
		{"/api/v1/repositories/Bad/Name", `invalid repository name "Bad/Name"`},
		{"/api/v1/repositories/a//b", "invalid repository name"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := e.do(t, http.MethodGet, tt.path, nil)
			checkAPIError(t, res, http.StatusBadRequest, regdrift.EINVALID, tt.msg)
		})
	}
}

func TestAPI_CancelRun(t *testing.T) {
	e := newEnv(t)
	finished := e.seed(t)
	queued := e.startQueued(t)

	res := e.do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", queued.ID), nil)
	checkStatus(t, res, http.StatusAccepted)
	var run regdrift.Run
	decode(t, res, &run)
	if run.ID != queued.ID || run.Status != regdrift.RunCanceled {
		t.Errorf("cancel: got run %d %s, want run %d canceled", run.ID, run.Status, queued.ID)
	}

	for _, id := range []int64{finished.ID, queued.ID} {
		res = e.do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", id), nil)
		checkAPIError(t, res, http.StatusConflict, regdrift.ECONFLICT, "has finished")
	}
}

func TestAPI_MethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	res := e.do(t, http.MethodDelete, "/api/v1/runs", nil)
	checkAPIError(t, res, http.StatusMethodNotAllowed, "method_not_allowed", "DELETE")
	if got := res.Header.Get("Allow"); got != "GET, HEAD, POST" {
		t.Errorf("Allow: got %q, want GET, HEAD, POST", got)
	}
}

// TestMethods_HeadAndAllow asserts that a HEAD is answered as its GET is, headers and status
// alike but without a body, and that every 405 names the methods the path takes.
func TestMethods_HeadAndAllow(t *testing.T) {
	e := newEnv(t)
	run := e.seed(t)
	// Through a real HTTP server, which is what drops the body of an answer to HEAD.
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	for _, target := range []string{"/", "/runs", fmt.Sprintf("/runs/%d", run.ID),
		"/repositories/" + seeded, "/api/v1/runs", "/api/v1/repositories/" + seeded,
		"/healthz", "/runs/999", "/?status=bogus"} {
		get := e.do(t, http.MethodGet, target, nil)
		head, err := ts.Client().Head(ts.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		if head.StatusCode != get.StatusCode {
			t.Errorf("HEAD %s: status %d, GET gives %d", target, head.StatusCode, get.StatusCode)
		}
		if h, g := head.Header.Get("Content-Type"), get.Header.Get("Content-Type"); h != g {
			t.Errorf("HEAD %s: Content-Type %q, GET gives %q", target, h, g)
		}
		if body := readBody(t, head); body != "" {
			t.Errorf("HEAD %s: got a body of %d bytes", target, len(body))
		}
	}
	for _, c := range []struct{ method, target, allow string }{
		{http.MethodPost, "/", "GET, HEAD"},
		{http.MethodOptions, "/runs", "GET, HEAD"},
		{http.MethodDelete, fmt.Sprintf("/runs/%d", run.ID), "GET, HEAD"},
		{http.MethodGet, "/ui/runs", "POST"},
		{http.MethodPut, "/api/v1/repositories/" + seeded, "GET, HEAD"},
		{http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), "POST"},
	} {
		res := e.do(t, c.method, c.target, nil)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: status %d, Allow %q; want 405 with Allow %q", c.method, c.target,
				res.StatusCode, res.Header.Get("Allow"), c.allow)
		}
	}
}

// Without ?limit= a page of tag rows holds at most 500, and total says how many there are.
func TestAPI_RunTagsPageIsBounded(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	run := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerAPI,
		Status: regdrift.RunDone, Scope: []string{}}
	if err := e.store.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	res := &regdrift.RepoResult{RunID: run.ID, Name: "big/repo", Status: regdrift.RepoInSync,
		CheckedAt: time.Now()}
	for i := range 501 {
		res.Tags = append(res.Tags, regdrift.TagDrift{Tag: fmt.Sprintf("t%04d", i),
			State: regdrift.StateInSync, Primary: regdrift.Manifest{Digest: digestA},
			Secondary: regdrift.Manifest{Digest: digestA}})
	}
	if err := e.store.SaveRepoResult(ctx, res); err != nil {
		t.Fatal(err)
	}
	for query, want := range map[string]int{"": 500, "?offset=500": 1, "?limit=10": 10} {
		got := e.do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/tags%s", run.ID, query),
			nil)
		checkStatus(t, got, http.StatusOK)
		var page struct {
			Tags  []json.RawMessage `json:"tags"`
			Total int               `json:"total"`
		}
		decode(t, got, &page)
		if len(page.Tags) != want || page.Total != 501 {
			t.Errorf("%q: %d rows of %d, want %d of 501", query, len(page.Tags), page.Total,
				want)
		}
	}
}
