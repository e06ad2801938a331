package dist3_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/regclient/regclient/types/mediatype"
	"github.com/regclient/regclient/types/ref"

	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist3"
	"github.com/regdrift/regdrift/sync/regtest/internal/demotest"
)

// TestProxy_PageTags shows a v3 registry paging a long tag list when the proxy asks for pages.
func TestProxy_PageTags(t *testing.T) {
	reg := dist3.New(t)
	ctx := context.Background()
	rc := regtest.NewClient(reg.Host)
	const repo, total, page = "pages/app", 120, 50
	var want []string
	for i := range total {
		tag := fmt.Sprintf("t%03d", i)
		want = append(want, tag)
		if _, err := regtest.Push(ctx, rc, reg.Host, repo, tag, regtest.Spec{
			Kind: regtest.OCIImage, Seed: repo,
			Annotations: map[string]string{"org.opencontainers.image.version": tag},
		}); err != nil {
			t.Fatal(err)
		}
	}
	proxy, err := regtest.NewProxy(reg.URL, regtest.PageTags(page))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := proxy.Close(); err != nil {
			t.Error(err)
		}
	})

	t.Run("direct is one page", func(t *testing.T) {
		pages, err := regtest.RawTagPages(ctx, reg.URL, repo)
		if err != nil {
			t.Fatal(err)
		}
		if len(pages) != 1 || !slices.Equal(pages[0], want) {
			t.Errorf("got %d pages, want 1 page of all %d tags", len(pages), total)
		}
	})

	t.Run("through the proxy pages with Link", func(t *testing.T) {
		proxy.ResetCounts()
		pages, err := regtest.RawTagPages(ctx, proxy.URL, repo)
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int
		for _, p := range pages {
			sizes = append(sizes, len(p))
		}
		if wantSizes := []int{page, page, total - 2*page}; !slices.Equal(sizes, wantSizes) {
			t.Errorf("page sizes: got %v, want %v", sizes, wantSizes)
		}
		if got := slices.Concat(pages...); !slices.Equal(got, want) {
			t.Errorf("tags: got %d, want %d in order", len(got), total)
		}
		if got := proxy.Count(http.MethodGet, regtest.PathTags); got != len(pages) {
			t.Errorf("tag requests: got %d, want %d", got, len(pages))
		}
	})

	t.Run("regclient follows the pages", func(t *testing.T) {
		proxy.ResetCounts()
		r, err := ref.New(proxy.Host + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		list, err := regtest.NewClient(proxy.Host).TagList(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		tags, err := list.GetTags()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tags, want) {
			t.Errorf("tags: got %d, want %d in order", len(tags), total)
		}
		if got := proxy.Count(http.MethodGet, regtest.PathTags); got != 3 {
			t.Errorf("tag requests: got %d, want 3", got)
		}
	})
}

// TestRegistry_NarrowAccept shows that v3, unlike 2.8, answers an OCI index to a request
// whose Accept lacks the index type.
func TestRegistry_NarrowAccept(t *testing.T) {
	reg := dist3.New(t)
	ctx := context.Background()
	index, err := regtest.Push(ctx, regtest.NewClient(reg.Host), reg.Host, "fault/index", "v1",
		regtest.Spec{Kind: regtest.OCIIndex, Seed: "fault"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := regtest.RawManifest(ctx, http.MethodHead, reg.URL, "fault/index", "v1",
		mediatype.Docker2Manifest, mediatype.OCI1Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != http.StatusOK || got.Digest != index.Digest().String() {
		t.Errorf("got %d %s, want 200 %s", got.Status, got.Digest, index.Digest())
	}
	if !strings.HasPrefix(got.MediaType, mediatype.OCI1ManifestList) {
		t.Errorf("Content-Type: got %q, want %q", got.MediaType, mediatype.OCI1ManifestList)
	}
}

// TestDemo runs the demo on two v3 registries, as `make demo` may.
func TestDemo(t *testing.T) {
	primary, secondary := dist3.New(t), dist3.New(t)
	ctx := context.Background()
	if _, err := regtest.Demo(ctx, primary.Host, secondary.Host); err != nil {
		t.Fatal(err)
	}
	demotest.Check(t, regtest.NewClient(primary.Host, secondary.Host), primary.URL,
		secondary.URL)
}
