package reconcile

import (
	"fmt"
	"testing"

	"github.com/regdrift/regdrift"
)

// TestPlannedDeletes_SameWithoutRows: a result that dropped its rows counts the deletions its
// plan carries out as the rows did, with deletions withheld or not, and broken tags copied.
func TestPlannedDeletes_SameWithoutRows(t *testing.T) {
	states := []regdrift.State{regdrift.StateInSync, regdrift.StateOnlyOnPrimary,
		regdrift.StateOnlyOnSecondary, regdrift.StateStale, regdrift.StateBroken,
		regdrift.StateUnresolved, regdrift.StateOnlyOnSecondary}
	for _, opts := range []PlanOptions{{SecondaryTags: 100}, {NoDelete: true},
		{PrimaryEmpty: true}} {
		tags := make([]regdrift.TagDrift, 0, 3*len(states))
		for i := range 3 * len(states) {
			tags = append(tags, regdrift.TagDrift{Tag: fmt.Sprint(i),
				State: states[i%len(states)]})
		}
		p := Plan(tags, opts)
		res := &regdrift.RepoResult{Tags: tags, Before: regdrift.CountTags(tags),
			Actions: p.Actions}
		withRows := plannedDeletes(res)
		if withRows != p.Deletes {
			t.Errorf("%+v: %d deletions counted from the rows, the plan has %d", opts,
				withRows, p.Deletes)
		}
		res.Tags = nil
		if got := plannedDeletes(res); got != withRows {
			t.Errorf("%+v: %d deletions counted without rows, %d with", opts, got, withRows)
		}
	}
}
