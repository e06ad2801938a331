// Package reconcile runs checks and reconciles: it lists and resolves tags on both registries,
// classifies them, plans what would bring the secondary in line, carries the plan out when
// asked, verifies the result and records every step in the store.
package reconcile

import (
	"fmt"
	"sync"

	"github.com/regdrift/regdrift"
)

// PlanOptions shape a plan.
type PlanOptions struct {
	// NoDelete keeps orphan tags on the secondary.
	NoDelete bool
	// PrimaryEmpty says the primary listed the repository without error and found no tag in
	// it. Its orphans are kept: an empty listing may be a fault on the primary, and a mirror
	// must not be emptied on a guess.
	PrimaryEmpty bool
	// SecondaryTags is the number of tags the secondary listed in the repository, the base
	// of the deletion guard's share.
	SecondaryTags int
	// Limits are the deletion guard's (zero values take the defaults); AllowMassDelete turns
	// the guard, and the rule on an empty primary, off.
	Limits          regdrift.DeleteLimits
	AllowMassDelete bool
	// HoldDeletes, when set, holds back every deletion with this reason: the run as a whole
	// tripped the guard.
	HoldDeletes string
}

// Planned is what Plan decided for a repository.
type Planned struct {
	// Actions is the number of actions to carry out.
	Actions int
	// Deletes is the number of deletions among them.
	Deletes int
	// HeldBack counts the deletions the deletion guard held back; Guard then says why, with
	// the numbers and how to override.
	HeldBack int
	Guard    string
}

// Plan sets the action of every tag: copy what the secondary lacks or holds wrong, delete
// orphans, touch nothing unresolved. Results start as planned; an action withheld by an option
// or by the deletion guard is skipped with the reason. Plan changes tags in place.
func Plan(tags []regdrift.TagDrift, opts PlanOptions) Planned {
	orphans := 0
	for _, t := range tags {
		if t.State == regdrift.StateOnlyOnSecondary {
			orphans++
		}
	}
	hold, guard := deleteHold(orphans, opts)
	var p Planned
	if guard {
		p.Guard = "deletion guard: " + hold + "; nothing deleted here; " + regdrift.OverrideHint
	}
	for i := range tags {
		t := &tags[i]
		t.Error = clearHold(t)
		switch t.State {
		case regdrift.StateOnlyOnPrimary, regdrift.StateStale, regdrift.StateBroken:
			t.Action, t.Result = regdrift.ActionCopy, regdrift.ResultPlanned
			p.Actions++
		case regdrift.StateOnlyOnSecondary:
			t.Action, t.Result = regdrift.ActionDelete, regdrift.ResultPlanned
			if hold != "" {
				t.Result, t.Error = regdrift.ResultSkipped, hold
				if guard {
					t.Error = "held back by the deletion guard: " + hold
					p.HeldBack++
				}
				continue
			}
			p.Actions++
			p.Deletes++
		case regdrift.StateUnresolved:
			// Never act on what could not be read; the error stays on the row.
			t.Action, t.Result = regdrift.ActionNone, regdrift.ResultSkipped
		default:
			t.Action, t.Result = regdrift.ActionNone, regdrift.ResultNone
		}
	}
	return p
}

// clearHold drops the reason an earlier plan of the same rows gave for holding a deletion
// back, so that planning again (when the run-wide limit trips) starts clean.
func clearHold(t *regdrift.TagDrift) string {
	if t.State == regdrift.StateOnlyOnSecondary {
		return ""
	}
	return t.Error
}

// deleteHold is the one place that decides whether a repository's orphans may be deleted. It
// returns the reason they are kept, or "", and whether that reason is the deletion guard (a
// held-back deletion that makes the repository an error) rather than an option.
func deleteHold(orphans int, opts PlanOptions) (reason string, guard bool) {
	l := opts.Limits.WithDefaults()
	switch {
	case opts.NoDelete:
		return "orphan deletion is turned off", false
	case orphans == 0 || opts.AllowMassDelete:
		return "", false
	case opts.HoldDeletes != "":
		return opts.HoldDeletes, true
	case massDelete(l, orphans, opts.SecondaryTags):
		if opts.PrimaryEmpty {
			return fmt.Sprintf("the primary lists no tags here and the run would delete all "+
				"%d on the secondary (limit: more than %d and more than %s)", orphans,
				l.RepoMin, share(l.RepoShare)), true
		}
		return fmt.Sprintf("the run would delete %d of the %d tags on the secondary "+
			"(limit: more than %d and more than %s)", orphans, opts.SecondaryTags, l.RepoMin,
			share(l.RepoShare)), true
	case opts.PrimaryEmpty:
		// A few orphans of a repository the primary has emptied: kept, but not an alarm.
		return "the primary lists no tags in this repository", false
	}
	return "", false
}

// massDelete is the repository rule of the guard: more than RepoMin deletions and more than
// RepoShare of the tags the secondary holds.
func massDelete(l regdrift.DeleteLimits, deletes, secondaryTags int) bool {
	return deletes > l.RepoMin && float64(deletes) > l.RepoShare*float64(secondaryTags)
}

func share(f float64) string {
	if f == 0.5 {
		return "half"
	}
	return fmt.Sprintf("%.0f%%", f*100)
}

// runBudget holds the run-wide limit of the deletion guard. Repositories are handled several
// at once, so a run first counts what it would delete (from tag listings alone) and trips
// before any repository acts; each repository then reserves its deletions, so that a run never
// deletes more than the limit even when listings grow while it goes on.
type runBudget struct {
	limit int
	mu    sync.Mutex
	used  int
	// hold is set once the run has tripped: the reason every later deletion is held back.
	hold string
}

func newRunBudget(limit int) *runBudget { return &runBudget{limit: limit} }

// trip holds back every deletion of the run from now on, for a run that would delete n tags.
func (b *runBudget) trip(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hold == "" {
		b.hold = fmt.Sprintf("the run would delete %d tags in all (limit: more than %d)", n,
			b.limit)
	}
}

// reserve takes n deletions from the budget and returns "", or the reason to hold them back.
func (b *runBudget) reserve(n int) string {
	if b == nil || n == 0 {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hold == "" && b.used+n > b.limit {
		b.hold = fmt.Sprintf("the run would delete more than %d tags in all", b.limit)
	}
	if b.hold != "" {
		return b.hold
	}
	b.used += n
	return ""
}

// tripped reports whether the run-wide limit held anything back.
func (b *runBudget) tripped() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hold != ""
}
