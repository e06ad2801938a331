package reconcile_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/reconcile"
)

func TestPlan(t *testing.T) {
	type want struct {
		action regdrift.Action
		result regdrift.Result
		reason bool
	}
	states := []regdrift.State{
		regdrift.StateInSync, regdrift.StateOnlyOnPrimary, regdrift.StateOnlyOnSecondary,
		regdrift.StateStale, regdrift.StateBroken, regdrift.StateUnresolved,
	}
	cases := []struct {
		name     string
		opts     reconcile.PlanOptions
		wantN    int
		wantRows []want
	}{
		{"default", reconcile.PlanOptions{}, 4, []want{
			{regdrift.ActionNone, regdrift.ResultNone, false},
			{regdrift.ActionCopy, regdrift.ResultPlanned, false},
			{regdrift.ActionDelete, regdrift.ResultPlanned, false},
			{regdrift.ActionCopy, regdrift.ResultPlanned, false},
			{regdrift.ActionCopy, regdrift.ResultPlanned, false},
			{regdrift.ActionNone, regdrift.ResultSkipped, true},
		}},
		{"primary empty", reconcile.PlanOptions{PrimaryEmpty: true}, 3, []want{
			{regdrift.ActionNone, regdrift.ResultNone, false},
			{regdrift.ActionCopy, regdrift.ResultPlanned, false},
			{regdrift.ActionDelete, regdrift.ResultSkipped, true},
			{regdrift.ActionCopy, regdrift.ResultPlanned, false},
			{regdrift.ActionCopy, regdrift.ResultPlanned, false},
			{regdrift.ActionNone, regdrift.ResultSkipped, true},
		}},
		{"no delete", reconcile.PlanOptions{NoDelete: true}, 3, []want{
			{regdrift.ActionNone, regdrift.ResultNone, false},
			{regdrift.ActionCopy, regdrift.ResultPlanned, false},
			{regdrift.ActionDelete, regdrift.ResultSkipped, true},
			{regdrift.ActionCopy, regdrift.ResultPlanned, false},
			{regdrift.ActionCopy, regdrift.ResultPlanned, false},
			{regdrift.ActionNone, regdrift.ResultSkipped, true},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tags := make([]regdrift.TagDrift, len(states))
			for i, s := range states {
				tags[i] = regdrift.TagDrift{Tag: string(s), State: s}
				if s == regdrift.StateUnresolved {
					tags[i].Error = "head failed"
				}
			}
			if p := reconcile.Plan(tags, tc.opts); p.Actions != tc.wantN || p.HeldBack != 0 ||
				p.Guard != "" {
				t.Errorf("Plan() = %+v, want %d actions and no guard", p, tc.wantN)
			}
			for i, w := range tc.wantRows {
				got := tags[i]
				if got.Action != w.action || got.Result != w.result ||
					(got.Error != "") != w.reason {
					t.Errorf("%s: got %s/%s %q, want %s/%s (reason %v)", got.Tag, got.Action,
						got.Result, got.Error, w.action, w.result, w.reason)
				}
			}
		})
	}
}

// TestPlan_DeletionGuard checks the repository rule of the guard at and around its limits:
// more than RepoMin deletions and more than RepoShare of the secondary's tags.
func TestPlan_DeletionGuard(t *testing.T) {
	limits := regdrift.DeleteLimits{RepoShare: 0.5, RepoMin: 10, RunMax: 500}
	cases := []struct {
		name          string
		orphans, kept int
		opts          reconcile.PlanOptions
		wantDeletes   int
		wantHeld      int
		wantReason    string
	}{
		{"routine cleanup", 5, 5, reconcile.PlanOptions{}, 5, 0, ""},
		{"11 of 100: a small share", 11, 89, reconcile.PlanOptions{}, 11, 0, ""},
		{"10 of 10: few", 10, 0, reconcile.PlanOptions{}, 10, 0, ""},
		{"11 of 22: exactly half", 11, 11, reconcile.PlanOptions{}, 11, 0, ""},
		{"11 of 21: more than half", 11, 10, reconcile.PlanOptions{}, 0, 11, "11 of the 21"},
		{"primary empty, many", 40, 0, reconcile.PlanOptions{PrimaryEmpty: true}, 0, 40,
			"the primary lists no tags here and the run would delete all 40"},
		{"primary empty, few: kept quietly", 3, 0, reconcile.PlanOptions{PrimaryEmpty: true},
			0, 0, ""},
		{"allowed", 40, 0, reconcile.PlanOptions{PrimaryEmpty: true, AllowMassDelete: true},
			40, 0, ""},
		{"no delete wins", 40, 0, reconcile.PlanOptions{NoDelete: true}, 0, 0, ""},
		{"run tripped", 2, 50, reconcile.PlanOptions{HoldDeletes: "the run would delete 900"},
			0, 2, "the run would delete 900"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tags []regdrift.TagDrift
			for i := range tc.orphans {
				tags = append(tags, regdrift.TagDrift{Tag: fmt.Sprint("o", i),
					State: regdrift.StateOnlyOnSecondary})
			}
			for i := range tc.kept {
				tags = append(tags, regdrift.TagDrift{Tag: fmt.Sprint("k", i),
					State: regdrift.StateInSync})
			}
			opts := tc.opts
			opts.Limits, opts.SecondaryTags = limits, tc.orphans+tc.kept
			p := reconcile.Plan(tags, opts)
			if p.Deletes != tc.wantDeletes || p.Actions != tc.wantDeletes ||
				p.HeldBack != tc.wantHeld {
				t.Errorf("Plan() = %+v, want %d deletes, %d held back", p, tc.wantDeletes,
					tc.wantHeld)
			}
			if (p.Guard != "") != (tc.wantReason != "") ||
				!strings.Contains(p.Guard, tc.wantReason) {
				t.Errorf("guard %q, want it to say %q", p.Guard, tc.wantReason)
			}
			if p.Guard != "" && !strings.Contains(p.Guard, "--allow-mass-delete") {
				t.Errorf("guard %q does not say how to override", p.Guard)
			}
			held := 0
			for _, row := range tags[:tc.orphans] {
				if row.Action != regdrift.ActionDelete {
					t.Errorf("%s: action %s, want delete", row.Tag, row.Action)
				}
				if row.Result == regdrift.ResultSkipped &&
					strings.HasPrefix(row.Error, "held back by the deletion guard") {
					held++
				}
			}
			if held != tc.wantHeld {
				t.Errorf("%d rows held back by the guard, want %d", held, tc.wantHeld)
			}
		})
	}
}
