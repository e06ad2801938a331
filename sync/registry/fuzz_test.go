package registry

import (
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient/types/descriptor"
	"github.com/regclient/regclient/types/manifest"
	"github.com/regclient/regclient/types/mediatype"

	"github.com/regdrift/regdrift"
)

// FuzzNewRef checks that a repository name and a tag that pass regdrift's validation always
// make a reference to the configured host and nothing else: no name a request carries can
// move regdrift to another registry or change what it asks for.
func FuzzNewRef(f *testing.F) {
	for _, s := range [][2]string{
		{"library/alpine", "3.20"}, {"a", "latest"}, {"geo/app/api", "v1.2.3-rc_1"},
		{"evil.example.com/x", "t"}, {"127.0.0.1/x", "t"}, {"127.0.0.1:5000/x", "t"},
		{"a/../b", "t"}, {"a", "sha256:" + strings.Repeat("0", 64)}, {"a@sha256:1", "t"},
		{"A/B", "t"}, {"a", "-x"}, {"a", strings.Repeat("t", 129)},
	} {
		f.Add(s[0], s[1])
	}
	const host = "127.0.0.1:5000"
	f.Fuzz(func(t *testing.T, name, tag string) {
		if regdrift.ValidateRepoName(name) != nil || regdrift.ValidateTag(tag) != nil {
			return
		}
		r, err := newRef(host, name, tag, "")
		if err != nil {
			t.Fatalf("a valid name %q and tag %q make no reference: %v", name, tag, err)
		}
		if r.Registry != host || r.Repository != name || r.Tag != tag || r.Digest != "" {
			t.Fatalf("%q:%q became registry %q repository %q tag %q digest %q", name, tag,
				r.Registry, r.Repository, r.Tag, r.Digest)
		}
	})
}

// FuzzReferences parses any body as each manifest type regdrift accepts and lists what it
// references, as the deep check does: no body may crash it, and what it lists must be
// descriptors a request can be built from safely.
func FuzzReferences(f *testing.F) {
	for _, s := range []string{
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",` +
			`"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
			`"digest":"sha256:` + strings.Repeat("a", 64) + `","size":10}]}`,
		`{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json",` +
			`"digest":"sha256:` + strings.Repeat("b", 64) + `","size":2},"layers":[` +
			`{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:` +
			strings.Repeat("c", 64) + `","size":-1,"urls":["http://elsewhere/x"]}]}`,
		`{"schemaVersion":2,"manifests":[{"digest":"../../../etc","size":1}]}`,
		`{"schemaVersion":2,"layers":[{"digest":"sha256:zz","size":1e99}]}`,
		`{"manifests":null}`, `[]`, `null`, `{`, ``,
	} {
		for i := range fuzzTypes {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, kind uint8) {
		mt := fuzzTypes[int(kind)%len(fuzzTypes)]
		m, err := manifest.New(manifest.WithRaw(body), manifest.WithDesc(descriptor.Descriptor{
			MediaType: mt, Digest: digest.FromBytes(body), Size: int64(len(body)),
		}))
		if err != nil {
			return // refused at parsing: the deep check reports the error
		}
		manifests, blobs, err := references(m)
		if err != nil {
			return
		}
		for _, d := range append(manifests, blobs...) {
			if d.Digest.Validate() != nil || d.Size < 0 {
				t.Fatalf("listed a descriptor that cannot be right: %+v", d)
			}
			if _, err := newRef("127.0.0.1:5000", "a/b", "", d.Digest.String()); err != nil {
				t.Fatalf("a listed digest %q makes no reference: %v", d.Digest, err)
			}
		}
	})
}

var fuzzTypes = []string{
	mediatype.OCI1ManifestList, mediatype.OCI1Manifest, mediatype.Docker2ManifestList,
	mediatype.Docker2Manifest,
}
