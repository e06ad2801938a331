package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/regdrift/regdrift"
)

// The durable run queue: runs wait in the runs table as queued or interrupted until a runner
// claims them. Every step is one statement or one write transaction, so two runners on one
// file never claim one run twice.

// QueueRun inserts run as queued. With join, a queued run with the same trigger, mode, scope
// and options takes the request instead: run is overwritten with that run as stored, its
// coalesced count goes up by one and joined is true; a request with a NotBefore moves the
// twin's on to it, but never past regdrift.MaxSettle after the twin was created, so that
// requests that keep coming cannot hold it back for ever. The lookup and the insert share one
// write transaction, so a burst of equal requests queues one run.
func (db *DB) QueueRun(ctx context.Context, run *regdrift.Run, join bool) (bool, error) {
	scope, err := json.Marshal(nonNil(run.Scope))
	if err != nil {
		return false, fmt.Errorf("queue run: encode scope: %w", err)
	}
	var joined bool
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		if join {
			twin, err := joinTwin(ctx, tx, run, string(scope))
			switch {
			case err == nil:
				*run, joined = *twin, true
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("join queued run: %w", err)
			}
		}
		return db.insertRun(ctx, tx, run)
	})
	if err != nil {
		return false, fmt.Errorf("queue run: %w", err)
	}
	return joined, nil
}

// joinTwin adds the request run to the oldest queued run like it, and returns that run; it
// returns sql.ErrNoRows when there is none.
func joinTwin(ctx context.Context, tx *sql.Tx, run *regdrift.Run,
	scope string) (*regdrift.Run, error) {
	var (
		id      int64
		created string
		hold    sql.NullString
	)
	err := tx.QueryRowContext(ctx, `SELECT id, created_at, not_before FROM runs
		WHERE status = ? AND "trigger" = ? AND mode = ? AND scope = ?
			AND deep = ? AND no_delete = ? AND allow_mass_delete = ?
		ORDER BY id LIMIT 1`,
		regdrift.RunQueued, run.Trigger, run.Mode, scope, run.Deep, run.NoDelete,
		run.AllowMassDelete).Scan(&id, &created, &hold)
	if err != nil {
		return nil, err
	}
	if run.NotBefore != nil {
		createdAt, err := parseTime(created)
		if err != nil {
			return nil, err
		}
		until := *run.NotBefore
		if latest := createdAt.Add(regdrift.MaxSettle); until.After(latest) {
			until = latest
		}
		// Fixed-width UTC text compares as the times do.
		if t := formatTime(until); !hold.Valid || t > hold.String {
			hold = sql.NullString{String: t, Valid: true}
		}
	}
	return scanRun(tx.QueryRowContext(ctx, `UPDATE runs
		SET coalesced = coalesced + 1, not_before = ? WHERE id = ?
		RETURNING `+runColumns, hold, id))
}

// ClaimRun marks the oldest waiting run of one of triggers as running and returns it:
// interrupted runs first, then queued ones whose not_before has come, each oldest first. It
// returns nil, nil when no run is due.
func (db *DB) ClaimRun(ctx context.Context, triggers ...regdrift.Trigger) (*regdrift.Run, error) {
	if len(triggers) == 0 {
		return nil, nil
	}
	args := []any{regdrift.RunRunning, regdrift.RunInterrupted, regdrift.RunQueued}
	for _, t := range triggers {
		args = append(args, t)
	}
	args = append(args, formatTime(db.now()), regdrift.RunInterrupted)
	run, err := scanRun(db.write.QueryRowContext(ctx, `UPDATE runs SET status = ?
		WHERE id = (SELECT id FROM runs
			WHERE status IN (?, ?) AND "trigger" IN (`+placeholders(len(triggers))+`)
				AND (not_before IS NULL OR not_before <= ?)
			ORDER BY status = ? DESC, id LIMIT 1)
		RETURNING `+runColumns, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim queued run: %w", err)
	}
	return run, nil
}

// NextDue returns the earliest not_before of the queued runs of triggers still held back.
func (db *DB) NextDue(ctx context.Context, triggers ...regdrift.Trigger) (time.Time, bool,
	error) {
	if len(triggers) == 0 {
		return time.Time{}, false, nil
	}
	args := []any{regdrift.RunQueued}
	for _, t := range triggers {
		args = append(args, t)
	}
	args = append(args, formatTime(db.now()))
	var next sql.NullString
	err := db.read.QueryRowContext(ctx, `SELECT MIN(not_before) FROM runs
		WHERE status = ? AND "trigger" IN (`+placeholders(len(triggers))+`)
			AND not_before > ?`, args...).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due run: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	t, err := parseTime(next.String)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due run: %w", err)
	}
	return t, true, nil
}

// InterruptRuns marks every running run of one of triggers as interrupted, with reason as its
// error, and counts the interruption. A server calls it at start: the process that ran them
// is gone, and the queue resumes them.
func (db *DB) InterruptRuns(ctx context.Context, reason string,
	triggers ...regdrift.Trigger) (int64, error) {
	if len(triggers) == 0 {
		return 0, nil
	}
	args := []any{regdrift.RunInterrupted, reason, regdrift.RunRunning}
	for _, t := range triggers {
		args = append(args, t)
	}
	res, err := db.write.ExecContext(ctx, `UPDATE runs
		SET status = ?, error = ?, interruptions = interruptions + 1
		WHERE status = ? AND "trigger" IN (`+placeholders(len(triggers))+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("interrupt running runs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("interrupt running runs: %w", err)
	}
	return n, nil
}

// CancelQueuedRun cancels a queued or interrupted run, with reason as its error; what an
// interrupted run had done stays recorded. A run in any other state is an ECONFLICT error.
func (db *DB) CancelQueuedRun(ctx context.Context, id int64, reason string) error {
	res, err := db.write.ExecContext(ctx, `UPDATE runs
		SET status = ?, outcome = ?, error = ?, finished_at = ?
		WHERE id = ? AND status IN (?, ?)`,
		regdrift.RunCanceled, regdrift.OutcomeError, reason, formatTime(db.now()), id,
		regdrift.RunQueued, regdrift.RunInterrupted)
	if err != nil {
		return fmt.Errorf("cancel run %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("cancel run %d: %w", id, err)
	}
	if n == 1 {
		return nil
	}
	run, err := db.GetRun(ctx, id)
	if err != nil {
		return err
	}
	return regdrift.Errorf(regdrift.ECONFLICT, "run %d is not waiting (status %s)", id,
		run.Status)
}

// SaveTagResult writes the result and error of the tag row t of repository in run runID. The
// row must have been stored with its repository's plan.
func (db *DB) SaveTagResult(ctx context.Context, runID int64, repository string,
	t *regdrift.TagDrift) error {
	res, err := db.write.ExecContext(ctx, `UPDATE run_tags SET result = ?, error = ?
		WHERE run_id = ? AND repository = ? AND tag = ?`,
		t.Result, t.Error, runID, repository, t.Tag)
	if err != nil {
		return fmt.Errorf("save result of tag %q in %q, run %d: %w", t.Tag, repository, runID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("save result of tag %q in %q, run %d: %w", t.Tag, repository, runID, err)
	}
	if n == 0 {
		return fmt.Errorf("save result of tag %q in %q, run %d: %w", t.Tag, repository, runID,
			regdrift.ErrNotFound)
	}
	return nil
}

// placeholders returns n question marks separated by commas.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
