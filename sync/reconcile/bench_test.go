package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/db"
	"github.com/regdrift/regdrift/sync/drift"
	"github.com/regdrift/regdrift/sync/reconcile"
)

// sides makes what two registries would answer for one repository of n tags: most in sync,
// some stale, some on one side only. Each side gets digest strings of its own, as two
// registries' answers do; media types are the shared strings the registry package hands out.
func sides(repo, n int) (drift.Side, drift.Side) {
	p := drift.Side{Tags: make(map[string]drift.Resolved, n)}
	s := drift.Side{Tags: make(map[string]drift.Resolved, n)}
	const mt = "application/vnd.oci.image.index.v1+json"
	dig := func(i int) string { return fmt.Sprintf("sha256:%056x%08x", repo, i) }
	for i := range n {
		tag := fmt.Sprintf("1.%d.%d", i/10, i%10)
		m := func(d string) drift.Resolved {
			return drift.Resolved{Manifest: regdrift.Manifest{Digest: d, MediaType: mt}}
		}
		switch {
		case i%50 == 0:
			p.Tags[tag] = m(dig(i))
		case i%50 == 1:
			s.Tags[tag] = m(dig(i))
		case i%20 == 2:
			p.Tags[tag], s.Tags[tag] = m(dig(i)), m(dig(i+1))
		default:
			p.Tags[tag], s.Tags[tag] = m(dig(i)), m(dig(i))
		}
	}
	return p, s
}

// BenchmarkPlan plans one repository of n classified tags.
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			tags := drift.Classify(sides(0, n))
			b.ReportAllocs()
			for b.Loop() {
				if got := reconcile.Plan(tags, reconcile.PlanOptions{}); got.Actions == 0 {
					b.Fatal("no actions planned")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/tag")
		})
	}
}

// BenchmarkScale feeds 10,000 repositories of 100 tags (1,000,000 tags) through what a run
// does without a registry: classify, plan, record in SQLite. It reports the heap above the
// idle heap per tag, at its peak (sampled after every repository) and what stays live at the
// end, for two ways of holding the results:
//
//   - "kept": every result with its tag rows, as Engine.Run returns them;
//   - "counts": each result's tag rows dropped once recorded, keeping its counts, as
//     Engine.RunCounts returns them to the CLI (which reads the rows back from the store, a
//     repository at a time, to print them) and as a run of the server holds them.
//
// Peak heap per tag is the figure the target (300 bytes a tag) is about. Set
// REGDRIFT_SCALE_REPOS to measure fewer repositories.
func BenchmarkScale(b *testing.B) {
	for _, keep := range []bool{true, false} {
		name := map[bool]string{true: "kept", false: "counts"}[keep]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				benchScale(b, scaleRepos(b), 100, keep)
			}
		})
	}
}

func scaleRepos(b *testing.B) int {
	n := 10_000
	if v := getenvInt(b, "REGDRIFT_SCALE_REPOS"); v > 0 {
		n = v
	}
	return n
}

// getenvInt reads a positive count from the environment; an unset variable is zero.
func getenvInt(b *testing.B, name string) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive count", name, v)
	}
	return n
}

func benchScale(b *testing.B, repos, perRepo int, keep bool) {
	ctx := context.Background()
	store, err := db.Open(ctx, filepath.Join(b.TempDir(), "scale.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			b.Error(err)
		}
	}()
	run := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerCLI,
		Status: regdrift.RunRunning, Scope: []string{}}
	if err := store.CreateRun(ctx, run); err != nil {
		b.Fatal(err)
	}

	idle := heapInUse()
	peak := uint64(0)
	results := make([]*regdrift.RepoResult, 0, repos)
	for r := range repos {
		p, s := sides(r, perRepo)
		res := &regdrift.RepoResult{RunID: run.ID, Name: fmt.Sprintf("team%02d/app%05d", r%10, r)}
		res.Tags = drift.Classify(p, s)
		res.Before = regdrift.CountTags(res.Tags)
		plan := reconcile.Plan(res.Tags, reconcile.PlanOptions{SecondaryTags: len(s.Tags)})
		res.Actions, res.HeldBack = plan.Actions, plan.HeldBack
		res.Status = regdrift.RepoDrift
		if err := store.SaveRepoResult(ctx, res); err != nil {
			b.Fatal(err)
		}
		if !keep {
			res.Tags = nil
		}
		results = append(results, res)
		if r%100 == 99 {
			peak = max(peak, heapInUse())
		}
	}
	tags := float64(repos * perRepo)
	runtime.GC()
	live := heapInUse()
	runtime.KeepAlive(results)
	b.ReportMetric(float64(peak-min(peak, idle))/tags, "peak-B/tag")
	b.ReportMetric(float64(live-min(live, idle))/tags, "live-B/tag")
}

// heapInUse is the heap's in-use spans, garbage not yet collected included: what the process
// holds of its heap at that moment.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
