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

const (
	// repoColumns are what scanRepo reads, in its order.
	repoColumns = `run_id, name, status, error,
	before_in_sync, before_only_on_primary, before_only_on_secondary, before_stale,
	before_broken, before_unresolved,
	after_in_sync, after_only_on_primary, after_only_on_secondary, after_stale,
	after_broken, after_unresolved,
	actions, failed_actions, skipped_actions, checked_at, held_back, finished`

	// tagColumns are what scanTag reads, in its order.
	tagColumns = `run_id, repository, tag, state, primary_digest, primary_media_type,
	secondary_digest, secondary_media_type, missing, action, result, error, verified_state,
	platforms`

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
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
			checked_at = excluded.checked_at, held_back = excluded.held_back,
			finished = excluded.finished`,
		res.RunID, res.Name, res.Status, res.Error,
		b.InSync, b.OnlyOnPrimary, b.OnlyOnSecondary, b.Stale, b.Broken, b.Unresolved,
		a[0], a[1], a[2], a[3], a[4], a[5],
		res.Actions, res.Failed, res.Skipped, formatTime(res.CheckedAt), res.HeldBack,
		res.Finished)
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
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("prepare tag insert: %w", err)
	}
	defer stmt.Close()

	for i := range res.Tags {
		t := &res.Tags[i]
		missing, err := encodeList(t.Missing)
		if err != nil {
			return fmt.Errorf("tag %q: encode missing: %w", t.Tag, err)
		}
		platforms, err := encodeList(t.Platforms)
		if err != nil {
			return fmt.Errorf("tag %q: encode platforms: %w", t.Tag, err)
		}
		_, err = stmt.ExecContext(ctx, res.RunID, res.Name, t.Tag, t.State,
			t.Primary.Digest, t.Primary.MediaType, t.Secondary.Digest, t.Secondary.MediaType,
			missing, t.Action, t.Result, t.Error, t.Verified, platforms)
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
	if res.Absent {
		// A name that exists nowhere (a typo in a scope, a repository deleted from both
		// sides) has no latest state; a mistyped name must not leave the overview in error.
		_, err := tx.ExecContext(ctx, `DELETE FROM repos_latest
			WHERE name = ? AND (checked_at <= ? OR run_id = ?)`,
			res.Name, formatTime(res.CheckedAt), res.RunID)
		return err
	}
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

// WorstRunRepos returns at most limit repository results of a run, errors first, then drift,
// then the rest, each by name. A limit of zero or less means no limit.
func (db *DB) WorstRunRepos(ctx context.Context, runID int64,
	limit int) ([]*regdrift.RepoResult, error) {
	limit, _ = limitOffset(limit, 0)
	var repos []*regdrift.RepoResult
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		if err := checkRun(ctx, tx, runID); err != nil {
			return err
		}
		var err error
		repos, err = queryAll(ctx, tx, scanRepo, `SELECT `+repoColumns+` FROM run_repos
			WHERE run_id = ?
			ORDER BY CASE status WHEN 'error' THEN 0 WHEN 'drift' THEN 1 ELSE 2 END, name
			LIMIT ?`, runID, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list worst repositories of run %d: %w", runID, err)
	}
	return repos, nil
}

// notableSQL is TagDrift.Notable as a condition on run_tags. The partial index
// run_tags_notable (migration 0002) has the same condition, word for word, so that the
// planner can use it.
const notableSQL = `(state != 'in_sync' OR action NOT IN ('', 'none') OR result != ''
	OR error != '' OR verified_state NOT IN ('', 'in_sync'))`

// ListRunTags returns the tag rows of a run that f selects, ordered by repository and tag and
// paged by f, and the number f selects in all. A limit of zero or less means no limit. An
// unknown state or result is an EINVALID error.
func (db *DB) ListRunTags(
	ctx context.Context, runID int64, f regdrift.TagFilter,
) ([]*regdrift.TagRow, int, error) {
	if f.State != "" && !f.State.Valid() {
		return nil, 0, regdrift.Errorf(regdrift.EINVALID, "unknown tag state %q", f.State)
	}
	if !f.Result.Valid() {
		return nil, 0, regdrift.Errorf(regdrift.EINVALID, "unknown result %q", f.Result)
	}
	where, args := tagWhere(runID, f)
	limit, offset := limitOffset(f.Limit, f.Offset)

	var (
		tags  []*regdrift.TagRow
		total int
	)
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		if err := checkRun(ctx, tx, runID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM run_tags WHERE `+where,
			args...).Scan(&total)
		if err != nil {
			return fmt.Errorf("count: %w", err)
		}
		tags, err = queryAll(ctx, tx, scanTag, `SELECT `+tagColumns+` FROM run_tags
			WHERE `+where+` ORDER BY repository, tag LIMIT ? OFFSET ?`,
			append(args, limit, offset)...)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list tags of run %d: %w", runID, err)
	}
	return tags, total, nil
}

// tagWhere builds the condition that selects the tag rows of a run that f selects.
func tagWhere(runID int64, f regdrift.TagFilter) (string, []any) {
	where, args := `run_id = ?`, []any{runID}
	if f.Repository != "" {
		where, args = where+` AND repository = ?`, append(args, f.Repository)
	}
	if f.State != "" {
		where, args = where+` AND state = ?`, append(args, f.State)
	}
	if f.Result != regdrift.ResultNone {
		where, args = where+` AND result = ?`, append(args, f.Result)
	}
	if f.Notable {
		where += ` AND ` + notableSQL
	}
	return where, args
}

// ListRepositories returns the latest results of the repositories f selects, worst first:
// errors, then drift, then in sync; within a status by drifting tags, most first; then by
// name. It also returns how many f selects in all. A limit of zero or less means no limit.
func (db *DB) ListRepositories(ctx context.Context,
	f regdrift.RepoFilter) ([]*regdrift.RepoSummary, int, error) {
	where, args, err := repoWhere(f)
	if err != nil {
		return nil, 0, err
	}
	limit, offset := limitOffset(f.Limit, f.Offset)
	var (
		repos []*regdrift.RepoSummary
		total int
	)
	err = db.readTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM repos_latest WHERE `+where,
			args...).Scan(&total)
		if err != nil {
			return fmt.Errorf("count: %w", err)
		}
		repos, err = queryAll(ctx, tx, scanLatest, `SELECT `+latestColumns+`
			FROM repos_latest WHERE `+where+`
			ORDER BY status_rank, drift DESC, name LIMIT ? OFFSET ?`,
			append(args, limit, offset)...)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list repositories: %w", err)
	}
	return repos, total, nil
}

// repoWhere builds the condition that selects the repositories f selects. An unknown status
// is an EINVALID error.
func repoWhere(f regdrift.RepoFilter) (string, []any, error) {
	where, args := `1`, []any{}
	switch f.Status {
	case "":
	case regdrift.RepoError, regdrift.RepoInSync:
		where, args = where+` AND status = ?`, append(args, f.Status)
	case regdrift.RepoDrift:
		// A repository in error may drift as well; its drifting tags still count.
		where, args = where+` AND (status = ? OR drift > 0)`, append(args, f.Status)
	default:
		return "", nil, regdrift.Errorf(regdrift.EINVALID, "unknown repository status %q",
			f.Status)
	}
	if len(f.Names) > 0 {
		names, err := json.Marshal(f.Names)
		if err != nil {
			return "", nil, fmt.Errorf("encode names: %w", err)
		}
		// One JSON parameter, however many names: SQLite bounds the parameters of a query.
		where += ` AND name IN (SELECT value FROM json_each(?))`
		args = append(args, string(names))
	}
	if f.Query != "" {
		pattern := "%" + escapeLike(f.Query) + "%"
		where, args = where+` AND name LIKE ? ESCAPE '\'`, append(args, pattern)
	}
	return where, args, nil
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// RepoTotals adds up the latest results of every repository in one pass.
func (db *DB) RepoTotals(ctx context.Context) (regdrift.RepoTotals, error) {
	var (
		t       regdrift.RepoTotals
		c       = &t.Tags
		checked sql.NullString
	)
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*),
			COALESCE(SUM(status = 'in_sync'), 0), COALESCE(SUM(status = 'drift'), 0),
			COALESCE(SUM(status = 'error'), 0),
			COALESCE(SUM(in_sync), 0), COALESCE(SUM(only_on_primary), 0),
			COALESCE(SUM(only_on_secondary), 0), COALESCE(SUM(stale), 0),
			COALESCE(SUM(broken), 0), COALESCE(SUM(unresolved), 0), MAX(checked_at)
		FROM repos_latest`).Scan(&t.Repositories, &t.InSync, &t.Drift, &t.Errors,
		&c.InSync, &c.OnlyOnPrimary, &c.OnlyOnSecondary, &c.Stale, &c.Broken, &c.Unresolved,
		&checked)
	if err != nil {
		return t, fmt.Errorf("add up repositories: %w", err)
	}
	if checked.Valid {
		if t.LastCheckedAt, err = parseTime(checked.String); err != nil {
			return t, fmt.Errorf("add up repositories: %w", err)
		}
	}
	return t, nil
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
		&r.Actions, &r.Failed, &r.Skipped, &checked, &r.HeldBack, &r.Finished)
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
		t                  regdrift.TagRow
		missing, platforms sql.NullString
	)
	err := row.Scan(&t.RunID, &t.Repository, &t.Tag, &t.State,
		&t.Primary.Digest, &t.Primary.MediaType, &t.Secondary.Digest, &t.Secondary.MediaType,
		&missing, &t.Action, &t.Result, &t.Error, &t.Verified, &platforms)
	if err != nil {
		return nil, err
	}
	if t.Missing, err = decodeList(missing); err != nil {
		return nil, fmt.Errorf("tag %q of %q: decode missing: %w", t.Tag, t.Repository, err)
	}
	if t.Platforms, err = decodeList(platforms); err != nil {
		return nil, fmt.Errorf("tag %q of %q: decode platforms: %w", t.Tag, t.Repository, err)
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

// encodeList gives NULL for a nil list, so that nil and empty read back as they were.
func encodeList(list []string) (any, error) {
	if list == nil {
		return nil, nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// decodeList reads what encodeList stored.
func decodeList(v sql.NullString) ([]string, error) {
	if !v.Valid {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal([]byte(v.String), &list); err != nil {
		return nil, err
	}
	return list, nil
}

// ForgetRepositories drops the latest result of every repository not in keep checked before
// before. keep goes in as one JSON array, so its size is not bound by SQLite's limit on
// parameters.
func (db *DB) ForgetRepositories(ctx context.Context, keep []string,
	before time.Time) (int64, error) {
	names, err := json.Marshal(keep)
	if err != nil {
		return 0, fmt.Errorf("forget repositories: %w", err)
	}
	var n int64
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM repos_latest WHERE checked_at < ?
			AND name NOT IN (SELECT value FROM json_each(?))`, formatTime(before), string(names))
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("forget repositories: %w", err)
	}
	return n, nil
}

// KnownBroken returns the tag rows of name's latest result that are still broken. The latest
// counts say whether there are any, so a repository without one costs a single index lookup.
func (db *DB) KnownBroken(ctx context.Context, name string) ([]*regdrift.TagRow, error) {
	var tags []*regdrift.TagRow
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		tags, err = queryAll(ctx, tx, scanTag, `SELECT `+tagColumns+` FROM run_tags
			WHERE run_id = (SELECT run_id FROM repos_latest WHERE name = ? AND broken > 0)
				AND repository = ?
				AND (verified_state = ? OR (verified_state = '' AND state = ?))
			ORDER BY tag`, name, name, regdrift.StateBroken, regdrift.StateBroken)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("known broken tags of %q: %w", name, err)
	}
	return tags, nil
}
