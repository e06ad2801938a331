package regtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient"
	"github.com/regclient/regclient/types/descriptor"
	"github.com/regclient/regclient/types/manifest"
	"github.com/regclient/regclient/types/mediatype"
	"github.com/regclient/regclient/types/platform"
	"github.com/regclient/regclient/types/ref"
)

// Kind is the shape of the content a builder makes.
type Kind string

// Kinds of content. An index or a list holds one image per platform.
const (
	// OCIImage is one OCI image manifest.
	OCIImage Kind = "oci-image"
	// DockerImage is one Docker v2 schema 2 manifest.
	DockerImage Kind = "docker-image"
	// OCIIndex is an OCI index of OCI image manifests.
	OCIIndex Kind = "oci-index"
	// OCIIndexBare is an OCI index whose child manifests leave the optional mediaType field out
	// of their bodies, as some build tools write them.
	OCIIndexBare Kind = "oci-index-bare"
	// DockerList is a Docker manifest list of Docker v2 manifests.
	DockerList Kind = "docker-list"
	// Artifact is an OCI artifact (an SBOM, a signature): an OCI manifest with an
	// artifactType, the empty config and one JSON layer.
	Artifact Kind = "artifact"
)

// ArtifactType is the artifactType of an Artifact.
const ArtifactType = "application/vnd.regdrift.regtest.sbom.v1+json"

// Platforms are the platforms of the images in an index, in order; an index with n platforms
// uses the first n.
var Platforms = []platform.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
	{OS: "linux", Architecture: "arm", Variant: "v7"},
	{OS: "linux", Architecture: "ppc64le"},
	{OS: "linux", Architecture: "s390x"},
	{OS: "linux", Architecture: "386"},
}

// Spec says what to build. The same spec always gives the same bytes, so pushing it to two
// registries gives the same digests; another seed gives other digests throughout.
type Spec struct {
	Kind Kind
	Seed string
	// Platforms is the number of images in an index or list: 0 means 2, at most
	// len(Platforms). Single images ignore it.
	Platforms int
	// Annotations go on the top manifest of an OCI kind (Docker manifests have none). Specs
	// that differ only here share every blob and differ in the top manifest's digest.
	Annotations map[string]string
	// Base, when set, gives every image a first layer made from Base alone (and the
	// platform): images of different specs with one Base share that layer, as images built
	// from one base image do. Artifacts ignore it.
	Base string
}

// Content is a manifest with everything it references, ready to push.
type Content struct {
	// Desc describes the manifest: media type, digest and size, and the platform of a child.
	Desc descriptor.Descriptor
	// Raw is the manifest body exactly as pushed.
	Raw []byte
	// Children are the manifests of an index or list, in their order there.
	Children []*Content
	// Config and Layers are the blobs of an image; an index has none.
	Config *Blob
	Layers []Blob
}

// Blob is a config or layer blob.
type Blob struct {
	Desc descriptor.Descriptor
	Data []byte
}

// Digest is the digest of the manifest.
func (c *Content) Digest() digest.Digest { return c.Desc.Digest }

// ChildDigests lists the digests of every manifest below this one, depth first.
func (c *Content) ChildDigests() []digest.Digest {
	var ds []digest.Digest
	for _, ch := range c.Children {
		ds = append(ds, ch.Desc.Digest)
		ds = append(ds, ch.ChildDigests()...)
	}
	return ds
}

// BlobDigests lists the config and layer digests of this manifest and every manifest below
// it, depth first, each once.
func (c *Content) BlobDigests() []digest.Digest {
	var ds []digest.Digest
	seen := map[digest.Digest]bool{}
	c.walkBlobs(func(b Blob) {
		if !seen[b.Desc.Digest] {
			seen[b.Desc.Digest] = true
			ds = append(ds, b.Desc.Digest)
		}
	})
	return ds
}

func (c *Content) walkBlobs(fn func(Blob)) {
	if c.Config != nil {
		fn(*c.Config)
	}
	for _, l := range c.Layers {
		fn(l)
	}
	for _, ch := range c.Children {
		ch.walkBlobs(fn)
	}
}

// Build makes the content s describes without touching a registry.
func Build(s Spec) (*Content, error) {
	n := s.Platforms
	if n == 0 {
		n = 2
	}
	isIndex := s.Kind == OCIIndex || s.Kind == OCIIndexBare || s.Kind == DockerList
	if isIndex && (n < 1 || n > len(Platforms)) {
		return nil, fmt.Errorf("build %s %q: platforms %d not in 1..%d", s.Kind, s.Seed, n,
			len(Platforms))
	}
	if len(s.Annotations) > 0 && (s.Kind == DockerImage || s.Kind == DockerList) {
		return nil, fmt.Errorf("build %s %q: Docker manifests have no annotations", s.Kind,
			s.Seed)
	}
	seed := string(s.Kind) + "\x00" + s.Seed
	img := imageSpec{seed: seed, base: s.Base, withType: true, annotations: s.Annotations}
	switch s.Kind {
	case OCIImage:
		img.mt = ociTypes
		return buildImage(img, Platforms[0]), nil
	case DockerImage:
		img.mt = dockerTypes
		return buildImage(img, Platforms[0]), nil
	case OCIIndex:
		img.mt = ociTypes
		return buildIndex(img, n), nil
	case OCIIndexBare:
		img.mt, img.withType = ociTypes, false
		return buildIndex(img, n), nil
	case DockerList:
		img.mt = dockerTypes
		return buildIndex(img, n), nil
	case Artifact:
		return buildArtifact(seed, s.Annotations), nil
	}
	return nil, fmt.Errorf("build %q: unknown kind %q", s.Seed, s.Kind)
}

// Push builds the content s describes and pushes it to host/repo under tag.
func Push(ctx context.Context, rc *regclient.RegClient, host, repo, tag string,
	s Spec) (*Content, error) {
	c, err := Build(s)
	if err != nil {
		return nil, err
	}
	if err := c.Push(ctx, rc, host, repo, tag); err != nil {
		return nil, err
	}
	return c, nil
}

// Push uploads the blobs, then the child manifests by digest, then the manifest under tag, or
// by digest when tag is empty.
func (c *Content) Push(ctx context.Context, rc *regclient.RegClient, host, repo,
	tag string) error {
	return c.push(ctx, rc, host, repo, tag, nil)
}

// push is Push that skips the blobs already in sent and adds the ones it sends; a nil sent
// sends every blob.
//
// NOTE: Distribution 2.8 spends about a millisecond of CPU on every request, so the demo
// avoids both re-sending and asking about blobs it knows it sent.
func (c *Content) push(ctx context.Context, rc *regclient.RegClient, host, repo, tag string,
	sent map[digest.Digest]bool) error {
	r, err := parseRef(host, repo, tag, "")
	if err != nil {
		return err
	}
	var blobs []Blob
	c.walkBlobs(func(b Blob) { blobs = append(blobs, b) })
	for _, b := range blobs {
		if sent[b.Desc.Digest] {
			continue
		}
		if _, err := rc.BlobPut(ctx, r, b.Desc, bytes.NewReader(b.Data)); err != nil {
			return fmt.Errorf("push blob %s to %s: %w", b.Desc.Digest, r.CommonName(), err)
		}
		if sent != nil {
			sent[b.Desc.Digest] = true
		}
	}
	return c.putManifests(ctx, rc, r, tag)
}

func (c *Content) putManifests(ctx context.Context, rc *regclient.RegClient, r ref.Ref,
	tag string) error {
	for _, ch := range c.Children {
		if err := ch.putManifests(ctx, rc, r, ""); err != nil {
			return err
		}
	}
	m, err := manifest.New(manifest.WithRaw(c.Raw), manifest.WithDesc(descriptor.Descriptor{
		MediaType: c.Desc.MediaType, Digest: c.Desc.Digest, Size: c.Desc.Size,
	}))
	if err != nil {
		return fmt.Errorf("manifest %s: %w", c.Desc.Digest, err)
	}
	target := r.SetDigest(c.Desc.Digest.String())
	if tag != "" {
		target = r.SetTag(tag)
	}
	if err := rc.ManifestPut(ctx, target, m); err != nil {
		return fmt.Errorf("push manifest %s to %s: %w", c.Desc.Digest, target.CommonName(), err)
	}
	return nil
}

// mediaTypes names the types of one image format.
type mediaTypes struct {
	index, manifest, config, layer string
}

var (
	ociTypes = mediaTypes{
		index: mediatype.OCI1ManifestList, manifest: mediatype.OCI1Manifest,
		config: mediatype.OCI1ImageConfig, layer: mediatype.OCI1LayerGzip,
	}
	dockerTypes = mediaTypes{
		index: mediatype.Docker2ManifestList, manifest: mediatype.Docker2Manifest,
		config: mediatype.Docker2ImageConfig, layer: mediatype.Docker2LayerGzip,
	}
)

// jsonDesc is a descriptor as written in a manifest; the field order is fixed so the bytes are.
type jsonDesc struct {
	MediaType string             `json:"mediaType"`
	Digest    digest.Digest      `json:"digest"`
	Size      int64              `json:"size"`
	Platform  *platform.Platform `json:"platform,omitempty"`
	URLs      []string           `json:"urls,omitempty"`
}

type jsonManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        jsonDesc          `json:"config"`
	Layers        []jsonDesc        `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type jsonIndex struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Manifests     []jsonDesc        `json:"manifests"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type jsonConfig struct {
	Created      string            `json:"created"`
	Architecture string            `json:"architecture"`
	Variant      string            `json:"variant,omitempty"`
	OS           string            `json:"os"`
	Config       jsonConfigLabels  `json:"config"`
	RootFS       jsonConfigRootFS  `json:"rootfs"`
	History      []jsonConfigEntry `json:"history"`
}

type jsonConfigLabels struct {
	Labels map[string]string `json:"Labels"`
}

type jsonConfigRootFS struct {
	Type    string          `json:"type"`
	DiffIDs []digest.Digest `json:"diff_ids"`
}

type jsonConfigEntry struct {
	Created   string `json:"created"`
	CreatedBy string `json:"created_by"`
}

// created is the fixed creation time written into every config and layer.
const created = "2026-01-01T00:00:00Z"

var createdTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// layersPerImage is how many layers each image has. One keeps the demo quick; the code that
// reads images must not count on it.
const layersPerImage = 1

// imageSpec is what buildImage and buildIndex need to know.
type imageSpec struct {
	seed, base string
	mt         mediaTypes
	// withType false leaves mediaType out of the image manifests' bodies.
	withType bool
	// annotations go on the top manifest only.
	annotations map[string]string
}

func buildIndex(s imageSpec, n int) *Content {
	idx := jsonIndex{SchemaVersion: 2, MediaType: s.mt.index, Annotations: s.annotations}
	child := s
	child.annotations = nil
	c := &Content{}
	for _, p := range Platforms[:n] {
		ch := buildImage(child, p)
		c.Children = append(c.Children, ch)
		idx.Manifests = append(idx.Manifests, jsonDesc{
			MediaType: ch.Desc.MediaType, Digest: ch.Desc.Digest, Size: ch.Desc.Size,
			Platform: ch.Desc.Platform,
		})
	}
	c.Raw = mustJSON(idx)
	c.Desc = describe(s.mt.index, c.Raw)
	return c
}

// baseLayerSize is the size of the random file in a base layer: bigger than an image's own
// layer, as a base image is, so that sending it twice shows in a byte count.
const baseLayerSize = 16 << 10

// buildImage makes one image for platform p.
func buildImage(s imageSpec, p platform.Platform) *Content {
	seed := s.seed + "\x00" + p.String()
	rng := rand.New(rand.NewChaCha8(sha256.Sum256([]byte(seed))))

	c := &Content{}
	cfg := jsonConfig{
		Created: created, Architecture: p.Architecture, Variant: p.Variant, OS: p.OS,
		Config: jsonConfigLabels{Labels: map[string]string{
			"org.regdrift.regtest.seed": fmt.Sprintf("%x", sha256.Sum256([]byte(seed))),
		}},
		RootFS: jsonConfigRootFS{Type: "layers"},
	}
	addLayer := func(tarball []byte, by string) {
		data := gzipBytes(tarball)
		c.Layers = append(c.Layers, Blob{Desc: describe(s.mt.layer, data), Data: data})
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.FromBytes(tarball))
		cfg.History = append(cfg.History, jsonConfigEntry{Created: created, CreatedBy: by})
	}
	if s.base != "" {
		baseSeed := sha256.Sum256([]byte("base\x00" + s.base + "\x00" + p.String()))
		baseRng := rand.New(rand.NewChaCha8(baseSeed))
		addLayer(makeTar(baseRng, "regtest/base.bin", baseLayerSize), "regtest base "+s.base)
	}
	for i := range layersPerImage {
		size := 128 + rng.IntN(256)
		addLayer(makeTar(rng, fmt.Sprintf("regtest/layer%d.bin", i), size),
			fmt.Sprintf("regtest layer %d", i))
	}
	cfgData := mustJSON(cfg)
	c.Config = &Blob{Desc: describe(s.mt.config, cfgData), Data: cfgData}

	m := jsonManifest{
		SchemaVersion: 2, Config: jsonDescOf(c.Config.Desc), Annotations: s.annotations,
	}
	if s.withType {
		m.MediaType = s.mt.manifest
	}
	for _, l := range c.Layers {
		m.Layers = append(m.Layers, jsonDescOf(l.Desc))
	}
	c.Raw = mustJSON(m)
	c.Desc = describe(s.mt.manifest, c.Raw)
	c.Desc.Platform = &p
	return c
}

// buildArtifact makes an OCI artifact: the empty config and one JSON document as its layer.
func buildArtifact(seed string, annotations map[string]string) *Content {
	doc := mustJSON(map[string]string{"spdxVersion": "SPDX-2.3", "name": seed})
	cfgData := []byte("{}")
	c := &Content{
		Config: &Blob{Desc: describe(mediatype.OCI1Empty, cfgData), Data: cfgData},
		Layers: []Blob{{Desc: describe("application/spdx+json", doc), Data: doc}},
	}
	m := jsonManifest{
		SchemaVersion: 2, MediaType: mediatype.OCI1Manifest, ArtifactType: ArtifactType,
		Config: jsonDescOf(c.Config.Desc), Layers: []jsonDesc{jsonDescOf(c.Layers[0].Desc)},
		Annotations: annotations,
	}
	c.Raw = mustJSON(m)
	c.Desc = describe(mediatype.OCI1Manifest, c.Raw)
	return c
}

// makeTar writes a tar archive holding one file of size seeded random bytes.
func makeTar(rng *rand.Rand, name string, size int) []byte {
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// NOTE: writes to a bytes.Buffer cannot fail, so the errors below are impossible.
	mustDo(tw.WriteHeader(&tar.Header{
		Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg,
		ModTime: createdTime, Format: tar.FormatUSTAR,
	}))
	_, err := tw.Write(body)
	mustDo(err)
	mustDo(tw.Close())
	return buf.Bytes()
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	mustDo(err)
	mustDo(zw.Close())
	return buf.Bytes()
}

func describe(mediaType string, data []byte) descriptor.Descriptor {
	return descriptor.Descriptor{
		MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data)),
	}
}

func jsonDescOf(d descriptor.Descriptor) jsonDesc {
	return jsonDesc{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

// mustJSON marshals the package's own manifest types, which cannot fail to marshal.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	mustDo(err)
	return b
}

// mustDo panics on an error that only a bug in this package can cause.
func mustDo(err error) {
	if err != nil {
		panic("regtest: " + err.Error())
	}
}
