package regtest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

type descJSON struct {
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
	URLs   []string      `json:"urls"`
}

type bodyJSON struct {
	Manifests []descJSON `json:"manifests"`
	Layers    []descJSON `json:"layers"`
}

func parseBody(t *testing.T, raw []byte) bodyJSON {
	t.Helper()
	var b bodyJSON
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// The lies say exactly what they are meant to and nothing else: one descriptor off by the
// delta, every digest still honest.
func TestLies_StateWhatTheyShould(t *testing.T) {
	idx, err := regtest.Build(regtest.Spec{Kind: regtest.OCIIndex, Seed: "lies"})
	if err != nil {
		t.Fatal(err)
	}
	lie, err := regtest.LieChildSize(idx, 7)
	if err != nil {
		t.Fatal(err)
	}
	got := parseBody(t, lie.Raw).Manifests
	for i, ch := range idx.Children {
		want := ch.Desc.Size
		if i == 0 {
			want += 7
		}
		if got[i].Digest != ch.Digest() || got[i].Size != want {
			t.Errorf("child %d: %s %d, want %s %d", i, got[i].Digest, got[i].Size,
				ch.Digest(), want)
		}
	}
	if lie.Digest() != digest.FromBytes(lie.Raw) || lie.Digest() == idx.Digest() {
		t.Errorf("the lie's digest %s is not the hash of its bytes", lie.Digest())
	}

	img := idx.Children[0]
	for name, mk := range map[string]func() (*regtest.Content, error){
		"size": func() (*regtest.Content, error) { return regtest.LieLayerSize(img, -3) },
		"urls": func() (*regtest.Content, error) {
			return regtest.WithLayerURLs(img, "http://elsewhere.example/l")
		},
	} {
		c, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		l := parseBody(t, c.Raw).Layers[0]
		size, urls := img.Layers[0].Desc.Size, 0
		if name == "size" {
			size -= 3
		} else {
			urls = 1
		}
		if l.Digest != img.Layers[0].Desc.Digest || l.Size != size || len(l.URLs) != urls {
			t.Errorf("%s: layer %+v", name, l)
		}
	}
	if _, err := regtest.LieLayerSize(idx, 1); err == nil {
		t.Error("an index has no layer to lie about")
	}

	nested := regtest.Nest(img, "n", 3)
	depth := 0
	for c := nested; len(c.Children) > 0; c = c.Children[0] {
		depth++
	}
	if depth != 3 {
		t.Errorf("nested %d deep, want 3", depth)
	}
}

// PutManifest sends the bytes as given with their media type: Distribution 2.8 takes a child
// size that lies and refuses a child it does not have.
func TestPutManifest_RegistrySays(t *testing.T) {
	ctx := t.Context()
	reg := dist2.New(t)
	idx, err := regtest.Build(regtest.Spec{Kind: regtest.OCIIndex, Seed: "put"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := regtest.PutManifest(ctx, reg.URL, "p/a", "dangling", idx.Desc.MediaType, idx.Raw)
	if err != nil || resp.Status != http.StatusBadRequest {
		t.Errorf("an index without its children: %d %v, want 400", resp.Status, err)
	}
	if err := idx.Push(ctx, regtest.NewClient(reg.Host), reg.Host, "p/a", ""); err != nil {
		t.Fatal(err)
	}
	lie, err := regtest.LieChildSize(idx, 7)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = regtest.PutManifest(ctx, reg.URL, "p/a", "lie", lie.Desc.MediaType, lie.Raw)
	if err != nil || resp.Status != http.StatusCreated || resp.Digest != lie.Digest().String() {
		t.Errorf("a child size that lies: %d %q %v, want 201 %s", resp.Status, resp.Digest, err,
			lie.Digest())
	}
}
