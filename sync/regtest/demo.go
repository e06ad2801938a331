package regtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient"

	"github.com/regdrift/regdrift"
)

// Truth is the known state of every tag of a scenario: repository, then tag.
type Truth map[string]map[string]regdrift.State

// Repos lists the repositories in name order.
func (t Truth) Repos() []string {
	return slices.Sorted(maps.Keys(t))
}

// Counts counts the states of the tags of repo.
func (t Truth) Counts(repo string) regdrift.Counts {
	var c regdrift.Counts
	for _, s := range t[repo] {
		c.Add(s)
	}
	return c
}

// The demo's repositories.
const (
	DemoBase   = "base/alpine" // singles in sync, an orphan tag sharing a digest, one new tag
	DemoApp    = "geo/app"     // stale multi-platform index with children gone on the secondary
	DemoTiles  = "geo/tiles"   // indexes whose children omit mediaType; a broken index
	DemoLegacy = "legacy/tool" // Docker list replaced by one of its children; a broken layer
	DemoTeam   = "team/ci"     // only on the secondary
	DemoBig    = "big/many"    // more tags than one page
)

// demoTag is one tag of the demo scenario.
type demoTag struct {
	repo, tag string
	// primary and secondary say what each side holds; a zero Spec means the tag is absent.
	primary, secondary Spec
	// childOnSecondary pushes only the first child of secondary under the tag.
	childOnSecondary bool
	// damage runs once everything is pushed and harms the secondary's copy.
	damage damage
	// state is the truth without --deep; deep, when set, is the truth with it.
	state, deep regdrift.State
}

// damage is done to the secondary's copy of a tag after the pushes.
type damage int

const (
	noDamage damage = iota
	// deleteChildren deletes every child manifest of the secondary's index.
	deleteChildren
	// deleteLastChild deletes the last child manifest of the secondary's index.
	deleteLastChild
	// deleteLastLayer deletes the last layer blob of the secondary's image.
	deleteLastLayer
)

// bigTags is how many tag names DemoBig has across both sides.
const bigTags = 120

// demoTags is the demo scenario, one entry per tag. It is long because it is a table; it is
// built by a function so that no caller can change it for the next.
func demoTags() []demoTag {
	oci := func(seed string) Spec { return Spec{Kind: OCIImage, Seed: seed} }
	dock := func(seed string) Spec { return Spec{Kind: DockerImage, Seed: seed} }
	index := func(k Kind, seed string, n int) Spec {
		return Spec{Kind: k, Seed: seed, Platforms: n}
	}
	var none Spec

	appNew := index(OCIIndex, "geo/app:2.1", 3)
	appOld := index(OCIIndex, "geo/app:2.1-rc", 3)
	tags := []demoTag{
		{repo: DemoBase, tag: "3.19", primary: oci("alpine:3.19"), secondary: oci("alpine:3.19"),
			state: regdrift.StateInSync},
		{repo: DemoBase, tag: "3.20", primary: dock("alpine:3.20"),
			secondary: dock("alpine:3.20"), state: regdrift.StateInSync},
		{repo: DemoBase, tag: "stable", primary: dock("alpine:3.20"),
			secondary: dock("alpine:3.20"), state: regdrift.StateInSync},
		{repo: DemoBase, tag: "old-stable", primary: none, secondary: dock("alpine:3.20"),
			state: regdrift.StateOnlyOnSecondary},
		{repo: DemoBase, tag: "edge", primary: oci("alpine:edge"), secondary: none,
			state: regdrift.StateOnlyOnPrimary},

		{repo: DemoApp, tag: "2.1", primary: appNew, secondary: appOld, damage: deleteChildren,
			state: regdrift.StateStale},
		{repo: DemoApp, tag: "latest", primary: appNew, secondary: appOld,
			state: regdrift.StateStale},
		{repo: DemoApp, tag: "2.0", primary: index(OCIIndex, "geo/app:2.0", 3),
			secondary: index(OCIIndex, "geo/app:2.0", 3), state: regdrift.StateInSync},

		{repo: DemoTiles, tag: "1.4", primary: index(OCIIndexBare, "geo/tiles:1.4", 2),
			secondary: none, state: regdrift.StateOnlyOnPrimary},
		{repo: DemoTiles, tag: "1.3", primary: index(OCIIndexBare, "geo/tiles:1.3", 2),
			secondary: index(OCIIndexBare, "geo/tiles:1.3-old", 2), state: regdrift.StateStale},
		{repo: DemoTiles, tag: "1.2", primary: index(OCIIndex, "geo/tiles:1.2", 2),
			secondary: index(OCIIndex, "geo/tiles:1.2", 2), damage: deleteLastChild,
			state: regdrift.StateInSync, deep: regdrift.StateBroken},

		{repo: DemoLegacy, tag: "1.0", primary: index(DockerList, "tool:1.0", 2),
			secondary: index(DockerList, "tool:1.0", 2), childOnSecondary: true,
			state: regdrift.StateStale},
		{repo: DemoLegacy, tag: "0.9", primary: dock("tool:0.9"), secondary: dock("tool:0.9"),
			state: regdrift.StateInSync},
		{repo: DemoLegacy, tag: "0.8", primary: dock("tool:0.8"), secondary: dock("tool:0.8"),
			damage: deleteLastLayer, state: regdrift.StateInSync, deep: regdrift.StateBroken},

		{repo: DemoTeam, tag: "v1", primary: none, secondary: oci("team/ci:v1"),
			state: regdrift.StateOnlyOnSecondary},
		{repo: DemoTeam, tag: "latest", primary: none, secondary: oci("team/ci:v1"),
			state: regdrift.StateOnlyOnSecondary},
	}

	// DemoBig: every tag in sync but four, spread over the pages of a listing. The tags share
	// their blobs and differ by an annotation, which keeps the pushes few.
	big := func(version string) Spec {
		return Spec{Kind: OCIImage, Seed: DemoBig, Annotations: map[string]string{
			"org.opencontainers.image.version": version,
		}}
	}
	for i := range bigTags {
		tag := fmt.Sprintf("r%03d", i)
		t := demoTag{repo: DemoBig, tag: tag, primary: big(tag), secondary: big(tag),
			state: regdrift.StateInSync}
		switch i {
		case 7, 119:
			t.secondary, t.state = none, regdrift.StateOnlyOnPrimary
		case 42:
			t.secondary, t.state = big(tag+"-old"), regdrift.StateStale
		case 101:
			t.primary, t.state = none, regdrift.StateOnlyOnSecondary
		}
		tags = append(tags, t)
	}
	return tags
}

// DemoTruth is the truth Demo returns: what a check without --deep should find.
func DemoTruth() Truth { return demoTruth(false) }

// DemoTruthDeep is what a check with --deep should find: DemoTruth with the tags whose
// secondary lacks content behind a matching digest marked broken.
func DemoTruthDeep() Truth { return demoTruth(true) }

func demoTruth(deep bool) Truth {
	t := Truth{}
	for _, d := range demoTags() {
		if t[d.repo] == nil {
			t[d.repo] = map[string]regdrift.State{}
		}
		s := d.state
		if deep && d.deep != "" {
			s = d.deep
		}
		t[d.repo][d.tag] = s
	}
	return t
}

// DemoMissing lists, for each broken tag of the demo, the digests of the manifests and blobs
// that Demo deletes from the secondary.
func DemoMissing() (map[string]map[string][]string, error) {
	out := map[string]map[string][]string{}
	for _, d := range demoTags() {
		if d.deep != regdrift.StateBroken {
			continue
		}
		c, err := Build(d.secondary)
		if err != nil {
			return nil, err
		}
		if out[d.repo] == nil {
			out[d.repo] = map[string][]string{}
		}
		for _, item := range damaged(c, d.damage) {
			out[d.repo][d.tag] = append(out[d.repo][d.tag], item.digest.String())
		}
	}
	return out, nil
}

// damagedItem is one manifest or blob that a damage deletes.
type damagedItem struct {
	digest   digest.Digest
	manifest bool
}

func damaged(c *Content, dmg damage) []damagedItem {
	switch dmg {
	case deleteChildren:
		var out []damagedItem
		for _, ch := range c.Children {
			out = append(out, damagedItem{digest: ch.Desc.Digest, manifest: true})
		}
		return out
	case deleteLastChild:
		if n := len(c.Children); n > 0 {
			return []damagedItem{{digest: c.Children[n-1].Desc.Digest, manifest: true}}
		}
	case deleteLastLayer:
		if n := len(c.Layers); n > 0 {
			return []damagedItem{{digest: c.Layers[n-1].Desc.Digest}}
		}
	}
	return nil
}

// Demo fills the registries at primaryHost and secondaryHost (as "127.0.0.1:PORT", plain
// HTTP) with the demo scenario, a drift of every kind regdrift knows, and returns its truth.
// The registries should be empty; Demo takes a second or two on in-memory registries.
func Demo(ctx context.Context, primaryHost, secondaryHost string) (Truth, error) {
	rc := NewClient(primaryHost, secondaryHost)
	tags := demoTags()

	// Push every tag to both sides, one goroutine a side, before damaging anything: a
	// registry refuses an index whose children are missing.
	var wg sync.WaitGroup
	var errPrimary, errSecondary error
	wg.Go(func() { errPrimary = pushDemoSide(ctx, rc, primaryHost, tags, true) })
	wg.Go(func() { errSecondary = pushDemoSide(ctx, rc, secondaryHost, tags, false) })
	wg.Wait()
	if err := errors.Join(errPrimary, errSecondary); err != nil {
		return nil, err
	}

	for _, d := range tags {
		if d.damage == noDamage {
			continue
		}
		c, err := Build(d.secondary)
		if err != nil {
			return nil, err
		}
		for _, item := range damaged(c, d.damage) {
			del := DeleteBlob
			if item.manifest {
				del = DeleteManifest
			}
			if err := del(ctx, rc, secondaryHost, d.repo, item.digest); err != nil {
				return nil, fmt.Errorf("demo %s:%s: damage: %w", d.repo, d.tag, err)
			}
		}
	}
	return DemoTruth(), nil
}

// pushDemoSide pushes to host what the primary, or else the secondary, holds of each tag.
func pushDemoSide(ctx context.Context, rc *regclient.RegClient, host string, tags []demoTag,
	primary bool) error {
	side := "secondary"
	if primary {
		side = "primary"
	}
	sent := map[string]map[digest.Digest]bool{}
	for _, d := range tags {
		spec := d.secondary
		if primary {
			spec = d.primary
		}
		if spec.Kind == "" {
			continue
		}
		c, err := Build(spec)
		if err != nil {
			return err
		}
		if d.childOnSecondary && !primary {
			c = c.Children[0]
		}
		if sent[d.repo] == nil {
			sent[d.repo] = map[digest.Digest]bool{}
		}
		if err := c.push(ctx, rc, host, d.repo, d.tag, sent[d.repo]); err != nil {
			return fmt.Errorf("demo %s %s:%s: %w", side, d.repo, d.tag, err)
		}
	}
	return nil
}
