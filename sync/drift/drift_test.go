package drift_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/drift"
)

func m(d string) drift.Resolved {
	return drift.Resolved{Manifest: regdrift.Manifest{Digest: d, MediaType: "x"}}
}

func TestClassify_States(t *testing.T) {
	headErr := errors.New("head: 500")
	primary := drift.Side{Tags: map[string]drift.Resolved{
		"same":    m("sha256:a"),
		"moved":   m("sha256:b"),
		"new":     m("sha256:c"),
		"p-fail":  {Err: headErr},
		"both-nd": {Err: headErr},
		"empty":   {},
	}}
	secondary := drift.Side{Tags: map[string]drift.Resolved{
		"same":    m("sha256:a"),
		"moved":   m("sha256:old"),
		"orphan":  m("sha256:a"),
		"p-fail":  m("sha256:a"),
		"both-nd": {Err: headErr},
		"empty":   {},
		"s-fail":  {Err: headErr},
	}}
	got := map[string]regdrift.State{}
	var order []string
	for _, tg := range drift.Classify(primary, secondary) {
		got[tg.Tag] = tg.State
		order = append(order, tg.Tag)
		if tg.State == regdrift.StateUnresolved && tg.Error == "" {
			t.Errorf("%s: unresolved without an error", tg.Tag)
		}
		if tg.State != regdrift.StateUnresolved && tg.Error != "" {
			t.Errorf("%s: state %s carries error %q", tg.Tag, tg.State, tg.Error)
		}
	}
	want := map[string]regdrift.State{
		"same":    regdrift.StateInSync,
		"moved":   regdrift.StateStale,
		"new":     regdrift.StateOnlyOnPrimary,
		"orphan":  regdrift.StateOnlyOnSecondary,
		"p-fail":  regdrift.StateUnresolved,
		"both-nd": regdrift.StateUnresolved, // two unknowns are not a match
		"empty":   regdrift.StateUnresolved, // two empty digests are not a match
		"s-fail":  regdrift.StateUnresolved,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("states:\n got %v\nwant %v", got, want)
	}
	wantOrder := []string{"both-nd", "empty", "moved", "new", "orphan", "p-fail", "s-fail", "same"}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("order = %v, want %v", order, wantOrder)
	}
}

func TestClassify_ListingFailure(t *testing.T) {
	listErr := errors.New("tags/list: 500")
	t.Run("primary failed", func(t *testing.T) {
		got := drift.Classify(drift.Side{Err: listErr},
			drift.Side{Tags: map[string]drift.Resolved{"orphan?": m("sha256:a")}})
		if len(got) != 1 || got[0].State != regdrift.StateUnresolved {
			t.Fatalf("got %+v, want one unresolved tag", got)
		}
		if got[0].Secondary.Digest != "sha256:a" || got[0].Error == "" {
			t.Errorf("got %+v, want secondary digest kept and an error", got[0])
		}
	})
	t.Run("secondary failed", func(t *testing.T) {
		got := drift.Classify(drift.Side{Tags: map[string]drift.Resolved{"v1": m("sha256:a")}},
			drift.Side{Err: listErr})
		if len(got) != 1 || got[0].State != regdrift.StateUnresolved || got[0].Error == "" {
			t.Fatalf("got %+v, want one unresolved tag with an error", got)
		}
	})
}

func TestClassify_Empty(t *testing.T) {
	if got := drift.Classify(drift.Side{}, drift.Side{}); len(got) != 0 {
		t.Errorf("got %d tags, want 0", len(got))
	}
}
