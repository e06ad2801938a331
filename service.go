package regdrift

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by a Store when the asked-for record does not exist.
var ErrNotFound = &Error{Code: ENOTFOUND, Message: "not found"}

// IsNotFound reports whether err means a missing record.
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || ErrorCode(err) == ENOTFOUND
}

// RunFilter selects runs in a listing, newest first.
type RunFilter struct {
	// Statuses keeps the runs in one of these statuses; empty keeps every run.
	Statuses []RunStatus
	// WholeRegistry keeps only the runs over every repository (an empty scope).
	WholeRegistry bool
	Limit         int
	Offset        int
}

// TagFilter selects the per-tag rows of a run.
type TagFilter struct {
	Repository string
	State      State
	// Result keeps the rows whose action ended so; "" keeps every row.
	Result Result
	// Notable keeps the rows that say something: see TagDrift.Notable.
	Notable bool
	Limit   int
	Offset  int
}

// RepoFilter selects repositories in a listing of their latest results, worst first.
type RepoFilter struct {
	// Status keeps RepoError: the repositories in error; RepoDrift: those with drifting tags
	// or in drift; RepoInSync: those in sync; "" keeps every repository.
	Status RepoStatus
	// Query keeps the repositories whose name contains it.
	Query string
	// Names, when not empty, keeps only the repositories named in it.
	Names  []string
	Limit  int
	Offset int
}

// Store records runs and their results. Every method takes a context; a record that does not
// exist is reported with an error for which IsNotFound is true.
type Store interface {
	// CreateRun inserts run, queued, and sets its ID and CreatedAt.
	CreateRun(ctx context.Context, run *Run) error
	// UpdateRun writes the status, outcome, error, times, progress and summary of run.
	UpdateRun(ctx context.Context, run *Run) error
	// SaveRepoResult stores the result of one repository and all its tag rows in one
	// transaction, replacing what an earlier call stored for the same run and repository.
	SaveRepoResult(ctx context.Context, res *RepoResult) error
	// GetRun returns one run.
	GetRun(ctx context.Context, id int64) (*Run, error)
	// ListRuns returns runs, newest first, and the total number of runs.
	ListRuns(ctx context.Context, f RunFilter) ([]*Run, int, error)
	// ListRunRepos returns the repository results of a run, without their tags.
	ListRunRepos(ctx context.Context, runID int64) ([]*RepoResult, error)
	// WorstRunRepos returns at most limit repository results of a run, without their tags:
	// errors first, then drift, then in sync, each by name.
	WorstRunRepos(ctx context.Context, runID int64, limit int) ([]*RepoResult, error)
	// ListRunTags returns the tag rows of a run that f selects, and how many it selects in
	// all, whatever the page.
	ListRunTags(ctx context.Context, runID int64, f TagFilter) ([]*TagRow, int, error)
	// ListRepositories returns the latest result of the repositories f selects, worst first,
	// and how many it selects in all.
	ListRepositories(ctx context.Context, f RepoFilter) ([]*RepoSummary, int, error)
	// RepoTotals adds up the latest results of every repository.
	RepoTotals(ctx context.Context) (RepoTotals, error)
	// ForgetRepositories drops the latest result of every repository not in keep that was
	// checked before before, and returns how many it dropped: a run over whole catalogs
	// calls it, so that a repository gone from both registries leaves the overview.
	ForgetRepositories(ctx context.Context, keep []string, before time.Time) (int64, error)
	// KnownBroken returns the tag rows of a repository's latest result whose latest state is
	// broken (found so, and not repaired by that run's execute); none when it has no result.
	KnownBroken(ctx context.Context, name string) ([]*TagRow, error)
	// GetRepository returns the latest result of one repository and its tag rows.
	GetRepository(ctx context.Context, name string) (*RepoSummary, []*TagRow, error)
	// ListRepoRuns returns the runs that touched a repository, newest first.
	ListRepoRuns(ctx context.Context, name string, limit int) ([]*Run, error)
	// AbandonRuns fails every queued or running run started by one of triggers, with reason
	// as its error, and returns how many it ended.
	AbandonRuns(ctx context.Context, reason string, triggers ...Trigger) (int64, error)

	// The durable run queue.

	// QueueRun inserts run as queued, like CreateRun. With join, a queued run of the same
	// trigger, mode, scope and options takes the request instead: run is overwritten with it,
	// its Coalesced count goes up by one and joined is true; a request with a NotBefore moves
	// the twin's NotBefore on to it, never past MaxSettle after the twin was created.
	QueueRun(ctx context.Context, run *Run, join bool) (joined bool, err error)
	// ClaimRun marks the oldest interrupted or queued run of one of triggers as running and
	// returns it, interrupted runs first; queued runs whose NotBefore has not come wait. It
	// returns nil and no error when none is due.
	ClaimRun(ctx context.Context, triggers ...Trigger) (*Run, error)
	// NextDue returns the earliest NotBefore of the queued runs of triggers that are not due
	// yet, and false when there is none.
	NextDue(ctx context.Context, triggers ...Trigger) (time.Time, bool, error)
	// InterruptRuns marks every running run of one of triggers as interrupted (the process
	// that ran them is gone), counts the interruption and returns how many it marked.
	InterruptRuns(ctx context.Context, reason string, triggers ...Trigger) (int64, error)
	// CancelQueuedRun cancels a run that is queued or interrupted and returns ECONFLICT when
	// it is in neither state.
	CancelQueuedRun(ctx context.Context, id int64, reason string) error
	// SaveTagResult writes the result and error of one tag row of a run, which must exist:
	// before an action starts and again when it ends.
	SaveTagResult(ctx context.Context, runID int64, repository string, t *TagDrift) error
}

// RunService starts and stops runs. Runs go on in the background.
type RunService interface {
	// StartRun records a queued run for req, or joins a queued one when req.Coalesce says
	// so; the run starts when the queue gets to it.
	StartRun(ctx context.Context, req RunRequest) (*Run, error)
	// CancelRun asks a run to stop; it returns an ECONFLICT error when the run has finished.
	CancelRun(ctx context.Context, id int64) error
	// Wait blocks until the run has finished or ctx ends.
	Wait(ctx context.Context, id int64) (*Run, error)
}
