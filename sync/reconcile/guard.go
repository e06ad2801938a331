package reconcile

import (
	"context"
	"fmt"
	"sync"

	"github.com/regdrift/regdrift"
)

// budget returns the run-wide deletion budget of run; nil when the run deletes nothing or
// allows mass deletion. An execute counts its deletions from the tag listings of names before
// any repository is acted on, so that a tripped run deletes nothing anywhere. A dry run acts
// on nothing, so it spares the registries that second listing and counts as it goes: the
// repositories after the one that passes the limit show their deletions held back, and the
// run's report says it tripped. done are the repositories earlier attempts of the run
// finished: what they deleted and held back counts against the same limit.
func (e *Engine) budget(ctx context.Context, run *regdrift.Run, names []string,
	sig Signals, done []*regdrift.RepoResult) *runBudget {
	if run.NoDelete || run.AllowMassDelete {
		return nil
	}
	deleted, held := doneDeletes(done)
	b := newRunBudget(e.limits.RunMax)
	b.used = deleted
	if run.Mode != regdrift.ModeExecute {
		return b
	}
	if n := deleted + held + e.countDeletes(ctx, names, sig); n > e.limits.RunMax {
		b.trip(n)
		e.log.Warn("deletion guard tripped for the run", "run_id", run.ID, "deletes", n,
			"limit", e.limits.RunMax)
	}
	return b
}

// countDeletes counts the orphans of names from tag listings alone (no digest is resolved),
// leaving out repositories whose own rule would hold their deletions back and those whose
// listing failed: what the run would delete at most. It stops listing once the run is
// canceled or drained, which the run then notices before its first repository.
func (e *Engine) countDeletes(ctx context.Context, names []string, sig Signals) int {
	var mu sync.Mutex
	total := 0
	forEach(names, make(chan struct{}, e.workers), func(name string) {
		if fired(sig.Cancel) || fired(sig.Drain) {
			return
		}
		n := e.orphans(ctx, name)
		mu.Lock()
		total += n
		mu.Unlock()
	})
	return total
}

// orphans lists name on both registries and returns how many of the secondary's tags the
// primary lacks, or 0 when a listing failed or the repository rule would keep them.
func (e *Engine) orphans(ctx context.Context, name string) int {
	if regdrift.ValidateRepoName(name) != nil {
		return 0
	}
	var p, s []string
	var perr, serr error
	var wg sync.WaitGroup
	wg.Go(func() { withSlot(e.primarySem, func() { p, _, perr = e.primary.Tags(ctx, name) }) })
	wg.Go(func() {
		withSlot(e.secondarySem, func() { s, _, serr = e.secondary.Tags(ctx, name) })
	})
	wg.Wait()
	if perr != nil || serr != nil {
		return 0
	}
	onPrimary := make(map[string]bool, len(p))
	for _, t := range p {
		onPrimary[t] = true
	}
	n := 0
	for _, t := range s {
		if !onPrimary[t] {
			n++
		}
	}
	hold, _ := deleteHold(n, PlanOptions{PrimaryEmpty: len(p) == 0, SecondaryTags: len(s),
		Limits: e.limits})
	if hold != "" {
		return 0
	}
	return n
}

// guardReport sums up what the deletion guard did in a run.
func guardReport(l regdrift.DeleteLimits, results []*regdrift.RepoResult,
	runTripped bool) regdrift.Guard {
	g := regdrift.Guard{Limits: l, RunTripped: runTripped}
	for _, r := range results {
		g.HeldBack += r.HeldBack
		g.WouldDelete += r.HeldBack
		if r.HeldBack > 0 {
			g.Repositories++
		}
		g.WouldDelete += plannedDeletes(r)
	}
	g.Tripped = g.HeldBack > 0
	switch {
	case runTripped && g.Tripped:
		g.Note = fmt.Sprintf("deletion guard: the run would delete %d tags in all (limit: "+
			"more than %d); %d deletions held back in %d repositories; %s", g.WouldDelete,
			l.RunMax, g.HeldBack, g.Repositories, regdrift.OverrideHint)
	case g.Tripped:
		g.Note = fmt.Sprintf("deletion guard: %d deletions held back in %d repositories "+
			"where the run would delete more than %d tags and more than %s of them; %s",
			g.HeldBack, g.Repositories, l.RepoMin, share(l.RepoShare), regdrift.OverrideHint)
	}
	return g
}

// plannedDeletes counts the deletions a repository's plan carries out. A result without its
// rows (recorded and dropped, or read back from the store for a resumed run) counts them from
// its figures: every copy is carried out, so the actions past the copies are deletions.
func plannedDeletes(r *regdrift.RepoResult) int {
	if r.Tags == nil {
		b := r.Before
		return max(0, r.Actions-(b.OnlyOnPrimary+b.Stale+b.Broken))
	}
	n := 0
	for _, t := range r.Tags {
		if t.Action == regdrift.ActionDelete && t.Result != regdrift.ResultSkipped {
			n++
		}
	}
	return n
}

// doneDeletes counts the deletions carried out and held back in the repositories an earlier
// attempt finished.
func doneDeletes(done []*regdrift.RepoResult) (deleted, held int) {
	for _, r := range done {
		deleted += plannedDeletes(r)
		held += r.HeldBack
	}
	return deleted, held
}
