// Package regdrift holds the vocabulary of a drift check between a primary container registry
// and its secondary: tag states, repository results, runs and the actions a reconcile takes.
//
// The adapters live in sub-packages: sync/... reaches the registries and runs the engine, db
// stores runs in SQLite, server serves the API and the dashboard, views renders pages and cmd
// wires them together. This package imports only the standard library.
package regdrift

import (
	"errors"
	"fmt"
	"time"
)

// State is the outcome of comparing one tag across the two registries.
type State string

// The states a tag can be in. StateUnresolved means a digest could not be read; it is never
// equal to anything and is never acted on.
const (
	StateInSync          State = "in_sync"
	StateOnlyOnPrimary   State = "only_on_primary"
	StateOnlyOnSecondary State = "only_on_secondary"
	StateStale           State = "stale"
	StateBroken          State = "broken"
	StateUnresolved      State = "unresolved"
)

// States lists every state, worst first, in the order the UI and reports show them.
var States = []State{
	StateUnresolved, StateBroken, StateStale, StateOnlyOnPrimary, StateOnlyOnSecondary,
	StateInSync,
}

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// Action is what a reconcile does for one tag.
type Action string

// Actions a plan may hold.
const (
	ActionNone   Action = "none"
	ActionCopy   Action = "copy"
	ActionDelete Action = "delete"
)

// Result is how an action ended.
type Result string

// Results of an action. ResultNone is for tags that need no action at all.
const (
	ResultNone    Result = ""
	ResultPlanned Result = "planned"
	// ResultRunning is recorded before an action starts, so that a crash leaves its trace.
	ResultRunning Result = "running"
	ResultOK      Result = "ok"
	ResultFailed  Result = "failed"
	ResultSkipped Result = "skipped"
)

// RepoStatus summarises one repository in one run.
type RepoStatus string

// Repository statuses.
const (
	RepoInSync RepoStatus = "in_sync"
	RepoDrift  RepoStatus = "drift"
	RepoError  RepoStatus = "error"
)

// Mode says whether a run only plans or also acts.
type Mode string

// Run modes. A dry run is the default everywhere.
const (
	ModeDryRun  Mode = "dry_run"
	ModeExecute Mode = "execute"
)

// Valid reports whether r is a known result; ResultNone is one.
func (r Result) Valid() bool {
	switch r {
	case ResultNone, ResultPlanned, ResultRunning, ResultOK, ResultFailed, ResultSkipped:
		return true
	}
	return false
}

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeDryRun || m == ModeExecute }

// Trigger says who started a run.
type Trigger string

// Triggers of a run.
const (
	TriggerCLI      Trigger = "cli"
	TriggerAPI      Trigger = "api"
	TriggerUI       Trigger = "ui"
	TriggerWebhook  Trigger = "webhook"  // a registry's notification
	TriggerCI       Trigger = "ci"       // a signed call from a pipeline
	TriggerSchedule Trigger = "schedule" // --check-interval or --execute-interval
)

// ServerTriggers are the triggers of the runs a server queues and carries out; CLI runs
// belong to the process that started them.
var ServerTriggers = []Trigger{
	TriggerAPI, TriggerUI, TriggerWebhook, TriggerCI, TriggerSchedule,
}

// RunStatus is where a run is in its life.
type RunStatus string

// Run statuses. A finished run is RunDone and its Outcome says how it ended. An interrupted
// run (its process stopped or died) is not finished: it waits, like a queued one, to resume
// from the repositories it had not finished.
const (
	RunQueued      RunStatus = "queued"
	RunRunning     RunStatus = "running"
	RunInterrupted RunStatus = "interrupted"
	RunDone        RunStatus = "done"
	RunCanceled    RunStatus = "canceled"
	RunFailed      RunStatus = "failed"
)

// Finished reports whether the run has stopped for good.
func (s RunStatus) Finished() bool {
	return s == RunDone || s == RunCanceled || s == RunFailed
}

// Outcome is the verdict of a finished run, as diff(1) gives it.
type Outcome string

// Outcomes of a run. For an execute they describe the secondary after the run's own
// verification, not what was found before it.
const (
	OutcomeNone   Outcome = ""
	OutcomeInSync Outcome = "in_sync"
	OutcomeDrift  Outcome = "drift"
	OutcomeError  Outcome = "error"
)

// ExitCode maps an outcome to the exit code of the CLI: 0 clean, 1 drift, 2 errors.
func (o Outcome) ExitCode() int {
	switch o {
	case OutcomeInSync:
		return 0
	case OutcomeDrift:
		return 1
	default:
		return 2
	}
}

// Manifest identifies what a tag points at on one registry. The zero value means the tag is
// absent there; a present tag always has a digest.
type Manifest struct {
	Digest    string `json:"digest"`
	MediaType string `json:"media_type"`
}

// TagDrift is the comparison of one tag and what a run did about it.
type TagDrift struct {
	Tag       string   `json:"tag"`
	State     State    `json:"state"`
	Primary   Manifest `json:"-"`
	Secondary Manifest `json:"-"`
	// Missing names the content the secondary lacks behind a matching digest (broken tags).
	Missing []string `json:"missing"`
	// Platforms lists the platforms ("linux/amd64") an index or manifest list on the primary
	// holds. Only a deep check reads them; empty otherwise.
	Platforms []string `json:"platforms"`
	Action    Action   `json:"action"`
	Result    Result   `json:"result"`
	Error     string   `json:"error"`
	// Verified is the state the check after an execute found; empty when there was none.
	// State stays what the run found before acting, so the row reads as a record of the run.
	Verified State `json:"verified_state"`
}

// Notable reports whether a tag row says anything beyond "in sync, nothing done": another
// state, an action, a result, an error, or a verification that found it otherwise. A run over
// a healthy registry holds mostly rows that are not notable, which would bury the drift.
func (t TagDrift) Notable() bool {
	return t.State != StateInSync ||
		(t.Action != "" && t.Action != ActionNone) ||
		t.Result != ResultNone || t.Error != "" ||
		(t.Verified != "" && t.Verified != StateInSync)
}

// Counts holds the number of tags in each state.
type Counts struct {
	InSync          int `json:"in_sync"`
	OnlyOnPrimary   int `json:"only_on_primary"`
	OnlyOnSecondary int `json:"only_on_secondary"`
	Stale           int `json:"stale"`
	Broken          int `json:"broken"`
	Unresolved      int `json:"unresolved"`
}

// Add counts one tag in state s.
func (c *Counts) Add(s State) {
	switch s {
	case StateInSync:
		c.InSync++
	case StateOnlyOnPrimary:
		c.OnlyOnPrimary++
	case StateOnlyOnSecondary:
		c.OnlyOnSecondary++
	case StateStale:
		c.Stale++
	case StateBroken:
		c.Broken++
	case StateUnresolved:
		c.Unresolved++
	}
}

// Get returns the count for state s.
func (c Counts) Get(s State) int {
	switch s {
	case StateInSync:
		return c.InSync
	case StateOnlyOnPrimary:
		return c.OnlyOnPrimary
	case StateOnlyOnSecondary:
		return c.OnlyOnSecondary
	case StateStale:
		return c.Stale
	case StateBroken:
		return c.Broken
	case StateUnresolved:
		return c.Unresolved
	}
	return 0
}

// Merge adds every count of o to c.
func (c *Counts) Merge(o Counts) {
	c.InSync += o.InSync
	c.OnlyOnPrimary += o.OnlyOnPrimary
	c.OnlyOnSecondary += o.OnlyOnSecondary
	c.Stale += o.Stale
	c.Broken += o.Broken
	c.Unresolved += o.Unresolved
}

// Total is the number of tags counted.
func (c Counts) Total() int {
	return c.InSync + c.Drift() + c.Unresolved
}

// Drift is the number of tags that differ in a known way.
func (c Counts) Drift() int {
	return c.OnlyOnPrimary + c.OnlyOnSecondary + c.Stale + c.Broken
}

// CountTags counts the states of tags.
func CountTags(tags []TagDrift) Counts {
	var c Counts
	for _, t := range tags {
		c.Add(t.State)
	}
	return c
}

// RepoResult is what one run found and did in one repository.
type RepoResult struct {
	RunID  int64      `json:"run_id"`
	Name   string     `json:"name"`
	Status RepoStatus `json:"status"`
	Error  string     `json:"error"`
	Before Counts     `json:"before"`
	// After holds the counts of the verification after an execute; nil for a dry run.
	After   *Counts `json:"after"`
	Actions int     `json:"actions"`
	Failed  int     `json:"failed_actions"`
	// Skipped counts the actions the plan holds but withheld (deletions kept by --no-delete,
	// because the primary lists no tags, or by the deletion guard).
	Skipped int `json:"skipped_actions"`
	// HeldBack counts the deletions the deletion guard held back; Error then says why.
	HeldBack  int        `json:"held_back"`
	CheckedAt time.Time  `json:"checked_at"`
	Tags      []TagDrift `json:"-"`
	// Absent is true when neither registry knows the repository: the run records it, but
	// there is no repository whose latest state it could be.
	Absent bool `json:"-"`
	// Finished is false while the repository's actions are still to be carried out (its plan
	// is recorded first); a resumed run does again only what is not finished.
	Finished bool `json:"-"`
}

// Summary adds up the results of a run.
type Summary struct {
	Repositories int `json:"repositories"`
	Tags         int `json:"tags"`
	Counts
	Actions        int `json:"actions"`
	FailedActions  int `json:"failed_actions"`
	SkippedActions int `json:"skipped_actions"`
	// HeldBack counts the deletions the deletion guard held back (a part of SkippedActions).
	HeldBack int `json:"held_back"`
	// Errors counts what could not be read or done: unresolved tags, repositories whose
	// listing failed and failed actions.
	Errors int `json:"errors"`
}

// Run is one check or reconcile over a set of repositories.
type Run struct {
	ID       int64    `json:"id"`
	Mode     Mode     `json:"mode"`
	Trigger  Trigger  `json:"trigger"`
	Scope    []string `json:"scope"` // empty means every repository
	Deep     bool     `json:"deep"`
	NoDelete bool     `json:"no_delete"`
	// AllowMassDelete turns the deletion guard off for this run.
	AllowMassDelete bool `json:"allow_mass_delete"`
	// Guard is what the deletion guard allowed and held back in this run.
	Guard     Guard     `json:"guard"`
	Status    RunStatus `json:"status"`
	Outcome   Outcome   `json:"outcome"`
	Error     string    `json:"error"`
	CreatedAt time.Time `json:"created_at"`
	// StartedAt and FinishedAt are nil until the run starts and ends.
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Summary    Summary    `json:"summary"`
	// ReposTotal and ReposDone give progress while the run goes on.
	ReposTotal int `json:"repositories_total"`
	ReposDone  int `json:"repositories_done"`
	// Interruptions counts the times the run was stopped by a shutdown or a crash and resumed.
	Interruptions int `json:"interruptions"`
	// Coalesced counts the requests that joined this run while it was queued instead of
	// queueing a run of their own.
	Coalesced int `json:"coalesced"`
	// NotBefore holds a queued run back until then, nil for at once: a registry notification's
	// run waits for the rest of the push (RunRequest.Settle).
	NotBefore *time.Time `json:"not_before"`
}

// RunRequest asks for a run.
type RunRequest struct {
	Mode         Mode     `json:"mode"`
	Repositories []string `json:"repositories"`
	Deep         bool     `json:"deep"`
	NoDelete     bool     `json:"no_delete"`
	// AllowMassDelete turns the deletion guard off for this one run.
	AllowMassDelete bool    `json:"allow_mass_delete"`
	Trigger         Trigger `json:"-"`
	// Coalesce lets the request join a queued run of the same trigger, mode, scope and
	// options instead of queueing another (a burst of webhooks, a schedule that outpaces runs).
	Coalesce bool `json:"-"`
	// Settle holds the run back until no request has joined it for this long, and at most
	// MaxSettle after the first: one push sends events for a while, and checking after the
	// first of them sees half a push and runs again for the rest.
	Settle time.Duration `json:"-"`
}

// MaxSettle bounds how long requests that keep joining a run can hold it back.
const MaxSettle = time.Minute

// Validate checks a run request, fills in defaults and drops repeated repository names.
func (r *RunRequest) Validate() error {
	if r.Mode == "" {
		r.Mode = ModeDryRun
	}
	if !r.Mode.Valid() {
		return Errorf(EINVALID, "mode %q is not one of dry_run, execute", r.Mode)
	}
	seen := make(map[string]bool, len(r.Repositories))
	names := make([]string, 0, len(r.Repositories))
	for _, name := range r.Repositories {
		if err := ValidateRepoName(name); err != nil {
			return err
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	r.Repositories = names
	return nil
}

// DeleteLimits say when a run is about to delete so much that it must stop and ask: a
// primary that lists too little (a fault, a half-restored registry) looks exactly like a
// primary whose tags were deleted, and a mirror emptied on such a guess is lost.
type DeleteLimits struct {
	// A repository trips the guard when a run would delete more than RepoShare of its tags
	// on the secondary and more than RepoMin of them.
	RepoShare float64 `json:"repo_share"`
	RepoMin   int     `json:"repo_min"`
	// A run trips the guard when it would delete more than RunMax tags in all.
	RunMax int `json:"run_max"`
}

// DefaultDeleteLimits are the limits unless configured: more than half of a repository's tags
// and more than 10 of them, or more than 500 tags in one run.
func DefaultDeleteLimits() DeleteLimits {
	return DeleteLimits{RepoShare: 0.5, RepoMin: 10, RunMax: 500}
}

// WithDefaults returns l with every unset (zero or negative) limit at its default.
func (l DeleteLimits) WithDefaults() DeleteLimits {
	d := DefaultDeleteLimits()
	if l.RepoShare <= 0 || l.RepoShare > 1 {
		l.RepoShare = d.RepoShare
	}
	if l.RepoMin <= 0 {
		l.RepoMin = d.RepoMin
	}
	if l.RunMax <= 0 {
		l.RunMax = d.RunMax
	}
	return l
}

// Validate checks limits an operator set.
func (l DeleteLimits) Validate() error {
	if l.RepoShare < 0 || l.RepoShare > 1 {
		return Errorf(EINVALID, "repository share %g is not between 0 and 1", l.RepoShare)
	}
	if l.RepoMin < 0 || l.RunMax < 0 {
		return Errorf(EINVALID, "deletion limits must not be negative")
	}
	return nil
}

// Guard is what the deletion guard did in one run.
type Guard struct {
	Limits DeleteLimits `json:"limits"`
	// Tripped is true when the guard held back at least one deletion.
	Tripped bool `json:"tripped"`
	// RunTripped is true when the run as a whole would have deleted more than RunMax tags:
	// then no repository deletes anything.
	RunTripped bool `json:"run_tripped"`
	// WouldDelete counts the deletions the run planned before the guard; HeldBack those it
	// held back, in Repositories repositories.
	WouldDelete  int `json:"would_delete"`
	HeldBack     int `json:"held_back"`
	Repositories int `json:"repositories"`
	// Note says what tripped and how to override it; empty when nothing tripped.
	Note string `json:"note"`
}

// OverrideHint tells an operator how to delete anyway, for one run.
const OverrideHint = `to delete anyway, run once with --allow-mass-delete ` +
	`(API: "allow_mass_delete": true)`

// TagRow is a per-tag record of a run, as stored and served.
type TagRow struct {
	RunID      int64  `json:"run_id"`
	Repository string `json:"repository"`
	TagDrift
}

// RepoTotals adds up the latest results of every repository.
type RepoTotals struct {
	Repositories int `json:"repositories"`
	InSync       int `json:"in_sync"`
	Drift        int `json:"drift"`
	Errors       int `json:"errors"`
	// Tags counts the tags of every repository by state.
	Tags Counts `json:"tags"`
	// LastCheckedAt is when the most recent repository check ended; zero when none did.
	LastCheckedAt time.Time `json:"last_checked_at"`
}

// RepoSummary is the latest known drift of one repository.
type RepoSummary struct {
	Name      string     `json:"name"`
	Status    RepoStatus `json:"status"`
	Error     string     `json:"error"`
	Counts    Counts     `json:"counts"`
	RunID     int64      `json:"run_id"`
	CheckedAt time.Time  `json:"checked_at"`
}

// Error codes, one per kind of failure a caller can act on.
const (
	EINVALID  = "invalid"
	ENOTFOUND = "not_found"
	ECONFLICT = "conflict"
	// EUNAVAILABLE is for work refused for the moment: the server is shutting down.
	EUNAVAILABLE = "unavailable"
	EINTERNAL    = "internal"
)

// Error is an error whose message is safe to show to a user.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err, or a generic one.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
