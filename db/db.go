// Package db stores regdrift runs, their repository results and their per-tag rows in SQLite.
//
// A DB holds two pools on one file. Writes go through a single connection whose transactions
// begin IMMEDIATE, so writers queue in Go instead of failing with SQLITE_BUSY; reads go
// through a pool of query-only connections, which WAL lets read while the writer writes.
// Every connection gets its pragmas from the DSN. The schema is built by numbered migrations
// embedded in the binary. All times are stored and returned in UTC.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/regdrift/regdrift"

	// The cgo SQLite driver registers itself as "sqlite3".
	_ "github.com/mattn/go-sqlite3"
)

// timeFormat is the one form every time takes in the database: UTC, fixed width, so that
// text order is time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is a regdrift.Store on a SQLite file.
type DB struct {
	write *sql.DB // one connection, BEGIN IMMEDIATE
	read  *sql.DB // query-only connections

	// Now is the clock that stamps records. It returns UTC; replace it before use, in tests.
	Now func() time.Time
}

var _ regdrift.Store = (*DB)(nil)

// Option changes how Open opens a database.
type Option func(*config)

type config struct {
	busyTimeout time.Duration
	readConns   int
}

// WithBusyTimeout sets how long a connection waits for a lock another process holds before
// it fails. The default is 5 seconds.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) { c.busyTimeout = d }
}

// WithReadConns sets the most connections that read at once. The default is the number of
// CPUs, at least 4.
func WithReadConns(n int) Option {
	return func(c *config) { c.readConns = n }
}

// Open opens or creates the database file at path and brings its schema up to date. The
// directory must exist. Close the DB when done.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// NOTE: the two pools would see two different in-memory databases.
		return nil, fmt.Errorf("open database: %q is not a file path", path)
	}
	cfg := config{busyTimeout: 5 * time.Second, readConns: max(4, runtime.NumCPU())}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.busyTimeout < 0 || cfg.readConns < 1 {
		return nil, fmt.Errorf("open database: busy timeout %v or read connections %d out of range",
			cfg.busyTimeout, cfg.readConns)
	}

	db := &DB{Now: func() time.Time { return time.Now().UTC() }}
	var err error
	if db.write, err = sql.Open("sqlite3", dsn(path, cfg, false)); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.write.SetMaxOpenConns(1)
	if err := db.migrate(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open database %s: %w", path, err), db.write.Close())
	}

	// Readers open after the migrations, so none of them sees an older schema.
	if db.read, err = sql.Open("sqlite3", dsn(path, cfg, true)); err != nil {
		return nil, errors.Join(fmt.Errorf("open database %s: %w", path, err), db.write.Close())
	}
	db.read.SetMaxOpenConns(cfg.readConns)
	db.read.SetMaxIdleConns(cfg.readConns)
	if err := db.read.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open database %s: %w", path, err), db.Close())
	}
	return db, nil
}

// dsn builds the data source name of one pool. The pragmas are in it so that the driver
// applies them to every connection it opens, not only to the first.
func dsn(path string, cfg config, readOnly bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	if readOnly {
		q.Set("_query_only", "on")
	} else {
		// A deferred transaction that reads and then writes fails at once when another
		// writer committed in between; an immediate one takes the write lock first.
		q.Set("_txlock", "immediate")
	}
	esc := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")
	return "file:" + esc.Replace(path) + "?" + q.Encode()
}

// Close closes both pools.
func (db *DB) Close() error {
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// SchemaVersion returns the version of the newest migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.read.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// IntegrityCheck runs SQLite's integrity check over the whole file; it reads every page, so
// it takes time on a large database.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	rows, err := db.read.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()

	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check: %s", strings.Join(problems, "; "))
	}
	return nil
}

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations in order. Their names start with a version
// number, and the versions run from 1 without gaps.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	migs := make([]migration, 0, len(entries))
	for i, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d first in its name", e.Name(), i+1)
		}
		body, err := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		migs = append(migs, migration{version: v, name: e.Name(), sql: string(body)})
	}
	return migs, nil
}

// migrate applies, in order, each migration the database has not recorded yet.
func (db *DB) migrate(ctx context.Context) error {
	migs, err := loadMigrations()
	if err != nil {
		return err
	}
	_, err = db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	) STRICT`)
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}

	for _, m := range migs {
		if err := db.writeTx(ctx, func(tx *sql.Tx) error { return db.apply(ctx, tx, m) }); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}

	// A newer build may have migrated the file further than this one knows.
	var newest int
	err = db.write.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&newest)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if newest > len(migs) {
		return fmt.Errorf("schema version %d is newer than this build's %d", newest, len(migs))
	}
	return nil
}

// apply runs m and records it, unless it is recorded already. The check is inside the write
// transaction, so two processes opening one file at once apply m once.
func (db *DB) apply(ctx context.Context, tx *sql.Tx, m migration) error {
	var done bool
	err := tx.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, m.version).Scan(&done)
	if err != nil || done {
		return err
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, formatTime(db.now()))
	return err
}

// writeTx runs fn in a transaction on the writer and commits it if fn succeeds.
func (db *DB) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return inTx(ctx, db.write, fn)
}

// readTx runs fn in a transaction on a reader, so that its queries see one snapshot.
func (db *DB) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return inTx(ctx, db.read, fn)
}

func inTx(ctx context.Context, pool *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		// A canceled context has rolled the transaction back already.
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// now reads the clock in UTC.
func (db *DB) now() time.Time { return db.Now().UTC() }

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// formatTimePtr gives NULL for a nil time.
func formatTimePtr(t *time.Time) sql.NullString {
	if t == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(*t), Valid: true}
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	return t, nil
}

func parseTimePtr(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// limitOffset turns a limit of zero or less into no limit and a negative offset into none.
func limitOffset(limit, offset int) (int, int) {
	if limit <= 0 {
		limit = -1
	}
	return limit, max(offset, 0)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}
