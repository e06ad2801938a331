package reconcile_test

import (
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
			if n := reconcile.Plan(tags, tc.opts); n != tc.wantN {
				t.Errorf("Plan() = %d actions, want %d", n, tc.wantN)
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
