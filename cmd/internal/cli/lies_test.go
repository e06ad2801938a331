package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

// TestCLI_LyingManifests runs `check --deep` and `reconcile --execute --deep` over the lying
// tags of regtest.LieSet on real 2.8 registries, behind proxies that serve the lies a
// registry cannot store. Both exit 2 within a deadline; every lying tag carries an error in
// the report, the honest ones none; the secondary keeps every tag it had.
func TestCLI_LyingManifests(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	s := setup{primary: dist2.New(t), secondary: dist2.New(t), db: t.TempDir() + "/r.db"}
	rc := regtest.NewClient(s.primary.Host, s.secondary.Host)
	deep, err := regtest.BuildLies("cli-deep")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := regtest.BuildLies("cli-copy")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		set        *regtest.LieSet
		host, repo string
	}{{deep, s.primary.Host, "lie/deep"}, {deep, s.secondary.Host, "lie/deep"},
		{cp, s.primary.Host, "lie/copy"}} {
		if err := p.set.Push(ctx, rc, p.host, p.repo); err != nil {
			t.Fatal(err)
		}
	}
	primary, err := regtest.NewProxy(s.primary.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	secondary, err := regtest.NewProxy(s.secondary.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer secondary.Close()
	// NOTE: a blob whose bytes lie costs a copy regclient's whole backoff (about 50 s with the
	// defaults) before the tag fails; the engine's test covers it with a short one.
	lies := cp.Faults("lie/copy", false)
	primary.SetModify(func(r *http.Response) error {
		if regtest.KindOf(r.Request.URL.Path) == regtest.PathBlob {
			return nil
		}
		return lies(r)
	})
	secondary.SetModify(deep.Faults("lie/deep", true))
	s.secondary = &dist2.Registry{URL: secondary.URL, Host: secondary.Host}

	for _, cmd := range [][]string{{"check", "--deep"}, {"reconcile", "--execute", "--deep"}} {
		t.Run(strings.Join(cmd, " "), func(t *testing.T) {
			code, out, errOut := runCLI(ctx, s.args(primary.URL,
				append(cmd, "--format", "json")...)...)
			if ctx.Err() != nil {
				t.Fatalf("still running at the deadline: %v", ctx.Err())
			}
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s\n%s", code, out, errOut)
			}
			var rep reportJSON
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			for _, r := range rep.Repositories {
				if r.Name == "lie/copy" && cmd[0] == "check" {
					continue // a dry run only plans its copies
				}
				if r.Status != "error" {
					t.Errorf("%s: %s, want error", r.Name, r.Status)
				}
				for _, tag := range r.Tags {
					honest := tag.Tag == "honest" || tag.Tag == "nested-8" ||
						(r.Name == "lie/copy" && tag.Tag == "blob-digest")
					if honest != (tag.Error == "") {
						t.Errorf("%s:%s %s %s error %q", r.Name, tag.Tag, tag.State,
							tag.Result, tag.Error)
					}
				}
			}
		})
	}
	if n := secondary.Count(http.MethodDelete, regtest.PathManifest); n != 0 {
		t.Errorf("%d manifest DELETEs on the secondary", n)
	}
}
