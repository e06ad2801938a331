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

// The durable run queue: runs wait in the runs table as queued or interrupted until a runner
// claims them. Every step is one statement or one write transaction, so two runners on one
// file never claim one run twice.

// QueueRun inserts run as queued. With join, a queued run with the same trigger, mode, scope
// and options takes the request instead: run is overwritten with that run as stored, its
// coalesced count goes up by one and joined is true. The lookup and the insert share one
// write transaction, so a burst of equal requests queues one run.
func (db *DB) QueueRun(ctx context.Context, run *regdrift.Run, join bool) (bool, error) {
	scope, err := json.Marshal(nonNil(run.Scope))
	if err != nil {
		return false, fmt.Errorf("queue run: encode scope: %w", err)
	}
	var joined bool
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		if join {
			twin, err := scanRun(tx.QueryRowContext(ctx, `UPDATE runs
				SET coalesced = coalesced + 1
				WHERE id = (SELECT id FROM runs
					WHERE status = ? AND "trigger" = ? AND mode = ? AND scope = ?
						AND deep = ? AND no_delete = ? AND allow_mass_delete = ?
					ORDER BY id LIMIT 1)
				RETURNING `+runColumns,
				regdrift.RunQueued, run.Trigger, run.Mode, string(scope), run.Deep,
				run.NoDelete, run.AllowMassDelete))
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

// ClaimRun marks the oldest waiting run of one of triggers as running and returns it:
// interrupted runs first, then queued ones, each oldest first. It returns nil, nil when no
// run waits.
func (db *DB) ClaimRun(ctx context.Context, triggers ...regdrift.Trigger) (*regdrift.Run, error) {
	if len(triggers) == 0 {
		return nil, nil
	}
	args := []any{regdrift.RunRunning, regdrift.RunInterrupted, regdrift.RunQueued}
	for _, t := range triggers {
		args = append(args, t)
	}
	args = append(args, regdrift.RunInterrupted)
	run, err := scanRun(db.write.QueryRowContext(ctx, `UPDATE runs SET status = ?
		WHERE id = (SELECT id FROM runs
			WHERE status IN (?, ?) AND "trigger" IN (`+placeholders(len(triggers))+`)
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
