package reconcile

import (
	"errors"
	"testing"

	"github.com/regdrift/regdrift"
)

func TestMarkVerified(t *testing.T) {
	rows := func() []regdrift.TagDrift {
		return []regdrift.TagDrift{
			{Tag: "copied", State: regdrift.StateStale, Action: regdrift.ActionCopy,
				Result: regdrift.ResultOK},
			{Tag: "deleted", State: regdrift.StateOnlyOnSecondary,
				Action: regdrift.ActionDelete, Result: regdrift.ResultOK},
			{Tag: "delete-failed", State: regdrift.StateOnlyOnSecondary,
				Action: regdrift.ActionDelete, Result: regdrift.ResultFailed},
		}
	}
	after := []regdrift.TagDrift{{Tag: "copied", State: regdrift.StateInSync}}
	cases := []struct {
		name string
		obs  observation
		want []regdrift.State
	}{
		{"listings ok", observation{tags: after},
			[]regdrift.State{regdrift.StateInSync, regdrift.StateInSync,
				regdrift.StateUnresolved}},
		{"secondary listing failed", observation{tags: after, secondaryErr: errors.New("500")},
			[]regdrift.State{regdrift.StateInSync, regdrift.StateUnresolved,
				regdrift.StateUnresolved}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rows()
			markVerified(got, tc.obs)
			for i, w := range tc.want {
				if got[i].Verified != w {
					t.Errorf("%s: verified %q, want %q", got[i].Tag, got[i].Verified, w)
				}
			}
		})
	}
}
