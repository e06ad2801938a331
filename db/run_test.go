package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
)

func TestCreateRun_RoundTrip(t *testing.T) {
	ctx := context.Background()
	cet := time.FixedZone("CET", 3600)
	started := time.Date(2026, 1, 2, 4, 4, 5, 600, cet) // stored and read back in UTC
	tests := []struct {
		name      string
		in        regdrift.Run
		wantScope []string
	}{
		{
			name: "every field set",
			in: regdrift.Run{
				Mode: regdrift.ModeExecute, Trigger: regdrift.TriggerAPI,
				Scope: []string{"team/app", "team/db"}, Deep: true, NoDelete: true,
				AllowMassDelete: true,
				Guard: regdrift.Guard{Limits: regdrift.DefaultDeleteLimits(), Tripped: true,
					RunTripped: true, WouldDelete: 14, HeldBack: 15, Repositories: 16,
					Note: "held"},
				Status: regdrift.RunRunning, Outcome: regdrift.OutcomeDrift, Error: "boom",
				StartedAt: &started, FinishedAt: &started,
				Summary: regdrift.Summary{
					Repositories: 1, Tags: 2,
					Counts: regdrift.Counts{InSync: 3, OnlyOnPrimary: 4, OnlyOnSecondary: 5,
						Stale: 6, Broken: 7, Unresolved: 8},
					Actions: 9, FailedActions: 10, SkippedActions: 12, Errors: 11,
					HeldBack: 15,
				},
				ReposTotal: 12, ReposDone: 13,
			},
			wantScope: []string{"team/app", "team/db"},
		},
		{name: "nil scope", in: regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: "ui"}},
		{name: "empty scope", in: regdrift.Run{Mode: regdrift.ModeDryRun, Scope: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := openDB(t)
			run := tt.in
			if err := d.CreateRun(ctx, &run); err != nil {
				t.Fatalf("CreateRun: %v", err)
			}

			want := tt.in
			want.ID, want.Status, want.CreatedAt = 1, regdrift.RunQueued, base.Add(time.Second)
			want.Scope = tt.wantScope
			if tt.in.StartedAt != nil {
				utc := started.UTC()
				want.StartedAt, want.FinishedAt = &utc, &utc
			}
			checkEqual(t, "ID, Status and CreatedAt set", [3]any{run.ID, run.Status,
				run.CreatedAt}, [3]any{want.ID, want.Status, want.CreatedAt})
			got, err := d.GetRun(ctx, run.ID)
			if err != nil {
				t.Fatalf("GetRun: %v", err)
			}
			checkEqual(t, "GetRun", got, &want)
		})
	}
}

func TestUpdateRun_WritesProgressNotOptions(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	run := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerCLI,
		Scope: []string{"app"}}
	if err := d.CreateRun(ctx, run); err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	want := *run

	started := base.Add(time.Minute)
	finished := base.Add(time.Hour)
	upd := *run
	upd.Mode, upd.Trigger, upd.Scope, upd.Deep, upd.NoDelete = "execute", "ui", nil, true, true
	upd.CreatedAt = base.Add(24 * time.Hour)
	upd.Status, upd.Outcome, upd.Error = regdrift.RunDone, regdrift.OutcomeError, "listing failed"
	upd.StartedAt, upd.FinishedAt = &started, &finished
	upd.ReposTotal, upd.ReposDone = 7, 6
	upd.Summary = regdrift.Summary{Repositories: 21, Tags: 22,
		Counts: regdrift.Counts{InSync: 23, OnlyOnPrimary: 24, OnlyOnSecondary: 25, Stale: 26,
			Broken: 27, Unresolved: 28},
		Actions: 29, FailedActions: 30, SkippedActions: 32, Errors: 31, HeldBack: 33}
	upd.Guard = regdrift.Guard{Limits: regdrift.DefaultDeleteLimits(), Tripped: true,
		HeldBack: 33, Repositories: 1, WouldDelete: 40, Note: "deletion guard: ..."}
	if err := d.UpdateRun(ctx, &upd); err != nil {
		t.Fatalf("UpdateRun: %v", err)
	}

	want.Status, want.Outcome, want.Error = upd.Status, upd.Outcome, upd.Error
	want.StartedAt, want.FinishedAt = &started, &finished
	want.ReposTotal, want.ReposDone, want.Summary = 7, 6, upd.Summary
	want.Guard = upd.Guard
	got, err := d.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatalf("GetRun: %v", err)
	}
	checkEqual(t, "GetRun", got, &want)

	// Times go back to nil.
	upd.StartedAt, upd.FinishedAt = nil, nil
	if err := d.UpdateRun(ctx, &upd); err != nil {
		t.Fatalf("UpdateRun: %v", err)
	}
	want.StartedAt, want.FinishedAt = nil, nil
	if got, err = d.GetRun(ctx, run.ID); err != nil {
		t.Fatalf("GetRun: %v", err)
	}
	checkEqual(t, "GetRun after clearing times", got, &want)
}

func TestListRuns_PagesNewestFirst(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	var runs []*regdrift.Run
	for range 5 {
		runs = append(runs, createRun(t, d))
	}
	tests := []struct {
		name   string
		filter regdrift.RunFilter
		want   []*regdrift.Run
	}{
		{"first page", regdrift.RunFilter{Limit: 2}, []*regdrift.Run{runs[4], runs[3]}},
		{"second page", regdrift.RunFilter{Limit: 2, Offset: 2},
			[]*regdrift.Run{runs[2], runs[1]}},
		{"last page", regdrift.RunFilter{Limit: 2, Offset: 4}, []*regdrift.Run{runs[0]}},
		{"past the end", regdrift.RunFilter{Limit: 2, Offset: 9}, []*regdrift.Run{}},
		{"no limit", regdrift.RunFilter{},
			[]*regdrift.Run{runs[4], runs[3], runs[2], runs[1], runs[0]}},
		{"negative offset", regdrift.RunFilter{Limit: 1, Offset: -3},
			[]*regdrift.Run{runs[4]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := d.ListRuns(ctx, tt.filter)
			if err != nil {
				t.Fatalf("ListRuns: %v", err)
			}
			checkEqual(t, "total", total, 5)
			checkEqual(t, "runs", got, tt.want)
		})
	}
}

func TestListRepoRuns_NewestFirst(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	r1, r2, r3 := createRun(t, d), createRun(t, d), createRun(t, d)
	for _, res := range []regdrift.RepoResult{
		{RunID: r1.ID, Name: "app", Status: regdrift.RepoInSync},
		{RunID: r2.ID, Name: "db", Status: regdrift.RepoInSync},
		{RunID: r3.ID, Name: "app", Status: regdrift.RepoDrift},
	} {
		saveResult(t, d, &res)
	}
	tests := []struct {
		name  string
		repo  string
		limit int
		want  []*regdrift.Run
	}{
		{"all", "app", 0, []*regdrift.Run{r3, r1}},
		{"limited", "app", 1, []*regdrift.Run{r3}},
		{"other repository", "db", 10, []*regdrift.Run{r2}},
		{"unknown repository", "nope", 10, []*regdrift.Run{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.ListRepoRuns(ctx, tt.repo, tt.limit)
			if err != nil {
				t.Fatalf("ListRepoRuns: %v", err)
			}
			checkEqual(t, "runs", got, tt.want)
		})
	}
}

func TestAbandonRuns(t *testing.T) {
	d, _ := openDB(t)
	ctx := context.Background()
	mk := func(trig regdrift.Trigger, status regdrift.RunStatus) *regdrift.Run {
		t.Helper()
		run := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: trig}
		if err := d.CreateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		run.Status = status
		if err := d.UpdateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		return run
	}
	apiRunning := mk(regdrift.TriggerAPI, regdrift.RunRunning)
	uiQueued := mk(regdrift.TriggerUI, regdrift.RunQueued)
	apiDone := mk(regdrift.TriggerAPI, regdrift.RunDone)
	cliRunning := mk(regdrift.TriggerCLI, regdrift.RunRunning)

	n, err := d.AbandonRuns(ctx, "interrupted", regdrift.TriggerAPI, regdrift.TriggerUI)
	if err != nil || n != 2 {
		t.Fatalf("AbandonRuns = %d, %v; want 2", n, err)
	}
	for _, c := range []struct {
		run     *regdrift.Run
		status  regdrift.RunStatus
		outcome regdrift.Outcome
		errMsg  string
		ended   bool
	}{
		{apiRunning, regdrift.RunFailed, regdrift.OutcomeError, "interrupted", true},
		{uiQueued, regdrift.RunFailed, regdrift.OutcomeError, "interrupted", true},
		{apiDone, regdrift.RunDone, regdrift.OutcomeNone, "", false},
		{cliRunning, regdrift.RunRunning, regdrift.OutcomeNone, "", false},
	} {
		got, err := d.GetRun(ctx, c.run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != c.status || got.Outcome != c.outcome || got.Error != c.errMsg ||
			(got.FinishedAt != nil) != c.ended {
			t.Errorf("run %d (%s): got %s/%s %q finished %v, want %s/%s %q finished %v",
				got.ID, got.Trigger, got.Status, got.Outcome, got.Error, got.FinishedAt != nil,
				c.status, c.outcome, c.errMsg, c.ended)
		}
	}
}
