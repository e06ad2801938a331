package reconcile_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/db"
	"github.com/regdrift/regdrift/sync/reconcile"
	"github.com/regdrift/regdrift/sync/registry"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

// env is a primary and a secondary Distribution 2.8 registry filled with the demo drift,
// each behind a counting, fault-injecting proxy, and an engine over a real SQLite file.
type env struct {
	primary, secondary *regtest.Proxy
	pReg, sReg         *dist2.Registry
	store              *db.DB
	engine             *reconcile.Engine
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, func(pHost, sHost string) error {
		_, err := regtest.Demo(t.Context(), pHost, sHost)
		return err
	}, reconcile.Config{})
}

// newEnvWith is newEnv with the registries filled by fill and the engine configured by cfg
// (its registries and store are set here).
func newEnvWith(t *testing.T, fill func(primaryHost, secondaryHost string) error,
	cfg reconcile.Config) *env {
	t.Helper()
	return newEnvOpts(t, fill, cfg, registry.Options{
		// Keep regclient's own backoff short, so injected faults end the test quickly.
		RetryLimit: 2, RetryDelay: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
	})
}

// newEnvOpts is newEnvWith with the registry clients built with opts, and both registries
// started with regOpts.
func newEnvOpts(t *testing.T, fill func(primaryHost, secondaryHost string) error,
	cfg reconcile.Config, opts registry.Options, regOpts ...dist2.Option) *env {
	t.Helper()
	ctx := t.Context()
	e := &env{pReg: dist2.New(t, regOpts...), sReg: dist2.New(t, regOpts...)}
	if err := fill(e.pReg.Host, e.sReg.Host); err != nil {
		t.Fatalf("fill registries: %v", err)
	}
	e.primary = newProxy(t, e.pReg.URL)
	e.secondary = newProxy(t, e.sReg.URL)
	store, err := db.Open(ctx, filepath.Join(t.TempDir(), "regdrift.db"))
	if err != nil {
		t.Fatalf("open db: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	e.store = store
	opts.Logger, opts.Concurrency = testLogger(), 8
	pair, err := registry.NewPair(registry.Config{URL: e.primary.URL},
		registry.Config{URL: e.secondary.URL}, opts)
	if err != nil {
		t.Fatalf("registry pair: %v", err)
	}
	cfg.Primary, cfg.Secondary, cfg.Store, cfg.Logger = pair.Primary, pair.Secondary, store,
		testLogger()
	e.engine = reconcile.New(cfg)
	return e
}

func newProxy(t *testing.T, target string) *regtest.Proxy {
	t.Helper()
	p, err := regtest.NewProxy(target)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func testLogger() *slog.Logger {
	if os.Getenv("REGDRIFT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// run records and carries out one run.
func (e *env) run(t *testing.T, mode regdrift.Mode, deep bool,
	scope ...string) (*regdrift.Run, map[string]*regdrift.RepoResult) {
	t.Helper()
	return e.runWith(t, &regdrift.Run{Mode: mode, Deep: deep, Scope: scope})
}

// runWith records and carries out run as given (its trigger and status are set here).
func (e *env) runWith(t *testing.T,
	run *regdrift.Run) (*regdrift.Run, map[string]*regdrift.RepoResult) {
	t.Helper()
	ctx := t.Context()
	run.Trigger, run.Status = regdrift.TriggerCLI, regdrift.RunQueued
	if err := e.store.CreateRun(ctx, run); err != nil {
		t.Fatalf("create run: %v", err)
	}
	results, err := e.engine.Run(ctx, run, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	byName := map[string]*regdrift.RepoResult{}
	for _, r := range results {
		byName[r.Name] = r
	}
	return run, byName
}

// headDigest asks the registry itself, with plain net/http and every manifest type accepted,
// what a tag points at: an oracle independent of regclient and of the engine.
func headDigest(t *testing.T, baseURL, repo, tag string) string {
	t.Helper()
	resp, err := regtest.RawManifest(t.Context(), http.MethodHead, baseURL, repo, tag,
		regtest.ManifestTypes...)
	if err != nil {
		t.Fatalf("head %s:%s: %v", repo, tag, err)
	}
	if resp.Status == http.StatusNotFound {
		return ""
	}
	if resp.Status != http.StatusOK || resp.Digest == "" {
		t.Fatalf("head %s:%s: status %d digest %q", repo, tag, resp.Status, resp.Digest)
	}
	return resp.Digest
}

func checkTruth(t *testing.T, e *env, results map[string]*regdrift.RepoResult,
	truth regtest.Truth) {
	t.Helper()
	for _, repo := range truth.Repos() {
		res, ok := results[repo]
		if !ok {
			t.Errorf("%s: no result", repo)
			continue
		}
		got := map[string]regdrift.State{}
		for _, tag := range res.Tags {
			got[tag.Tag] = tag.State
			if want := headDigest(t, e.pReg.URL, repo, tag.Tag); tag.Primary.Digest != want {
				t.Errorf("%s:%s primary digest = %q, want %q", repo, tag.Tag,
					tag.Primary.Digest, want)
			}
			if want := headDigest(t, e.sReg.URL, repo, tag.Tag); tag.Secondary.Digest != want {
				t.Errorf("%s:%s secondary digest = %q, want %q", repo, tag.Tag,
					tag.Secondary.Digest, want)
			}
		}
		for tag, want := range truth[repo] {
			if got[tag] != want {
				t.Errorf("%s:%s state = %q, want %q", repo, tag, got[tag], want)
			}
		}
		if len(got) != len(truth[repo]) {
			t.Errorf("%s: %d tags classified, want %d", repo, len(got), len(truth[repo]))
		}
		if res.Before != truth.Counts(repo) {
			t.Errorf("%s: counts %+v, want %+v", repo, res.Before, truth.Counts(repo))
		}
	}
	if len(results) != len(truth) {
		t.Errorf("%d repositories, want %d", len(results), len(truth))
	}
}

func TestEngine_DryRunFindsEveryState(t *testing.T) {
	e := newEnv(t)
	run, results := e.run(t, regdrift.ModeDryRun, false)
	checkTruth(t, e, results, regtest.DemoTruth())
	if run.Status != regdrift.RunDone || run.Outcome != regdrift.OutcomeDrift {
		t.Errorf("run status %s outcome %s, want done drift", run.Status, run.Outcome)
	}
	// team/ci exists only on the secondary: its two orphan deletions are withheld, and said.
	if got := results[regtest.DemoTeam].Skipped; got != 2 || run.Summary.SkippedActions != 2 {
		t.Errorf("withheld: %d in %s, %d in the run; want 2 and 2", got, regtest.DemoTeam,
			run.Summary.SkippedActions)
	}
	if n := e.secondary.Count(http.MethodPut, regtest.PathManifest) +
		e.secondary.Count(http.MethodDelete, regtest.PathManifest) +
		e.secondary.Count(http.MethodPost, regtest.PathBlob); n != 0 {
		t.Errorf("a dry run sent %d writes to the secondary", n)
	}
}

func TestEngine_DeepFindsBrokenContent(t *testing.T) {
	e := newEnv(t)
	_, results := e.run(t, regdrift.ModeDryRun, true)
	checkTruth(t, e, results, regtest.DemoTruthDeep())
	wantMissing, err := regtest.DemoMissing()
	if err != nil {
		t.Fatal(err)
	}
	for repo, tags := range wantMissing {
		for tag, want := range tags {
			var got []string
			for _, row := range results[repo].Tags {
				if row.Tag != tag {
					continue
				}
				// Rows name the kind of what is missing: "manifest sha256:…", "blob sha256:…".
				for _, m := range row.Missing {
					_, dig, _ := strings.Cut(m, " ")
					got = append(got, dig)
				}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s:%s missing = %v, want %v", repo, tag, got, want)
			}
		}
	}
}

func TestEngine_ExecuteRepairsAndVerifies(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	run, results := e.run(t, regdrift.ModeExecute, true)

	truth := regtest.DemoTruthDeep()
	for _, repo := range truth.Repos() {
		res := results[repo]
		if res.After == nil {
			if res.Actions != 0 {
				t.Errorf("%s: %d actions but no verification", repo, res.Actions)
			}
			continue
		}
		if repo == regtest.DemoTeam {
			// The primary lists no tag there: its orphans are withheld, never deleted.
			if res.After.OnlyOnSecondary != 2 || res.Status != regdrift.RepoDrift {
				t.Errorf("%s: after %+v status %s, want 2 orphans kept and drift", repo,
					*res.After, res.Status)
			}
			continue
		}
		want := regdrift.Counts{InSync: res.After.Total()}
		if *res.After != want || res.Status != regdrift.RepoInSync || res.Failed != 0 {
			t.Errorf("%s: after %+v status %s failed %d error %q, want all in sync", repo,
				*res.After, res.Status, res.Failed, res.Error)
		}
		for _, row := range res.Tags {
			if row.Action != regdrift.ActionNone && row.Result != regdrift.ResultOK {
				t.Errorf("%s:%s: %s result %s %q", repo, row.Tag, row.Action, row.Result,
					row.Error)
			}
		}
	}
	if run.Outcome != regdrift.OutcomeDrift {
		t.Errorf("outcome %s, want drift (the withheld orphans remain)", run.Outcome)
	}

	// Every tag on the secondary pulls whole, each manifest and blob digest verified.
	rc := regtest.NewClient(e.sReg.Host)
	for _, repo := range truth.Repos() {
		if repo == regtest.DemoTeam {
			continue
		}
		for tag, state := range truth[repo] {
			if state == regdrift.StateOnlyOnSecondary {
				continue
			}
			ref := e.sReg.Host + "/" + repo + ":" + tag
			if err := regtest.VerifyPull(ctx, rc, ref); err != nil {
				t.Errorf("pull %s: %v", ref, err)
			}
		}
	}

	// The orphan is gone; the tag that shared its digest stays, and so does its content.
	if d := headDigest(t, e.sReg.URL, regtest.DemoBase, "old-stable"); d != "" {
		t.Errorf("orphan old-stable still on the secondary at %s", d)
	}
	stable := headDigest(t, e.sReg.URL, regtest.DemoBase, "stable")
	if want := headDigest(t, e.pReg.URL, regtest.DemoBase, "stable"); stable != want {
		t.Errorf("stable on the secondary = %q, want %q", stable, want)
	}

	// The primary saw reads only.
	for hit, n := range e.primary.Counts() {
		if hit.Method != http.MethodGet && hit.Method != http.MethodHead {
			t.Errorf("primary received %d %s %s requests", n, hit.Method, hit.Kind)
		}
	}

	// A second execute right away has nothing to do.
	e.secondary.ResetCounts()
	run2, results2 := e.run(t, regdrift.ModeExecute, true)
	if run2.Summary.Actions != 0 {
		t.Errorf("second execute: %d actions, want 0", run2.Summary.Actions)
	}
	for _, res := range results2 {
		for _, row := range res.Tags {
			if row.Result == regdrift.ResultOK || row.Result == regdrift.ResultFailed {
				t.Errorf("second execute acted on %s:%s", res.Name, row.Tag)
			}
		}
	}
	for hit, n := range e.secondary.Counts() {
		if hit.Method != http.MethodGet && hit.Method != http.MethodHead {
			t.Errorf("second execute sent %d %s %s to the secondary", n, hit.Method, hit.Kind)
		}
	}
}

func TestEngine_HeadFailureLeavesTagUnresolved(t *testing.T) {
	e := newEnv(t)
	e.primary.SetFault(func(r *http.Request) (int, bool) {
		if r.Method == http.MethodHead && r.URL.Path == "/v2/"+regtest.DemoApp+"/manifests/latest" {
			return http.StatusInternalServerError, true
		}
		return 0, false
	})
	run, results := e.run(t, regdrift.ModeDryRun, false, regtest.DemoApp)
	res := results[regtest.DemoApp]
	truth := regtest.DemoTruth()[regtest.DemoApp]
	for _, row := range res.Tags {
		want := truth[row.Tag]
		if row.Tag == "latest" {
			want = regdrift.StateUnresolved
			if !strings.Contains(row.Error, "500") && !strings.Contains(row.Error, "Internal") {
				t.Errorf("latest: error %q does not name the failure", row.Error)
			}
			if row.Action != regdrift.ActionNone {
				t.Errorf("latest: action %s on an unresolved tag", row.Action)
			}
		}
		if row.State != want {
			t.Errorf("%s: state %s, want %s", row.Tag, row.State, want)
		}
	}
	if res.Status != regdrift.RepoError || run.Outcome != regdrift.OutcomeError ||
		run.Summary.Errors != 1 || run.Summary.Unresolved != 1 {
		t.Errorf("repo %s run %s errors %d unresolved %d, want error/error/1/1", res.Status,
			run.Outcome, run.Summary.Errors, run.Summary.Unresolved)
	}
}

func TestEngine_PrimaryListingFailureDeletesNothing(t *testing.T) {
	e := newEnv(t)
	e.primary.SetFault(regtest.FailOn(http.MethodGet, regtest.PathTags,
		http.StatusInternalServerError))
	run, results := e.run(t, regdrift.ModeExecute, false, regtest.DemoBase)
	res := results[regtest.DemoBase]
	if res.Status != regdrift.RepoError || res.Error == "" {
		t.Errorf("status %s error %q, want an error naming the listing", res.Status, res.Error)
	}
	if res.Actions != 0 || run.Summary.Actions != 0 {
		t.Errorf("%d actions planned, want 0", res.Actions)
	}
	for hit, n := range e.secondary.Counts() {
		if hit.Method == http.MethodDelete || hit.Method == http.MethodPut {
			t.Errorf("secondary received %d %s %s", n, hit.Method, hit.Kind)
		}
	}
	if d := headDigest(t, e.sReg.URL, regtest.DemoBase, "old-stable"); d == "" {
		t.Error("old-stable was deleted although the primary could not be listed")
	}
	if run.Outcome != regdrift.OutcomeError || run.Outcome.ExitCode() != 2 {
		t.Errorf("outcome %s, want error (exit 2)", run.Outcome)
	}
}

func TestEngine_RecordsEveryTagRow(t *testing.T) {
	e := newEnv(t)
	run, results := e.run(t, regdrift.ModeDryRun, false)
	rows, _, err := e.store.ListRunTags(context.Background(), run.ID, regdrift.TagFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, r := range results {
		want += len(r.Tags)
	}
	if len(rows) != want || run.Summary.Tags != want {
		t.Errorf("stored %d rows, summary %d, want %d", len(rows), run.Summary.Tags, want)
	}
	got, err := e.store.GetRun(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Summary != run.Summary || got.Status != regdrift.RunDone ||
		got.ReposDone != len(results) || got.ReposTotal != len(results) {
		t.Errorf("stored run %+v, want summary %+v and progress %d/%d", got, run.Summary,
			len(results), len(results))
	}
}

func TestEngine_BoundsRequestsPerRegistry(t *testing.T) {
	e := newEnv(t)
	const limit = 3
	pair, err := registry.NewPair(registry.Config{URL: e.primary.URL},
		registry.Config{URL: e.secondary.URL}, registry.Options{Concurrency: limit})
	if err != nil {
		t.Fatal(err)
	}
	e.engine = reconcile.New(reconcile.Config{Primary: pair.Primary,
		Secondary: pair.Secondary, Store: e.store, Concurrency: limit})
	e.primary.ResetCounts()
	e.secondary.ResetCounts()
	e.run(t, regdrift.ModeExecute, true)
	for name, p := range map[string]*regtest.Proxy{"primary": e.primary,
		"secondary": e.secondary} {
		if got := p.MaxInFlight(); got > limit || got < 2 {
			t.Errorf("%s: %d requests in flight at most, want 2..%d", name, got, limit)
		}
	}
}

func TestEngine_UnknownRepositoryIsAnError(t *testing.T) {
	e := newEnv(t)
	run, results := e.run(t, regdrift.ModeDryRun, false, "does/not/exist")
	res := results["does/not/exist"]
	if res == nil || res.Status != regdrift.RepoError || !strings.Contains(res.Error, "not found") {
		t.Fatalf("result %+v, want an error saying the repository was not found", res)
	}
	if run.Outcome != regdrift.OutcomeError || run.Summary.Errors != 1 {
		t.Errorf("run outcome %s errors %d, want error and 1", run.Outcome, run.Summary.Errors)
	}

	// The run keeps the mistake; the overview does not take it for a repository in error.
	stored, err := e.store.ListRunRepos(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].Error != res.Error {
		t.Errorf("run's repository results %+v, want the one error", stored)
	}
	_, _, err = e.store.GetRepository(t.Context(), "does/not/exist")
	if !regdrift.IsNotFound(err) {
		t.Errorf("latest state of a name that exists nowhere: err %v, want not found", err)
	}
	totals, err := e.store.RepoTotals(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if totals.Repositories != 0 || totals.Errors != 0 {
		t.Errorf("totals %+v, want nothing known", totals)
	}
}

// A repository deleted on both sides leaves the overview with the next run over both
// catalogs; a scoped run forgets nothing it did not look at.
func TestEngine_WholeRunForgetsRepositoriesGoneFromBoth(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	old := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerCLI,
		Status: regdrift.RunDone}
	if err := e.store.CreateRun(ctx, old); err != nil {
		t.Fatal(err)
	}
	gone := &regdrift.RepoResult{RunID: old.ID, Name: "gone/app", Status: regdrift.RepoDrift,
		Before: regdrift.Counts{Stale: 3}, CheckedAt: time.Now().Add(-time.Hour)}
	if err := e.store.SaveRepoResult(ctx, gone); err != nil {
		t.Fatal(err)
	}

	e.run(t, regdrift.ModeDryRun, false, "base")
	if _, _, err := e.store.GetRepository(ctx, "gone/app"); err != nil {
		t.Fatalf("a scoped run forgot gone/app: %v", err)
	}
	run, results := e.run(t, regdrift.ModeDryRun, false)
	if run.Status != regdrift.RunDone || len(results) == 0 {
		t.Fatalf("whole run %s with %d results", run.Status, len(results))
	}
	if _, _, err := e.store.GetRepository(ctx, "gone/app"); !regdrift.IsNotFound(err) {
		t.Errorf("gone/app after a whole run: err %v, want not found", err)
	}
	repos, total, err := e.store.ListRepositories(ctx, regdrift.RepoFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(results) || len(repos) != len(results) {
		t.Errorf("%d repositories known (%d listed), want the %d the run found", total,
			len(repos), len(results))
	}
}

func TestEngine_FailedActionIsRecordedWithItsCause(t *testing.T) {
	e := newEnv(t)
	// The secondary refuses every manifest upload, as 2.8 refuses one without Content-Type.
	e.secondary.SetFault(regtest.FailOn(http.MethodPut, regtest.PathManifest,
		http.StatusBadRequest))
	run, results := e.run(t, regdrift.ModeExecute, false, regtest.DemoTiles)
	res := results[regtest.DemoTiles]
	failed := 0
	for _, row := range res.Tags {
		if row.Action != regdrift.ActionCopy {
			continue
		}
		if row.Result != regdrift.ResultFailed || !strings.Contains(row.Error, "400") {
			t.Errorf("%s: result %s error %q, want failed with the registry's answer", row.Tag,
				row.Result, row.Error)
		}
		failed++
	}
	if failed != 2 || res.Failed != 2 || res.Status != regdrift.RepoError {
		t.Errorf("%d failed rows, %d counted, status %s; want 2, 2, error", failed, res.Failed,
			res.Status)
	}
	if run.Summary.FailedActions != 2 || run.Outcome != regdrift.OutcomeError ||
		run.Outcome.ExitCode() != 2 {
		t.Errorf("run %+v, want 2 failed actions and an error outcome", run.Summary)
	}
	rows, _, err := e.store.ListRunTags(t.Context(), run.ID, regdrift.TagFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		if row.Action == regdrift.ActionCopy && (row.Result != regdrift.ResultFailed ||
			row.Error == "") {
			t.Errorf("stored %s: %s %q, want failed with its cause", row.Tag, row.Result,
				row.Error)
		}
	}
}

func TestEngine_DeepReadsPlatformsOfIndexes(t *testing.T) {
	e := newEnv(t)
	platforms := func(n int) []string {
		var out []string
		for _, p := range regtest.Platforms[:n] {
			out = append(out, p.String())
		}
		return out
	}
	want := map[string]map[string][]string{
		regtest.DemoApp:    {"2.1": platforms(3), "latest": platforms(3), "2.0": platforms(3)},
		regtest.DemoTiles:  {"1.4": platforms(2), "1.3": platforms(2), "1.2": platforms(2)},
		regtest.DemoLegacy: {"1.0": platforms(2), "0.9": nil, "0.8": nil},
		regtest.DemoBase:   {"3.19": nil, "old-stable": nil},
	}
	check := func(t *testing.T, results map[string]*regdrift.RepoResult, deep bool) {
		t.Helper()
		for repo, tags := range want {
			for _, row := range results[repo].Tags {
				w, ok := tags[row.Tag]
				if !ok {
					continue
				}
				if !deep {
					w = nil // a check that is not deep reads no manifest body
				}
				if strings.Join(row.Platforms, ",") != strings.Join(w, ",") {
					t.Errorf("deep=%v %s:%s platforms = %q, want %q", deep, repo, row.Tag,
						row.Platforms, w)
				}
			}
		}
	}
	_, shallow := e.run(t, regdrift.ModeDryRun, false)
	check(t, shallow, false)
	run, deep := e.run(t, regdrift.ModeDryRun, true)
	check(t, deep, true)

	// The store gives them back as the run found them.
	rows, _, err := e.store.ListRunTags(t.Context(), run.ID,
		regdrift.TagFilter{Repository: regtest.DemoApp})
	if err != nil {
		t.Fatalf("ListRunTags: %v", err)
	}
	for _, r := range rows {
		if got := strings.Join(r.Platforms, ","); got != strings.Join(platforms(3), ",") {
			t.Errorf("stored %s platforms = %q", r.Tag, got)
		}
	}
}

// A check that does not look behind digests keeps the tags a deep check found broken, with
// what they miss; a shallow execute repairs them and verifies deeply, after which a shallow
// check (reading the execute's verified states) and a deep one find them in sync.
func TestEngine_ShallowCheckKeepsKnownBroken(t *testing.T) {
	e := newEnv(t)
	e.run(t, regdrift.ModeDryRun, true)

	_, results := e.run(t, regdrift.ModeDryRun, false)
	checkTruth(t, e, results, regtest.DemoTruthDeep())
	missing, err := regtest.DemoMissing()
	if err != nil {
		t.Fatal(err)
	}
	want, seen := 0, 0
	for repo, tags := range missing {
		want += len(tags)
		for _, row := range results[repo].Tags {
			if _, ok := tags[row.Tag]; ok {
				seen++
			}
			if _, ok := tags[row.Tag]; ok && (row.State != regdrift.StateBroken ||
				len(row.Missing) == 0 || row.Action != regdrift.ActionCopy) {
				t.Errorf("%s:%s after a shallow check: %s, missing %v, action %s; want "+
					"broken, its missing content, a copy", repo, row.Tag, row.State,
					row.Missing, row.Action)
			}
		}
	}
	if want == 0 || seen != want {
		t.Fatalf("saw %d of the %d broken tags of the demo", seen, want)
	}

	run, _ := e.run(t, regdrift.ModeExecute, false)
	if run.Status != regdrift.RunDone {
		t.Fatalf("execute %s: %s", run.Status, run.Error)
	}
	_, results = e.run(t, regdrift.ModeDryRun, false)
	for repo, tags := range missing {
		for _, row := range results[repo].Tags {
			if _, ok := tags[row.Tag]; ok && row.State != regdrift.StateInSync {
				t.Errorf("%s:%s repaired, then a shallow check: %s, want in sync", repo,
					row.Tag, row.State)
			}
		}
	}
	_, results = e.run(t, regdrift.ModeDryRun, true)
	for repo, tags := range missing {
		for _, row := range results[repo].Tags {
			if _, ok := tags[row.Tag]; ok && row.State != regdrift.StateInSync {
				t.Errorf("%s:%s after a shallow execute and a deep check: %s, want in sync",
					repo, row.Tag, row.State)
			}
		}
	}
}
