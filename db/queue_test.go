package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
)

func TestQueueRun_JoinsAQueuedTwinOnly(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	req := func(scope ...string) *regdrift.Run {
		return &regdrift.Run{Mode: regdrift.ModeExecute, Trigger: regdrift.TriggerWebhook,
			Scope: scope}
	}
	first := req("team/app")
	if joined, err := d.QueueRun(ctx, first, true); err != nil || joined {
		t.Fatalf("first QueueRun = %v, %v; want a new run", joined, err)
	}
	for i := range 3 {
		again := req("team/app")
		joined, err := d.QueueRun(ctx, again, true)
		if err != nil || !joined || again.ID != first.ID || again.Coalesced != i+1 {
			t.Fatalf("QueueRun %d = %v, %v, run %d coalesced %d; want run %d joined %d times",
				i, joined, err, again.ID, again.Coalesced, first.ID, i+1)
		}
	}
	// Another scope, another trigger, or join not asked for: a run of its own.
	other := []struct {
		name string
		run  *regdrift.Run
		join bool
	}{
		{"other scope", req("team/db"), true},
		{"other trigger", &regdrift.Run{Mode: regdrift.ModeExecute,
			Trigger: regdrift.TriggerCI, Scope: []string{"team/app"}}, true},
		{"other mode", &regdrift.Run{Mode: regdrift.ModeDryRun,
			Trigger: regdrift.TriggerWebhook, Scope: []string{"team/app"}}, true},
		{"no join", req("team/app"), false},
	}
	for _, o := range other {
		joined, err := d.QueueRun(ctx, o.run, o.join)
		if err != nil || joined || o.run.ID == first.ID {
			t.Errorf("%s: QueueRun = %v, %v, run %d; want a new run", o.name, joined, err,
				o.run.ID)
		}
	}
	// Once it runs, a run takes no more requests.
	claimed, err := d.ClaimRun(ctx, regdrift.TriggerWebhook)
	if err != nil || claimed == nil || claimed.ID != first.ID || claimed.Coalesced != 3 {
		t.Fatalf("ClaimRun = %+v, %v; want run %d with 3 joined", claimed, err, first.ID)
	}
	late := req("team/app")
	if joined, err := d.QueueRun(ctx, late, true); err != nil || late.ID == first.ID {
		t.Errorf("QueueRun after the claim = %v, %v, run %d; want a new run", joined, err,
			late.ID)
	}
}

func TestClaimRun_InterruptedFirstThenOldest(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	queue := func(trig regdrift.Trigger) *regdrift.Run {
		t.Helper()
		run := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: trig}
		if _, err := d.QueueRun(ctx, run, false); err != nil {
			t.Fatal(err)
		}
		return run
	}
	cli := queue(regdrift.TriggerCLI)
	q1 := queue(regdrift.TriggerAPI)
	q2 := queue(regdrift.TriggerSchedule)
	running := queue(regdrift.TriggerWebhook)
	if got, err := d.ClaimRun(ctx, regdrift.TriggerWebhook); err != nil || got.ID != running.ID {
		t.Fatalf("claim the webhook run: %+v, %v", got, err)
	}
	// The process that ran it died: a new server marks it interrupted and resumes it first.
	n, err := d.InterruptRuns(ctx, "interrupted", regdrift.ServerTriggers...)
	if err != nil || n != 1 {
		t.Fatalf("InterruptRuns = %d, %v; want 1", n, err)
	}
	var order []int64
	for {
		got, err := d.ClaimRun(ctx, regdrift.ServerTriggers...)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil {
			break
		}
		if got.Status != regdrift.RunRunning {
			t.Errorf("claimed run %d is %s, want running", got.ID, got.Status)
		}
		if got.ID == running.ID && (got.Interruptions != 1 || got.Error != "interrupted") {
			t.Errorf("resumed run %+v, want one interruption recorded", got)
		}
		order = append(order, got.ID)
	}
	checkEqual(t, "claim order", order, []int64{running.ID, q1.ID, q2.ID})
	left, err := d.GetRun(ctx, cli.ID)
	if err != nil || left.Status != regdrift.RunQueued {
		t.Errorf("CLI run %+v, %v; want it left alone", left, err)
	}
}

func TestCancelQueuedRun(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	waiting := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerAPI}
	if _, err := d.QueueRun(ctx, waiting, false); err != nil {
		t.Fatal(err)
	}
	if err := d.CancelQueuedRun(ctx, waiting.ID, "canceled"); err != nil {
		t.Fatalf("cancel a queued run: %v", err)
	}
	got, err := d.GetRun(ctx, waiting.ID)
	if err != nil || got.Status != regdrift.RunCanceled || got.FinishedAt == nil ||
		got.Outcome != regdrift.OutcomeError || got.Error != "canceled" {
		t.Errorf("canceled run %+v, %v", got, err)
	}
	err = d.CancelQueuedRun(ctx, waiting.ID, "again")
	if regdrift.ErrorCode(err) != regdrift.ECONFLICT {
		t.Errorf("cancel a canceled run: %v, want a conflict", err)
	}
	if err := d.CancelQueuedRun(ctx, 999, "x"); !regdrift.IsNotFound(err) {
		t.Errorf("cancel an unknown run: %v, want not found", err)
	}
}

func TestSaveTagResult_AndFinishedRoundTrip(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	run := createRun(t, d)
	res := &regdrift.RepoResult{RunID: run.ID, Name: "team/app", Status: regdrift.RepoDrift,
		Tags: planned()}
	saveResult(t, d, res)

	tag := res.Tags[0]
	tag.Result, tag.Error = regdrift.ResultRunning, ""
	if err := d.SaveTagResult(ctx, run.ID, "team/app", &tag); err != nil {
		t.Fatalf("SaveTagResult: %v", err)
	}
	rows, _, err := d.ListRunTags(ctx, run.ID, regdrift.TagFilter{Repository: "team/app"})
	if err != nil {
		t.Fatal(err)
	}
	want := tagsOf(run.ID, "team/app", planned())
	want[0].Result = regdrift.ResultRunning
	checkEqual(t, "tag rows after one result", rows, want)

	gone := regdrift.TagDrift{Tag: "no-such-tag", Result: regdrift.ResultOK}
	if err := d.SaveTagResult(ctx, run.ID, "team/app", &gone); !regdrift.IsNotFound(err) {
		t.Errorf("SaveTagResult of a missing row: %v, want not found", err)
	}

	repos, err := d.ListRunRepos(ctx, run.ID)
	if err != nil || len(repos) != 1 || repos[0].Finished {
		t.Fatalf("repositories %+v, %v; want one, not finished", repos, err)
	}
	res.Finished = true
	saveResult(t, d, res)
	repos, err = d.ListRunRepos(ctx, run.ID)
	if err != nil || len(repos) != 1 || !repos[0].Finished {
		t.Errorf("repositories %+v, %v; want one, finished", repos, err)
	}
}

// A held-back run waits for its NotBefore; each request that joins it moves that on, but
// never past MaxSettle after the run was created.
func TestQueueRun_SettleHoldsTheRunBack(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	now := base
	d.Now = func() time.Time { return now }
	at := func(d time.Duration) *time.Time { t := base.Add(d); return &t }
	req := func(notBefore *time.Time) *regdrift.Run {
		return &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerWebhook,
			Scope: []string{"team/app"}, NotBefore: notBefore}
	}
	first := req(at(2 * time.Second))
	if _, err := d.QueueRun(ctx, first, true); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		notBefore *time.Time
		want      time.Time
	}{
		{"a later request moves it on", at(5 * time.Second), *at(5 * time.Second)},
		{"an earlier one does not bring it back", at(3 * time.Second), *at(5 * time.Second)},
		{"a request with no hold leaves it", nil, *at(5 * time.Second)},
		{"never past MaxSettle", at(regdrift.MaxSettle + time.Hour), *at(regdrift.MaxSettle)},
	}
	for _, st := range steps {
		again := req(st.notBefore)
		joined, err := d.QueueRun(ctx, again, true)
		if err != nil || !joined || again.NotBefore == nil || !again.NotBefore.Equal(st.want) {
			t.Errorf("%s: joined %v err %v not_before %v, want %v", st.name, joined, err,
				again.NotBefore, st.want)
		}
	}

	if run, err := d.ClaimRun(ctx, regdrift.TriggerWebhook); err != nil || run != nil {
		t.Fatalf("ClaimRun before it is due = %+v, %v; want nothing", run, err)
	}
	due, ok, err := d.NextDue(ctx, regdrift.TriggerWebhook)
	if err != nil || !ok || !due.Equal(*at(regdrift.MaxSettle)) {
		t.Errorf("NextDue = %v, %v, %v; want %v", due, ok, err, *at(regdrift.MaxSettle))
	}
	if _, ok, err := d.NextDue(ctx, regdrift.TriggerCI); err != nil || ok {
		t.Errorf("NextDue of another trigger = %v, %v; want none", ok, err)
	}

	now = base.Add(regdrift.MaxSettle)
	run, err := d.ClaimRun(ctx, regdrift.TriggerWebhook)
	if err != nil || run == nil || run.ID != first.ID || run.Coalesced != len(steps) {
		t.Fatalf("ClaimRun once due = %+v, %v; want run %d", run, err, first.ID)
	}
	if _, ok, err := d.NextDue(ctx, regdrift.TriggerWebhook); err != nil || ok {
		t.Errorf("NextDue with nothing held back = %v, %v; want none", ok, err)
	}
}
