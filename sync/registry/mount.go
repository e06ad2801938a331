package registry

import (
	"context"
	"sync"

	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient"
	"github.com/regclient/regclient/types"
	"github.com/regclient/regclient/types/descriptor"
)

// maxHomes bounds the repositories remembered for one blob: one that holds it is enough to
// mount from, and a base layer shared by every repository would otherwise keep them all.
const maxHomes = 4

// blobHomes remembers repositories of the secondary known to hold a blob: those a copy put it
// in, and those a deep check found it in. regclient mounts a blob only from the repository it
// copies from, which for a copy between two registries is on the other registry, so without
// this a blob the secondary holds in another repository is uploaded again.
type blobHomes struct {
	mu    sync.Mutex
	repos map[string][]string // digest to repositories
}

func newBlobHomes() *blobHomes {
	return &blobHomes{repos: map[string][]string{}}
}

// add records that repo holds every blob of digests.
func (h *blobHomes) add(repo string, digests ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range digests {
		homes := h.repos[d]
		if len(homes) >= maxHomes || contains(homes, repo) {
			continue
		}
		h.repos[d] = append(homes, repo)
	}
}

// other returns a repository other than repo known to hold dig, unless repo is known to hold
// it itself.
func (h *blobHomes) other(repo, dig string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	homes := h.repos[dig]
	if len(homes) == 0 || contains(homes, repo) {
		return "", false
	}
	return homes[0], true
}

// forget drops repo as a home of dig: a mount from it failed, so the blob is gone there.
func (h *blobHomes) forget(repo, dig string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	homes := h.repos[dig]
	for i, r := range homes {
		if r == repo {
			h.repos[dig] = append(homes[:i:i], homes[i+1:]...)
			return
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// copyBlobs collects the blobs one copy visits; regclient reports them from several goroutines.
type copyBlobs struct {
	mu   sync.Mutex
	seen map[string]bool
}

// first reports whether dig is new to this copy, and records it.
func (c *copyBlobs) first(dig string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[dig] {
		return false
	}
	c.seen[dig] = true
	return true
}

func (c *copyBlobs) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.seen))
	for d := range c.seen {
		out = append(out, d)
	}
	return out
}

// mountingCallback returns the copy option that, before regclient asks the secondary whether
// it holds a blob, mounts the blob into repo from another repository known to hold it. The
// question that follows then finds it, and nothing is uploaded. A failed mount costs nothing
// but the upload regclient then does.
func (s *Secondary) mountingCallback(ctx context.Context, repo string,
	seen *copyBlobs) regclient.ImageOpts {
	return regclient.ImageWithCallback(func(kind types.CallbackKind, instance string,
		state types.CallbackState, _, total int64) {
		// regclient reports a blob as started once before it looks on the target and once
		// more before it uploads: only the first is in time.
		if kind != types.CallbackBlob || state != types.CallbackStarted || !seen.first(instance) {
			return
		}
		from, ok := s.homes.other(repo, instance)
		if !ok {
			return
		}
		src, err := newRef(s.ep.Host, from, "", "")
		if err != nil {
			return
		}
		dst, err := newRef(s.ep.Host, repo, "", "")
		if err != nil {
			return
		}
		d := descriptor.Descriptor{Digest: digest.Digest(instance), Size: total}
		if err := s.rc.BlobMount(ctx, src, dst, d); err != nil {
			s.homes.forget(from, instance)
			s.log.Debug("blob mount failed; the copy uploads it", "repository", repo,
				"from", from, "digest", instance, "err", err)
		}
	})
}
