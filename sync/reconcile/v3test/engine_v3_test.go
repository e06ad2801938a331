// Package v3test runs the engine against CNCF Distribution v3, which pages tag lists and
// deletes by tag. It is a package of its own because Distribution 2.8 and v3 cannot be linked
// into one test binary.
package v3test

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/db"
	"github.com/regdrift/regdrift/sync/reconcile"
	"github.com/regdrift/regdrift/sync/registry"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist3"
)

func TestEngine_V3PagedTagsAndDeleteByTag(t *testing.T) {
	ctx := t.Context()
	pReg, sReg := dist3.New(t), dist3.New(t)
	if _, err := regtest.Demo(ctx, pReg.Host, sReg.Host); err != nil {
		t.Fatal(err)
	}
	// Both sides answer tag lists in pages of 25 with a Link header to the next.
	primary, err := regtest.NewProxy(pReg.URL, regtest.PageTags(25))
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	secondary, err := regtest.NewProxy(sReg.URL, regtest.PageTags(25))
	if err != nil {
		t.Fatal(err)
	}
	defer secondary.Close()

	store, err := db.Open(ctx, filepath.Join(t.TempDir(), "regdrift.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pair, err := registry.NewPair(registry.Config{URL: primary.URL},
		registry.Config{URL: secondary.URL}, registry.Options{
			RetryLimit: 2, RetryDelay: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		})
	if err != nil {
		t.Fatal(err)
	}
	engine := reconcile.New(reconcile.Config{
		Primary: pair.Primary, Secondary: pair.Secondary, Store: store,
	})
	run := func(mode regdrift.Mode) (*regdrift.Run, map[string]*regdrift.RepoResult) {
		t.Helper()
		r := &regdrift.Run{Mode: mode, Trigger: regdrift.TriggerCLI, Deep: true}
		if err := store.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		results, err := engine.Run(ctx, r, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]*regdrift.RepoResult{}
		for _, res := range results {
			m[res.Name] = res
		}
		return r, m
	}

	_, found := run(regdrift.ModeDryRun)
	truth := regtest.DemoTruthDeep()
	for _, repo := range truth.Repos() {
		got := map[string]regdrift.State{}
		for _, tag := range found[repo].Tags {
			got[tag.Tag] = tag.State
		}
		for tag, want := range truth[repo] {
			if got[tag] != want {
				t.Errorf("%s:%s = %s, want %s", repo, tag, got[tag], want)
			}
		}
		if len(got) != len(truth[repo]) {
			t.Errorf("%s: %d tags, want %d (all pages followed)", repo, len(got),
				len(truth[repo]))
		}
	}
	// 120 tags in pages of 25: five requests per side for that repository alone.
	if n := primary.Count(http.MethodGet, regtest.PathTags); n < 5 {
		t.Errorf("primary served %d tag-list pages, want the big repository paged", n)
	}

	secondary.ResetCounts()
	exec, results := run(regdrift.ModeExecute)
	for _, repo := range truth.Repos() {
		res := results[repo]
		if repo == regtest.DemoTeam || res.After == nil {
			continue
		}
		if res.Status != regdrift.RepoInSync {
			t.Errorf("%s after execute: %s %+v %q", repo, res.Status, *res.After, res.Error)
		}
	}
	if exec.Summary.FailedActions != 0 {
		t.Errorf("%d failed actions", exec.Summary.FailedActions)
	}
	// v3 deletes by tag: two orphans (base/alpine old-stable, big/many r101), one DELETE each,
	// and the tag sharing old-stable's digest stays.
	if n := secondary.Count(http.MethodDelete, regtest.PathManifest); n != 2 {
		t.Errorf("%d manifest DELETEs on the secondary, want 2", n)
	}
	resp, err := regtest.RawManifest(ctx, http.MethodHead, sReg.URL, regtest.DemoBase, "stable",
		regtest.ManifestTypes...)
	if err != nil || resp.Status != http.StatusOK {
		t.Errorf("stable after deleting old-stable: %d %v", resp.Status, err)
	}
	resp, err = regtest.RawManifest(ctx, http.MethodHead, sReg.URL, regtest.DemoBase,
		"old-stable", regtest.ManifestTypes...)
	if err != nil || resp.Status != http.StatusNotFound {
		t.Errorf("old-stable after delete: %d %v, want 404", resp.Status, err)
	}
	for hit, n := range primary.Counts() {
		if hit.Method != http.MethodGet && hit.Method != http.MethodHead {
			t.Errorf("primary received %d %s %s", n, hit.Method, hit.Kind)
		}
	}
}

// A NAME_UNKNOWN on a later page of a tag listing (a repository deleted while it is listed, a
// faulty proxy) must not read as an empty repository: on the secondary it would plan copies,
// on the primary it would hide every tag.
func TestEngine_V3NameUnknownOnALaterPageIsAnError(t *testing.T) {
	ctx := t.Context()
	pReg, sReg := dist3.New(t), dist3.New(t)
	if _, err := regtest.Demo(ctx, pReg.Host, sReg.Host); err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"primary", "secondary"} {
		t.Run(side, func(t *testing.T) {
			primary, secondary, store, engine := pagedEnv(t, pReg.URL, sReg.URL)
			faulty := primary
			if side == "secondary" {
				faulty = secondary
			}
			faulty.SetFault(func(r *http.Request) (int, bool) {
				later := r.URL.Query().Get("last") != ""
				if regtest.KindOf(r.URL.Path) == regtest.PathTags && later {
					return http.StatusNotFound, true // NAME_UNKNOWN
				}
				return 0, false
			})
			run := &regdrift.Run{Mode: regdrift.ModeExecute, Trigger: regdrift.TriggerCLI,
				Scope: []string{regtest.DemoBig}}
			if err := store.CreateRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			results, err := engine.Run(ctx, run, nil)
			if err != nil {
				t.Fatal(err)
			}
			res := results[0]
			if res.Status != regdrift.RepoError || res.Actions != 0 ||
				run.Outcome != regdrift.OutcomeError {
				t.Errorf("status %s, %d actions, outcome %s; want error, 0, error",
					res.Status, res.Actions, run.Outcome)
			}
			if n := secondary.Count(http.MethodPut, regtest.PathManifest) +
				secondary.Count(http.MethodDelete, regtest.PathManifest); n != 0 {
				t.Errorf("%d writes to the secondary", n)
			}
		})
	}
}

// A 5xx on a later page of a tag listing (Distribution v3 pages; 2.8 does not) fails the
// repository's listing, retried by regclient where a retry helps: the repository is an error,
// nothing is copied or deleted there, and the run says so.
func TestEngine_V3ServerErrorOnALaterPage(t *testing.T) {
	ctx := t.Context()
	pReg, sReg := dist3.New(t), dist3.New(t)
	if _, err := regtest.Demo(ctx, pReg.Host, sReg.Host); err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{500, 502, 503} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			primary, _, store, engine := pagedEnv(t, pReg.URL, sReg.URL)
			var later atomic.Int64
			primary.SetFault(func(r *http.Request) (int, bool) {
				if regtest.KindOf(r.URL.Path) == regtest.PathTags &&
					r.URL.Query().Get("last") != "" {
					later.Add(1)
					return status, true
				}
				return 0, false
			})
			run := &regdrift.Run{Mode: regdrift.ModeExecute, Trigger: regdrift.TriggerCLI,
				Scope: []string{regtest.DemoBig, regtest.DemoBase}}
			if err := store.CreateRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			results, err := engine.Run(ctx, run, nil)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]*regdrift.RepoResult{}
			for _, r := range results {
				byName[r.Name] = r
			}
			big, base := byName[regtest.DemoBig], byName[regtest.DemoBase]
			if big.Status != regdrift.RepoError || big.Actions != 0 ||
				!strings.Contains(big.Error, strconv.Itoa(status)) {
				t.Errorf("big: %s, %d actions, %q; want an error naming %d", big.Status,
					big.Actions, big.Error, status)
			}
			// base/alpine fits on one page: it is reconciled as usual.
			if base.Status != regdrift.RepoInSync || run.Outcome != regdrift.OutcomeError {
				t.Errorf("base %s %q, run %s; want in sync and an error run", base.Status,
					base.Error, run.Outcome)
			}
			// The listing is asked for twice (the guard's count, the check). regclient
			// retries 500 and 502, though its backoff count is per host and may fail the
			// second listing at its first try; it never retries 503.
			n := later.Load()
			if (status == 503 && n != 2) || (status != 503 && n < 3) {
				t.Errorf("%d requests for a later page", n)
			}
			resp, err := regtest.RawManifest(ctx, http.MethodHead, sReg.URL, regtest.DemoBig,
				"r101", regtest.ManifestTypes...)
			if err != nil || resp.Status != http.StatusOK {
				t.Errorf("the orphan r101: %d %v, want it kept", resp.Status, err)
			}
		})
	}
}

// pagedEnv puts a proxy that pages tag lists by 25 in front of each registry and returns them
// with a store and an engine over them, regclient's backoff kept short.
func pagedEnv(t *testing.T, primaryURL, secondaryURL string) (primary, secondary *regtest.Proxy,
	store *db.DB, engine *reconcile.Engine) {
	t.Helper()
	var err error
	for _, p := range []struct {
		to  **regtest.Proxy
		url string
	}{{&primary, primaryURL}, {&secondary, secondaryURL}} {
		if *p.to, err = regtest.NewProxy(p.url, regtest.PageTags(25)); err != nil {
			t.Fatal(err)
		}
		proxy := *p.to
		t.Cleanup(func() { proxy.Close() })
	}
	store, err = db.Open(t.Context(), filepath.Join(t.TempDir(), "regdrift.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	pair, err := registry.NewPair(registry.Config{URL: primary.URL},
		registry.Config{URL: secondary.URL}, registry.Options{RetryLimit: 2,
			RetryDelay: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	engine = reconcile.New(reconcile.Config{Primary: pair.Primary, Secondary: pair.Secondary,
		Store: store})
	return primary, secondary, store, engine
}

// Distribution 3.1 stores the same lies as 2.8 (sizes are not checked, nesting is not
// bounded): a deep check of the secondary and an execute from the primary each end every
// lying tag of regtest.LieSet as its own error, and the honest tags as usual.
func TestEngine_V3LyingManifests(t *testing.T) {
	ctx := t.Context()
	pReg, sReg := dist3.New(t), dist3.New(t)
	rc := regtest.NewClient(pReg.Host, sReg.Host)
	deep, err := regtest.BuildLies("v3-deep")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := regtest.BuildLies("v3-copy")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		set        *regtest.LieSet
		host, repo string
	}{{deep, pReg.Host, "lie/deep"}, {deep, sReg.Host, "lie/deep"}, {cp, pReg.Host, "lie/copy"}} {
		if err := p.set.Push(ctx, rc, p.host, p.repo); err != nil {
			t.Fatal(err)
		}
	}
	primary, secondary, store, engine := pagedEnv(t, pReg.URL, sReg.URL)
	secondary.SetModify(deep.Faults("lie/deep", true))
	primary.SetModify(cp.Faults("lie/copy", false))
	honest := map[string]bool{"honest": true, "nested-8": true}

	bounded, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	run := &regdrift.Run{Mode: regdrift.ModeExecute, Deep: true, Trigger: regdrift.TriggerCLI}
	if err := store.CreateRun(bounded, run); err != nil {
		t.Fatal(err)
	}
	results, err := engine.Run(bounded, run, nil)
	if bounded.Err() != nil || err != nil {
		t.Fatalf("run: %v (deadline: %v)", err, bounded.Err())
	}
	if run.Outcome != regdrift.OutcomeError {
		t.Errorf("outcome %s, want error", run.Outcome)
	}
	for _, res := range results {
		if len(res.Tags) != len(deep.Honest)+len(deep.Lying) {
			t.Errorf("%s: %d tags", res.Name, len(res.Tags))
		}
		for _, tag := range res.Tags {
			lying := !honest[tag.Tag]
			failed := tag.State == regdrift.StateUnresolved || tag.Result == regdrift.ResultFailed
			if lying != failed || lying != (tag.Error != "") {
				t.Errorf("%s:%s %s %s %q, lying %v", res.Name, tag.Tag, tag.State, tag.Result,
					tag.Error, lying)
			}
		}
	}
	if n := secondary.Count(http.MethodDelete, regtest.PathManifest); n != 0 {
		t.Errorf("%d manifest DELETEs on the secondary", n)
	}
}
