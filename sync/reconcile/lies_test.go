package reconcile_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/reconcile"
	"github.com/regdrift/regdrift/sync/registry"
	"github.com/regdrift/regdrift/sync/regtest"
)

// The lies fixture. lieDeep holds the same content on both registries, so every tag is in sync
// by digest and only a deep check of the secondary can see what is wrong; lieCopy is on the
// primary alone, so an execute copies it. lieOther is honest: it must be handled as if no
// other repository lied.
const (
	lieDeep  = "lie/deep"
	lieCopy  = "lie/copy"
	lieOther = "lie/other"
)

// lie is one tag whose content lies, and what must be said of it.
type lie struct {
	tag string
	// cause must appear in the tag's error; empty for an honest tag. copyCause, when set, is
	// what a copy says instead of a deep check.
	cause, copyCause string
}

// causeOf returns what the tag's error must name after a copy or after a deep check.
func (l lie) causeOf(copied bool) string {
	if copied && l.copyCause != "" {
		return l.copyCause
	}
	return l.cause
}

// lies are the tags of regtest.LieSet and the cause each must end with.
var lies = []lie{
	{tag: "honest"},
	{tag: "nested-8"},
	{tag: "child-size", cause: "its index says"},
	{tag: "layer-size", cause: "its manifest says"},
	{tag: "nested-9", cause: fmt.Sprintf("nested deeper than %d", registry.MaxDepth)},
	{tag: "self", cause: "digest mismatch"},
	{tag: "cycle", cause: "digest mismatch"},
	{tag: "child-digest", cause: "digest mismatch"},
	{tag: "blob-digest", cause: "holds sha256:", copyCause: "digest mismatch"},
}

func buildLies(t *testing.T, seed string) *regtest.LieSet {
	t.Helper()
	ls, err := regtest.BuildLies(seed)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// TestLyingManifests runs a deep check and then a deep execute over manifests that lie about
// their content, on real 2.8 registries with the proxy serving what cannot be stored. Each
// lie ends as its tag's error with its cause, within a deadline; the honest tags and the
// honest repository are handled as usual; the run says it had errors; nothing is deleted.
func TestLyingManifests(t *testing.T) {
	deepSet, copySet := buildLies(t, "deep"), buildLies(t, "copy")
	e := newEnvWith(t, func(pHost, sHost string) error {
		ctx := t.Context()
		rc := regtest.NewClient(pHost, sHost)
		for _, p := range []struct {
			set        *regtest.LieSet
			host, repo string
		}{{deepSet, pHost, lieDeep}, {deepSet, sHost, lieDeep}, {copySet, pHost, lieCopy}} {
			if err := p.set.Push(ctx, rc, p.host, p.repo); err != nil {
				return err
			}
		}
		for _, p := range []struct{ host, tag string }{{pHost, "v1"}, {sHost, "v1"},
			{pHost, "v2"}} {
			if _, err := regtest.Push(ctx, rc, p.host, lieOther, p.tag,
				regtest.Spec{Kind: regtest.OCIIndex, Seed: "other-" + p.tag}); err != nil {
				return err
			}
		}
		return nil
	}, reconcile.Config{})
	e.secondary.SetModify(deepSet.Faults(lieDeep, true))
	e.primary.SetModify(copySet.Faults(lieCopy, false))
	before := secondaryTags(t, e, lieDeep, lieOther)

	t.Run("check --deep", func(t *testing.T) {
		run, results := runBounded(t, e, regdrift.ModeDryRun)
		checkLies(t, run, results[lieDeep], false, func(t *testing.T, l lie,
			row regdrift.TagDrift) {
			want := regdrift.StateInSync
			if l.cause != "" {
				want = regdrift.StateUnresolved
			}
			if row.State != want || row.Action != regdrift.ActionNone {
				t.Errorf("%s %s, want %s and no action: %s", row.State, row.Action, want,
					row.Error)
			}
		})
		if res := results[lieOther]; res == nil || res.Status != regdrift.RepoDrift ||
			res.Actions != 1 {
			t.Errorf("%s: %+v, want drift with one copy planned", lieOther, res)
		}
	})
	t.Run("reconcile --execute --deep", func(t *testing.T) {
		run, results := runBounded(t, e, regdrift.ModeExecute)
		checkLies(t, run, results[lieCopy], true, func(t *testing.T, l lie, row regdrift.TagDrift) {
			want := regdrift.ResultOK
			if l.cause != "" {
				want = regdrift.ResultFailed
			}
			if row.State != regdrift.StateOnlyOnPrimary || row.Action != regdrift.ActionCopy ||
				row.Result != want {
				t.Errorf("%s %s %s, want a copy %s: %s", row.State, row.Action, row.Result,
					want, row.Error)
			}
			onSecondary := headDigest(t, e.sReg.URL, lieCopy, l.tag) != ""
			if onSecondary != (l.cause == "") {
				t.Errorf("on the secondary: %v, want %v", onSecondary, l.cause == "")
			}
		})
		checkLies(t, run, results[lieDeep], false, func(t *testing.T, l lie,
			row regdrift.TagDrift) {
			if l.cause != "" && (row.State != regdrift.StateUnresolved ||
				row.Action != regdrift.ActionNone) {
				t.Errorf("%s %s, want unresolved and left alone", row.State, row.Action)
			}
		})
		if res := results[lieOther]; res == nil || res.Status != regdrift.RepoInSync ||
			headDigest(t, e.sReg.URL, lieOther, "v2") == "" {
			t.Errorf("%s: %+v, want its missing tag copied and in sync", lieOther, res)
		}
	})
	if after := secondaryTags(t, e, lieDeep, lieOther); !subset(before, after) {
		t.Errorf("the secondary lost tags: before %v, after %v", before, after)
	}
}

// runBounded runs a deep run of mode and fails the test when it does not end by itself well
// within a deadline: a lie must never hold a run.
func runBounded(t *testing.T, e *env,
	mode regdrift.Mode) (*regdrift.Run, map[string]*regdrift.RepoResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	run := &regdrift.Run{Mode: mode, Deep: true, Trigger: regdrift.TriggerCLI,
		Status: regdrift.RunQueued}
	if err := e.store.CreateRun(ctx, run); err != nil {
		t.Fatalf("create run: %v", err)
	}
	results, err := e.engine.Run(ctx, run, nil)
	if ctx.Err() != nil {
		t.Fatalf("the run was still going at the deadline: %v", ctx.Err())
	}
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	byName := map[string]*regdrift.RepoResult{}
	for _, r := range results {
		byName[r.Name] = r
	}
	return run, byName
}

// checkLies checks the run's status and each lying tag's row of res: an error naming its
// cause, and what check adds; an honest tag has no error.
func checkLies(t *testing.T, run *regdrift.Run, res *regdrift.RepoResult, copied bool,
	check func(*testing.T, lie, regdrift.TagDrift)) {
	t.Helper()
	if run.Status != regdrift.RunDone || run.Outcome != regdrift.OutcomeError ||
		run.Outcome.ExitCode() != 2 || run.Summary.Errors == 0 {
		t.Errorf("run %s/%s with %d errors, want done/error", run.Status, run.Outcome,
			run.Summary.Errors)
	}
	if res == nil {
		t.Fatal("no result for the lying repository")
	}
	if res.Status != regdrift.RepoError {
		t.Errorf("%s: %s, want error", res.Name, res.Status)
	}
	for _, l := range lies {
		t.Run(l.tag, func(t *testing.T) {
			i := slices.IndexFunc(res.Tags, func(d regdrift.TagDrift) bool {
				return d.Tag == l.tag
			})
			if i < 0 {
				t.Fatal("no row")
			}
			row := res.Tags[i]
			t.Logf("%s %s %s: %s", row.State, row.Action, row.Result, row.Error)
			switch {
			case l.cause == "" && row.Error != "":
				t.Errorf("an honest tag has the error %q", row.Error)
			case l.cause != "" && !strings.Contains(row.Error, l.causeOf(copied)):
				t.Errorf("error %q does not name %q", row.Error, l.causeOf(copied))
			case l.causeOf(copied) == l.cause && l.cause != "" &&
				!strings.Contains(row.Error, registry.ErrInvalidContent.Error()):
				// Only the blob a copy streams is refused by regclient itself.
				t.Errorf("error %q does not say the content is invalid", row.Error)
			}
			check(t, l, row)
		})
	}
}

// secondaryTags maps repo:tag to digest for every tag of repos on the secondary, asking the
// registry itself.
func secondaryTags(t *testing.T, e *env, repos ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, repo := range repos {
		pages, err := regtest.RawTagPages(t.Context(), e.sReg.URL, repo)
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range slices.Concat(pages...) {
			out[repo+":"+tag] = headDigest(t, e.sReg.URL, repo, tag)
		}
	}
	return out
}

// subset reports whether every tag of a is in b on the same digest.
func subset(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
