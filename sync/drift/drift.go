// Package drift compares what two registries say of one repository's tags. It is pure: no
// I/O, so large tag sets can be classified and measured without a registry.
package drift

import (
	"fmt"
	"sort"

	"github.com/regdrift/regdrift"
)

// Resolved is what one registry answered for one tag: a manifest or the error that kept it
// from answering.
type Resolved struct {
	Manifest regdrift.Manifest
	Err      error
}

// Side is one registry's view of a repository. Err is set when the tag listing failed; Tags
// then holds nothing trustworthy.
type Side struct {
	Err  error
	Tags map[string]Resolved
}

// Classify compares the primary's and the secondary's view of a repository and returns one
// row per tag, sorted by tag name, each with a definite state. Nothing unknown compares equal:
// a tag whose digest could not be read on either side, or that only one side lists while the
// other side's listing failed, is unresolved with its error.
func Classify(primary, secondary Side) []regdrift.TagDrift {
	// The rows outlive the sides (a run keeps them), so the slice is sized to the union, not
	// to the sum: tags on both sides would leave half of a larger slice unused.
	n := len(primary.Tags)
	for tag := range secondary.Tags {
		if _, ok := primary.Tags[tag]; !ok {
			n++
		}
	}
	out := make([]regdrift.TagDrift, 0, n)
	for tag, p := range primary.Tags {
		s, onSecondary := secondary.Tags[tag]
		out = append(out, classifyTag(tag, &p, pick(onSecondary, &s), secondary.Err, "secondary"))
	}
	for tag, s := range secondary.Tags {
		if _, onPrimary := primary.Tags[tag]; onPrimary {
			continue
		}
		t := classifyTag(tag, nil, &s, primary.Err, "primary")
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out
}

func pick(ok bool, r *Resolved) *Resolved {
	if ok {
		return r
	}
	return nil
}

// classifyTag decides one tag. p and s are nil where that side does not list the tag;
// otherErr is the listing error of the side that may be missing, named otherSide.
func classifyTag(tag string, p, s *Resolved, otherErr error, otherSide string) regdrift.TagDrift {
	t := regdrift.TagDrift{Tag: tag, Action: regdrift.ActionNone, Missing: []string{}}
	if p != nil {
		t.Primary = p.Manifest
	}
	if s != nil {
		t.Secondary = s.Manifest
	}
	switch {
	case otherErr != nil:
		t.State = regdrift.StateUnresolved
		t.Error = fmt.Sprintf("%s tag listing failed: %v", otherSide, otherErr)
	case p != nil && p.Err != nil:
		t.State = regdrift.StateUnresolved
		t.Error = fmt.Sprintf("primary: %v", p.Err)
	case s != nil && s.Err != nil:
		t.State = regdrift.StateUnresolved
		t.Error = fmt.Sprintf("secondary: %v", s.Err)
	case s == nil:
		t.State = regdrift.StateOnlyOnPrimary
	case p == nil:
		t.State = regdrift.StateOnlyOnSecondary
	case p.Manifest.Digest == "" || s.Manifest.Digest == "":
		// A resolver must never hand over an empty digest without an error; if one does,
		// the tag is still not a match.
		t.State = regdrift.StateUnresolved
		t.Error = "digest missing without an error"
	case p.Manifest.Digest == s.Manifest.Digest:
		t.State = regdrift.StateInSync
		// One string for both: a run holds every row, and most rows are in sync.
		t.Secondary.Digest = t.Primary.Digest
	default:
		t.State = regdrift.StateStale
	}
	return t
}
