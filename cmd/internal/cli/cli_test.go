package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/cmd/internal/cli"
	"github.com/regdrift/regdrift/server"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

// setup is two real registries with the demo drift and a database file.
type setup struct {
	primary, secondary *dist2.Registry
	db                 string
}

func newSetup(t *testing.T) setup {
	t.Helper()
	s := setup{primary: dist2.New(t), secondary: dist2.New(t),
		db: filepath.Join(t.TempDir(), "regdrift.db")}
	if _, err := regtest.Demo(t.Context(), s.primary.Host, s.secondary.Host); err != nil {
		t.Fatalf("demo: %v", err)
	}
	return s
}

func noEnv(string) string { return "" }

// runCLI runs the CLI and returns its exit code, stdout and stderr.
func runCLI(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := cli.Main(ctx, args, noEnv, &out, &errOut)
	return code, out.String(), errOut.String()
}

func (s setup) args(primaryURL string, extra ...string) []string {
	return append(extra, "--primary", primaryURL, "--secondary", s.secondary.URL,
		"--db", s.db, "--log-level", "error")
}

type reportJSON struct {
	RunID        int64            `json:"run_id"`
	Mode         string           `json:"mode"`
	Primary      string           `json:"primary"`
	Secondary    string           `json:"secondary"`
	Summary      regdrift.Summary `json:"summary"`
	Repositories []struct {
		Name   string           `json:"name"`
		Status string           `json:"status"`
		Error  string           `json:"error"`
		Tags   []server.TagJSON `json:"tags"`
	} `json:"repositories"`
}

func TestCheck_JSONReport(t *testing.T) {
	s := newSetup(t)
	code, out, errOut := runCLI(t.Context(), s.args(s.primary.URL, "check", "--format",
		"json")...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (drift); stderr:\n%s", code, errOut)
	}
	// Every documented field is present, even when empty.
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	for _, k := range []string{"run_id", "mode", "primary", "secondary", "summary",
		"repositories"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	summary := raw["summary"].(map[string]any)
	for _, k := range []string{"repositories", "tags", "in_sync", "only_on_primary",
		"only_on_secondary", "stale", "broken", "unresolved", "actions", "failed_actions",
		"errors"} {
		if _, ok := summary[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
	tag := raw["repositories"].([]any)[0].(map[string]any)["tags"].([]any)[0].(map[string]any)
	for _, k := range []string{"tag", "state", "primary_digest", "secondary_digest",
		"primary_media_type", "secondary_media_type", "action", "result", "error"} {
		if _, ok := tag[k]; !ok {
			t.Errorf("tag lacks %q", k)
		}
	}

	var rep reportJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	truth := regtest.DemoTruth()
	var want regdrift.Counts
	for _, repo := range truth.Repos() {
		want.Merge(truth.Counts(repo))
	}
	if rep.Summary.Counts != want || rep.Summary.Repositories != len(truth) ||
		rep.Mode != "dry_run" || rep.Primary != s.primary.URL || rep.Secondary != s.secondary.URL {
		t.Errorf("report %+v, want counts %+v over %d repositories", rep, want, len(truth))
	}
}

func TestCheck_TableReport(t *testing.T) {
	s := newSetup(t)
	code, out, _ := runCLI(t.Context(), s.args(s.primary.URL, "check")...)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"geo/app", "stale", "only_on_secondary", "primary lists no tags",
		"outcome: drift"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestReconcile_PrimaryListingFails_Exit2(t *testing.T) {
	s := newSetup(t)
	proxy, err := regtest.NewProxy(s.primary.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.SetFault(regtest.FailOn(http.MethodGet, regtest.PathTags, http.StatusInternalServerError))
	code, out, _ := runCLI(t.Context(), s.args(proxy.URL, "reconcile", "--execute", "--repo",
		regtest.DemoBase, "--format", "json")...)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, out)
	}
	var rep reportJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Actions != 0 || rep.Repositories[0].Status != "error" ||
		rep.Repositories[0].Error == "" {
		t.Errorf("report %+v, want no action and a repository error", rep)
	}
	resp, err := regtest.RawManifest(t.Context(), http.MethodHead, s.secondary.URL,
		regtest.DemoBase, "old-stable", regtest.ManifestTypes...)
	if err != nil || resp.Status != http.StatusOK {
		t.Errorf("old-stable on the secondary: status %d err %v, want it kept", resp.Status, err)
	}
}

// A primary that suddenly lists no tags in a big repository trips the deletion guard: nothing
// is deleted, the report says why and how to override, and the exit code is not clean.
func TestReconcile_DeletionGuard(t *testing.T) {
	s := newSetup(t)
	proxy, err := regtest.NewProxy(s.primary.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.SetModify(regtest.ReplaceBody(regtest.Match{Kind: regtest.PathTags},
		func([]byte) []byte { return []byte(`{"name":"big/many","tags":[]}`) }))
	args := s.args(proxy.URL, "reconcile", "--execute", "--repo", regtest.DemoBig)
	code, out, _ := runCLI(t.Context(), args...)
	if code != 2 || !strings.Contains(out, "deletion guard") ||
		!strings.Contains(out, "--allow-mass-delete") {
		t.Fatalf("exit %d, want 2 and the guard's note\n%s", code, out)
	}
	resp, err := regtest.RawManifest(t.Context(), http.MethodHead, s.secondary.URL,
		regtest.DemoBig, "r001", regtest.ManifestTypes...)
	if err != nil || resp.Status != http.StatusOK {
		t.Errorf("r001 on the secondary: status %d err %v, want it kept", resp.Status, err)
	}
	code, out, _ = runCLI(t.Context(), append(args, "--format", "json")...)
	var rep struct {
		Guard regdrift.Guard `json:"guard"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 2 ||
		!rep.Guard.Tripped || rep.Guard.HeldBack < 100 {
		t.Errorf("json report guard %+v (exit %d, %v), want tripped", rep.Guard, code, err)
	}
}

func TestReconcile_ExecuteThenClean(t *testing.T) {
	s := newSetup(t)
	var repos []string
	for _, r := range regtest.DemoTruth().Repos() {
		if r != regtest.DemoTeam { // its orphans are withheld: the primary lists no tags
			repos = append(repos, "--repo", r)
		}
	}
	code, out, errOut := runCLI(t.Context(),
		s.args(s.primary.URL, append([]string{"reconcile", "--execute", "--deep"}, repos...)...)...)
	if code != 0 {
		t.Fatalf("execute: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t.Context(),
		s.args(s.primary.URL, append([]string{"check", "--deep"}, repos...)...)...)
	if code != 0 {
		t.Errorf("check after execute: exit %d, want 0\n%s", code, out)
	}
}

func TestMain_BadInvocations(t *testing.T) {
	cases := [][]string{
		{},
		{"frobnicate"},
		{"check"},
		{"check", "--primary", "ftp://x", "--secondary", "http://127.0.0.1:1"},
		{"check", "--primary", "http://127.0.0.1:1", "--secondary", "http://127.0.0.1:1"},
		{"check", "--primary", "http://a:1", "--secondary", "http://b:1", "--repo", "Bad Name"},
		{"check", "--primary", "http://a:1", "--secondary", "http://b:1", "--format", "xml"},
		{"check", "--primary", "http://a:1", "--secondary", "http://b:1", "extra"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			code, _, errOut := runCLI(t.Context(), append(args, "--db",
				filepath.Join(dir, "x.db"))...)
			if len(args) == 0 {
				code, _, errOut = runCLI(t.Context())
			}
			if code != 2 || errOut == "" && len(args) > 0 {
				t.Errorf("exit %d stderr %q, want 2 and a message", code, errOut)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe to read while the server writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var dashboardRE = regexp.MustCompile(`regdrift dashboard: (http://\S+)/`)

// startServe runs `regdrift serve` on a free port and returns its base URL.
func startServe(t *testing.T, s setup) string {
	t.Helper()
	return startServeWith(t, s, s.primary.URL)
}

// startServeWith is startServe with the primary reached at primaryURL.
func startServeWith(t *testing.T, s setup, primaryURL string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, s.args(primaryURL, "serve", "--listen", "127.0.0.1:0"), noEnv,
			&out, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d", code)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := dashboardRE.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before listening", code)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("serve did not print its URL")
	return ""
}

func apiJSON(t *testing.T, method, url, body string, wantStatus int, v any) http.Header {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d\n%s", method, url, resp.StatusCode, wantStatus, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: decode: %v\n%s", method, url, err, b)
		}
	}
	return resp.Header
}

// waitRun polls a run until it has finished.
func waitRun(t *testing.T, base, location string) regdrift.Run {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var got struct {
			Run regdrift.Run `json:"run"`
		}
		apiJSON(t, http.MethodGet, base+location, "", http.StatusOK, &got)
		if got.Run.Status.Finished() {
			return got.Run
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("run %s did not finish", location)
	return regdrift.Run{}
}

func TestServe_RESTRunMatchesCLI(t *testing.T) {
	s := newSetup(t)
	// The CLI's view first, in its own database.
	cliDB := setup{primary: s.primary, secondary: s.secondary,
		db: filepath.Join(t.TempDir(), "cli.db")}
	code, out, _ := runCLI(t.Context(), cliDB.args(s.primary.URL, "check", "--format",
		"json")...)
	if code != 1 {
		t.Fatalf("cli check exit %d", code)
	}
	var rep reportJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string]server.TagJSON{}
	for _, r := range rep.Repositories {
		for _, tg := range r.Tags {
			want[r.Name+":"+tg.Tag] = tg
		}
	}

	base := startServe(t, s)
	var started regdrift.Run
	hdr := apiJSON(t, http.MethodPost, base+"/api/v1/runs", `{"mode":"dry_run"}`,
		http.StatusAccepted, &started)
	loc := hdr.Get("Location")
	if loc != fmt.Sprintf("/api/v1/runs/%d", started.ID) || started.Mode != regdrift.ModeDryRun {
		t.Fatalf("Location %q for run %+v", loc, started)
	}
	run := waitRun(t, base, loc)
	if run.Status != regdrift.RunDone || run.Outcome != regdrift.OutcomeDrift ||
		run.Trigger != regdrift.TriggerAPI || run.Summary != rep.Summary {
		t.Errorf("API run %+v, want done/drift/api with summary %+v", run, rep.Summary)
	}

	var tags struct {
		Tags []struct {
			Repository string `json:"repository"`
			server.TagJSON
		} `json:"tags"`
	}
	apiJSON(t, http.MethodGet, base+loc+"/tags", "", http.StatusOK, &tags)
	got := map[string]server.TagJSON{}
	for _, tg := range tags.Tags {
		got[tg.Repository+":"+tg.Tag] = tg.TagJSON
	}
	if !reflect.DeepEqual(got, want) {
		for k, w := range want {
			if !reflect.DeepEqual(got[k], w) {
				t.Errorf("%s: API %+v\n  CLI %+v", k, got[k], w)
			}
		}
		t.Fatalf("API has %d tag rows, CLI %d", len(got), len(want))
	}

	var stale struct {
		Tags []json.RawMessage `json:"tags"`
	}
	apiJSON(t, http.MethodGet, base+loc+"/tags?state=stale", "", http.StatusOK, &stale)
	if len(stale.Tags) != rep.Summary.Stale {
		t.Errorf("?state=stale gave %d rows, want %d", len(stale.Tags), rep.Summary.Stale)
	}

	// An execute from curl repairs what it may, and the repository list says so.
	hdr = apiJSON(t, http.MethodPost, base+"/api/v1/runs",
		`{"mode":"execute","repositories":["geo/app","geo/tiles"]}`, http.StatusAccepted, nil)
	exec := waitRun(t, base, hdr.Get("Location"))
	if exec.Outcome != regdrift.OutcomeInSync || exec.Summary.FailedActions != 0 {
		t.Errorf("execute run %+v, want in_sync", exec)
	}
	var detail struct {
		Repository regdrift.RepoSummary `json:"repository"`
	}
	apiJSON(t, http.MethodGet, base+"/api/v1/repositories/geo/app", "", http.StatusOK, &detail)
	if detail.Repository.Status != regdrift.RepoInSync || detail.Repository.RunID != exec.ID {
		t.Errorf("geo/app after execute: %+v", detail.Repository)
	}
}

func TestCheck_UnreachableRegistries(t *testing.T) {
	code, out, _ := runCLI(t.Context(), "check", "--primary", "http://127.0.0.1:1",
		"--secondary", "http://127.0.0.1:2", "--db", filepath.Join(t.TempDir(), "r.db"),
		"--format", "json", "--log-level", "error")
	var rep struct {
		Status  string           `json:"status"`
		Outcome string           `json:"outcome"`
		Error   string           `json:"error"`
		Summary regdrift.Summary `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	if code != 2 || rep.Status != "failed" || rep.Outcome != "error" || rep.Summary.Errors != 1 ||
		!strings.Contains(rep.Error, "127.0.0.1:1") {
		t.Errorf("exit %d, report %+v; want 2, failed, error, 1 error naming the primary", code,
			rep)
	}
}
