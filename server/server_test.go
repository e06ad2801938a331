package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/db"
	"github.com/regdrift/regdrift/server"
)

// now is the clock of the pages in these tests.
var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// runService stands in for the engine: it queues runs in the store (joining a queued twin
// when the request says so, as the real runner does) and never runs them, so that the
// handlers are tested on their own. Real runs are tested end to end elsewhere.
type runService struct {
	store regdrift.Store

	mu      sync.Mutex
	started []regdrift.RunRequest
}

func (s *runService) StartRun(ctx context.Context, req regdrift.RunRequest) (*regdrift.Run,
	error) {
	// The request is recorded as the server sent it, before the engine's own checks.
	received := req
	received.Repositories = slices.Clone(req.Repositories)
	if err := req.Validate(); err != nil {
		return nil, err
	}
	run := &regdrift.Run{Mode: req.Mode, Trigger: req.Trigger, Scope: req.Repositories,
		Deep: req.Deep, NoDelete: req.NoDelete, Status: regdrift.RunQueued}
	if _, err := s.store.QueueRun(ctx, run, req.Coalesce); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = append(s.started, received)
	return run, nil
}

func (s *runService) CancelRun(ctx context.Context, id int64) error {
	run, err := s.store.GetRun(ctx, id)
	if err != nil {
		return err
	}
	if run.Status.Finished() {
		return regdrift.Errorf(regdrift.ECONFLICT, "run %d has finished", id)
	}
	t := now
	run.Status, run.FinishedAt = regdrift.RunCanceled, &t
	return s.store.UpdateRun(ctx, run)
}

func (s *runService) Wait(ctx context.Context, id int64) (*regdrift.Run, error) {
	return s.store.GetRun(ctx, id)
}

// Started returns the requests of the runs started so far.
func (s *runService) Started() []regdrift.RunRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]regdrift.RunRequest(nil), s.started...)
}

// env is a server on a real SQLite store in a temporary folder.
type env struct {
	store *db.DB
	runs  *runService
	srv   http.Handler
	logs  *bytes.Buffer
}

// newEnv builds a server; change lets a test alter its configuration.
func newEnv(t *testing.T, change ...func(*server.Config)) *env {
	t.Helper()
	store, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "regdrift.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	store.Now = func() time.Time { return now }
	e := &env{store: store, runs: &runService{store: store}, logs: &bytes.Buffer{}}
	cfg := server.Config{
		Store: store,
		Runs:  e.runs,
		Logger: slog.New(slog.NewJSONHandler(e.logs,
			&slog.HandlerOptions{Level: slog.LevelDebug})),
		Primary:   "https://primary.example",
		Secondary: "https://mirror.example",
		Now:       func() time.Time { return now },
	}
	for _, c := range change {
		c(&cfg)
	}
	e.srv = server.New(cfg)
	return e
}

// do serves one request. Headers come as name, value pairs.
func (e *env) do(t *testing.T, method, target string, body io.Reader,
	headers ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec.Result()
}

// postForm posts form fields the way a browser on the same origin does.
func (e *env) postForm(t *testing.T, target string, form url.Values,
	headers ...string) *http.Response {
	t.Helper()
	h := append([]string{"Content-Type", "application/x-www-form-urlencoded",
		"Sec-Fetch-Site", "same-origin"}, headers...)
	return e.do(t, http.MethodPost, target, strings.NewReader(form.Encode()), h...)
}

// decode reads a JSON answer into v, failing on unknown fields so that tests see every one.
func decode(t *testing.T, res *http.Response, v any) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	dec := json.NewDecoder(res.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode answer: %v", err)
	}
}

// checkSameJSON asserts that got and want encode alike, which compares times by instant.
func checkSameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return string(b)
}

func checkStatus(t *testing.T, res *http.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("status: got %d, want %d", res.StatusCode, want)
	}
}

// Digests of the seeded tags.
var (
	digestA = "sha256:" + strings.Repeat("a", 64)
	digestB = "sha256:" + strings.Repeat("b", 64)
	digestC = "sha256:" + strings.Repeat("c", 64)
)

const ociIndex = "application/vnd.oci.image.index.v1+json"

// seeded is the repository with slashes in its name that seed stores.
const seeded = "team/app/api"

// seed stores one finished dry run over two repositories and returns it.
func (e *env) seed(t *testing.T) *regdrift.Run {
	t.Helper()
	ctx := context.Background()
	run := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerCLI}
	if err := e.store.CreateRun(ctx, run); err != nil {
		t.Fatalf("create run: %v", err)
	}
	results := []*regdrift.RepoResult{
		{RunID: run.ID, Name: seeded, Status: regdrift.RepoDrift, Actions: 2,
			CheckedAt: now.Add(-time.Hour),
			Tags: []regdrift.TagDrift{
				{Tag: "latest", State: regdrift.StateInSync,
					Primary:   regdrift.Manifest{Digest: digestA, MediaType: ociIndex},
					Secondary: regdrift.Manifest{Digest: digestA, MediaType: ociIndex},
					Platforms: []string{"linux/amd64", "linux/arm64"},
					Action:    regdrift.ActionNone},
				{Tag: "v1", State: regdrift.StateBroken,
					Primary:   regdrift.Manifest{Digest: digestB, MediaType: ociIndex},
					Secondary: regdrift.Manifest{Digest: digestB, MediaType: ociIndex},
					Missing:   []string{"blob " + digestC},
					Action:    regdrift.ActionCopy, Result: regdrift.ResultPlanned},
				{Tag: "v2", State: regdrift.StateOnlyOnSecondary,
					Secondary: regdrift.Manifest{Digest: digestC, MediaType: ociIndex},
					Action:    regdrift.ActionDelete, Result: regdrift.ResultPlanned},
			}},
		{RunID: run.ID, Name: "base", Status: regdrift.RepoInSync, CheckedAt: now.Add(-time.Hour),
			Tags: []regdrift.TagDrift{{Tag: "1.0", State: regdrift.StateInSync,
				Primary:   regdrift.Manifest{Digest: digestA, MediaType: ociIndex},
				Secondary: regdrift.Manifest{Digest: digestA, MediaType: ociIndex},
				Action:    regdrift.ActionNone}}},
	}
	for _, res := range results {
		res.Before = regdrift.CountTags(res.Tags)
		run.Summary.Merge(res.Before)
		if err := e.store.SaveRepoResult(ctx, res); err != nil {
			t.Fatalf("save result: %v", err)
		}
	}
	started, finished := now.Add(-time.Hour-time.Minute), now.Add(-time.Hour)
	run.Status, run.Outcome = regdrift.RunDone, regdrift.OutcomeDrift
	run.StartedAt, run.FinishedAt = &started, &finished
	run.ReposTotal, run.ReposDone = 2, 2
	run.Summary.Repositories, run.Summary.Tags, run.Summary.Actions = 2, 4, 2
	if err := e.store.UpdateRun(ctx, run); err != nil {
		t.Fatalf("update run: %v", err)
	}
	return run
}

// startQueued records a queued run, as a run the engine has not finished.
func (e *env) startQueued(t *testing.T) *regdrift.Run {
	t.Helper()
	run := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerCLI}
	if err := e.store.CreateRun(context.Background(), run); err != nil {
		t.Fatalf("create run: %v", err)
	}
	return run
}
