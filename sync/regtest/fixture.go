package regtest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient"

	"github.com/regdrift/regdrift"
)

// FixtureSpec sizes a generated pair of registries: Repos repositories of Tags tags each.
type FixtureSpec struct {
	Repos, Tags int
	// Drift is the share of tags, in repositories both sides hold, that drift: missing,
	// stale, stale with the old children gone, orphan or broken. Zero means 0.1.
	Drift float64
	// OneSided is how many repositories only the primary holds, and how many only the
	// secondary holds; they count in Repos. Negative means none; zero means Repos/50.
	OneSided int
	// Seed makes another fixture of the same shape; the same spec gives the same bytes.
	Seed string
	// Workers is the pushes in flight per registry; zero means 8.
	Workers int
	// Light makes every repository hold OCI images or indexes whose versions share their
	// blobs and differ by an annotation, so that a fill is mostly manifest PUTs: for fixtures
	// too large to push image by image.
	Light bool
}

// Fixture is a generated scenario and everything known about it.
type Fixture struct {
	Spec FixtureSpec
	// Truth is what a check finds; Deep what a check with --deep finds.
	Truth, Deep Truth
	// Synced is what a check finds after a mirror that copies and deletes has run: every
	// tag in sync but the orphans of repositories the primary does not hold.
	Synced Truth
	// Copied is what a check finds after a mirror that only copies has run (regsync): the
	// orphans stay.
	Copied Truth
	// MissingInRepo counts the bytes of blobs a full copy needs that the secondary lacks in
	// the repository it copies to; MissingInRegistry those it lacks in every repository, the
	// least a copy that mounts must upload.
	MissingInRepo, MissingInRegistry int64

	tags []fixtureTag
}

// fixtureTag is one tag of a fixture and what each side holds of it.
type fixtureTag struct {
	repo, tag          string
	primary, secondary Spec
	// damage harms the secondary's copy after the pushes.
	damage damage
}

// Fixture kinds, in the shares a registry of mixed images might hold them: a repository holds
// one kind, so the list repeats a kind to weigh it.
var fixtureKinds = []Kind{
	OCIImage, OCIImage, OCIImage, OCIImage, OCIImage, OCIImage, OCIImage, OCIImage,
	DockerImage, DockerImage, DockerImage, DockerImage, DockerImage,
	OCIIndex, OCIIndex, OCIIndex, OCIIndexBare, DockerList, DockerList, OCIImage,
}

// aliases is how many tags name each image, as "1.4", "1.4.2" and "1.4.2-r0" do.
const aliases = 3

// NewFixture plans the scenario spec describes without touching a registry.
func NewFixture(spec FixtureSpec) (*Fixture, error) {
	if spec.Repos < 1 || spec.Tags < 1 {
		return nil, fmt.Errorf("fixture: want at least one repository and one tag, got %d x %d",
			spec.Repos, spec.Tags)
	}
	if spec.Drift == 0 {
		spec.Drift = 0.1
	}
	if spec.Drift < 0 || spec.Drift > 1 {
		return nil, fmt.Errorf("fixture: drift %v not in 0..1", spec.Drift)
	}
	if spec.OneSided == 0 {
		spec.OneSided = spec.Repos / 50
	}
	spec.OneSided = max(spec.OneSided, 0)
	if 2*spec.OneSided >= spec.Repos {
		return nil, fmt.Errorf("fixture: %d one-sided repositories of each side leave none of %d "+
			"on both", spec.OneSided, spec.Repos)
	}
	if spec.Workers <= 0 {
		spec.Workers = 8
	}
	f := &Fixture{Spec: spec}
	rng := rand.New(rand.NewChaCha8(sha256.Sum256([]byte("fixture\x00" + spec.Seed))))
	for i := range spec.Repos {
		f.tags = append(f.tags, fixtureRepo(spec, i, rng)...)
	}
	f.judge()
	return f, nil
}

// fixtureRepo plans repository i: which side holds it, its kind, and the drift of each tag.
func fixtureRepo(spec FixtureSpec, i int, rng *rand.Rand) []fixtureTag {
	name := fmt.Sprintf("team%02d/app%04d", i%10, i)
	kind := fixtureKinds[i%len(fixtureKinds)]
	if spec.Light && kind != OCIImage {
		kind = OCIIndex
	}
	// Half the repositories build on one base image, half on another: a blob the secondary
	// holds in another repository can be mounted rather than uploaded.
	base := []string{"debian", "alpine"}[i/10%2]
	image := func(seed string) Spec {
		s := Spec{Kind: kind, Seed: spec.Seed + "/" + name + ":" + seed, Base: base}
		if spec.Light {
			s.Seed, s.Base = spec.Seed+"/"+name, ""
			s.Annotations = map[string]string{"org.opencontainers.image.version": seed}
		}
		if kind == OCIIndex {
			s.Platforms = 3
		}
		return s
	}
	onlyPrimary := i < spec.OneSided
	onlySecondary := i >= spec.OneSided && i < 2*spec.OneSided

	tags := make([]fixtureTag, 0, spec.Tags)
	for j := range spec.Tags {
		t := fixtureTag{repo: name, tag: fmt.Sprintf("1.%d.%d", j/aliases, j%aliases)}
		t.primary = image(fmt.Sprint(j / aliases))
		// A few OCI image repositories carry an SBOM beside their images.
		if kind == OCIImage && i%3 == 0 && j == spec.Tags-1 {
			t.tag = "sbom"
			t.primary = Spec{Kind: Artifact, Seed: spec.Seed + "/" + name + ":sbom"}
		}
		t.secondary = t.primary
		switch {
		case onlyPrimary:
			t.secondary = Spec{}
		case onlySecondary:
			t.primary = Spec{}
		case rng.Float64() < spec.Drift:
			drift(&t, kind, image(t.tag+"-old"), rng)
		}
		tags = append(tags, t)
	}
	return tags
}

// drift changes t into one of the kinds of drift a mirror shows.
func drift(t *fixtureTag, kind Kind, old Spec, rng *rand.Rand) {
	switch r := rng.Float64(); {
	case r < 0.35:
		t.secondary = Spec{} // missing
	case r < 0.60:
		t.secondary = old // stale
	case r < 0.75 && kind != OCIImage && kind != DockerImage:
		t.secondary, t.damage = old, deleteChildren // stale, the old children gone
	case r < 0.75:
		t.secondary = old
	case r < 0.90:
		t.primary, t.secondary = Spec{}, old // orphan
	case kind == OCIImage || kind == DockerImage:
		if t.secondary.Kind != Artifact {
			t.damage = deleteLastLayer // broken behind a matching digest, found by --deep
		}
	default:
		t.damage = deleteLastChild // broken: an index without one of its images
	}
}

// judge works out the truths and the bytes a copy needs from the plan alone.
func (f *Fixture) judge() {
	f.Truth, f.Deep, f.Synced, f.Copied = Truth{}, Truth{}, Truth{}, Truth{}
	held := map[string]map[digest.Digest]int64{} // blobs on the secondary, per repository
	gone := map[string]map[digest.Digest]bool{}  // manifests and blobs damage removed
	primaryRepos := map[string]bool{}
	for _, t := range f.tags {
		if t.primary.Kind != "" {
			primaryRepos[t.repo] = true
		}
		if held[t.repo] == nil {
			held[t.repo], gone[t.repo] = map[digest.Digest]int64{}, map[digest.Digest]bool{}
		}
		if t.secondary.Kind == "" {
			continue
		}
		c := mustBuildSpec(t.secondary)
		c.walkBlobs(func(b Blob) { held[t.repo][b.Desc.Digest] = b.Desc.Size })
		for _, d := range damaged(c, t.damage) {
			gone[t.repo][d.digest] = true
		}
	}
	for repo, g := range gone {
		for d := range g {
			delete(held[repo], d)
		}
	}
	anywhere := map[digest.Digest]bool{}
	for _, blobs := range held {
		for d := range blobs {
			anywhere[d] = true
		}
	}

	needRepo := map[string]map[digest.Digest]int64{}
	needRegistry := map[digest.Digest]int64{}
	for _, t := range f.tags {
		shallow, deep := f.classify(t, gone[t.repo])
		for _, tr := range []struct {
			truth Truth
			state regdrift.State
		}{{f.Truth, shallow}, {f.Deep, deep}} {
			tr.truth.set(t.repo, t.tag, tr.state)
		}
		switch {
		case shallow == regdrift.StateOnlyOnSecondary && !primaryRepos[t.repo]:
			f.Synced.set(t.repo, t.tag, shallow)
			f.Copied.set(t.repo, t.tag, shallow)
		case shallow == regdrift.StateOnlyOnSecondary:
			f.Copied.set(t.repo, t.tag, shallow)
		default:
			f.Synced.set(t.repo, t.tag, regdrift.StateInSync)
			f.Copied.set(t.repo, t.tag, regdrift.StateInSync)
		}
		if shallow != regdrift.StateOnlyOnPrimary && shallow != regdrift.StateStale {
			continue
		}
		mustBuildSpec(t.primary).walkBlobs(func(b Blob) {
			if _, ok := held[t.repo][b.Desc.Digest]; ok {
				return
			}
			if needRepo[t.repo] == nil {
				needRepo[t.repo] = map[digest.Digest]int64{}
			}
			needRepo[t.repo][b.Desc.Digest] = b.Desc.Size
			if !anywhere[b.Desc.Digest] {
				needRegistry[b.Desc.Digest] = b.Desc.Size
			}
		})
	}
	f.MissingInRepo, f.MissingInRegistry = 0, 0
	for _, blobs := range needRepo {
		for _, n := range blobs {
			f.MissingInRepo += n
		}
	}
	for _, n := range needRegistry {
		f.MissingInRegistry += n
	}
}

// classify returns the state of t without and with --deep, given what damage removed from its
// repository on the secondary.
func (f *Fixture) classify(t fixtureTag, gone map[digest.Digest]bool) (shallow,
	deep regdrift.State) {
	switch {
	case t.secondary.Kind == "":
		return regdrift.StateOnlyOnPrimary, regdrift.StateOnlyOnPrimary
	case t.primary.Kind == "":
		return regdrift.StateOnlyOnSecondary, regdrift.StateOnlyOnSecondary
	}
	p, s := mustBuildSpec(t.primary), mustBuildSpec(t.secondary)
	if p.Digest() != s.Digest() {
		return regdrift.StateStale, regdrift.StateStale
	}
	broken := false
	for _, d := range append(s.ChildDigests(), s.BlobDigests()...) {
		broken = broken || gone[d]
	}
	if broken {
		return regdrift.StateInSync, regdrift.StateBroken
	}
	return regdrift.StateInSync, regdrift.StateInSync
}

func (t Truth) set(repo, tag string, s regdrift.State) {
	if t[repo] == nil {
		t[repo] = map[string]regdrift.State{}
	}
	t[repo][tag] = s
}

// buildCache keeps the content of a spec once built: a fixture asks for the same content for
// every alias of an image and again when it judges.
var buildCache sync.Map // fixtureKey -> *Content

type fixtureKey struct {
	kind      Kind
	seed      string
	platforms int
	base      string
	// version is the only annotation a fixture sets.
	version string
}

// mustBuildSpec builds a spec the fixture made itself, which cannot be invalid.
func mustBuildSpec(s Spec) *Content {
	key := fixtureKey{s.Kind, s.Seed, s.Platforms, s.Base,
		s.Annotations["org.opencontainers.image.version"]}
	if c, ok := buildCache.Load(key); ok {
		return c.(*Content)
	}
	c, err := Build(s)
	mustDo(err)
	buildCache.Store(key, c)
	return c
}

// Blobs returns the size of every config and layer blob of the fixture's content, by digest:
// what tells content uploaded to a registry from other uploads (the throw-away image regclient
// pushes to delete a tag on Distribution 2.8).
func (f *Fixture) Blobs() map[string]int64 {
	out := map[string]int64{}
	for _, t := range f.tags {
		for _, s := range []Spec{t.primary, t.secondary} {
			if s.Kind != "" {
				mustBuildSpec(s).walkBlobs(func(b Blob) { out[b.Desc.Digest.String()] = b.Desc.Size })
			}
		}
	}
	return out
}

// Tags is the number of tags the fixture has across both sides.
func (f *Fixture) Tags() int { return len(f.tags) }

// Fill pushes the primary's and the secondary's content, then damages the secondary. Both
// registries should be empty; each side is pushed by Spec.Workers goroutines, a repository at
// a time each.
func (f *Fixture) Fill(ctx context.Context, primaryHost, secondaryHost string) error {
	var wg sync.WaitGroup
	var errP, errS error
	wg.Go(func() { errP = f.FillSide(ctx, primaryHost, true) })
	wg.Go(func() { errS = f.FillSide(ctx, secondaryHost, false) })
	wg.Wait()
	if errP != nil {
		return errP
	}
	return errS
}

// FillSide pushes one side's content; for the secondary it then does the damage. The bench
// fills a fresh secondary again after each run that changes it.
func (f *Fixture) FillSide(ctx context.Context, host string, primary bool) error {
	byRepo := map[string][]fixtureTag{}
	var order []string
	for _, t := range f.tags {
		if byRepo[t.repo] == nil {
			order = append(order, t.repo)
		}
		byRepo[t.repo] = append(byRepo[t.repo], t)
	}
	jobs := make(chan string)
	errs := make(chan error, f.Spec.Workers)
	var wg sync.WaitGroup
	for range f.Spec.Workers {
		wg.Go(func() {
			// NOTE: one client per worker, each pushing one thing at a time: pushes sharing
			// one client's request queue for a host were seen waiting on it for ever.
			rc := NewClient(host)
			for repo := range jobs {
				if err := f.fillRepo(ctx, rc, host, byRepo[repo], primary); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for _, repo := range order {
		select {
		case jobs <- repo:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs // nil once closed and empty
}

func (f *Fixture) fillRepo(ctx context.Context, rc *regclient.RegClient, host string,
	tags []fixtureTag, primary bool) error {
	sent := map[digest.Digest]bool{}
	pushed := map[digest.Digest]bool{} // manifests in the repository: an alias is one PUT
	for _, t := range tags {
		spec := t.secondary
		if primary {
			spec = t.primary
		}
		if spec.Kind == "" {
			continue
		}
		c := mustBuildSpec(spec)
		if pushed[c.Digest()] {
			c = &Content{Desc: c.Desc, Raw: c.Raw}
		}
		if err := c.push(ctx, rc, host, t.repo, t.tag, sent); err != nil {
			return fmt.Errorf("fixture %s:%s on %s: %w", t.repo, t.tag, host, err)
		}
		pushed[c.Digest()] = true
	}
	if primary {
		return nil
	}
	deleted := map[digest.Digest]bool{} // aliases share what a damage deletes
	for _, t := range tags {
		if t.damage == noDamage {
			continue
		}
		for _, item := range damaged(mustBuildSpec(t.secondary), t.damage) {
			if deleted[item.digest] {
				continue
			}
			deleted[item.digest] = true
			del := DeleteBlob
			if item.manifest {
				del = DeleteManifest
			}
			if err := del(ctx, rc, host, t.repo, item.digest); err != nil {
				return fmt.Errorf("fixture %s:%s: damage: %w", t.repo, t.tag, err)
			}
		}
	}
	return nil
}
