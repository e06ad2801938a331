package regtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient/types/errs"
	"github.com/regclient/regclient/types/mediatype"

	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

type kindCase struct {
	kind                  regtest.Kind
	mediaType, childType  string
	children, childBodyMT bool
}

var kinds = []kindCase{
	{regtest.OCIImage, mediatype.OCI1Manifest, "", false, false},
	{regtest.DockerImage, mediatype.Docker2Manifest, "", false, false},
	{regtest.OCIIndex, mediatype.OCI1ManifestList, mediatype.OCI1Manifest, true, true},
	{regtest.OCIIndexBare, mediatype.OCI1ManifestList, mediatype.OCI1Manifest, true, false},
	{regtest.DockerList, mediatype.Docker2ManifestList, mediatype.Docker2Manifest, true, true},
}

// pushKinds are the kinds TestPush pushes: every kind Build knows.
var pushKinds = append(slices.Clone(kinds),
	kindCase{kind: regtest.Artifact, mediaType: mediatype.OCI1Manifest})

func TestBuild(t *testing.T) {
	for _, k := range kinds {
		t.Run(string(k.kind), func(t *testing.T) {
			spec := regtest.Spec{Kind: k.kind, Seed: "build", Platforms: 3}
			a := mustBuild(t, spec)
			b := mustBuild(t, spec)
			if !bytes.Equal(a.Raw, b.Raw) || a.Digest() != b.Digest() {
				t.Errorf("same seed: got digests %s and %s, want equal", a.Digest(), b.Digest())
			}
			if got := digest.FromBytes(a.Raw); got != a.Digest() {
				t.Errorf("digest of raw: got %s, want %s", got, a.Digest())
			}
			if a.Desc.MediaType != k.mediaType {
				t.Errorf("media type: got %s, want %s", a.Desc.MediaType, k.mediaType)
			}
			if got := mediaTypeField(t, a.Raw); got != k.mediaType {
				t.Errorf("body mediaType: got %q, want %q", got, k.mediaType)
			}

			other := mustBuild(t, regtest.Spec{Kind: k.kind, Seed: "other", Platforms: 3})
			if other.Digest() == a.Digest() {
				t.Errorf("other seed: got the same digest %s", a.Digest())
			}
			for _, d := range other.BlobDigests() {
				if slices.Contains(a.BlobDigests(), d) {
					t.Errorf("other seed: blob %s shared", d)
				}
			}

			wantChildren, wantBlobs := 0, 2
			if k.children {
				wantChildren, wantBlobs = 3, 6
			}
			if got := len(a.ChildDigests()); got != wantChildren {
				t.Errorf("children: got %d, want %d", got, wantChildren)
			}
			if got := len(a.BlobDigests()); got != wantBlobs {
				t.Errorf("blobs: got %d, want %d", got, wantBlobs)
			}
			for _, ch := range a.Children {
				if ch.Desc.MediaType != k.childType {
					t.Errorf("child media type: got %s, want %s", ch.Desc.MediaType, k.childType)
				}
				want := ""
				if k.childBodyMT {
					want = k.childType
				}
				if got := mediaTypeField(t, ch.Raw); got != want {
					t.Errorf("child body mediaType: got %q, want %q", got, want)
				}
			}
		})
	}

	t.Run("annotations change only the top manifest", func(t *testing.T) {
		plain := mustBuild(t, regtest.Spec{Kind: regtest.OCIImage, Seed: "ann"})
		noted := mustBuild(t, regtest.Spec{Kind: regtest.OCIImage, Seed: "ann",
			Annotations: map[string]string{"k": "v"}})
		if plain.Digest() == noted.Digest() {
			t.Error("got the same digest")
		}
		if !slices.Equal(plain.BlobDigests(), noted.BlobDigests()) {
			t.Errorf("blobs: got %v and %v, want equal", plain.BlobDigests(),
				noted.BlobDigests())
		}
	})

	t.Run("a base is one shared first layer", func(t *testing.T) {
		a := mustBuild(t, regtest.Spec{Kind: regtest.DockerImage, Seed: "a", Base: "debian"})
		b := mustBuild(t, regtest.Spec{Kind: regtest.OCIIndex, Seed: "b", Base: "debian"})
		if len(a.Layers) != 2 || a.Layers[0].Desc.Size <= a.Layers[1].Desc.Size {
			t.Fatalf("got %d layers, want 2 with the base first and larger", len(a.Layers))
		}
		if got, want := b.Children[0].Layers[0].Desc.Digest, a.Layers[0].Desc.Digest; got != want {
			t.Errorf("base layer of amd64 in the index: got %s, want %s", got, want)
		}
		if a.Layers[1].Desc.Digest == b.Children[0].Layers[1].Desc.Digest {
			t.Error("own layers: got the same digest")
		}
	})

	t.Run("artifact", func(t *testing.T) {
		a := mustBuild(t, regtest.Spec{Kind: regtest.Artifact, Seed: "sbom"})
		var body struct {
			ArtifactType string `json:"artifactType"`
			Config       struct {
				MediaType string `json:"mediaType"`
			} `json:"config"`
		}
		if err := json.Unmarshal(a.Raw, &body); err != nil {
			t.Fatal(err)
		}
		if a.Desc.MediaType != mediatype.OCI1Manifest || body.ArtifactType != regtest.ArtifactType ||
			body.Config.MediaType != mediatype.OCI1Empty || len(a.Layers) != 1 {
			t.Errorf("got %s artifactType %q config %q with %d layers", a.Desc.MediaType,
				body.ArtifactType, body.Config.MediaType, len(a.Layers))
		}
	})

	bad := []regtest.Spec{
		{Kind: regtest.DockerImage, Seed: "x", Annotations: map[string]string{"k": "v"}},
		{Kind: regtest.OCIIndex, Seed: "x", Platforms: len(regtest.Platforms) + 1},
		{Kind: "nope", Seed: "x"},
	}
	for _, s := range bad {
		t.Run("refuses "+string(s.Kind), func(t *testing.T) {
			if _, err := regtest.Build(s); err == nil {
				t.Errorf("Build(%+v): got no error", s)
			}
		})
	}
}

func TestPush(t *testing.T) {
	reg := dist2.New(t)
	ctx := context.Background()
	rc := regtest.NewClient(reg.Host)
	for _, k := range pushKinds {
		t.Run(string(k.kind), func(t *testing.T) {
			repo := "push/" + string(k.kind)
			c, err := regtest.Push(ctx, rc, reg.Host, repo, "v1",
				regtest.Spec{Kind: k.kind, Seed: "push"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := regtest.RawManifest(ctx, http.MethodGet, reg.URL, repo, "v1",
				regtest.ManifestTypes...)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != http.StatusOK || got.Digest != c.Digest().String() ||
				got.MediaType != k.mediaType || !bytes.Equal(got.Body, c.Raw) {
				t.Errorf("got %d %s %s, want 200 %s %s with the pushed bytes", got.Status,
					got.Digest, got.MediaType, c.Digest(), k.mediaType)
			}
			for _, ch := range c.Children {
				got, err := regtest.RawManifest(ctx, http.MethodGet, reg.URL, repo,
					ch.Digest().String(), k.childType)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != http.StatusOK || !bytes.Equal(got.Body, ch.Raw) {
					t.Errorf("child %s: got %d, want 200 with the pushed bytes",
						ch.Digest(), got.Status)
				}
			}
			if err := regtest.VerifyPull(ctx, rc, reg.Host+"/"+repo+":v1"); err != nil {
				t.Errorf("VerifyPull: %v", err)
			}
		})
	}
}

func TestVerifyPull(t *testing.T) {
	reg := dist2.New(t)
	ctx := context.Background()
	rc := regtest.NewClient(reg.Host)
	index, err := regtest.Push(ctx, rc, reg.Host, "verify/index", "v1",
		regtest.Spec{Kind: regtest.OCIIndex, Seed: "verify", Platforms: 3})
	if err != nil {
		t.Fatal(err)
	}
	image, err := regtest.Push(ctx, rc, reg.Host, "verify/image", "v1",
		regtest.Spec{Kind: regtest.DockerImage, Seed: "verify"})
	if err != nil {
		t.Fatal(err)
	}
	lastChild := index.Children[2]
	if err := regtest.DeleteManifest(ctx, rc, reg.Host, "verify/index",
		lastChild.Digest()); err != nil {
		t.Fatal(err)
	}
	layer := image.Layers[0].Desc.Digest
	if err := regtest.DeleteBlob(ctx, rc, reg.Host, "verify/image", layer); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, ref string
		wantIn    string
	}{
		{"missing child", reg.Host + "/verify/index:v1", lastChild.Digest().String()},
		{"missing child by digest", reg.Host + "/verify/index@" + index.Digest().String(),
			lastChild.Digest().String()},
		{"missing layer", reg.Host + "/verify/image:v1", layer.String()},
		{"missing tag", reg.Host + "/verify/image:v2", "verify/image:v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := regtest.VerifyPull(ctx, rc, tt.ref)
			if err == nil {
				t.Fatal("got no error")
			}
			if !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("got %v, want errs.ErrNotFound", err)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("got %v, want it to name %s", err, tt.wantIn)
			}
		})
	}
}

func mustBuild(t *testing.T, s regtest.Spec) *regtest.Content {
	t.Helper()
	c, err := regtest.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mediaTypeField returns the mediaType field of a manifest body, or "" when it has none.
func mediaTypeField(t *testing.T, raw []byte) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest body: %v", err)
	}
	v, ok := m["mediaType"]
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		t.Fatalf("mediaType: %v", err)
	}
	return s
}
