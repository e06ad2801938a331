package db_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/regdrift/regdrift"
)

// BenchmarkSaveRepoResult stores repository results of several sizes, each with its tag rows
// in one transaction, and reports tag rows written per second. "replace" saves the same
// repository again, as a run does after executing, so it deletes as many rows as it writes.
func BenchmarkSaveRepoResult(b *testing.B) {
	for _, size := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("new/tags=%d", size), func(b *testing.B) {
			benchSave(b, size, false)
		})
	}
	b.Run("replace/tags=1000", func(b *testing.B) { benchSave(b, 1000, true) })
}

func benchSave(b *testing.B, size int, replace bool) {
	ctx := context.Background()
	d, _ := openDB(b)
	run := createRun(b, d)
	digest := "sha256:" + fmt.Sprintf("%064x", 42)
	man := regdrift.Manifest{Digest: digest, MediaType: "application/vnd.oci.image.index.v1+json"}
	tags := make([]regdrift.TagDrift, size)
	for i := range tags {
		tags[i] = regdrift.TagDrift{Tag: fmt.Sprintf("v1.%d.%d", i/100, i%100),
			State: regdrift.StateStale, Primary: man, Secondary: man,
			Action: regdrift.ActionCopy, Result: regdrift.ResultPlanned}
	}
	res := &regdrift.RepoResult{RunID: run.ID, Status: regdrift.RepoDrift,
		Before: regdrift.Counts{Stale: size}, Actions: size, Tags: tags}

	rows := 0
	for i := 0; b.Loop(); i++ {
		res.Name = "team/app"
		if !replace {
			res.Name = fmt.Sprintf("team/app-%d", i)
		}
		if err := d.SaveRepoResult(ctx, res); err != nil {
			b.Fatalf("SaveRepoResult: %v", err)
		}
		rows += size
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
