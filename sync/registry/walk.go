package registry

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/regclient/regclient"
	"github.com/regclient/regclient/types/descriptor"
	"github.com/regclient/regclient/types/errs"
	"github.com/regclient/regclient/types/manifest"
)

// MaxDepth bounds the nesting of indexes a walk follows: an image in an index in an index is
// depth 2; real images stop there, and nothing sane reaches 8.
const MaxDepth = 8

// ErrInvalidContent marks content that cannot be what its manifests say: a descriptor whose
// size or digest does not match what it points at, an index that contains itself, nesting
// deeper than MaxDepth. It is the tag's error; no retry or repair makes such content right.
var ErrInvalidContent = errors.New("content does not match its manifests")

// Missing lists the content behind repo@digest that the secondary lacks: child manifests at any
// depth, configs and layers. An empty list means the tag can be pulled whole. An error means the
// check itself could not finish, or found content that lies about itself (ErrInvalidContent);
// it says nothing about what is missing.
func (s *Secondary) Missing(ctx context.Context, repoName, digest string) ([]string, error) {
	w := newWalker(s.rc, s.ep.Host, repoName)
	// What a deep check finds is where a later copy can mount from.
	w.found = func(d string) { s.homes.add(repoName, d) }
	if err := w.manifest(ctx, descriptor.Descriptor{}, digest, 0); err != nil {
		return nil, fmt.Errorf("deep check of %s: %w", repoName, err)
	}
	return w.missing, nil
}

// checkSource walks the content behind repo@digest on the primary before a copy: regclient
// copies what an index lists without comparing sizes or bounding the depth, so content that
// lies would otherwise reach the secondary; and a blob shorter than its descriptor fails the
// copy only as "retry limit exceeded". Anything missing on the primary is an error here.
//
// NOTE: the manifests read here are in regclient's cache when the copy reads them again; the
// blobs cost one HEAD each.
func (s *Secondary) checkSource(ctx context.Context, repoName, digest string) error {
	w := newWalker(s.rc, s.primary.Host, repoName)
	if err := w.manifest(ctx, descriptor.Descriptor{}, digest, 0); err != nil {
		return err
	}
	if len(w.missing) > 0 {
		return fmt.Errorf("the primary lacks %s", w.missing[0])
	}
	return nil
}

// walker visits the content graph of one tag on one registry.
//
// TODO: each digest gets its own walker, so blobs shared by many tags of a repository are
// checked once per tag digest; sharing the seen set across a repository would save requests.
type walker struct {
	rc   *regclient.RegClient
	host string
	repo string
	// seen holds every digest visited.
	seen    map[string]bool
	missing []string
	// found, when set, is told of every blob the registry holds as described.
	found func(digest string)
}

func newWalker(rc *regclient.RegClient, host, repo string) *walker {
	return &walker{rc: rc, host: host, repo: repo, seen: map[string]bool{}}
}

// manifest visits the manifest dig, described by d in its parent (empty for the top one).
func (w *walker) manifest(ctx context.Context, d descriptor.Descriptor, dig string,
	depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("indexes nested deeper than %d: %w", MaxDepth, ErrInvalidContent)
	}
	// NOTE: an index cannot contain itself, alone or in a cycle: a digest is the hash of the
	// bytes, and regclient checks every body against the digest asked for, so a registry
	// that serves one fails that check (ErrInvalidContent). seen visits each digest once all
	// the same, so a walk ends whatever it is told.
	if w.seen[dig] {
		return nil
	}
	w.seen[dig] = true
	m, err := w.get(ctx, d, dig)
	if errors.Is(err, errs.ErrNotFound) {
		w.missing = append(w.missing, "manifest "+dig)
		return nil
	}
	if err != nil {
		return err
	}
	return w.children(ctx, m, depth)
}

// get reads a manifest by digest; regclient checks the body against the digest, and get
// checks it against the size its parent states.
func (w *walker) get(ctx context.Context, d descriptor.Descriptor,
	dig string) (manifest.Manifest, error) {
	r, err := newRef(w.host, w.repo, "", dig)
	if err != nil {
		return nil, err
	}
	var opts []regclient.ManifestOpts
	if d.Digest != "" {
		opts = append(opts, regclient.WithManifestDesc(d))
	}
	m, err := w.rc.ManifestGet(ctx, r, opts...)
	if errors.Is(err, errs.ErrDigestMismatch) {
		return nil, fmt.Errorf("get manifest %s: %w: %w", dig, ErrInvalidContent, err)
	}
	if err != nil {
		return nil, fmt.Errorf("get manifest %s: %w", dig, err)
	}
	if got := m.GetDescriptor().Size; d.Digest != "" && got != d.Size {
		return nil, fmt.Errorf("manifest %s is %d bytes, its index says %d: %w", dig, got,
			d.Size, ErrInvalidContent)
	}
	return m, nil
}

func (w *walker) children(ctx context.Context, m manifest.Manifest, depth int) error {
	manifests, blobs, err := references(m)
	if err != nil {
		return err
	}
	for _, c := range manifests {
		if err := w.manifest(ctx, c, c.Digest.String(), depth+1); err != nil {
			return err
		}
	}
	for _, b := range blobs {
		if err := w.blob(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// references lists what a manifest points at: the child manifests of an index or list, or
// the config and layers of an image. A descriptor the manifest states wrongly (a malformed
// digest, a negative size) is an error: the manifest cannot be trusted to describe its
// content.
func references(m manifest.Manifest) (manifests, blobs []descriptor.Descriptor, err error) {
	if idx, ok := m.(manifest.Indexer); ok {
		list, err := idx.GetManifestList()
		if err != nil {
			return nil, nil, fmt.Errorf("read index: %w", err)
		}
		return list, nil, checkDescriptors(list)
	}
	img, ok := m.(manifest.Imager)
	if !ok {
		return nil, nil, nil
	}
	cfg, err := img.GetConfig()
	switch {
	case err == nil:
		blobs = append(blobs, cfg)
	case !errors.Is(err, errs.ErrUnsupportedMediaType):
		// Only a manifest kind without a config (Docker schema 1) may skip it.
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	layers, err := img.GetLayers()
	if err != nil {
		return nil, nil, fmt.Errorf("read layers: %w", err)
	}
	blobs = append(blobs, layers...)
	return nil, blobs, checkDescriptors(blobs)
}

// checkDescriptors refuses descriptors whose digest or size cannot be right.
func checkDescriptors(ds []descriptor.Descriptor) error {
	for _, d := range ds {
		if err := d.Digest.Validate(); err != nil {
			return fmt.Errorf("descriptor with digest %.80q: %w: %w", d.Digest,
				ErrInvalidContent, err)
		}
		if d.Size < 0 {
			return fmt.Errorf("descriptor %s: negative size %d: %w", d.Digest, d.Size,
				ErrInvalidContent)
		}
	}
	return nil
}

// blob asks whether the registry has the blob d describes, and whether what it has is that
// blob: the size and digest the registry states must be the descriptor's.
func (w *walker) blob(ctx context.Context, d descriptor.Descriptor) error {
	dig := d.Digest.String()
	if w.seen[dig] {
		return nil
	}
	w.seen[dig] = true
	r, err := newRef(w.host, w.repo, "", "")
	if err != nil {
		return err
	}
	// regclient asks the URLs a descriptor lists when the registry lacks the blob; those are
	// hosts a manifest names, not hosts the operator configured. A blob found only there is
	// missing from the registry all the same.
	d.URLs = nil
	rdr, err := w.rc.BlobHead(ctx, r, d)
	if errors.Is(err, errs.ErrNotFound) {
		w.missing = append(w.missing, "blob "+dig)
		return nil
	}
	if err != nil {
		return fmt.Errorf("head blob %s: %w", dig, err)
	}
	h := rdr.RawHeaders()
	if err := rdr.Close(); err != nil {
		return fmt.Errorf("head blob %s: %w", dig, err)
	}
	if got := h.Get("Docker-Content-Digest"); got != "" && got != dig {
		return fmt.Errorf("blob %s: the registry holds %s under it: %w", dig, got,
			ErrInvalidContent)
	}
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n != d.Size {
			return fmt.Errorf("blob %s is %d bytes, its manifest says %d: %w", dig, n, d.Size,
				ErrInvalidContent)
		}
	}
	if w.found != nil {
		w.found(dig)
	}
	return nil
}
