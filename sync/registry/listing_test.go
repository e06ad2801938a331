package registry_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift/sync/registry"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

// rewriter is a reverse proxy in front of a real registry that lets a test change answers.
func rewriter(t *testing.T, target string, modify func(*http.Response) error) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = modify
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

func replaceBody(r *http.Response, body string) {
	r.Body = io.NopCloser(strings.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

func pair(t *testing.T, primaryURL, secondaryURL string) *registry.Pair {
	t.Helper()
	p, err := registry.NewPair(registry.Config{URL: primaryURL},
		registry.Config{URL: secondaryURL}, registry.Options{RetryLimit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTags_EmptyForms(t *testing.T) {
	reg := dist2.New(t)
	rc := regtest.NewClient(reg.Host)
	for _, repo := range []string{"a/null", "a/empty", "a/nokey"} {
		if _, err := regtest.Push(t.Context(), rc, reg.Host, repo, "v1",
			regtest.Spec{Kind: regtest.OCIImage, Seed: repo}); err != nil {
			t.Fatal(err)
		}
	}
	bodies := map[string]string{
		"/v2/a/null/tags/list":  `{"name":"a/null","tags":null}`,
		"/v2/a/empty/tags/list": `{"name":"a/empty","tags":[]}`,
		"/v2/a/nokey/tags/list": `{"name":"a/nokey"}`,
	}
	front := rewriter(t, reg.URL, func(r *http.Response) error {
		if b, ok := bodies[r.Request.URL.Path]; ok {
			replaceBody(r, b)
		}
		return nil
	})
	p := pair(t, front, "http://127.0.0.1:1")
	for _, repo := range []string{"a/null", "a/empty", "a/nokey", "never/pushed"} {
		tags, found, err := p.Primary.Tags(t.Context(), repo)
		if err != nil || len(tags) != 0 || found != (repo != "never/pushed") {
			t.Errorf("%s: tags %v found %v err %v, want none, found unless never pushed",
				repo, tags, found, err)
		}
	}
}

func TestTags_Other404IsAnError(t *testing.T) {
	reg := dist2.New(t)
	front := rewriter(t, reg.URL, func(r *http.Response) error {
		if strings.HasSuffix(r.Request.URL.Path, "/tags/list") {
			r.StatusCode = http.StatusNotFound
			replaceBody(r, `<html>not here</html>`)
		}
		return nil
	})
	p := pair(t, front, "http://127.0.0.1:1")
	if _, _, err := p.Primary.Tags(t.Context(), "some/repo"); err == nil {
		t.Error("a 404 without NAME_UNKNOWN read as an empty repository")
	}
}

func TestResolve_FallsBackToGetWithoutDigestHeader(t *testing.T) {
	reg := dist2.New(t)
	rc := regtest.NewClient(reg.Host)
	c, err := regtest.Push(t.Context(), rc, reg.Host, "geo/app", "v1",
		regtest.Spec{Kind: regtest.OCIIndex, Seed: "x", Platforms: 2})
	if err != nil {
		t.Fatal(err)
	}
	var gets int
	front := rewriter(t, reg.URL, func(r *http.Response) error {
		r.Header.Del("Docker-Content-Digest")
		if r.Request.Method == http.MethodGet {
			gets++
		}
		return nil
	})
	p := pair(t, front, "http://127.0.0.1:1")
	m, err := p.Primary.Resolve(t.Context(), "geo/app", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if m.Digest != c.Digest().String() || m.MediaType != c.Desc.MediaType || gets != 1 {
		t.Errorf("got %+v after %d GETs, want %s %s after 1", m, gets, c.Digest(),
			c.Desc.MediaType)
	}
}

func TestRepositories_FollowsEveryCatalogPage(t *testing.T) {
	reg := dist2.New(t)
	rc := regtest.NewClient(reg.Host)
	const n = 230 // Distribution 2.8 pages its catalog at 100
	want := map[string]bool{}
	for i := range n {
		repo := fmt.Sprintf("many/r%03d", i)
		want[repo] = true
		if _, err := regtest.Push(t.Context(), rc, reg.Host, repo, "v1",
			regtest.Spec{Kind: regtest.OCIImage, Seed: "same"}); err != nil {
			t.Fatal(err)
		}
	}
	var pages int
	front := rewriter(t, reg.URL, func(r *http.Response) error {
		if r.Request.URL.Path == "/v2/_catalog" {
			pages++
		}
		return nil
	})
	p := pair(t, front, "http://127.0.0.1:1")
	got, err := p.Primary.Repositories(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || pages != 3 {
		t.Errorf("%d repositories in %d pages, want %d in 3", len(got), pages, n)
	}
	for _, r := range got {
		if !want[r] {
			t.Errorf("unexpected repository %q", r)
		}
	}
}

func TestTags_ErrorsIn200AreErrors(t *testing.T) {
	reg := dist2.New(t)
	front := rewriter(t, reg.URL, func(r *http.Response) error {
		if strings.HasSuffix(r.Request.URL.Path, "/tags/list") {
			r.StatusCode = http.StatusOK
			replaceBody(r, `{"errors":[{"code":"DENIED","message":"quota"}]}`)
		}
		return nil
	})
	p := pair(t, front, "http://127.0.0.1:1")
	if _, _, err := p.Primary.Tags(t.Context(), "some/repo"); err == nil ||
		!strings.Contains(err.Error(), "DENIED") {
		t.Errorf("err = %v, want the registry's errors", err)
	}
}

func TestTags_EndlessPagesTimeOut(t *testing.T) {
	reg := dist2.New(t)
	rc := regtest.NewClient(reg.Host)
	if _, err := regtest.Push(t.Context(), rc, reg.Host, "loop/repo", "v1",
		regtest.Spec{Kind: regtest.OCIImage, Seed: "loop"}); err != nil {
		t.Fatal(err)
	}
	// Every page announces another: the same page again.
	front := rewriter(t, reg.URL, func(r *http.Response) error {
		if strings.HasSuffix(r.Request.URL.Path, "/tags/list") {
			r.Header.Set("Link", `</v2/loop/repo/tags/list?last=v1>; rel="next"`)
		}
		return nil
	})
	p, err := registry.NewPair(registry.Config{URL: front},
		registry.Config{URL: "http://127.0.0.1:1"}, registry.Options{
			ListTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Primary.Tags(t.Context(), "loop/repo"); err == nil {
		t.Error("an endless listing returned without an error")
	}
}

func TestResolve_SilentRegistryTimesOut(t *testing.T) {
	reg := dist2.New(t)
	proxy, err := regtest.NewProxy(reg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.SetFault(func(r *http.Request) (int, bool) {
		<-r.Context().Done() // never answers
		return http.StatusGatewayTimeout, true
	})
	p, err := registry.NewPair(registry.Config{URL: proxy.URL},
		registry.Config{URL: "http://127.0.0.1:1"}, registry.Options{
			RequestTimeout: 200 * time.Millisecond, RetryLimit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Primary.Resolve(t.Context(), "a/b", "v1"); err == nil {
		t.Error("a registry that never answers resolved")
	}
}

func TestDeleteTag(t *testing.T) {
	primary, secondary := dist2.New(t), dist2.New(t)
	rc := regtest.NewClient(secondary.Host)
	spec := regtest.Spec{Kind: regtest.OCIImage, Seed: "orphan"}
	c, err := regtest.Push(t.Context(), rc, secondary.Host, "a/b", "orphan", spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := regtest.Push(t.Context(), rc, secondary.Host, "a/b", "keep", spec); err != nil {
		t.Fatal(err)
	}
	digest := func(tag string) string {
		t.Helper()
		resp, err := regtest.RawManifest(t.Context(), http.MethodHead, secondary.URL, "a/b", tag,
			regtest.ManifestTypes...)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Digest
	}
	want := c.Digest().String()

	t.Run("refused by the registry: the tag is put back", func(t *testing.T) {
		proxy, err := regtest.NewProxy(secondary.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer proxy.Close()
		// Stock Distribution without storage.delete.enabled answers 405 to every DELETE.
		proxy.SetFault(regtest.FailOn(http.MethodDelete, regtest.PathManifest,
			http.StatusMethodNotAllowed))
		p := pair(t, primary.URL, proxy.URL)
		err = p.Secondary.DeleteTag(t.Context(), "a/b", "orphan", want)
		if err == nil || !strings.Contains(err.Error(), "put back") {
			t.Fatalf("err = %v, want a failure that says the tag was put back", err)
		}
		if got := digest("orphan"); got != want {
			t.Errorf("orphan now on %s, want %s", got, want)
		}
	})
	t.Run("moved since the check: kept", func(t *testing.T) {
		p := pair(t, primary.URL, secondary.URL)
		err := p.Secondary.DeleteTag(t.Context(), "a/b", "orphan", "sha256:"+strings.Repeat("0", 64))
		if err == nil || !strings.Contains(err.Error(), "moved") {
			t.Fatalf("err = %v, want a refusal naming the move", err)
		}
		if got := digest("orphan"); got != want {
			t.Errorf("orphan now on %s, want it kept on %s", got, want)
		}
	})
	t.Run("deleted, the other tag on the digest stays", func(t *testing.T) {
		p := pair(t, primary.URL, secondary.URL)
		if err := p.Secondary.DeleteTag(t.Context(), "a/b", "orphan", want); err != nil {
			t.Fatal(err)
		}
		if got := digest("orphan"); got != "" {
			t.Errorf("orphan still on %s", got)
		}
		if got := digest("keep"); got != want {
			t.Errorf("keep on %q, want %s", got, want)
		}
	})
}
