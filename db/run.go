package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/regdrift/regdrift"
)

// runFields are the columns of a run but its id. runColumns, all of them, are what scanRun
// reads, in its order.
const (
	runFields = `mode, "trigger", scope, deep, no_delete, status, outcome, error,
	created_at, started_at, finished_at, repos_total, repos_done,
	repositories, tags, in_sync, only_on_primary, only_on_secondary, stale, broken,
	unresolved, actions, failed_actions, skipped_actions, errors,
	allow_mass_delete, guard, held_back, interruptions, coalesced, not_before`
	runColumns = `id, ` + runFields
)

// CreateRun inserts run as queued and sets its ID, Status and CreatedAt. The other fields are
// stored as they are.
func (db *DB) CreateRun(ctx context.Context, run *regdrift.Run) error {
	if err := db.insertRun(ctx, db.write, run); err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	return nil
}

// rowQuerier is a *sql.DB or *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) insertRun(ctx context.Context, q rowQuerier, run *regdrift.Run) error {
	scope, err := json.Marshal(nonNil(run.Scope))
	if err != nil {
		return fmt.Errorf("encode scope: %w", err)
	}
	created := db.now()
	s := run.Summary
	guard, err := json.Marshal(run.Guard)
	if err != nil {
		return fmt.Errorf("encode guard: %w", err)
	}

	var id int64
	err = q.QueryRowContext(ctx, `INSERT INTO runs (`+runFields+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			?, ?, ?, ?, ?, ?)
		RETURNING id`,
		run.Mode, run.Trigger, string(scope), run.Deep, run.NoDelete, regdrift.RunQueued,
		run.Outcome, run.Error, formatTime(created), formatTimePtr(run.StartedAt),
		formatTimePtr(run.FinishedAt), run.ReposTotal, run.ReposDone,
		s.Repositories, s.Tags, s.InSync, s.OnlyOnPrimary, s.OnlyOnSecondary, s.Stale,
		s.Broken, s.Unresolved, s.Actions, s.FailedActions, s.SkippedActions, s.Errors,
		run.AllowMassDelete, string(guard), s.HeldBack, run.Interruptions, run.Coalesced,
		formatTimePtr(run.NotBefore),
	).Scan(&id)
	if err != nil {
		return err
	}
	run.ID, run.Status, run.CreatedAt = id, regdrift.RunQueued, created
	return nil
}

// UpdateRun writes the status, outcome, error, start and finish times, progress, summary and
// interruptions of run. Its mode, trigger, scope, options, creation time and the count of
// requests that joined it stay as they were stored.
func (db *DB) UpdateRun(ctx context.Context, run *regdrift.Run) error {
	s := run.Summary
	guard, err := json.Marshal(run.Guard)
	if err != nil {
		return fmt.Errorf("update run %d: encode guard: %w", run.ID, err)
	}
	res, err := db.write.ExecContext(ctx, `UPDATE runs SET
			status = ?, outcome = ?, error = ?, started_at = ?, finished_at = ?,
			repos_total = ?, repos_done = ?, repositories = ?, tags = ?, in_sync = ?,
			only_on_primary = ?, only_on_secondary = ?, stale = ?, broken = ?,
			unresolved = ?, actions = ?, failed_actions = ?, skipped_actions = ?, errors = ?,
			guard = ?, held_back = ?, interruptions = ?
		WHERE id = ?`,
		run.Status, run.Outcome, run.Error, formatTimePtr(run.StartedAt),
		formatTimePtr(run.FinishedAt), run.ReposTotal, run.ReposDone,
		s.Repositories, s.Tags, s.InSync, s.OnlyOnPrimary, s.OnlyOnSecondary, s.Stale,
		s.Broken, s.Unresolved, s.Actions, s.FailedActions, s.SkippedActions, s.Errors,
		string(guard), s.HeldBack, run.Interruptions, run.ID)
	if err != nil {
		return fmt.Errorf("update run %d: %w", run.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update run %d: %w", run.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("update run %d: %w", run.ID, regdrift.ErrNotFound)
	}
	return nil
}

// AbandonRuns ends every queued or running run started by one of triggers: it fails with
// reason as its error and an error outcome. A server calls it at start for its own runs, which
// no process carries on once the one that ran them has stopped.
func (db *DB) AbandonRuns(ctx context.Context, reason string,
	triggers ...regdrift.Trigger) (int64, error) {
	var total int64
	for _, trig := range triggers {
		res, err := db.write.ExecContext(ctx, `UPDATE runs SET
				status = ?, outcome = ?, error = ?, finished_at = ?
			WHERE status IN (?, ?) AND "trigger" = ?`,
			regdrift.RunFailed, regdrift.OutcomeError, reason, formatTime(db.now()),
			regdrift.RunQueued, regdrift.RunRunning, trig)
		if err != nil {
			return total, fmt.Errorf("abandon %s runs: %w", trig, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("abandon %s runs: %w", trig, err)
		}
		total += n
	}
	return total, nil
}

// GetRun returns the run with id.
func (db *DB) GetRun(ctx context.Context, id int64) (*regdrift.Run, error) {
	row := db.read.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id)
	run, err := scanRun(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = regdrift.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get run %d: %w", id, err)
	}
	return run, nil
}

// ListRuns returns the runs f selects newest first, paged by f, and how many f selects in
// all. A limit of zero or less means no limit.
func (db *DB) ListRuns(ctx context.Context, f regdrift.RunFilter) ([]*regdrift.Run, int, error) {
	limit, offset := limitOffset(f.Limit, f.Offset)
	where, args := runWhere(f)
	var (
		runs  []*regdrift.Run
		total int
	)
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE `+where,
			args...).Scan(&total)
		if err != nil {
			return err
		}
		runs, err = queryAll(ctx, tx, scanRun, `SELECT `+runColumns+` FROM runs
			WHERE `+where+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
			append(args, limit, offset)...)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list runs: %w", err)
	}
	return runs, total, nil
}

// runWhere builds the condition that selects the runs f selects.
func runWhere(f regdrift.RunFilter) (string, []any) {
	where, args := `1`, []any{}
	if len(f.Statuses) > 0 {
		where += ` AND status IN (?` + strings.Repeat(`, ?`, len(f.Statuses)-1) + `)`
		for _, s := range f.Statuses {
			args = append(args, s)
		}
	}
	if f.WholeRegistry {
		where += ` AND scope = '[]'`
	}
	return where, args
}

// ListRepoRuns returns the runs that stored a result for the repository name, newest first,
// at most limit of them; a limit of zero or less means no limit. A repository no run touched
// has no runs, which is not an error.
func (db *DB) ListRepoRuns(ctx context.Context, name string, limit int) ([]*regdrift.Run, error) {
	limit, _ = limitOffset(limit, 0)
	runs, err := queryAll(ctx, db.read, scanRun, `SELECT `+runColumns+` FROM runs
		WHERE id IN (SELECT run_id FROM run_repos WHERE name = ?)
		ORDER BY created_at DESC, id DESC LIMIT ?`, name, limit)
	if err != nil {
		return nil, fmt.Errorf("list runs of repository %q: %w", name, err)
	}
	return runs, nil
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs query and reads every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error),
	query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanRun reads the runColumns of one row.
func scanRun(row scanner) (*regdrift.Run, error) {
	var (
		run               regdrift.Run
		scope, created    string
		guard             string
		started, finished sql.NullString
		notBefore         sql.NullString
		s                 = &run.Summary
	)
	err := row.Scan(&run.ID, &run.Mode, &run.Trigger, &scope, &run.Deep, &run.NoDelete,
		&run.Status, &run.Outcome, &run.Error, &created, &started, &finished,
		&run.ReposTotal, &run.ReposDone, &s.Repositories, &s.Tags, &s.InSync,
		&s.OnlyOnPrimary, &s.OnlyOnSecondary, &s.Stale, &s.Broken, &s.Unresolved,
		&s.Actions, &s.FailedActions, &s.SkippedActions, &s.Errors,
		&run.AllowMassDelete, &guard, &s.HeldBack, &run.Interruptions, &run.Coalesced,
		&notBefore)
	if err != nil {
		return nil, err
	}

	run.Scope = []string{}
	if err := json.Unmarshal([]byte(scope), &run.Scope); err != nil {
		return nil, fmt.Errorf("run %d: decode scope: %w", run.ID, err)
	}
	if len(run.Scope) == 0 {
		run.Scope = nil
	}
	if err := json.Unmarshal([]byte(guard), &run.Guard); err != nil {
		return nil, fmt.Errorf("run %d: decode guard: %w", run.ID, err)
	}
	if run.CreatedAt, err = parseTime(created); err != nil {
		return nil, fmt.Errorf("run %d: %w", run.ID, err)
	}
	if run.StartedAt, err = parseTimePtr(started); err != nil {
		return nil, fmt.Errorf("run %d: %w", run.ID, err)
	}
	if run.FinishedAt, err = parseTimePtr(finished); err != nil {
		return nil, fmt.Errorf("run %d: %w", run.ID, err)
	}
	if run.NotBefore, err = parseTimePtr(notBefore); err != nil {
		return nil, fmt.Errorf("run %d: %w", run.ID, err)
	}
	return &run, nil
}

// nonNil makes a nil slice empty, so that it encodes as a JSON array.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
