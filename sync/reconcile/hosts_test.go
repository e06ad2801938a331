package reconcile_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/reconcile"
	"github.com/regdrift/regdrift/sync/registry"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

// TestEngine_ContactsConfiguredHostsOnly gives the engine every chance to reach a host that is
// not configured, and checks that it never does: a run asked for a repository named after that
// host, and a layer whose descriptor lists a URL there (which regclient fetches when the
// registry lacks the layer) on both registries, missing from both. The decoy only counts: it
// stands for any host a manifest or a request may name.
func TestEngine_ContactsConfiguredHostsOnly(t *testing.T) {
	var hits atomic.Int64
	decoy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.NotFound(w, nil)
	}))
	defer decoy.Close()
	img, err := regtest.Build(regtest.Spec{Kind: regtest.OCIImage, Seed: "foreign"})
	if err != nil {
		t.Fatal(err)
	}
	ext, err := regtest.WithLayerURLs(img, decoy.URL+"/layer.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	const repo = "h/app"
	e := newEnvOpts(t, func(pHost, sHost string) error {
		ctx := t.Context()
		rc := regtest.NewClient(pHost, sHost)
		for _, p := range []struct{ host, tag string }{{pHost, "ext"}, {sHost, "ext"},
			{pHost, "ext-new"}} {
			if err := ext.Push(ctx, rc, p.host, repo, p.tag); err != nil {
				return err
			}
		}
		for _, host := range []string{pHost, sHost} {
			err := regtest.DeleteBlob(ctx, rc, host, repo, img.Layers[0].Desc.Digest)
			if err != nil {
				return err
			}
		}
		return nil
	}, reconcile.Config{}, registry.Options{RetryLimit: 2, RetryDelay: 10 * time.Millisecond,
		RetryMax: 50 * time.Millisecond}, dist2.WithLayerURLs("^http://"))

	t.Run("a repository named after the host", func(t *testing.T) {
		name := strings.TrimPrefix(decoy.URL, "http://") + "/x"
		_, results := e.run(t, regdrift.ModeDryRun, false, name)
		if res := results[name]; res == nil || res.Status != regdrift.RepoError ||
			!strings.Contains(res.Error, "invalid repository name") {
			t.Errorf("%s: %+v, want an invalid name", name, res)
		}
	})
	t.Run("a layer URL in a manifest", func(t *testing.T) {
		run, results := e.run(t, regdrift.ModeExecute, true)
		res := results[repo]
		if res == nil || run.Outcome != regdrift.OutcomeError {
			t.Fatalf("run %s, result %+v", run.Outcome, res)
		}
		want := map[string]regdrift.State{"ext": regdrift.StateBroken,
			"ext-new": regdrift.StateOnlyOnPrimary}
		for _, tag := range res.Tags {
			if tag.State != want[tag.Tag] || tag.Result != regdrift.ResultFailed ||
				!strings.Contains(tag.Error, "the primary lacks blob") {
				t.Errorf("%s: %s %s %q, want %s and a failed copy", tag.Tag, tag.State,
					tag.Result, tag.Error, want[tag.Tag])
			}
		}
	})
	if n := hits.Load(); n != 0 {
		t.Errorf("the decoy host was contacted %d times", n)
	}
}
