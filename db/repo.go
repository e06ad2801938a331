package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/regdrift/regdrift"
)

const (
	// repoColumns are what scanRepo reads, in its order.
	repoColumns = `run_id, name, status, error,
	before_in_sync, before_only_on_primary, before_only_on_secondary, before_stale,
	before_broken, before_unresolved,
	after_in_sync, after_only_on_primary, after_only_on_secondary, after_stale,
	after_broken, after_unresolved,
	actions, failed_actions, skipped_actions, checked_at, held_back`

	// tagColumns are what scanTag reads, in its order.
	tagColumns = `run_id, repository, tag, state, primary_digest, primary_media_type,
	secondary_digest, secondary_media_type, missing, action, result, error, verified_state`

	// latestColumns are what scanLatest reads, in its order.
	latestColumns = `name, status, error, in_sync, only_on_primary, only_on_secondary, stale,
	broken, unresolved, run_id, checked_at`
)

// SaveRepoResult stores res and its tag rows in one transaction, replacing the result and tag
// rows an earlier call stored for the same run and repository, and makes it the latest result
// of the repository unless a later run has stored one already. A zero CheckedAt is set to the
// clock's time. The run must exist and the result must have a name.
func (db *DB) SaveRepoResult(ctx context.Context, res *regdrift.RepoResult) error {
	if res.Name == "" {
		return regdrift.Errorf(regdrift.EINVALID, "repository result of run %d has no name",
			res.RunID)
	}
	if res.CheckedAt.IsZero() {
		res.CheckedAt = db.now()
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if err := checkRun(ctx, tx, res.RunID); err != nil {
			return err
		}
		if err := saveRunRepo(ctx, tx, res); err != nil {
			return fmt.Errorf("save repository row: %w", err)
		}
		if err := saveTags(ctx, tx, res); err != nil {
			return err
		}
		if err := saveLatest(ctx, tx, res); err != nil {
			return fmt.Errorf("save latest result: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save result of repository %q in run %d: %w", res.Name, res.RunID, err)
	}
	return nil
}

// checkRun returns ErrNotFound when no run has id.
func checkRun(ctx context.Context, tx *sql.Tx, id int64) error {
	var ok bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?)`, id).Scan(&ok)
	if err != nil {
		return fmt.Errorf("look up run: %w", err)
	}
	if !ok {
		return regdrift.ErrNotFound
	}
	return nil
}

func saveRunRepo(ctx context.Context, tx *sql.Tx, res *regdrift.RepoResult) error {
	b := res.Before
	var a [6]any // NULL without a verification
	if c := res.After; c != nil {
		a = [6]any{c.InSync, c.OnlyOnPrimary, c.OnlyOnSecondary, c.Stale, c.Broken, c.Unresolved}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO run_repos (`+repoColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, name) DO UPDATE SET
			status = excluded.status, error = excluded.error,
			before_in_sync = excluded.before_in_sync,
			before_only_on_primary = excluded.before_only_on_primary,
			before_only_on_secondary = excluded.before_only_on_secondary,
			before_stale = excluded.before_stale,
			before_broken = excluded.before_broken,
			before_unresolved = excluded.before_unresolved,
			after_in_sync = excluded.after_in_sync,
			after_only_on_primary = excluded.after_only_on_primary,
			after_only_on_secondary = excluded.after_only_on_secondary,
			after_stale = excluded.after_stale,
			after_broken = excluded.after_broken,
			after_unresolved = excluded.after_unresolved,
			actions = excluded.actions, failed_actions = excluded.failed_actions,
			skipped_actions = excluded.skipped_actions,
			checked_at = excluded.checked_at, held_back = excluded.held_back`,
		res.RunID, res.Name, res.Status, res.Error,
		b.InSync, b.OnlyOnPrimary, b.OnlyOnSecondary, b.Stale, b.Broken, b.Unresolved,
		a[0], a[1], a[2], a[3], a[4], a[5],
		res.Actions, res.Failed, res.Skipped, formatTime(res.CheckedAt), res.HeldBack)
	return err
}

// saveTags replaces the tag rows of res, inserting the new ones through one prepared
// statement.
func saveTags(ctx context.Context, tx *sql.Tx, res *regdrift.RepoResult) error {
	_, err := tx.ExecContext(ctx,
		`DELETE FROM run_tags WHERE run_id = ? AND repository = ?`, res.RunID, res.Name)
	if err != nil {
		return fmt.Errorf("delete earlier tag rows: %w", err)
	}
	if len(res.Tags) == 0 {
		return nil
	}

	stmt, err := tx.PrepareContext(ctx, `INSERT INTO run_tags (`+tagColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("prepare tag insert: %w", err)
	}
	defer stmt.Close()

	for i := range res.Tags {
		t := &res.Tags[i]
		missing, err := encodeMissing(t.Missing)
		if err != nil {
			return fmt.Errorf("tag %q: %w", t.Tag, err)
		}
		_, err = stmt.ExecContext(ctx, res.RunID, res.Name, t.Tag, t.State,
			t.Primary.Digest, t.Primary.MediaType, t.Secondary.Digest, t.Secondary.MediaType,
			missing, t.Action, t.Result, t.Error, t.Verified)
		if err != nil {
			return fmt.Errorf("insert tag %q: %w", t.Tag, err)
		}
	}
	return nil
}

// saveLatest makes res the latest result of its repository unless a later check is stored.
// Runs on one repository take turns, so the check made last saw the registries last, whatever
// the run's number.
// NOTE: the counts kept are the verified ones when the run verified, since they describe the
// secondary as the run left it; the tag rows of the run still show what it found.
func saveLatest(ctx context.Context, tx *sql.Tx, res *regdrift.RepoResult) error {
	c := res.Before
	if res.After != nil {
		c = *res.After
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO repos_latest (`+latestColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			status = excluded.status, error = excluded.error, in_sync = excluded.in_sync,
			only_on_primary = excluded.only_on_primary,
			only_on_secondary = excluded.only_on_secondary,
			stale = excluded.stale, broken = excluded.broken,
			unresolved = excluded.unresolved, run_id = excluded.run_id,
			checked_at = excluded.checked_at
		WHERE excluded.run_id = repos_latest.run_id
			OR excluded.checked_at > repos_latest.checked_at
			OR (excluded.checked_at = repos_latest.checked_at
				AND excluded.run_id > repos_latest.run_id)`,
		res.Name, res.Status, res.Error, c.InSync, c.OnlyOnPrimary, c.OnlyOnSecondary,
		c.Stale, c.Broken, c.Unresolved, res.RunID, formatTime(res.CheckedAt))
	return err
}

// ListRunRepos returns the repository results of a run by name, without their tags.
func (db *DB) ListRunRepos(ctx context.Context, runID int64) ([]*regdrift.RepoResult, error) {
	repos := []*regdrift.RepoResult{}
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		if err := checkRun(ctx, tx, runID); err != nil {
			return err
		}
		var err error
		repos, err = queryAll(ctx, tx, scanRepo,
			`SELECT `+repoColumns+` FROM run_repos WHERE run_id = ? ORDER BY name`, runID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list repositories of run %d: %w", runID, err)
	}
	return repos, nil
}

// ListRunTags returns the tag rows of a run, ordered by repository and tag, those of one
// repository or in one state when f says so, paged by f. A limit of zero or less means no
// limit. An unknown state is an EINVALID error.
func (db *DB) ListRunTags(
	ctx context.Context, runID int64, f regdrift.TagFilter,
) ([]*regdrift.TagRow, error) {
	if f.State != "" && !f.State.Valid() {
		return nil, regdrift.Errorf(regdrift.EINVALID, "unknown tag state %q", f.State)
	}
	query, args := `SELECT `+tagColumns+` FROM run_tags WHERE run_id = ?`, []any{runID}
	if f.Repository != "" {
		query, args = query+` AND repository = ?`, append(args, f.Repository)
	}
	if f.State != "" {
		query, args = query+` AND state = ?`, append(args, f.State)
	}
	limit, offset := limitOffset(f.Limit, f.Offset)
	query, args = query+` ORDER BY repository, tag LIMIT ? OFFSET ?`, append(args, limit, offset)

	var tags []*regdrift.TagRow
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		if err := checkRun(ctx, tx, runID); err != nil {
			return err
		}
		var err error
		tags, err = queryAll(ctx, tx, scanTag, query, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list tags of run %d: %w", runID, err)
	}
	return tags, nil
}

// ListRepositories returns the latest result of every repository, worst first: errors, then
// drift, then in sync; within a status by drifting tags, most first; then by name.
func (db *DB) ListRepositories(ctx context.Context) ([]*regdrift.RepoSummary, error) {
	repos, err := queryAll(ctx, db.read, scanLatest, `SELECT `+latestColumns+`
		FROM repos_latest ORDER BY status_rank, drift DESC, name`)
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	return repos, nil
}

// GetRepository returns the latest result of the repository name and the tag rows of the run
// that stored it, ordered by tag, both read from one snapshot.
func (db *DB) GetRepository(
	ctx context.Context, name string,
) (*regdrift.RepoSummary, []*regdrift.TagRow, error) {
	var (
		repo *regdrift.RepoSummary
		tags []*regdrift.TagRow
	)
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		repo, err = scanLatest(tx.QueryRowContext(ctx,
			`SELECT `+latestColumns+` FROM repos_latest WHERE name = ?`, name))
		if errors.Is(err, sql.ErrNoRows) {
			return regdrift.ErrNotFound
		}
		if err != nil {
			return err
		}
		tags, err = queryAll(ctx, tx, scanTag, `SELECT `+tagColumns+` FROM run_tags
			WHERE run_id = ? AND repository = ? ORDER BY tag`, repo.RunID, name)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("get repository %q: %w", name, err)
	}
	return repo, tags, nil
}

// scanRepo reads the repoColumns of one row.
func scanRepo(row scanner) (*regdrift.RepoResult, error) {
	var (
		r       regdrift.RepoResult
		b       = &r.Before
		after   [6]sql.Null[int]
		checked string
	)
	err := row.Scan(&r.RunID, &r.Name, &r.Status, &r.Error,
		&b.InSync, &b.OnlyOnPrimary, &b.OnlyOnSecondary, &b.Stale, &b.Broken, &b.Unresolved,
		&after[0], &after[1], &after[2], &after[3], &after[4], &after[5],
		&r.Actions, &r.Failed, &r.Skipped, &checked, &r.HeldBack)
	if err != nil {
		return nil, err
	}
	if after[0].Valid { // the schema sets all six or none
		r.After = &regdrift.Counts{
			InSync: after[0].V, OnlyOnPrimary: after[1].V, OnlyOnSecondary: after[2].V,
			Stale: after[3].V, Broken: after[4].V, Unresolved: after[5].V,
		}
	}
	if r.CheckedAt, err = parseTime(checked); err != nil {
		return nil, fmt.Errorf("repository %q: %w", r.Name, err)
	}
	return &r, nil
}

// scanTag reads the tagColumns of one row.
func scanTag(row scanner) (*regdrift.TagRow, error) {
	var (
		t       regdrift.TagRow
		missing sql.NullString
	)
	err := row.Scan(&t.RunID, &t.Repository, &t.Tag, &t.State,
		&t.Primary.Digest, &t.Primary.MediaType, &t.Secondary.Digest, &t.Secondary.MediaType,
		&missing, &t.Action, &t.Result, &t.Error, &t.Verified)
	if err != nil {
		return nil, err
	}
	if missing.Valid {
		if err := json.Unmarshal([]byte(missing.String), &t.Missing); err != nil {
			return nil, fmt.Errorf("tag %q of %q: decode missing: %w", t.Tag, t.Repository, err)
		}
	}
	return &t, nil
}

// scanLatest reads the latestColumns of one row.
func scanLatest(row scanner) (*regdrift.RepoSummary, error) {
	var (
		r       regdrift.RepoSummary
		c       = &r.Counts
		checked string
	)
	err := row.Scan(&r.Name, &r.Status, &r.Error, &c.InSync, &c.OnlyOnPrimary,
		&c.OnlyOnSecondary, &c.Stale, &c.Broken, &c.Unresolved, &r.RunID, &checked)
	if err != nil {
		return nil, err
	}
	if r.CheckedAt, err = parseTime(checked); err != nil {
		return nil, fmt.Errorf("repository %q: %w", r.Name, err)
	}
	return &r, nil
}

// encodeMissing gives NULL for a nil list, so that nil and empty read back as they were.
func encodeMissing(missing []string) (any, error) {
	if missing == nil {
		return nil, nil
	}
	b, err := json.Marshal(missing)
	if err != nil {
		return nil, fmt.Errorf("encode missing: %w", err)
	}
	return string(b), nil
}
