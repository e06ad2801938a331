package regtest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		path string
		want regtest.PathKind
	}{
		{"/v2/", regtest.PathOther},
		{"/v2/_catalog", regtest.PathCatalog},
		{"/v2/geo/app/tags/list", regtest.PathTags},
		{"/v2/geo/app/manifests/latest", regtest.PathManifest},
		{"/v2/geo/app/manifests/sha256:0123", regtest.PathManifest},
		{"/v2/geo/app/blobs/sha256:0123", regtest.PathBlob},
		{"/v2/geo/app/blobs/uploads/", regtest.PathBlob},
		{"/v2/geo/app/blobs/uploads/5b1a", regtest.PathBlob},
		{"/healthz", regtest.PathOther},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := regtest.KindOf(tt.path); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestProxy(t *testing.T) {
	reg := dist2.New(t)
	proxy := newProxy(t, reg.URL)
	ctx := context.Background()
	rc := regtest.NewClient(proxy.Host)

	// A push through the proxy sends every request through it, uploads included.
	c, err := regtest.Push(ctx, rc, proxy.Host, "proxy/app", "v1",
		regtest.Spec{Kind: regtest.OCIImage, Seed: "proxy"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("counts", func(t *testing.T) {
		blobs := len(c.BlobDigests())
		want := map[regtest.Hit]int{
			{Method: http.MethodPost, Kind: regtest.PathBlob}:    blobs,
			{Method: http.MethodPut, Kind: regtest.PathBlob}:     blobs,
			{Method: http.MethodPut, Kind: regtest.PathManifest}: 1,
		}
		got := proxy.Counts()
		for hit, n := range want {
			if got[hit] != n {
				t.Errorf("%s %s: got %d, want %d", hit.Method, hit.Kind, got[hit], n)
			}
		}
		if got, want := proxy.Count("", regtest.PathBlob), 2*blobs; got != want {
			t.Errorf("blob requests: got %d, want %d", got, want)
		}
		var size int64
		for _, b := range append([]regtest.Blob{*c.Config}, c.Layers...) {
			size += b.Desc.Size
		}
		if got := proxy.Uploaded(); got != size {
			t.Errorf("uploaded: got %d bytes, want %d (the blobs)", got, size)
		}
		byDigest := proxy.UploadedBlobs()
		for _, b := range append([]regtest.Blob{*c.Config}, c.Layers...) {
			if got := byDigest[b.Desc.Digest.String()]; got != b.Desc.Size {
				t.Errorf("uploaded %s: got %d bytes, want %d", b.Desc.Digest, got, b.Desc.Size)
			}
		}
		if got := len(byDigest); got != blobs {
			t.Errorf("uploads by digest: got %d, want %d", got, blobs)
		}
		if got := proxy.Mounts(); got != 0 {
			t.Errorf("mounts: got %d, want 0 (a push uploads)", got)
		}
		if got := proxy.Connections(); got < 1 || got > 2*blobs+1 {
			t.Errorf("connections: got %d, want 1 to %d requests", got, 2*blobs+1)
		}
		proxy.ResetCounts()
		if got := len(proxy.Counts()); got != 0 {
			t.Errorf("after reset: got %d kinds counted, want 0", got)
		}
		if got := proxy.Uploaded(); got != 0 {
			t.Errorf("after reset: got %d bytes uploaded, want 0", got)
		}
		if got := len(proxy.UploadedBlobs()); got != 0 {
			t.Errorf("after reset: got %d uploads by digest, want 0", got)
		}
		if got := proxy.Connections(); got != 0 {
			t.Errorf("after reset: got %d connections, want 0", got)
		}
	})

	t.Run("mount", func(t *testing.T) {
		proxy.ResetCounts()
		d := c.Layers[0].Desc.Digest.String()
		u := proxy.URL + "/v2/proxy/other/blobs/uploads/?mount=" + d + "&from=proxy/app"
		resp, err := http.Post(u, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("mount: status %d, want 201", resp.StatusCode)
		}
		if got := proxy.Mounts(); got != 1 {
			t.Errorf("mounts: got %d, want 1", got)
		}
		if got := proxy.Uploaded(); got != 0 {
			t.Errorf("a mount uploaded %d bytes, want 0", got)
		}
	})

	t.Run("fault", func(t *testing.T) {
		proxy.SetFault(regtest.FailOn(http.MethodGet, regtest.PathManifest, 500))
		got, err := regtest.RawManifest(ctx, http.MethodGet, proxy.URL, "proxy/app", "v1",
			regtest.ManifestTypes...)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Errors []struct {
				Code string `json:"code"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(got.Body, &body); err != nil {
			t.Fatalf("body %q: %v", got.Body, err)
		}
		if got.Status != 500 || len(body.Errors) != 1 || body.Errors[0].Code != "UNKNOWN" {
			t.Errorf("got %d %s, want 500 with one UNKNOWN error", got.Status, got.Body)
		}

		// Other methods and kinds pass.
		head, err := regtest.RawManifest(ctx, http.MethodHead, proxy.URL, "proxy/app", "v1",
			regtest.ManifestTypes...)
		if err != nil {
			t.Fatal(err)
		}
		if head.Status != http.StatusOK || head.Digest != c.Digest().String() {
			t.Errorf("HEAD: got %d %s, want 200 %s", head.Status, head.Digest, c.Digest())
		}

		proxy.SetFault(nil)
		got, err = regtest.RawManifest(ctx, http.MethodGet, proxy.URL, "proxy/app", "v1",
			regtest.ManifestTypes...)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != http.StatusOK {
			t.Errorf("fault removed: got %d, want 200", got.Status)
		}
		if got, want := proxy.Count(http.MethodGet, regtest.PathManifest), 2; got != want {
			t.Errorf("GET manifest count, faults included: got %d, want %d", got, want)
		}
	})
}

func newProxy(t *testing.T, target string, opts ...regtest.ProxyOption) *regtest.Proxy {
	t.Helper()
	p, err := regtest.NewProxy(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close proxy: %v", err)
		}
	})
	return p
}
