package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/db"
	"github.com/regdrift/regdrift/server"
)

// BenchmarkPages measures the server time of the dashboard's pages over a store holding 10,000
// repositories checked by one run, 20 tags each (REGDRIFT_BENCH_TAGS sets another number; 100
// makes the million tag rows of issue 5), a tenth of them drifting. Every page but the
// repository's reads the whole store's figures, so this is the size that matters.
func BenchmarkPages(b *testing.B) {
	const repos = 10000
	tags := 20
	if v := os.Getenv("REGDRIFT_BENCH_TAGS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("REGDRIFT_BENCH_TAGS=%q is not a positive number", v)
		}
		tags = n
	}
	ctx := context.Background()
	store, err := db.Open(ctx, filepath.Join(b.TempDir(), "regdrift.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	run := fillStore(b, store, repos, tags)
	srv := server.New(server.Config{Store: store, Runs: &runService{store: store}})

	pages := []string{
		"/",
		"/?status=drift&offset=500",
		"/?q=app0999",
		"/runs",
		fmt.Sprintf("/runs/%d", run),
		fmt.Sprintf("/runs/%d?all=1&offset=50000", run),
		fmt.Sprintf("/runs/%d?state=stale", run),
		"/repositories/team042/app00042",
		"/api/v1/repositories?status=drift&limit=100",
	}
	for _, p := range pages {
		b.Run(p, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d\n%s", p, rec.Code, rec.Body)
				}
			}
		})
	}
}

// fillStore records one finished run over repos repositories of tags tags each and returns
// its id.
func fillStore(b *testing.B, store *db.DB, repos, tags int) int64 {
	b.Helper()
	ctx := context.Background()
	run := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerCLI}
	if err := store.CreateRun(ctx, run); err != nil {
		b.Fatal(err)
	}
	var results []*regdrift.RepoResult
	for i := range repos {
		res := &regdrift.RepoResult{RunID: run.ID, Name: fmt.Sprintf("team%03d/app%05d", i%100, i),
			Status: regdrift.RepoInSync}
		for j := range tags {
			d := regdrift.Manifest{Digest: fmt.Sprintf("sha256:%064x", i*tags+j),
				MediaType: "application/vnd.oci.image.manifest.v1+json"}
			t := regdrift.TagDrift{Tag: fmt.Sprintf("v%d", j), State: regdrift.StateInSync,
				Primary: d, Secondary: d, Action: regdrift.ActionNone}
			if i%10 == 0 && j == 0 {
				t.State, t.Secondary.Digest = regdrift.StateStale, "sha256:"+fmt.Sprintf("%064d", 1)
				t.Action, t.Result = regdrift.ActionCopy, regdrift.ResultPlanned
				res.Status, res.Actions = regdrift.RepoDrift, 1
			}
			res.Tags = append(res.Tags, t)
		}
		res.Before = regdrift.CountTags(res.Tags)
		if err := store.SaveRepoResult(ctx, res); err != nil {
			b.Fatal(err)
		}
		results = append(results, res)
	}
	run.Status, run.Outcome, run.ReposTotal, run.ReposDone = regdrift.RunDone,
		regdrift.OutcomeDrift, repos, repos
	for _, r := range results {
		run.Summary.Repositories++
		run.Summary.Tags += r.Before.Total()
		run.Summary.Counts.Merge(r.Before)
		run.Summary.Actions += r.Actions
	}
	if err := store.UpdateRun(ctx, run); err != nil {
		b.Fatal(err)
	}
	return run.ID
}
