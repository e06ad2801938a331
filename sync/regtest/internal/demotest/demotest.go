// Package demotest checks the demo scenario of package regtest against two live registries,
// for the tests of regtest, dist2 and dist3.
package demotest

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/regclient/regclient"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/regtest"
)

// Check checks every tag of the demo truth by plain HTTP and its deep truth by pulls.
func Check(t *testing.T, rc *regclient.RegClient, primaryURL, secondaryURL string) {
	t.Helper()
	ctx := context.Background()
	truth, deep := regtest.DemoTruth(), regtest.DemoTruthDeep()
	missing, err := regtest.DemoMissing()
	if err != nil {
		t.Fatal(err)
	}
	secondaryHost := strings.TrimPrefix(secondaryURL, "http://")
	var reposP, reposS []string

	for _, repo := range truth.Repos() {
		t.Run(repo, func(t *testing.T) {
			var wantP, wantS []string
			for tag, want := range truth[repo] {
				p, s := Head(t, primaryURL, repo, tag), Head(t, secondaryURL, repo, tag)
				if got := observed(p, s); got != want {
					t.Errorf("%s: got %s (primary %d %s, secondary %d %s), want %s", tag,
						got, p.Status, p.Digest, s.Status, s.Digest, want)
				}
				if p.Status == http.StatusOK {
					wantP = append(wantP, tag)
				}
				if s.Status == http.StatusOK {
					wantS = append(wantS, tag)
				}
				// NOTE: the tags of DemoBig share their blobs, so one pull in ten covers them.
				sampled := repo != regtest.DemoBig || strings.HasSuffix(tag, "0")
				if want != regdrift.StateInSync || !sampled {
					continue
				}
				err := regtest.VerifyPull(ctx, rc, secondaryHost+"/"+repo+":"+tag)
				switch deep[repo][tag] {
				case regdrift.StateBroken:
					for _, m := range missing[repo][tag] {
						if err == nil || !strings.Contains(err.Error(), m) {
							t.Errorf("%s deep: got %v, want an error naming %s", tag, err, m)
						}
					}
				default:
					if err != nil {
						t.Errorf("%s deep: %v", tag, err)
					}
				}
			}
			// Neither side lists a tag the truth does not know.
			checkTags(t, primaryURL, repo, wantP)
			checkTags(t, secondaryURL, repo, wantS)
			if len(wantP) > 0 {
				reposP = append(reposP, repo)
			}
			if len(wantS) > 0 {
				reposS = append(reposS, repo)
			}
		})
	}
	t.Run("catalog", func(t *testing.T) {
		checkCatalog(t, primaryURL, reposP)
		checkCatalog(t, secondaryURL, reposS)
	})
}

// checkCatalog checks that the registry at baseURL lists exactly want, in any order.
func checkCatalog(t *testing.T, baseURL string, want []string) {
	t.Helper()
	pages, err := regtest.RawCatalogPages(context.Background(), baseURL)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(slices.Concat(pages...)))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("catalog of %s: got %q, want %q", baseURL, got, want)
	}
}

// observed derives a tag's state from the answers of both sides.
func observed(p, s regtest.RawResponse) regdrift.State {
	switch {
	case p.Status == http.StatusOK && s.Status == http.StatusOK && p.Digest == s.Digest:
		return regdrift.StateInSync
	case p.Status == http.StatusOK && s.Status == http.StatusOK:
		return regdrift.StateStale
	case p.Status == http.StatusOK && s.Status == http.StatusNotFound:
		return regdrift.StateOnlyOnPrimary
	case p.Status == http.StatusNotFound && s.Status == http.StatusOK:
		return regdrift.StateOnlyOnSecondary
	}
	return regdrift.StateUnresolved
}

func checkTags(t *testing.T, baseURL, repo string, want []string) {
	t.Helper()
	pages, err := regtest.RawTagPages(context.Background(), baseURL, repo)
	if err != nil && len(want) > 0 {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(slices.Concat(pages...)))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s tags on %s: got %q, want %q", repo, baseURL, got, want)
	}
}

// Head asks baseURL for repo:ref with every manifest type accepted.
func Head(t *testing.T, baseURL, repo, ref string) regtest.RawResponse {
	t.Helper()
	return raw(t, http.MethodHead, baseURL, repo, ref)
}

// Get fetches repo:ref from baseURL with every manifest type accepted; it must exist.
func Get(t *testing.T, baseURL, repo, ref string) regtest.RawResponse {
	t.Helper()
	resp := raw(t, http.MethodGet, baseURL, repo, ref)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET %s %s:%s: status %d", baseURL, repo, ref, resp.Status)
	}
	return resp
}

func raw(t *testing.T, method, baseURL, repo, ref string) regtest.RawResponse {
	t.Helper()
	resp, err := regtest.RawManifest(context.Background(), method, baseURL, repo, ref,
		regtest.ManifestTypes...)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
