package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/drift"
	"github.com/regdrift/regdrift/sync/registry"
)

// repo checks one repository and, for an execute, reconciles and verifies it. Every failure
// ends up in the result; none is returned, so the run goes on with the other repositories.
// It returns nil when stop ended before the repository was started: waiting for another run
// to let go of it does not count as a start.
func (e *Engine) repo(ctx, stop context.Context, run *regdrift.Run, budget *runBudget,
	name string, opts repoOpts) *regdrift.RepoResult {
	res := &regdrift.RepoResult{RunID: run.ID, Name: name, Tags: []regdrift.TagDrift{}}
	if err := regdrift.ValidateRepoName(name); err != nil {
		return e.failRepo(ctx, res, err)
	}
	unlock, err := e.locks.lock(stop, name)
	if err != nil {
		return nil
	}
	defer unlock()
	if stop.Err() != nil {
		return nil
	}

	// Records are written even when ctx has ended: a stop must leave a trace of what was done.
	rec := context.WithoutCancel(ctx)
	listed := e.check(ctx, run, budget, res)
	if run.Interruptions > 0 && run.Mode == regdrift.ModeExecute {
		e.carryOver(rec, run, res, listed)
	}
	res.Finished = run.Mode != regdrift.ModeExecute || res.Actions == 0
	// A plan that could not be recorded is not carried out: its trace would be lost.
	saved := e.save(rec, res)
	if saved && !res.Finished {
		e.reconcile(ctx, run, res)
		// Actions cut short by the end of ctx are done again when the run resumes.
		res.Finished = ctx.Err() == nil
		saved = e.save(rec, res)
	}
	opts.actions.add(res.Tags)
	if saved && !opts.keepTags {
		res.Tags = nil
	}
	return res
}

// repoOpts is what a run asks of each repository beside the work.
type repoOpts struct {
	// keepTags keeps a result's rows; without it, a result whose rows were recorded drops
	// them, and one whose recording failed keeps them, as they are nowhere else.
	keepTags bool
	// actions counts the actions of every repository for the metrics.
	actions *actionTally
}

// carryOver keeps, in a repository an interrupted attempt of run had started on, the rows of
// the actions that attempt carried out: the new check sees their tags in sync and would
// otherwise drop the record of what was done. An action recorded as running when the process
// stopped, whose tag needs nothing now, was completed. Tags that still need an action get it
// again.
//
// listed says both registries listed the repository now: only then does a tag missing from
// both show that a deletion recorded as running was done. Otherwise that deletion is recorded
// as failed, since nobody can tell.
func (e *Engine) carryOver(ctx context.Context, run *regdrift.Run, res *regdrift.RepoResult,
	listed bool) {
	prior, _, err := e.store.ListRunTags(ctx, run.ID, regdrift.TagFilter{Repository: res.Name})
	if err != nil {
		// Not fatal: the repository is handled afresh, only the earlier rows are not kept.
		e.log.Warn("read earlier attempt", "run_id", run.ID, "repository", res.Name, "err", err)
		return
	}
	earlier := make(map[string]regdrift.TagDrift, len(prior))
	for _, p := range prior {
		if p.Action != regdrift.ActionNone &&
			(p.Result == regdrift.ResultOK || p.Result == regdrift.ResultRunning) {
			earlier[p.Tag] = p.TagDrift
		}
	}
	if len(earlier) == 0 {
		return
	}
	for i := range res.Tags {
		t := &res.Tags[i]
		p, ok := earlier[t.Tag]
		if !ok {
			continue
		}
		delete(earlier, t.Tag)
		// Only a tag that now reads in sync shows the action was done; one now unresolved,
		// or held back, keeps the new row, which says what is known.
		if t.State == regdrift.StateInSync {
			*t = carriedOut(p)
		}
	}
	// Deleted orphans are listed on neither side any more.
	for _, tag := range slices.Sorted(maps.Keys(earlier)) {
		p := earlier[tag]
		if p.Result == regdrift.ResultRunning && !listed {
			p.Result, p.Error = regdrift.ResultFailed, "interrupted, and the listings that "+
				"would show whether it was done failed"
			p.Verified = ""
			res.Tags = append(res.Tags, p)
			continue
		}
		res.Tags = append(res.Tags, carriedOut(p))
	}
	sort.Slice(res.Tags, func(i, j int) bool { return res.Tags[i].Tag < res.Tags[j].Tag })
	res.Before = regdrift.CountTags(res.Tags)
	res.Actions = countActions(res.Tags)
	res.Failed = countFailed(res.Tags)
	res.Status = repoStatus(res, res.Before)
}

// carriedOut is an earlier attempt's row of an action that was carried out.
func carriedOut(p regdrift.TagDrift) regdrift.TagDrift {
	p.Result, p.Error, p.Verified = regdrift.ResultOK, "", ""
	return p
}

// keepKnownBroken keeps broken the tags a deep check found broken, when a check that does not
// look behind digests finds their digests unchanged: matching digests say nothing of the
// content that was missing, and only a deep check or a copy can show it is back. Without it,
// every scheduled shallow check would report a repository that fails to pull as in sync.
func (e *Engine) keepKnownBroken(ctx context.Context, name string,
	tags []regdrift.TagDrift) error {
	known, err := e.store.KnownBroken(ctx, name)
	if err != nil || len(known) == 0 {
		return err
	}
	byTag := make(map[string]*regdrift.TagRow, len(known))
	for _, k := range known {
		byTag[k.Tag] = k
	}
	for i := range tags {
		t := &tags[i]
		k, ok := byTag[t.Tag]
		if !ok || t.State != regdrift.StateInSync || t.Primary.Digest != k.Primary.Digest ||
			t.Secondary.Digest != k.Secondary.Digest {
			continue
		}
		t.State, t.Missing = regdrift.StateBroken, k.Missing
	}
	return nil
}

// countActions counts the actions a plan carries out or carried out.
func countActions(tags []regdrift.TagDrift) int {
	n := 0
	for _, t := range tags {
		if t.Action != regdrift.ActionNone && t.Result != regdrift.ResultSkipped {
			n++
		}
	}
	return n
}

// check observes the repository and plans what would bring the secondary in line.
// It reports whether both registries listed the repository.
func (e *Engine) check(ctx context.Context, run *regdrift.Run, budget *runBudget,
	res *regdrift.RepoResult) (listed bool) {
	obs := e.observe(ctx, res.Name, run.Deep)
	res.Tags = obs.tags
	if run.Deep {
		e.readPlatforms(ctx, res.Name, res.Tags)
	}
	res.Error = obs.listingError()
	if !run.Deep {
		if err := e.keepKnownBroken(ctx, res.Name, res.Tags); err != nil {
			// Without the record, a tag known to be broken would read as in sync.
			res.Error = joinMsg(res.Error, "reading the tags known to be broken failed")
			e.log.Warn("read known broken tags", "repository", res.Name, "err", err)
		}
	}
	res.Before = regdrift.CountTags(res.Tags)
	res.Absent = obs.unknown
	if obs.unknown && len(run.Scope) > 0 {
		// A name asked for that exists nowhere is a mistake to show, not an empty
		// repository in sync. (A catalog may list a repository whose tags are all gone.)
		res.Error = "repository not found on either registry"
	}
	opts := PlanOptions{NoDelete: run.NoDelete, PrimaryEmpty: obs.primaryEmpty,
		SecondaryTags: obs.secondaryTags, Limits: e.limits,
		AllowMassDelete: run.AllowMassDelete}
	p := Plan(res.Tags, opts)
	if hold := budget.reserve(p.Deletes); hold != "" {
		opts.HoldDeletes = hold
		p = Plan(res.Tags, opts)
	}
	res.Actions, res.HeldBack = p.Actions, p.HeldBack
	if p.Guard != "" {
		res.Error = joinMsg(res.Error, p.Guard)
	}
	res.Skipped = countWithheld(res.Tags)
	res.CheckedAt = e.now()
	res.Status = repoStatus(res, res.Before)
	e.logCheck(ctx, run, res)
	return obs.primaryErr == nil && obs.secondaryErr == nil
}

// logCheck writes what a check found, per tag, at Debug: the detail an operator asks for when
// a count looks wrong, too much for every run's log.
func (e *Engine) logCheck(ctx context.Context, run *regdrift.Run, res *regdrift.RepoResult) {
	if !e.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	log := e.log.With("run_id", run.ID, "repository", res.Name)
	for _, t := range res.Tags {
		log.DebugContext(ctx, "tag checked", "tag", t.Tag, "state", t.State,
			"primary_digest", t.Primary.Digest, "secondary_digest", t.Secondary.Digest,
			"action", t.Action, "result", t.Result, "err", t.Error)
	}
	log.DebugContext(ctx, "repository checked", "status", res.Status, "tags", len(res.Tags),
		"drift", res.Before.Drift(), "actions", res.Actions, "skipped_actions", res.Skipped,
		"err", res.Error)
}

// reconcile carries out the plan and checks the repository again.
func (e *Engine) reconcile(ctx context.Context, run *regdrift.Run, res *regdrift.RepoResult) {
	e.act(ctx, run.ID, res.Name, res.Tags)
	res.Failed = countFailed(res.Tags)
	// Broken tags are only seen by a deep check, so their repair is verified by one.
	after := e.observe(ctx, res.Name, run.Deep || res.Before.Broken > 0)
	counts := regdrift.CountTags(after.tags)
	res.After = &counts
	markVerified(res.Tags, after)
	if msg := after.listingError(); msg != "" {
		res.Error = joinMsg(res.Error, "verification: "+msg)
	}
	res.CheckedAt = e.now()
	res.Status = repoStatus(res, counts)
}

// save records res and reports whether it could.
func (e *Engine) save(ctx context.Context, res *regdrift.RepoResult) bool {
	if err := e.store.SaveRepoResult(ctx, res); err != nil {
		e.log.Error("record repository result", "run_id", res.RunID, "repository", res.Name,
			"err", err)
		res.Status = regdrift.RepoError
		res.Error = joinMsg(res.Error, "recording the result failed")
		return false
	}
	return true
}

// failRepo records a repository that could not be handled at all.
func (e *Engine) failRepo(ctx context.Context, res *regdrift.RepoResult,
	err error) *regdrift.RepoResult {
	res.Status, res.Error, res.CheckedAt = regdrift.RepoError, err.Error(), e.now()
	e.save(context.WithoutCancel(ctx), res)
	return res
}

// repoStatus judges a repository from the counts that describe its secondary now: those found
// by a dry run, or those verified after an execute.
func repoStatus(res *regdrift.RepoResult, c regdrift.Counts) regdrift.RepoStatus {
	switch {
	case res.Error != "" || c.Unresolved > 0 || res.Failed > 0:
		return regdrift.RepoError
	case c.Drift() > 0:
		return regdrift.RepoDrift
	default:
		return regdrift.RepoInSync
	}
}

// countWithheld counts the actions a plan holds but will not carry out.
func countWithheld(tags []regdrift.TagDrift) int {
	n := 0
	for _, t := range tags {
		if t.Action != regdrift.ActionNone && t.Result == regdrift.ResultSkipped {
			n++
		}
	}
	return n
}

func countFailed(tags []regdrift.TagDrift) int {
	n := 0
	for _, t := range tags {
		if t.Result == regdrift.ResultFailed {
			n++
		}
	}
	return n
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// observation is what both registries say of a repository now.
type observation struct {
	tags         []regdrift.TagDrift
	primaryErr   error
	secondaryErr error
	// primaryEmpty is true when the primary listed the repository without error and found
	// no tag in it.
	primaryEmpty bool
	// secondaryTags is the number of tags the secondary listed.
	secondaryTags int
	// unknown is true when neither registry knows the repository.
	unknown bool
}

func (o observation) listingError() string {
	var msgs []string
	if o.primaryErr != nil {
		msgs = append(msgs, "primary: "+o.primaryErr.Error())
	}
	if o.secondaryErr != nil {
		msgs = append(msgs, "secondary: "+o.secondaryErr.Error())
	}
	return strings.Join(msgs, "; ")
}

// observe lists and resolves the tags of a repository on both registries and classifies them.
// With deep, tags whose digests match are checked for missing content on the secondary.
func (e *Engine) observe(ctx context.Context, name string, deep bool) observation {
	var p, s drift.Side
	var pFound, sFound bool
	var wg sync.WaitGroup
	wg.Go(func() { p, pFound = e.side(ctx, e.primary, e.primarySem, name) })
	wg.Go(func() { s, sFound = e.side(ctx, e.secondary, e.secondarySem, name) })
	wg.Wait()
	tags := drift.Classify(p, s)
	if deep {
		e.deepCheck(ctx, name, tags)
	}
	return observation{
		tags: tags, primaryErr: p.Err, secondaryErr: s.Err,
		primaryEmpty:  p.Err == nil && len(p.Tags) == 0,
		secondaryTags: len(s.Tags),
		unknown:       p.Err == nil && s.Err == nil && !pFound && !sFound,
	}
}

// lister is what observe needs of a registry.
type lister interface {
	Tags(ctx context.Context, repo string) (tags []string, found bool, err error)
	Resolve(ctx context.Context, repo, tag string) (regdrift.Manifest, error)
}

// side lists a repository's tags on one registry and resolves each, at most cap(sem) requests
// at once. found is false when the registry does not know the repository.
func (e *Engine) side(ctx context.Context, reg lister, sem chan struct{},
	name string) (s drift.Side, found bool) {
	var tags []string
	var err error
	withSlot(sem, func() { tags, found, err = reg.Tags(ctx, name) })
	if err != nil {
		e.log.Warn("tag listing failed", "repository", name, "err", err)
		return drift.Side{Err: err}, false
	}
	out := make(map[string]drift.Resolved, len(tags))
	var mu sync.Mutex
	forEach(tags, sem, func(tag string) {
		m, err := reg.Resolve(ctx, name, tag)
		if err != nil {
			e.log.Warn("resolve failed", "repository", name, "tag", tag, "err", err)
		}
		mu.Lock()
		out[tag] = drift.Resolved{Manifest: m, Err: err}
		mu.Unlock()
	})
	return drift.Side{Tags: out}, found
}

// deepCheck turns in_sync tags whose content is incomplete on the secondary into broken ones,
// and those whose check failed into unresolved ones. Tags sharing a digest are checked once.
func (e *Engine) deepCheck(ctx context.Context, name string, tags []regdrift.TagDrift) {
	type verdict struct {
		missing []string
		err     error
	}
	var digests []string
	seen := map[string]bool{}
	for _, t := range tags {
		if t.State == regdrift.StateInSync && !seen[t.Secondary.Digest] {
			seen[t.Secondary.Digest] = true
			digests = append(digests, t.Secondary.Digest)
		}
	}
	verdicts := make(map[string]verdict, len(digests))
	var mu sync.Mutex
	forEach(digests, e.secondarySem, func(d string) {
		missing, err := e.secondary.Missing(ctx, name, d)
		mu.Lock()
		verdicts[d] = verdict{missing, err}
		mu.Unlock()
	})
	for i := range tags {
		t := &tags[i]
		if t.State != regdrift.StateInSync {
			continue
		}
		v, checked := verdicts[t.Secondary.Digest]
		switch {
		case !checked:
			// Every in-sync digest is checked above; a gap must not pass for a match.
			t.State, t.Error = regdrift.StateUnresolved, "deep check: not checked"
		case v.err != nil:
			t.State, t.Error = regdrift.StateUnresolved, "deep check: "+v.err.Error()
		case len(v.missing) > 0:
			t.State, t.Missing = regdrift.StateBroken, v.missing
		}
	}
}

// readPlatforms notes on each tag that points at an index on the primary the platforms it
// holds, reading each digest once. Only a deep check pays for these reads.
//
// NOTE: the platforms only describe a tag; a failure to read them changes no state and no
// plan, so it is logged at Warn and the tag shows no platforms.
func (e *Engine) readPlatforms(ctx context.Context, name string, tags []regdrift.TagDrift) {
	var digests []string
	seen := map[string]bool{}
	for _, t := range tags {
		d := t.Primary.Digest
		if d != "" && registry.IsIndex(t.Primary.MediaType) && !seen[d] {
			seen[d] = true
			digests = append(digests, d)
		}
	}
	found := make(map[string][]string, len(digests))
	var mu sync.Mutex
	forEach(digests, e.primarySem, func(d string) {
		p, err := e.primary.Platforms(ctx, name, d)
		if err != nil {
			e.log.Warn("read platforms", "repository", name, "digest", d, "err", err)
			return
		}
		mu.Lock()
		found[d] = p
		mu.Unlock()
	})
	for i := range tags {
		if p, ok := found[tags[i].Primary.Digest]; ok {
			tags[i].Platforms = p
		}
	}
}

// act carries out the planned actions: copies first, so a tag that moves is never absent, then
// deletions. Each tag's result and error are set in place, and recorded as running before the
// action starts and again when it ends, so that a crash leaves a trace of what was under way.
// An action whose start cannot be recorded is not started.
func (e *Engine) act(ctx context.Context, runID int64, name string, tags []regdrift.TagDrift) {
	log := e.log.With("run_id", runID, "repository", name)
	rec := context.WithoutCancel(ctx)
	one := func(i int) {
		t := &tags[i]
		t.Result = regdrift.ResultRunning
		if err := e.store.SaveTagResult(rec, runID, name, t); err != nil {
			t.Result = regdrift.ResultFailed
			t.Error = "not started: recording the action failed: " + err.Error()
			log.Error("record action start", "tag", t.Tag, "err", err)
			return
		}
		if err := e.do(ctx, name, t); err != nil {
			t.Result, t.Error = regdrift.ResultFailed, err.Error()
			log.Warn("action failed", "tag", t.Tag, "action", t.Action, "err", err)
		} else {
			t.Result = regdrift.ResultOK
			log.Debug("action done", "tag", t.Tag, "action", t.Action)
		}
		if err := e.store.SaveTagResult(rec, runID, name, t); err != nil {
			// The repository's record after verification writes the row again.
			log.Warn("record action end", "tag", t.Tag, "err", err)
		}
	}
	inTurn := func(g []int) {
		for _, i := range g {
			one(i)
		}
	}
	// The images of a repository share layers, and copies started together would each upload
	// a layer the others are uploading: the first image goes alone, and the tags of one
	// image go one after another (the second finds the blobs there and only tags).
	if groups := copyGroups(tags); len(groups) > 0 {
		inTurn(groups[0])
		forEach(groups[1:], e.secondarySem, inTurn)
	}
	forEach(planned(tags, regdrift.ActionDelete), e.secondarySem, one)
}

// copyGroups returns the planned copies, the tags of one primary digest together, in the
// order each digest first appears.
func copyGroups(tags []regdrift.TagDrift) [][]int {
	var groups [][]int
	at := map[string]int{}
	for _, i := range planned(tags, regdrift.ActionCopy) {
		d := tags[i].Primary.Digest
		k, ok := at[d]
		if !ok {
			k = len(groups)
			at[d] = k
			groups = append(groups, nil)
		}
		groups[k] = append(groups[k], i)
	}
	return groups
}

// planned returns the indexes of the tags whose action is kind and still planned.
func planned(tags []regdrift.TagDrift, kind regdrift.Action) []int {
	var idx []int
	for i, t := range tags {
		if t.Action == kind && t.Result == regdrift.ResultPlanned {
			idx = append(idx, i)
		}
	}
	return idx
}

func (e *Engine) do(ctx context.Context, name string, t *regdrift.TagDrift) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	switch t.Action {
	case regdrift.ActionCopy:
		return e.secondary.Copy(ctx, name, t.Tag, t.Primary.Digest,
			t.State == regdrift.StateBroken)
	case regdrift.ActionDelete:
		return e.secondary.DeleteTag(ctx, name, t.Tag, t.Secondary.Digest)
	}
	return fmt.Errorf("unknown action %q", t.Action)
}

// markVerified copies onto each row the state the verification found for its tag. A tag the
// verification no longer lists on either side is verified gone only when this run deleted it
// and both listings succeeded; otherwise nothing is known of it.
func markVerified(rows []regdrift.TagDrift, after observation) {
	byTag := make(map[string]regdrift.State, len(after.tags))
	for _, t := range after.tags {
		byTag[t.Tag] = t.State
	}
	listed := after.primaryErr == nil && after.secondaryErr == nil
	for i := range rows {
		r := &rows[i]
		s, ok := byTag[r.Tag]
		switch {
		case ok:
			r.Verified = s
		case listed && r.Action == regdrift.ActionDelete && r.Result == regdrift.ResultOK:
			r.Verified = regdrift.StateInSync
		default:
			r.Verified = regdrift.StateUnresolved
		}
	}
}
