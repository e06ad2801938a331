package reconcile_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/regclient/regclient/types/descriptor"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/db"
	"github.com/regdrift/regdrift/sync/reconcile"
	"github.com/regdrift/regdrift/sync/registry"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

// newFixtureEnv is env over a generated fixture instead of the demo: repositories of several
// kinds on two shared base layers, with drift of every kind and its truth.
func newFixtureEnv(t *testing.T, spec regtest.FixtureSpec) (*env, *regtest.Fixture) {
	t.Helper()
	ctx := t.Context()
	f, err := regtest.NewFixture(spec)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{pReg: dist2.New(t), sReg: dist2.New(t)}
	if err := f.Fill(ctx, e.pReg.Host, e.sReg.Host); err != nil {
		t.Fatalf("fill: %v", err)
	}
	e.primary, e.secondary = newProxy(t, e.pReg.URL), newProxy(t, e.sReg.URL)
	store, err := db.Open(ctx, filepath.Join(t.TempDir(), "regdrift.db"))
	if err != nil {
		t.Fatalf("open db: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	e.store = store
	pair, err := registry.NewPair(registry.Config{URL: e.primary.URL},
		registry.Config{URL: e.secondary.URL}, registry.Options{Logger: testLogger()})
	if err != nil {
		t.Fatalf("registry pair: %v", err)
	}
	e.engine = reconcile.New(reconcile.Config{
		Primary: pair.Primary, Secondary: pair.Secondary, Store: store, Logger: testLogger(),
	})
	return e, f
}

// contentRequests counts the requests that read or write a manifest or a blob: all but tag
// lists, the catalog and manifest HEADs.
func contentRequests(p *regtest.Proxy) map[regtest.Hit]int {
	out := map[regtest.Hit]int{}
	for h, n := range p.Counts() {
		if h.Kind == regtest.PathBlob || (h.Kind == regtest.PathManifest &&
			h.Method != http.MethodHead) {
			out[h] = n
		}
	}
	return out
}

// TestEngine_ExecuteSendsOnlyWhatIsMissing: an execute uploads no blob the secondary already
// holds in the repository, mounts what it holds in another one, and a second execute with
// nothing left to do reads and writes no manifest and no blob, only what a check reads.
func TestEngine_ExecuteSendsOnlyWhatIsMissing(t *testing.T) {
	e, f := newFixtureEnv(t, regtest.FixtureSpec{Repos: 40, Tags: 9, Drift: 0.3, OneSided: 3,
		Seed: "transfer"})
	if f.MissingInRegistry >= f.MissingInRepo {
		t.Fatalf("fixture: %d bytes missing in the repositories, %d in the registry: "+
			"nothing to mount", f.MissingInRepo, f.MissingInRegistry)
	}
	known := f.Blobs()

	e.primary.ResetCounts()
	e.secondary.ResetCounts()
	run, _ := e.run(t, regdrift.ModeExecute, false)
	if run.Status != regdrift.RunDone || run.Summary.FailedActions != 0 {
		t.Fatalf("execute: status %s, %d failed actions", run.Status, run.Summary.FailedActions)
	}
	var content int64
	for d, n := range e.secondary.UploadedBlobs() {
		// regclient deletes a tag on Distribution 2.8 by moving it to a throw-away image
		// whose one layer is the empty JSON blob: that upload is not content.
		if _, ok := known[d]; ok && d != descriptor.EmptyDigest.String() {
			content += n
		}
	}
	// Repositories are copied several at once, so a blob two of them lack at the same moment
	// may go up twice; never more than what each repository lacks.
	if content > f.MissingInRepo {
		t.Errorf("uploaded %d bytes of content, more than the %d the repositories lack",
			content, f.MissingInRepo)
	}
	// Which repository shows first where a shared layer is depends on timing, so the test
	// asks that most of it be mounted (on this fixture all of it is, as a rule).
	mountable := f.MissingInRepo - f.MissingInRegistry
	if content > f.MissingInRegistry+mountable/2 {
		t.Errorf("uploaded %d bytes of content: %d lacking everywhere, %d held in another "+
			"repository were to be mounted", content, f.MissingInRegistry, mountable)
	}
	if e.secondary.Mounts() == 0 {
		t.Error("no cross-repository mount asked for")
	}
	if got := e.primary.Count(http.MethodPut, regtest.PathManifest) +
		e.primary.Count(http.MethodPost, regtest.PathBlob); got != 0 {
		t.Errorf("%d writes reached the primary", got)
	}

	_, after := e.run(t, regdrift.ModeDryRun, false)
	checkTruth(t, e, after, f.Synced)

	e.primary.ResetCounts()
	e.secondary.ResetCounts()
	run, _ = e.run(t, regdrift.ModeExecute, false)
	if run.Summary.Actions != 0 {
		t.Errorf("no-op execute planned %d actions", run.Summary.Actions)
	}
	onPrimary, onSecondary := sideTags(f.Synced)
	for name, side := range map[string]struct {
		p    *regtest.Proxy
		tags int
	}{"primary": {e.primary, onPrimary}, "secondary": {e.secondary, onSecondary}} {
		if got := contentRequests(side.p); len(got) != 0 {
			t.Errorf("%s: a no-op execute sent manifest or blob requests: %v", name, got)
		}
		if got := side.p.Count(http.MethodHead, regtest.PathManifest); got != side.tags {
			t.Errorf("%s: %d manifest HEADs, want one a tag, %d", name, got, side.tags)
		}
	}
	if got := e.secondary.Uploaded(); got != 0 {
		t.Errorf("a no-op execute uploaded %d bytes", got)
	}
}

// sideTags counts the tags each registry holds when it matches truth.
func sideTags(truth regtest.Truth) (primary, secondary int) {
	for _, tags := range truth {
		for _, s := range tags {
			if s != regdrift.StateOnlyOnSecondary {
				primary++
			}
			if s != regdrift.StateOnlyOnPrimary {
				secondary++
			}
		}
	}
	return primary, secondary
}

// TestEngine_RunCountsKeepsRowsInTheStoreOnly: RunCounts returns results without their tag
// rows, with the counts Run gives, and the store holds every row.
func TestEngine_RunCountsKeepsRowsInTheStoreOnly(t *testing.T) {
	e := newEnv(t)
	_, full := e.run(t, regdrift.ModeDryRun, false)

	run := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerCLI,
		Scope: []string{}, Status: regdrift.RunQueued}
	if err := e.store.CreateRun(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	results, err := e.engine.RunCounts(t.Context(), run, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(full) || len(results) == 0 {
		t.Fatalf("%d results, want %d", len(results), len(full))
	}
	for _, r := range results {
		if r.Tags != nil {
			t.Errorf("%s: %d tag rows held, want none", r.Name, len(r.Tags))
		}
		if r.Before != full[r.Name].Before {
			t.Errorf("%s: counts %+v, want %+v", r.Name, r.Before, full[r.Name].Before)
		}
		rows, n, err := e.store.ListRunTags(t.Context(), run.ID,
			regdrift.TagFilter{Repository: r.Name})
		if err != nil {
			t.Fatal(err)
		}
		if n != r.Before.Total() || len(rows) != n {
			t.Errorf("%s: %d rows stored (%d read), want %d", r.Name, n, len(rows),
				r.Before.Total())
		}
	}
}
