package regtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient"
	"github.com/regclient/regclient/types/mediatype"
)

// Lying content: manifests whose descriptors do not match what they point at. Every digest in
// them is honest (a registry stores each manifest under the hash of its bytes); only the sizes
// they state, or the depth they nest to, are wrong. A registry that serves other bytes than a
// digest names is made with a Proxy (ServeAs).

// Wrap makes an OCI index with c as its only child, so that n calls nest c n levels deep.
// The seed goes into an annotation, so that wraps of one child can differ.
func Wrap(c *Content, seed string) *Content {
	idx := jsonIndex{
		SchemaVersion: 2, MediaType: mediatype.OCI1ManifestList,
		Manifests:   []jsonDesc{jsonDescOf(c.Desc)},
		Annotations: map[string]string{"org.regdrift.regtest.seed": seed},
	}
	raw := mustJSON(idx)
	return &Content{Desc: describe(mediatype.OCI1ManifestList, raw), Raw: raw,
		Children: []*Content{c}}
}

// Nest wraps c in depth indexes: the top index is depth levels above c.
func Nest(c *Content, seed string, depth int) *Content {
	for i := range depth {
		c = Wrap(c, fmt.Sprintf("%s/%d", seed, i))
	}
	return c
}

// LieChildSize returns a copy of the index or list c whose first child descriptor states a
// size delta bytes off the child's real size. The children are c's, unchanged.
func LieChildSize(c *Content, delta int64) (*Content, error) {
	if len(c.Children) == 0 {
		return nil, fmt.Errorf("lie about %s: not an index", c.Desc.Digest)
	}
	idx := jsonIndex{SchemaVersion: 2, MediaType: c.Desc.MediaType}
	for i, ch := range c.Children {
		d := jsonDesc{MediaType: ch.Desc.MediaType, Digest: ch.Desc.Digest, Size: ch.Desc.Size,
			Platform: ch.Desc.Platform}
		if i == 0 {
			d.Size += delta
		}
		idx.Manifests = append(idx.Manifests, d)
	}
	raw := mustJSON(idx)
	out := *c
	out.Raw, out.Desc = raw, describe(c.Desc.MediaType, raw)
	return &out, nil
}

// LieLayerSize returns a copy of the image c whose first layer descriptor states a size delta
// bytes off the layer's real size. The blobs are c's, unchanged.
func LieLayerSize(c *Content, delta int64) (*Content, error) {
	return editLayer(c, func(d *jsonDesc) { d.Size += delta })
}

// WithLayerURLs returns a copy of the image c whose first layer descriptor lists urls, where
// a client may fetch the layer when the registry does not have it (a "foreign" layer).
// Distribution stores such a manifest without the layer.
func WithLayerURLs(c *Content, urls ...string) (*Content, error) {
	return editLayer(c, func(d *jsonDesc) { d.URLs = urls })
}

// editLayer returns a copy of the image c with edit applied to its first layer descriptor.
func editLayer(c *Content, edit func(*jsonDesc)) (*Content, error) {
	if c.Config == nil || len(c.Layers) == 0 {
		return nil, fmt.Errorf("edit a layer of %s: not an image", c.Desc.Digest)
	}
	m := jsonManifest{SchemaVersion: 2, MediaType: c.Desc.MediaType,
		Config: jsonDescOf(c.Config.Desc)}
	for i, l := range c.Layers {
		d := jsonDescOf(l.Desc)
		if i == 0 {
			edit(&d)
		}
		m.Layers = append(m.Layers, d)
	}
	raw := mustJSON(m)
	out := *c
	out.Raw, out.Desc = raw, describe(c.Desc.MediaType, raw)
	out.Desc.Platform = c.Desc.Platform
	return &out, nil
}

// PutManifest PUTs body as /v2/<repo>/manifests/<reference> to the registry at baseURL with
// mediaType as its Content-Type, with net/http alone: what the registry accepts is what it
// says, with no client checking the body first.
func PutManifest(ctx context.Context, baseURL, repo, reference, mediaType string,
	body []byte) (RawResponse, error) {
	u := baseURL + "/v2/" + repo + "/manifests/" + reference
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		return RawResponse{}, fmt.Errorf("raw PUT %s: %w", u, err)
	}
	req.Header.Set("Content-Type", mediaType)
	return rawDo(req)
}

// ServeAs returns a Modify that answers every GET of the manifest or blob dig in repo with
// body instead: a registry whose content does not match the digest it is asked for. The
// Docker-Content-Digest header still names dig, as a lying registry would.
func ServeAs(repo string, dig digest.Digest, body []byte) Modify {
	var out []Modify
	for _, kind := range []string{"manifests", "blobs"} {
		m := Match{Method: http.MethodGet, Kind: PathManifest,
			Path: "/v2/" + repo + "/" + kind + "/" + dig.String()}
		if kind == "blobs" {
			m.Kind = PathBlob
		}
		out = append(out, ReplaceBody(m, func([]byte) []byte { return body }))
	}
	return Chain(out...)
}

// Chain returns a Modify that applies each of ms in turn.
func Chain(ms ...Modify) Modify {
	return func(r *http.Response) error {
		for _, m := range ms {
			if m == nil {
				continue
			}
			if err := m(r); err != nil {
				return err
			}
		}
		return nil
	}
}

// LieSet is a repository's worth of lying tags, each under its name:
//
//   - honest, nested-8: content with nothing wrong, nested-8 an image MaxDepth (8) indexes
//     deep as a reader counts;
//   - nested-9: the same one level deeper;
//   - child-size: an index whose first child descriptor states 7 bytes too many;
//   - layer-size: an image whose layer descriptor states 7 bytes too many;
//   - self: an index whose child, an index, the proxy serves as the top index itself;
//   - cycle: index b contains index a, which the proxy serves as b;
//   - child-digest: an index whose first child the proxy serves as its second;
//   - blob-digest: an image whose layer the proxy serves with one byte changed, and, for a
//     deep check, whose layer's HEAD names another digest.
//
// The first five are stored as they are: Distribution 2.8 and 3.1 check that an index's
// children and an image's blobs exist in the repository, not their sizes, and bound no
// nesting. The others cannot be stored, a digest being the hash of the bytes, so Faults
// makes a proxy serve them.
type LieSet struct {
	// Honest is pushed under its tag; Lying holds the honest content, pushed by digest, and
	// the lie PUT under the tag.
	Honest map[string]*Content
	Lying  map[string][2]*Content
	served []served
	blob   Blob
}

type served struct {
	digest digest.Digest
	body   []byte
}

// nestOK is the depth of the image in nested-8, counted from the top index at 0.
const nestOK = 8

// BuildLies makes a LieSet from seed.
func BuildLies(seed string) (*LieSet, error) {
	ls := &LieSet{Honest: map[string]*Content{}, Lying: map[string][2]*Content{}}
	var err error
	build := func(k Kind, s string) *Content {
		c, berr := Build(Spec{Kind: k, Seed: seed + "/" + s})
		err = errors.Join(err, berr)
		return c
	}
	ls.Honest["honest"] = build(OCIIndex, "honest")
	ls.Honest["nested-8"] = Nest(build(OCIImage, "n8"), "n8", nestOK)
	ls.Honest["nested-9"] = Nest(build(OCIImage, "n9"), "n9", nestOK+1)
	cs, ly := build(OCIIndex, "cs"), build(OCIImage, "ls")
	if err != nil {
		return nil, err
	}
	csLie, err1 := LieChildSize(cs, 7)
	lyLie, err2 := LieLayerSize(ly, 7)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	ls.Lying["child-size"] = [2]*Content{cs, csLie}
	ls.Lying["layer-size"] = [2]*Content{ly, lyLie}

	inner := Wrap(build(OCIImage, "self"), "self")
	self := Wrap(inner, "self")
	ls.Honest["self"] = self
	a := build(OCIIndex, "cycle")
	b := Wrap(a, "cycle")
	ls.Honest["cycle"] = b
	cd := build(OCIIndex, "cd")
	ls.Honest["child-digest"] = cd
	bd := build(OCIImage, "bd")
	ls.Honest["blob-digest"] = bd
	ls.blob = bd.Layers[0]
	ls.served = []served{{inner.Digest(), self.Raw}, {a.Digest(), b.Raw},
		{cd.Children[0].Digest(), cd.Children[1].Raw}}
	if err != nil {
		return nil, err
	}
	return ls, nil
}

// Push puts every tag of ls into repo on the registry at host, the lies with raw PUTs.
func (ls *LieSet) Push(ctx context.Context, rc *regclient.RegClient, host, repo string) error {
	for tag, c := range ls.Honest {
		if err := c.Push(ctx, rc, host, repo, tag); err != nil {
			return err
		}
	}
	for tag, pair := range ls.Lying {
		if err := pair[0].Push(ctx, rc, host, repo, ""); err != nil {
			return err
		}
		l := pair[1]
		resp, err := PutManifest(ctx, "http://"+host, repo, tag, l.Desc.MediaType, l.Raw)
		if err != nil {
			return err
		}
		if resp.Status != http.StatusCreated {
			return fmt.Errorf("PUT %s:%s: status %d: %s", repo, tag, resp.Status, resp.Body)
		}
	}
	return nil
}

// Faults returns what a proxy in front of repo must change to complete the lies; with head,
// the layer's HEAD of blob-digest names another digest too.
func (ls *LieSet) Faults(repo string, head bool) Modify {
	var ms []Modify
	for _, s := range ls.served {
		ms = append(ms, ServeAs(repo, s.digest, s.body))
	}
	other := bytes.Clone(ls.blob.Data)
	other[len(other)-1] ^= 0xff
	ms = append(ms, ServeAs(repo, ls.blob.Desc.Digest, other))
	if head {
		ms = append(ms, SetHeader(Match{Method: http.MethodHead, Kind: PathBlob,
			Path: "/v2/" + repo + "/blobs/" + ls.blob.Desc.Digest.String()},
			"Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64)))
	}
	return Chain(ms...)
}
