package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/regclient/regclient"
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
// tag). Content on the primary that lies about itself is refused before anything is sent
// (ErrInvalidContent), and so is content the primary lacks.
//
// TODO: regclient does not copy a layer whose descriptor lists URLs (a foreign layer), so such
// a tag reads as broken on a deep check after its copy; including them would let a failed
// read on the primary fall back to the hosts the URLs name, which only configuration may.
func (s *Secondary) Copy(ctx context.Context, repoName, tag, digest string, force bool) error {
	src, err := newRef(s.primary.Host, repoName, "", digest)
	if err != nil {
		return err
	}
	dst, err := newRef(s.ep.Host, repoName, tag, "")
	if err != nil {
		return err
	}
	if err := s.checkSource(ctx, repoName, digest); err != nil {
		return fmt.Errorf("copy %s@%s: source on %s: %w", repoName, digest, s.primary.URL, err)
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
