package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/regclient/regclient"
	"github.com/regclient/regclient/scheme"
	"github.com/regclient/regclient/types/errs"
	"github.com/regclient/regclient/types/manifest"
	"github.com/regclient/regclient/types/mediatype"
	"github.com/regclient/regclient/types/ref"
	"github.com/regclient/regclient/types/repo"
	"github.com/regclient/regclient/types/tag"

	"github.com/regdrift/regdrift"
)

// reader holds the read operations both registries share.
type reader struct {
	rc          *regclient.RegClient
	ep          Endpoint
	log         *slog.Logger
	listTimeout time.Duration
	// repoRefs holds the parsed reference of each repository resolved, by name.
	repoRefs *sync.Map
}

// Endpoint returns where the registry is.
func (r *reader) Endpoint() Endpoint { return r.ep }

// maxCatalogPages bounds a catalog walk, so a registry that keeps answering with a next page
// cannot hold a run forever (100 repositories a page on Distribution: a million names).
const maxCatalogPages = 10000

// Repositories lists the catalog, following every page.
func (r *reader) Repositories(ctx context.Context) ([]string, error) {
	var all []string
	last := ""
	for range maxCatalogPages {
		var opts []scheme.RepoOpts
		if last != "" {
			opts = append(opts, scheme.WithRepoLast(last))
		}
		rl, err := r.rc.RepoList(ctx, r.ep.Host, opts...)
		if err != nil {
			return nil, fmt.Errorf("catalog of %s: %w", r.ep.URL, err)
		}
		page, err := rl.GetRepos()
		if err != nil {
			return nil, fmt.Errorf("read repository list of %s: %w", r.ep.URL, err)
		}
		all = append(all, page...)
		if !hasNextPage(rl) || len(page) == 0 {
			return all, nil
		}
		if page[len(page)-1] == last {
			return nil, fmt.Errorf("list repositories of %s: page after %q repeats it",
				r.ep.URL, last)
		}
		last = page[len(page)-1]
	}
	return nil, fmt.Errorf("list repositories of %s: more than %d pages", r.ep.URL,
		maxCatalogPages)
}

// hasNextPage reports whether a catalog page announces another with a Link header.
func hasNextPage(rl *repo.RepoList) bool {
	h, err := rl.RawHeaders()
	if err != nil {
		return false
	}
	for _, v := range h.Values("Link") {
		if strings.Contains(v, `rel="next"`) || strings.Contains(v, "rel=next") {
			return true
		}
	}
	return false
}

// Tags lists the tags of repo, following every page (regclient follows the Link header as
// given). A repository the registry does not know has no tags: that is not an error, and
// found is false. A listing that takes longer than the list timeout (a registry that keeps
// announcing another page) is an error.
func (r *reader) Tags(ctx context.Context, repoName string) (tags []string, found bool,
	err error) {
	rf, err := newRef(r.ep.Host, repoName, "", "")
	if err != nil {
		return nil, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.listTimeout)
	defer cancel()
	tl, err := r.rc.TagList(ctx, rf)
	if err != nil {
		if isNameUnknown(err) && r.unknown(ctx, rf) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("list tags of %s on %s: %w", repoName, r.ep.URL, err)
	}
	tags, err = tl.GetTags()
	if err == nil && len(tags) == 0 {
		err = errorBody(tl)
	}
	if err != nil {
		return nil, false, fmt.Errorf("read tags of %s on %s: %w", repoName, r.ep.URL, err)
	}
	return tags, true, nil
}

// unknown confirms that the registry does not know a repository by asking for the first page
// of its tags alone: a NAME_UNKNOWN on a later page of a listing (a repository deleted while
// it was listed, a faulty proxy) must not read as an empty repository.
func (r *reader) unknown(ctx context.Context, rf ref.Ref) bool {
	_, err := r.rc.TagList(ctx, rf, scheme.WithTagLimit(1))
	return isNameUnknown(err)
}

// errorBody returns the registry errors a tag list answered with a 200, or nil.
func errorBody(tl *tag.List) error {
	raw, err := tl.RawBody()
	if err != nil || len(raw) == 0 {
		return nil
	}
	var body struct {
		Errors []json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(raw, &body) == nil && len(body.Errors) > 0 {
		return fmt.Errorf("tag list answered with errors: %.200s", raw)
	}
	return nil
}

// isNameUnknown reports a 404 whose body names the repository as unknown. A 404 with any
// other body (a proxy's page, a wrong path) stays an error: it does not prove the repository
// is empty.
func isNameUnknown(err error) bool {
	return errors.Is(err, errs.ErrNotFound) && strings.Contains(err.Error(), "NAME_UNKNOWN")
}

// Resolve reads the digest and media type a tag points at. It sends a HEAD whose Accept holds
// every manifest type regclient knows (OCI index and manifest, Docker list and v2, ...) and
// falls back to a GET, hashing the body, when the HEAD carries no digest.
func (r *reader) Resolve(ctx context.Context, repoName, tag string) (regdrift.Manifest, error) {
	rf, err := r.tagRef(repoName, tag)
	if err != nil {
		return regdrift.Manifest{}, err
	}
	m, err := r.rc.ManifestHead(ctx, rf, regclient.WithManifestRequireDigest())
	if err != nil {
		return regdrift.Manifest{}, fmt.Errorf("resolve %s:%s on %s: %w", repoName, tag,
			r.ep.URL, err)
	}
	d := m.GetDescriptor()
	if d.Digest == "" {
		return regdrift.Manifest{}, fmt.Errorf("resolve %s:%s on %s: no digest in answer",
			repoName, tag, r.ep.URL)
	}
	if err := d.Digest.Validate(); err != nil {
		return regdrift.Manifest{}, fmt.Errorf("resolve %s:%s on %s: bad digest %q: %w",
			repoName, tag, r.ep.URL, d.Digest, err)
	}
	return regdrift.Manifest{Digest: d.Digest.String(), MediaType: intern(d.MediaType)}, nil
}

// tagRef is newRef for a tag, parsing the repository's reference once: a check resolves every
// tag of a repository, and parsing a whole reference (regular expressions) for each was a
// tenth of a check's CPU.
func (r *reader) tagRef(repoName, tag string) (ref.Ref, error) {
	if !validTag(tag) {
		return ref.Ref{}, fmt.Errorf("reference %s/%s:%s: invalid tag", r.ep.Host, repoName,
			tag)
	}
	if v, ok := r.repoRefs.Load(repoName); ok {
		return v.(ref.Ref).SetTag(tag), nil
	}
	rf, err := newRef(r.ep.Host, repoName, "", "")
	if err != nil {
		return ref.Ref{}, err
	}
	r.repoRefs.Store(repoName, rf)
	return rf.SetTag(tag), nil
}

// validTag reports whether tag is a tag as the distribution spec has it:
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
func validTag(tag string) bool {
	if len(tag) == 0 || len(tag) > 128 || tag[0] == '.' || tag[0] == '-' {
		return false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// knownTypes are the media types a tag commonly points at.
var knownTypes = [...]string{mediatype.OCI1ManifestList, mediatype.OCI1Manifest,
	mediatype.Docker2ManifestList, mediatype.Docker2Manifest}

// intern returns the shared copy of a known media type: a run keeps two per tag, and a
// registry answers with a handful of types, each in a string of its own.
func intern(mt string) string {
	for _, t := range knownTypes {
		if mt == t {
			return t
		}
	}
	return mt
}

// Primary is the source of truth. It has no method that writes or deletes.
type Primary struct {
	reader
}

// IsIndex reports whether mediaType is a manifest that lists others: an OCI index or a Docker
// manifest list.
func IsIndex(mediaType string) bool {
	return mediaType == mediatype.OCI1ManifestList || mediaType == mediatype.Docker2ManifestList
}

// Platforms lists the platforms the index or manifest list at repoName@digest holds, as
// "os/arch[/variant]" in the index's order; an entry without a platform reads "unknown". A
// manifest that lists no others has none.
func (r *reader) Platforms(ctx context.Context, repoName, digest string) ([]string, error) {
	rf, err := newRef(r.ep.Host, repoName, "", digest)
	if err != nil {
		return nil, err
	}
	m, err := r.rc.ManifestGet(ctx, rf)
	if err != nil {
		return nil, fmt.Errorf("platforms of %s@%s on %s: %w", repoName, digest, r.ep.URL, err)
	}
	idx, ok := m.(manifest.Indexer)
	if !ok {
		return nil, nil
	}
	list, err := idx.GetManifestList()
	if err != nil {
		return nil, fmt.Errorf("platforms of %s@%s on %s: %w", repoName, digest, r.ep.URL, err)
	}
	out := make([]string, 0, len(list))
	for _, d := range list {
		p := "unknown"
		if d.Platform != nil {
			p = d.Platform.String()
		}
		out = append(out, p)
	}
	return out, nil
}
