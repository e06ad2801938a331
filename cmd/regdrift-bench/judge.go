package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/regtest"
)

// regdriftReport is the part of `regdrift check --format json` the bench reads.
type regdriftReport struct {
	Summary      regdrift.Summary `json:"summary"`
	Repositories []struct {
		Name string `json:"name"`
		Tags []struct {
			Tag   string         `json:"tag"`
			State regdrift.State `json:"state"`
		} `json:"tags"`
	} `json:"repositories"`
}

// verdict is how a command's answer compares with the truth.
type verdict struct {
	right, total int
	// wrong names the first few mismatches.
	wrong []string
	note  string
}

func (v verdict) String() string {
	s := fmt.Sprintf("%d/%d", v.right, v.total)
	if len(v.wrong) > 0 {
		s += " (" + strings.Join(v.wrong, "; ") + ")"
	}
	if v.note != "" {
		s += " " + v.note
	}
	return s
}

func (v *verdict) miss(format string, args ...any) {
	if len(v.wrong) < 3 {
		v.wrong = append(v.wrong, fmt.Sprintf(format, args...))
	}
}

// judgeRegdrift compares every tag of a regdrift JSON report with want.
func judgeRegdrift(stdout []byte, want regtest.Truth) verdict {
	var rep regdriftReport
	if err := json.Unmarshal(stdout, &rep); err != nil {
		return verdict{wrong: []string{"unreadable report: " + err.Error()}}
	}
	got := regtest.Truth{}
	for _, r := range rep.Repositories {
		got[r.Name] = map[string]regdrift.State{}
		for _, t := range r.Tags {
			got[r.Name][t.Tag] = t.State
		}
	}
	return compare(got, want)
}

func compare(got, want regtest.Truth) verdict {
	var v verdict
	for _, repo := range want.Repos() {
		for _, tag := range sortedTags(want[repo]) {
			v.total++
			g, ok := got[repo][tag]
			switch {
			case !ok:
				v.miss("%s:%s absent, want %s", repo, tag, want[repo][tag])
			case g != want[repo][tag]:
				v.miss("%s:%s %s, want %s", repo, tag, g, want[repo][tag])
			default:
				v.right++
			}
		}
	}
	for repo, tags := range got {
		for tag := range tags {
			if _, ok := want[repo][tag]; !ok {
				v.miss("%s:%s reported, not in the fixture", repo, tag)
			}
		}
	}
	return v
}

func sortedTags(m map[string]regdrift.State) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// judgeRegsync compares the tags regsync's check says need a sync with the tags a copy must
// bring over (missing and stale); it has no word for orphans or for broken content.
func judgeRegsync(stderr []byte, host string, truth, deep regtest.Truth) verdict {
	said := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg    string `json:"msg"`
			Source string `json:"source"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "Image sync needed" {
			said[strings.TrimPrefix(line.Source, host+"/")] = true
		}
	}
	var v verdict
	orphans, broken := 0, 0
	for _, repo := range truth.Repos() {
		for _, tag := range sortedTags(truth[repo]) {
			s, ref := truth[repo][tag], repo+":"+tag
			switch {
			case s == regdrift.StateOnlyOnPrimary || s == regdrift.StateStale:
				v.total++
				if said[ref] {
					v.right++
				} else {
					v.miss("%s %s not reported", ref, s)
				}
			case said[ref]:
				v.miss("%s %s reported as needing a sync", ref, s)
			case s == regdrift.StateOnlyOnSecondary:
				orphans++
			}
			if deep[repo][tag] == regdrift.StateBroken {
				broken++
			}
		}
	}
	v.note = fmt.Sprintf("copies; %d orphans and %d broken not reported", orphans, broken)
	return v
}

// floorCounts is the fixture's counts as the reference client reports them.
func floorCounts(truth regtest.Truth) regdrift.Counts {
	var c regdrift.Counts
	for _, repo := range truth.Repos() {
		c.Merge(truth.Counts(repo))
	}
	return c
}

// floor is the fewest requests a check of truth can make on Distribution 2.8 (one page per
// tag list): a tag list per repository per side and a HEAD per tag per side.
func floor(truth regtest.Truth) int {
	n := 2 * len(truth)
	for _, tags := range truth {
		for _, s := range tags {
			n += 2
			if s == regdrift.StateOnlyOnPrimary || s == regdrift.StateOnlyOnSecondary {
				n--
			}
		}
	}
	return n
}
