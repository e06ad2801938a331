// Package reconcile runs checks and reconciles: it lists and resolves tags on both registries,
// classifies them, plans what would bring the secondary in line, carries the plan out when
// asked, verifies the result and records every step in the store.
package reconcile

import "github.com/regdrift/regdrift"

// PlanOptions shape a plan.
type PlanOptions struct {
	// NoDelete keeps orphan tags on the secondary.
	NoDelete bool
	// PrimaryEmpty says the primary listed the repository without error and found no tag in
	// it. Its orphans are kept: an empty listing may be a fault on the primary, and a mirror
	// must not be emptied on a guess.
	//
	// TODO: a listing cut short without any error (a page missing, no Link header) still
	// plans the deletion of every tag it left out; a guard on the share of a repository's
	// tags a run may delete would stop that.
	PrimaryEmpty bool
}

// Plan sets the action of every tag: copy what the secondary lacks or holds wrong, delete
// orphans, touch nothing unresolved. Results start as planned; an action withheld by an option
// is skipped with the reason. Plan changes tags in place and returns the number of actions to
// carry out.
func Plan(tags []regdrift.TagDrift, opts PlanOptions) int {
	n := 0
	for i := range tags {
		t := &tags[i]
		switch t.State {
		case regdrift.StateOnlyOnPrimary, regdrift.StateStale, regdrift.StateBroken:
			t.Action, t.Result = regdrift.ActionCopy, regdrift.ResultPlanned
			n++
		case regdrift.StateOnlyOnSecondary:
			t.Action, t.Result = regdrift.ActionDelete, regdrift.ResultPlanned
			switch {
			case opts.NoDelete:
				t.Result, t.Error = regdrift.ResultSkipped, "orphan deletion is turned off"
			case opts.PrimaryEmpty:
				t.Result = regdrift.ResultSkipped
				t.Error = "the primary lists no tags in this repository"
			default:
				n++
			}
		case regdrift.StateUnresolved:
			// Never act on what could not be read; the error stays on the row.
			t.Action, t.Result = regdrift.ActionNone, regdrift.ResultSkipped
		default:
			t.Action, t.Result = regdrift.ActionNone, regdrift.ResultNone
		}
	}
	return n
}
