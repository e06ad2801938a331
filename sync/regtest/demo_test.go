package regtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/regclient/regclient/types/errs"
	"github.com/regclient/regclient/types/mediatype"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
	"github.com/regdrift/regdrift/sync/regtest/internal/demotest"
)

func TestDemoTruth(t *testing.T) {
	truth, deep := regtest.DemoTruth(), regtest.DemoTruthDeep()
	wantRepos := []string{"base/alpine", "big/many", "geo/app", "geo/tiles", "legacy/tool",
		"team/ci"}
	if got := truth.Repos(); !slices.Equal(got, wantRepos) {
		t.Errorf("repos: got %q, want %q", got, wantRepos)
	}
	if got := len(truth[regtest.DemoBig]); got != 120 {
		t.Errorf("%s tags: got %d, want 120", regtest.DemoBig, got)
	}

	// Every state but unresolved occurs, and deep differs only by broken tags.
	var all regdrift.Counts
	for _, r := range truth.Repos() {
		all.Merge(truth.Counts(r))
	}
	want := regdrift.Counts{InSync: 123, OnlyOnPrimary: 4, OnlyOnSecondary: 4, Stale: 5}
	if all != want {
		t.Errorf("counts: got %+v, want %+v", all, want)
	}
	for repo, tags := range deep {
		for tag, s := range tags {
			if s != truth[repo][tag] && (s != regdrift.StateBroken ||
				truth[repo][tag] != regdrift.StateInSync) {
				t.Errorf("%s:%s: deep %s, shallow %s", repo, tag, s, truth[repo][tag])
			}
		}
	}
	missing, err := regtest.DemoMissing()
	if err != nil {
		t.Fatal(err)
	}
	wantBroken := map[string][]string{"geo/tiles": {"1.2"}, "legacy/tool": {"0.8"}}
	for repo, tags := range wantBroken {
		for _, tag := range tags {
			if deep[repo][tag] != regdrift.StateBroken || len(missing[repo][tag]) != 1 {
				t.Errorf("%s:%s: got deep %s with missing %q, want broken with one missing",
					repo, tag, deep[repo][tag], missing[repo][tag])
			}
		}
	}
}

// TestDemo runs the demo on two Distribution 2.8 registries and checks its truth against
// what the registries answer to plain HTTP and to a whole pull.
func TestDemo(t *testing.T) {
	primary, secondary := dist2.New(t), dist2.New(t)
	ctx := context.Background()
	truth, err := regtest.Demo(ctx, primary.Host, secondary.Host)
	if err != nil {
		t.Fatal(err)
	}
	if !equalTruth(truth, regtest.DemoTruth()) {
		t.Error("Demo's truth differs from DemoTruth")
	}
	rc := regtest.NewClient(primary.Host, secondary.Host)
	demotest.Check(t, rc, primary.URL, secondary.URL)

	t.Run("orphan shares the digest of a kept tag", func(t *testing.T) {
		stable := demotest.Head(t, secondary.URL, regtest.DemoBase, "stable")
		orphan := demotest.Head(t, secondary.URL, regtest.DemoBase, "old-stable")
		if stable.Digest == "" || stable.Digest != orphan.Digest {
			t.Errorf("digests: stable %q, old-stable %q, want equal", stable.Digest,
				orphan.Digest)
		}
	})

	t.Run("stale index is dangling on the secondary", func(t *testing.T) {
		for _, tag := range []string{"2.1", "latest"} {
			err := regtest.VerifyPull(ctx, rc, secondary.Host+"/"+regtest.DemoApp+":"+tag)
			if !errors.Is(err, errs.ErrNotFound) ||
				!strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
				t.Errorf("%s: got %v, want MANIFEST_UNKNOWN", tag, err)
			}
			if err := regtest.VerifyPull(ctx, rc,
				primary.Host+"/"+regtest.DemoApp+":"+tag); err != nil {
				t.Errorf("%s on primary: %v", tag, err)
			}
		}
	})

	t.Run("bare children lack mediaType", func(t *testing.T) {
		for _, side := range []struct{ url, tag string }{
			{primary.URL, "1.4"}, {primary.URL, "1.3"}, {secondary.URL, "1.3"},
		} {
			index := demotest.Get(t, side.url, regtest.DemoTiles, side.tag)
			for _, child := range childDigests(t, index.Body) {
				got := demotest.Get(t, side.url, regtest.DemoTiles, child)
				if mt := mediaTypeField(t, got.Body); mt != "" {
					t.Errorf("%s %s: child %s has mediaType %q", side.url, side.tag, child, mt)
				}
				if got.MediaType != mediatype.OCI1Manifest {
					t.Errorf("%s: Content-Type %q, want %q", child, got.MediaType,
						mediatype.OCI1Manifest)
				}
			}
		}
	})

	t.Run("list replaced by its first child", func(t *testing.T) {
		list := demotest.Get(t, primary.URL, regtest.DemoLegacy, "1.0")
		onSecondary := demotest.Head(t, secondary.URL, regtest.DemoLegacy, "1.0")
		if list.MediaType != mediatype.Docker2ManifestList ||
			onSecondary.MediaType != mediatype.Docker2Manifest {
			t.Errorf("media types: got %s and %s", list.MediaType, onSecondary.MediaType)
		}
		if first := childDigests(t, list.Body)[0]; onSecondary.Digest != first {
			t.Errorf("secondary digest: got %s, want the first child %s",
				onSecondary.Digest, first)
		}
	})
}

func childDigests(t *testing.T, index []byte) []string {
	t.Helper()
	var idx struct {
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(index, &idx); err != nil || len(idx.Manifests) == 0 {
		t.Fatalf("index %q: %v", index, err)
	}
	var out []string
	for _, m := range idx.Manifests {
		out = append(out, m.Digest)
	}
	return out
}

func equalTruth(a, b regtest.Truth) bool {
	return maps.EqualFunc(a, b, func(x, y map[string]regdrift.State) bool {
		return maps.Equal(x, y)
	})
}
