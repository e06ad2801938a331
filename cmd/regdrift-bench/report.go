package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/regclient/regclient/types/descriptor"

	"github.com/regdrift/regdrift/sync/regtest"
)

// report prints the table and the ratios and writes both to the output file.
func (b *session) report() error {
	var w strings.Builder
	spec := b.f.Spec
	machine := b.cfg.machine
	if machine == "" {
		machine = fmt.Sprintf("%s/%s, %d cores", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	}
	fmt.Fprintf(&w, "regdrift-bench %s UTC on %s; fixture %d repositories x %d tags "+
		"(%d tags, drift %.0f%%, %d repositories on one side only each), Distribution 2.8 "+
		"in-process behind counting proxies; wall time is the median of the runs shown.\n\n",
		b.started.UTC().Format("2006-01-02 15:04"), machine, spec.Repos, spec.Tags,
		b.f.Tags(), 100*spec.Drift, spec.OneSided)

	fmt.Fprintln(&w, "| command | runs | wall | CPU | requests primary | requests secondary | "+
		"requests / floor | connections | manifest+blob requests | uploaded content "+
		"(+ other) | mounts | peak RSS | exit | correct |")
	fmt.Fprintln(&w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	known := b.f.Blobs()
	for _, r := range b.rows {
		n := total(r.s.primary) + total(r.s.secondary)
		c := contentBytes(r.s.blobs, known)
		fmt.Fprintf(&w, "| %s | %d | %.2f s | %.2f s | %d | %d | %.3f (floor %d) | %d | %d | "+
			"%s (+ %s) | %d | %.0f MiB | %d | %s |\n",
			r.name, r.runs, r.s.wall.Seconds(), r.s.cpu.Seconds(), total(r.s.primary),
			total(r.s.secondary), float64(n)/float64(r.floor), r.floor, r.s.conns,
			content(r.s.primary)+content(r.s.secondary), bytesOf(c),
			bytesOf(r.s.uploaded-c), r.s.mounts, float64(r.s.rssKiB)/1024, r.s.exit, r.correct)
	}

	fmt.Fprintln(&w)
	fmt.Fprintln(&w, "| ratio | value | target |")
	fmt.Fprintln(&w, "|---|---|---|")
	get := func(name string) *row {
		for i := range b.rows {
			if b.rows[i].name == name {
				return &b.rows[i]
			}
		}
		return nil
	}
	ratio := func(what, a, bName string, f func(r *row) float64, target string) {
		ra, rb := get(a), get(bName)
		if ra == nil || rb == nil || f(rb) == 0 {
			return
		}
		fmt.Fprintf(&w, "| %s: %s / %s | %.3f | %s |\n", what, a, bName, f(ra)/f(rb), target)
	}
	wall := func(r *row) float64 { return r.s.wall.Seconds() }
	reqs := func(r *row) float64 { return float64(total(r.s.primary) + total(r.s.secondary)) }
	up := func(r *row) float64 { return float64(r.s.uploaded) }
	rss := func(r *row) float64 { return float64(r.s.rssKiB) }
	const check, rsCheck = "regdrift check", "regsync check"
	const ref, exec, once = "reference client (floor, 8 at a time)",
		"regdrift reconcile --execute", "regsync once"
	ratio("wall", check, rsCheck, wall, "<= 0.6")
	ratio("wall", check, ref, wall, "<= 1.15")
	ratio("requests", check, rsCheck, reqs, "")
	ratio("peak RSS", check, rsCheck, rss, "")
	ratio("wall", exec, once, wall, "")
	ratio("requests", exec, once, reqs, "")
	ratio("bytes uploaded", exec, once, up, "")
	if r := get(check); r != nil {
		fmt.Fprintf(&w, "| requests: regdrift check / floor | %.3f | <= 1.02 |\n",
			reqs(r)/float64(r.floor))
	}
	for _, name := range []string{exec, once} {
		r := get(name)
		if r == nil {
			continue
		}
		c := contentBytes(r.s.blobs, known)
		fmt.Fprintf(&w, "| content uploaded by %s / missing in the repositories | "+
			"%s / %s | no more than missing |\n", name, bytesOf(c), bytesOf(b.f.MissingInRepo))
		fmt.Fprintf(&w, "| content uploaded by %s / missing in the whole secondary | "+
			"%s / %s | equal (the rest mounted) |\n", name, bytesOf(c),
			bytesOf(b.f.MissingInRegistry))
	}
	if note := guardNote(b.rows); note != "" {
		fmt.Fprintf(&w, "\nregdrift exits 2 here because of its deletion guard, by design: %s\n",
			note)
	}
	fmt.Fprintf(&w, "\nTotal bench time %s.\n", time.Since(b.started).Round(time.Second))

	fmt.Print(w.String())
	if err := os.MkdirAll(filepath.Dir(b.cfg.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(b.cfg.out, []byte(w.String()), 0o644); err != nil {
		return err
	}
	return b.writeRequests(strings.TrimSuffix(b.cfg.out, filepath.Ext(b.cfg.out)) +
		"-requests.json")
}

// writeRequests writes each row's requests by method and kind of path, per registry: what
// the table's totals are made of.
func (b *session) writeRequests(path string) error {
	byKind := func(hits map[regtest.Hit]int) map[string]int {
		out := make(map[string]int, len(hits))
		for h, n := range hits {
			out[h.Method+" "+string(h.Kind)] = n
		}
		return out
	}
	type entry struct {
		Command   string         `json:"command"`
		Primary   map[string]int `json:"primary"`
		Secondary map[string]int `json:"secondary"`
		Uploaded  int64          `json:"uploaded_blob_bytes"`
	}
	out := make([]entry, 0, len(b.rows))
	for _, r := range b.rows {
		out = append(out, entry{r.name, byKind(r.s.primary), byKind(r.s.secondary),
			r.s.uploaded})
	}
	data, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// guardNote returns the deletion guard's note from the first regdrift report that has one.
func guardNote(rows []row) string {
	for _, r := range rows {
		var rep struct {
			Guard struct {
				Note string `json:"note"`
			} `json:"guard"`
		}
		if json.Unmarshal(r.s.stdout, &rep) == nil && rep.Guard.Note != "" {
			return rep.Guard.Note
		}
	}
	return ""
}

// contentBytes adds up the uploads of blobs that are fixture content. The empty JSON blob is
// not counted: regclient deletes a tag on Distribution 2.8 by moving it to a throw-away image
// whose one layer it is, and uploads it for every deletion.
func contentBytes(uploads, known map[string]int64) int64 {
	var n int64
	for d, sent := range uploads {
		if _, ok := known[d]; ok && d != descriptor.EmptyDigest.String() {
			n += sent
		}
	}
	return n
}

func bytesOf(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
