package regtest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

// TestFixture fills two registries with a small fixture and checks its truth against what the
// registries answer to plain HTTP and to a whole pull.
func TestFixture(t *testing.T) {
	spec := regtest.FixtureSpec{Repos: 20, Tags: 9, Drift: 0.5, OneSided: 2, Seed: "test"}
	f, err := regtest.NewFixture(spec)
	if err != nil {
		t.Fatal(err)
	}
	again, err := regtest.NewFixture(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !equalTruth(f.Deep, again.Deep) {
		t.Error("the same spec gave another truth")
	}

	var counts regdrift.Counts
	for _, repo := range f.Deep.Repos() {
		counts.Merge(f.Deep.Counts(repo))
	}
	if counts.Total() != f.Tags() || counts.InSync == 0 || counts.OnlyOnPrimary == 0 ||
		counts.OnlyOnSecondary == 0 || counts.Stale == 0 || counts.Broken == 0 {
		t.Errorf("deep counts %+v of %d tags: want every kind of drift", counts, f.Tags())
	}
	if f.MissingInRegistry <= 0 || f.MissingInRepo < f.MissingInRegistry {
		t.Errorf("missing bytes: %d in the repositories, %d in the registry", f.MissingInRepo,
			f.MissingInRegistry)
	}

	primary, secondary := dist2.New(t), dist2.New(t)
	ctx := context.Background()
	if err := f.Fill(ctx, primary.Host, secondary.Host); err != nil {
		t.Fatal(err)
	}
	rc := regtest.NewClient(secondary.Host)
	for _, repo := range f.Deep.Repos() {
		for tag, want := range f.Deep[repo] {
			p := head(t, primary.URL, repo, tag)
			s := head(t, secondary.URL, repo, tag)
			got := regdrift.StateInSync
			switch {
			case p.Status == http.StatusNotFound:
				got = regdrift.StateOnlyOnSecondary
			case s.Status == http.StatusNotFound:
				got = regdrift.StateOnlyOnPrimary
			case p.Digest != s.Digest:
				got = regdrift.StateStale
			case regtest.VerifyPull(ctx, rc, secondary.Host+"/"+repo+":"+tag) != nil:
				got = regdrift.StateBroken
			}
			if got != want {
				t.Errorf("%s:%s: registries say %s, truth %s", repo, tag, got, want)
			}
		}
	}
}

func head(t *testing.T, url, repo, tag string) regtest.RawResponse {
	t.Helper()
	r, err := regtest.RawManifest(context.Background(), http.MethodHead, url, repo, tag,
		regtest.ManifestTypes...)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusOK && r.Status != http.StatusNotFound {
		t.Fatalf("HEAD %s:%s: status %d", repo, tag, r.Status)
	}
	return r
}
