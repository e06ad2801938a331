package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/regclient/regclient"
	"github.com/regclient/regclient/types/descriptor"
	"github.com/regclient/regclient/types/errs"
	"github.com/regclient/regclient/types/manifest"
)

// Secondary is the mirror regdrift keeps in line with the primary.
type Secondary struct {
	reader
	primary Endpoint
	homes   *blobHomes
}

// Copy makes repo:tag on the secondary point at what repo@digest is on the primary, with every
// child manifest and blob, bytes and digests unchanged. A blob the secondary is known to hold
// in another repository (from an earlier copy or deep check of this client) is mounted from
// there instead of uploaded. The source is named by digest, so a tag
// that moved on the primary since the check is not copied blindly. With force, every child is
// checked and copied again even when the secondary already has the top manifest (a broken
// tag).
func (s *Secondary) Copy(ctx context.Context, repoName, tag, digest string, force bool) error {
	src, err := newRef(s.primary.Host, repoName, "", digest)
	if err != nil {
		return err
	}
	dst, err := newRef(s.ep.Host, repoName, tag, "")
	if err != nil {
		return err
	}
	seen := &copyBlobs{seen: map[string]bool{}}
	opts := []regclient.ImageOpts{s.mountingCallback(ctx, repoName, seen)}
	if force {
		opts = append(opts, regclient.ImageWithForceRecursive())
	}
	if err := s.rc.ImageCopy(ctx, src, dst, opts...); err != nil {
		return fmt.Errorf("copy %s@%s to %s: %w", repoName, digest, s.ep.URL, err)
	}
	// Every blob of a copied image is in the repository now.
	s.homes.add(repoName, seen.list()...)
	return nil
}

// DeleteTag removes repo:tag from the secondary and nothing else, provided it still points at
// digest, the digest the check saw. Other tags that share the digest stay: regclient deletes by
// tag where the registry allows it and otherwise moves the tag to a throw-away manifest and
// deletes that one. When that fails half-way, the tag is put back on digest.
func (s *Secondary) DeleteTag(ctx context.Context, repoName, tag, digest string) error {
	cur, err := s.Resolve(ctx, repoName, tag)
	if err != nil {
		return fmt.Errorf("delete %s:%s: %w", repoName, tag, err)
	}
	if cur.Digest != digest {
		return fmt.Errorf("delete %s:%s: it moved from %s to %s since the check; kept",
			repoName, tag, digest, cur.Digest)
	}
	r, err := newRef(s.ep.Host, repoName, tag, "")
	if err != nil {
		return err
	}
	if err := s.rc.TagDelete(ctx, r); err != nil {
		return s.restore(ctx, repoName, tag, digest,
			fmt.Errorf("delete %s:%s on %s: %w", repoName, tag, s.ep.URL, err))
	}
	return nil
}

// restore puts repo:tag back on digest after a failed delete, and returns cause with what it
// did. regclient's fallback pushes a throw-away manifest under the tag before it deletes that
// manifest; a registry that refuses deletes (as Distribution does unless configured) would
// otherwise be left with the tag on an empty image.
func (s *Secondary) restore(ctx context.Context, repoName, tag, digest string,
	cause error) error {
	cur, err := s.Resolve(ctx, repoName, tag)
	if err == nil && cur.Digest == digest {
		return cause
	}
	src, err := newRef(s.ep.Host, repoName, "", digest)
	if err != nil {
		return errors.Join(cause, err)
	}
	dst := src.SetTag(tag)
	m, err := s.rc.ManifestGet(ctx, src)
	if err == nil {
		err = s.rc.ManifestPut(ctx, dst, m)
	}
	if err != nil {
		return fmt.Errorf("%w; putting the tag back on %s failed too: %v", cause, digest, err)
	}
	return fmt.Errorf("%w; the tag was put back on %s", cause, digest)
}

// MaxDepth bounds the nesting of indexes a deep check follows.
const MaxDepth = 8

// Missing lists the content behind repo@digest that the secondary lacks: child manifests at any
// depth, configs and layers. An empty list means the tag can be pulled whole. An error means the
// check itself could not finish and says nothing about the content.
func (s *Secondary) Missing(ctx context.Context, repoName, digest string) ([]string, error) {
	w := walker{s: s, repo: repoName, seen: map[string]bool{}}
	if err := w.manifest(ctx, descriptor.Descriptor{}, digest, 0); err != nil {
		return nil, err
	}
	return w.missing, nil
}

// walker visits the content graph of one tag on the secondary.
//
// TODO: each digest gets its own walker, so blobs shared by many tags of a repository are
// checked once per tag digest; sharing the seen set across a repository would save requests.
type walker struct {
	s       *Secondary
	repo    string
	seen    map[string]bool
	missing []string
}

func (w *walker) manifest(ctx context.Context, d descriptor.Descriptor, dig string,
	depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("deep check of %s: indexes nested deeper than %d", w.repo, MaxDepth)
	}
	if w.seen[dig] {
		return nil
	}
	w.seen[dig] = true
	r, err := newRef(w.s.ep.Host, w.repo, "", dig)
	if err != nil {
		return err
	}
	var opts []regclient.ManifestOpts
	if d.Digest != "" {
		opts = append(opts, regclient.WithManifestDesc(d))
	}
	m, err := w.s.rc.ManifestGet(ctx, r, opts...)
	if errors.Is(err, errs.ErrNotFound) {
		w.missing = append(w.missing, "manifest "+dig)
		return nil
	}
	if err != nil {
		return fmt.Errorf("deep check of %s: get manifest %s: %w", w.repo, dig, err)
	}
	return w.children(ctx, m, depth)
}

func (w *walker) children(ctx context.Context, m manifest.Manifest, depth int) error {
	if idx, ok := m.(manifest.Indexer); ok {
		list, err := idx.GetManifestList()
		if err != nil {
			return fmt.Errorf("deep check of %s: read index: %w", w.repo, err)
		}
		for _, c := range list {
			if err := w.manifest(ctx, c, c.Digest.String(), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	img, ok := m.(manifest.Imager)
	if !ok {
		return nil
	}
	var blobs []descriptor.Descriptor
	cfg, err := img.GetConfig()
	switch {
	case err == nil:
		blobs = append(blobs, cfg)
	case !errors.Is(err, errs.ErrUnsupportedMediaType):
		// Only a manifest kind without a config (Docker schema 1) may skip it.
		return fmt.Errorf("deep check of %s: read config: %w", w.repo, err)
	}
	layers, err := img.GetLayers()
	if err != nil {
		return fmt.Errorf("deep check of %s: read layers: %w", w.repo, err)
	}
	blobs = append(blobs, layers...)
	for _, b := range blobs {
		if err := w.blob(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) blob(ctx context.Context, d descriptor.Descriptor) error {
	dig := d.Digest.String()
	if w.seen[dig] {
		return nil
	}
	w.seen[dig] = true
	r, err := newRef(w.s.ep.Host, w.repo, "", "")
	if err != nil {
		return err
	}
	rdr, err := w.s.rc.BlobHead(ctx, r, d)
	if errors.Is(err, errs.ErrNotFound) {
		w.missing = append(w.missing, "blob "+dig)
		return nil
	}
	if err != nil {
		return fmt.Errorf("deep check of %s: head blob %s: %w", w.repo, dig, err)
	}
	w.s.homes.add(w.repo, dig)
	return rdr.Close()
}
