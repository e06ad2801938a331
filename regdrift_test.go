package regdrift_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/regdrift/regdrift"
)

func TestRunRequest_Validate(t *testing.T) {
	cases := []struct {
		name     string
		in       regdrift.RunRequest
		wantMode regdrift.Mode
		wantRepo []string
		wantErr  bool
	}{
		{"defaults to a dry run", regdrift.RunRequest{}, regdrift.ModeDryRun, []string{}, false},
		{"execute", regdrift.RunRequest{Mode: regdrift.ModeExecute},
			regdrift.ModeExecute, []string{}, false},
		{"dedupes names", regdrift.RunRequest{Repositories: []string{"a/b", "c", "a/b"}},
			regdrift.ModeDryRun, []string{"a/b", "c"}, false},
		{"bad mode", regdrift.RunRequest{Mode: "delete"}, "", nil, true},
		{"bad name", regdrift.RunRequest{Repositories: []string{"Upper/Case"}}, "", nil, true},
		{"dot dot", regdrift.RunRequest{Repositories: []string{"../x"}}, "", nil, true},
		{"too long", regdrift.RunRequest{Repositories: []string{strings.Repeat("a", 256)}},
			"", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.in
			err := req.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				if regdrift.ErrorCode(err) != regdrift.EINVALID {
					t.Errorf("code %s, want invalid", regdrift.ErrorCode(err))
				}
				return
			}
			if req.Mode != tc.wantMode || !reflect.DeepEqual(req.Repositories, tc.wantRepo) {
				t.Errorf("got %s %v, want %s %v", req.Mode, req.Repositories, tc.wantMode,
					tc.wantRepo)
			}
		})
	}
}

func TestValidateRepoName(t *testing.T) {
	for _, ok := range []string{"a", "geo/app", "a.b_c__d-e/f--g", "x/y/z"} {
		if err := regdrift.ValidateRepoName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "A", "a/", "/a", "a//b", "a..b", "-a", "a b", "a:b"} {
		if err := regdrift.ValidateRepoName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCounts(t *testing.T) {
	var c regdrift.Counts
	for _, s := range regdrift.States {
		c.Add(s)
		if c.Get(s) != 1 {
			t.Errorf("Get(%s) = %d after one Add", s, c.Get(s))
		}
	}
	if c.Total() != len(regdrift.States) || c.Drift() != 4 {
		t.Errorf("total %d drift %d, want %d and 4", c.Total(), c.Drift(), len(regdrift.States))
	}
	d := c
	d.Merge(c)
	if d.Total() != 2*c.Total() || d.Unresolved != 2 {
		t.Errorf("merge: %+v", d)
	}
	if got := (regdrift.Outcome("")).ExitCode(); got != 2 {
		t.Errorf("exit code of no outcome = %d, want 2", got)
	}
}

func TestTagDrift_Notable(t *testing.T) {
	tests := []struct {
		name string
		tag  regdrift.TagDrift
		want bool
	}{
		{"in sync, nothing done", regdrift.TagDrift{State: regdrift.StateInSync,
			Action: regdrift.ActionNone}, false},
		{"in sync, no action recorded", regdrift.TagDrift{State: regdrift.StateInSync}, false},
		{"in sync, verified in sync", regdrift.TagDrift{State: regdrift.StateInSync,
			Action: regdrift.ActionNone, Verified: regdrift.StateInSync}, false},
		{"stale", regdrift.TagDrift{State: regdrift.StateStale}, true},
		{"in sync with an action", regdrift.TagDrift{State: regdrift.StateInSync,
			Action: regdrift.ActionCopy}, true},
		{"in sync with a result", regdrift.TagDrift{State: regdrift.StateInSync,
			Result: regdrift.ResultSkipped}, true},
		{"in sync with an error", regdrift.TagDrift{State: regdrift.StateInSync,
			Error: "verify: 500"}, true},
		{"in sync, verified stale", regdrift.TagDrift{State: regdrift.StateInSync,
			Verified: regdrift.StateStale}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tag.Notable(); got != tt.want {
				t.Errorf("Notable: got %v, want %v", got, tt.want)
			}
		})
	}
}
