package dist2_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/regclient/regclient/types/mediatype"

	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

// TestRegistry_NarrowAccept proves the fault regdrift was built for: Distribution 2.8 hides an
// OCI index, or an OCI manifest, from a request whose Accept does not name its type.
func TestRegistry_NarrowAccept(t *testing.T) {
	reg := dist2.New(t)
	ctx := context.Background()
	rc := regtest.NewClient(reg.Host)
	index, err := regtest.Push(ctx, rc, reg.Host, "fault/index", "v1",
		regtest.Spec{Kind: regtest.OCIIndex, Seed: "fault"})
	if err != nil {
		t.Fatal(err)
	}
	image, err := regtest.Push(ctx, rc, reg.Host, "fault/image", "v1",
		regtest.Spec{Kind: regtest.OCIImage, Seed: "fault"})
	if err != nil {
		t.Fatal(err)
	}

	narrow := []string{mediatype.Docker2Manifest, mediatype.OCI1Manifest}
	tests := []struct {
		name       string
		repo       string
		accept     []string
		wantStatus int
		wantDigest string
	}{
		{"index without index type", "fault/index", narrow, http.StatusNotFound, ""},
		{"index with index type", "fault/index", append(narrow, mediatype.OCI1ManifestList),
			http.StatusOK, index.Digest().String()},
		{"index with every type", "fault/index", regtest.ManifestTypes, http.StatusOK,
			index.Digest().String()},
		{"oci image with docker type only", "fault/image", []string{mediatype.Docker2Manifest},
			http.StatusNotFound, ""},
		{"oci image with its type", "fault/image", narrow, http.StatusOK,
			image.Digest().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := regtest.RawManifest(ctx, http.MethodHead, reg.URL, tt.repo, "v1",
				tt.accept...)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.wantStatus {
				t.Errorf("status: got %d, want %d", got.Status, tt.wantStatus)
			}
			if got.Digest != tt.wantDigest {
				t.Errorf("Docker-Content-Digest: got %q, want %q", got.Digest, tt.wantDigest)
			}
		})
	}

	t.Run("GET names the reason", func(t *testing.T) {
		got, err := regtest.RawManifest(ctx, http.MethodGet, reg.URL, "fault/index", "v1",
			narrow...)
		if err != nil {
			t.Fatal(err)
		}
		code := errorCode(t, got.Body)
		if got.Status != http.StatusNotFound || code != "MANIFEST_UNKNOWN" {
			t.Errorf("got %d %s, want 404 MANIFEST_UNKNOWN", got.Status, code)
		}
	})
}

// TestRegistry_Delete pins the delete behaviour of 2.8 that reconciling must live with.
func TestRegistry_Delete(t *testing.T) {
	reg := dist2.New(t)
	ctx := context.Background()
	rc := regtest.NewClient(reg.Host)
	repo := "del/app"
	index, err := regtest.Push(ctx, rc, reg.Host, repo, "v1",
		regtest.Spec{Kind: regtest.OCIIndex, Seed: "del"})
	if err != nil {
		t.Fatal(err)
	}
	if err := index.Push(ctx, rc, reg.Host, repo, "v1-alias"); err != nil {
		t.Fatal(err)
	}

	t.Run("by tag is refused", func(t *testing.T) {
		got, err := regtest.RawManifest(ctx, http.MethodDelete, reg.URL, repo, "v1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != http.StatusBadRequest {
			t.Errorf("status: got %d, want %d", got.Status, http.StatusBadRequest)
		}
	})

	t.Run("a referenced child goes and leaves the index dangling", func(t *testing.T) {
		child := index.ChildDigests()[0]
		if err := regtest.DeleteManifest(ctx, rc, reg.Host, repo, child); err != nil {
			t.Fatal(err)
		}
		got, err := regtest.RawManifest(ctx, http.MethodHead, reg.URL, repo, "v1",
			regtest.ManifestTypes...)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != http.StatusOK || got.Digest != index.Digest().String() {
			t.Errorf("index: got %d %s, want 200 %s", got.Status, got.Digest, index.Digest())
		}
		if err := regtest.VerifyPull(ctx, rc, reg.Host+"/"+repo+":v1"); err == nil {
			t.Error("pull of the dangling index: got no error")
		}
	})

	t.Run("by digest removes every tag on it", func(t *testing.T) {
		if err := regtest.DeleteManifest(ctx, rc, reg.Host, repo, index.Digest()); err != nil {
			t.Fatal(err)
		}
		pages, err := regtest.RawTagPages(ctx, reg.URL, repo)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Concat(pages...); len(got) != 0 {
			t.Errorf("tags left: got %q, want none", got)
		}
	})
}

// TestRegistry_TagsIgnoreN shows that 2.8 answers every tag in one page whatever n says.
func TestRegistry_TagsIgnoreN(t *testing.T) {
	reg := dist2.New(t)
	ctx := context.Background()
	rc := regtest.NewClient(reg.Host)
	c, err := regtest.Build(regtest.Spec{Kind: regtest.OCIImage, Seed: "pages"})
	if err != nil {
		t.Fatal(err)
	}
	tags := []string{"a", "b", "c", "d", "e"}
	for _, tag := range tags {
		if err := c.Push(ctx, rc, reg.Host, "pages/app", tag); err != nil {
			t.Fatal(err)
		}
	}
	proxy, err := regtest.NewProxy(reg.URL, regtest.PageTags(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := proxy.Close(); err != nil {
			t.Error(err)
		}
	})

	pages, err := regtest.RawTagPages(ctx, proxy.URL, "pages/app")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 {
		t.Fatalf("pages: got %d, want 1", len(pages))
	}
	got := slices.Sorted(slices.Values(pages[0]))
	if !slices.Equal(got, tags) {
		t.Errorf("tags: got %q, want %q", got, tags)
	}
}

// TestWithNotify checks that a push reaches the notification endpoint with its headers.
func TestWithNotify(t *testing.T) {
	type event struct {
		Action string `json:"action"`
		Target struct {
			Digest     string `json:"digest"`
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"target"`
	}
	type delivery struct {
		auth   string
		events []event
	}
	got := make(chan delivery, 100)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct {
			Events []event `json:"events"`
		}
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- delivery{auth: r.Header.Get("Authorization"), events: env.Events}
	}))
	t.Cleanup(sink.Close)

	reg := dist2.New(t, dist2.WithNotify(sink.URL, map[string][]string{
		"Authorization": {"Bearer regtest"},
	}))
	ctx := context.Background()
	c, err := regtest.Push(ctx, regtest.NewClient(reg.Host), reg.Host, "notify/app", "v1",
		regtest.Spec{Kind: regtest.OCIImage, Seed: "notify"})
	if err != nil {
		t.Fatal(err)
	}

	deadline := time.After(10 * time.Second)
	for {
		select {
		case d := <-got:
			if d.auth != "Bearer regtest" {
				t.Errorf("Authorization: got %q, want %q", d.auth, "Bearer regtest")
			}
			for _, e := range d.events {
				if e.Action == "push" && e.Target.Tag == "v1" {
					if e.Target.Digest != c.Digest().String() ||
						e.Target.Repository != "notify/app" {
						t.Errorf("event target: got %+v, want notify/app@%s", e.Target,
							c.Digest())
					}
					return
				}
			}
		case <-deadline:
			t.Fatal("no push event for notify/app:v1 within 10s")
		}
	}
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &e); err != nil || len(e.Errors) == 0 {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Errors[0].Code
}
