package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/server"
)

// TestReport_WritesAsTheEncoderWould: the report written one repository at a time is byte for
// byte what encoding the whole report at once gives, for no, one and several repositories.
func TestReport_WritesAsTheEncoderWould(t *testing.T) {
	run := &regdrift.Run{ID: 7, Mode: regdrift.ModeDryRun, Status: regdrift.RunDone,
		Outcome: regdrift.OutcomeDrift, Error: "a <note> & more"}
	man := regdrift.Manifest{Digest: "sha256:" + strings.Repeat("a", 64),
		MediaType: "application/vnd.oci.image.index.v1+json"}
	a := &regdrift.RepoResult{RunID: 7, Name: "team/a", Status: regdrift.RepoDrift,
		Tags: []regdrift.TagDrift{
			{Tag: "v1", State: regdrift.StateInSync, Primary: man, Secondary: man},
			{Tag: "v2", State: regdrift.StateBroken, Primary: man, Secondary: man,
				Missing: []string{"blob sha256:00"}, Action: regdrift.ActionCopy},
		}}
	b := &regdrift.RepoResult{RunID: 7, Name: "team/b", Status: regdrift.RepoInSync,
		Tags: []regdrift.TagDrift{}}
	for _, results := range [][]*regdrift.RepoResult{{}, {a}, {a, b}} {
		rep := newReport(run, "http://p", "http://s", results, heldRows)
		var got bytes.Buffer
		if err := rep.writeJSON(&got); err != nil {
			t.Fatal(err)
		}

		whole := rep
		for _, r := range results {
			rr := repoReport{RepoResult: r, Tags: []server.TagJSON{}}
			for _, tg := range r.Tags {
				rr.Tags = append(rr.Tags, server.NewTagJSON(tg))
			}
			whole.Repositories = append(whole.Repositories, rr)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(whole); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%d repositories:\ngot\n%s\nwant\n%s", len(results), got.String(),
				want.String())
		}
	}
}

func TestReport_RowsThatCannotBeReadFailTheReport(t *testing.T) {
	rep := newReport(&regdrift.Run{ID: 1}, "p", "s",
		[]*regdrift.RepoResult{{Name: "team/a"}},
		func(*regdrift.RepoResult) ([]regdrift.TagDrift, error) {
			return nil, errors.New("disk gone")
		})
	for name, write := range map[string]func() error{
		"json":  func() error { return rep.writeJSON(&bytes.Buffer{}) },
		"table": func() error { return rep.writeTable(&bytes.Buffer{}) },
	} {
		if err := write(); err == nil || !strings.Contains(err.Error(), "disk gone") {
			t.Errorf("%s: err = %v, want the store's error", name, err)
		}
	}
}
