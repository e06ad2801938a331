package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/db"
)

// base is the first time the test clock gives; it has nanoseconds to show they survive.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)

// clock is a test clock that moves one second forward on every reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// openDB opens a database in a fresh temporary folder with a test clock and closes it when
// the test ends.
func openDB(t testing.TB) (*db.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "regdrift.db")
	d := openPath(t, path)
	return d, path
}

func openPath(t testing.TB, path string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	d.Now = (&clock{t: base}).Now
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// createRun creates a dry run and returns it.
func createRun(t testing.TB, d *db.DB) *regdrift.Run {
	t.Helper()
	run := &regdrift.Run{Mode: regdrift.ModeDryRun, Trigger: regdrift.TriggerCLI}
	if err := d.CreateRun(context.Background(), run); err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	return run
}

// saveResult stores a result and fails the test on error.
func saveResult(t testing.TB, d *db.DB, res *regdrift.RepoResult) {
	t.Helper()
	if err := d.SaveRepoResult(context.Background(), res); err != nil {
		t.Fatalf("SaveRepoResult(%s in run %d): %v", res.Name, res.RunID, err)
	}
}

// checkEqual fails the test when got and want differ in any field.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

// show prints a value with its pointers followed, for failure messages.
func show(v any) string {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return "nil"
		}
		if t, ok := v.(*time.Time); ok {
			return t.Format(time.RFC3339Nano)
		}
		return "&" + show(rv.Elem().Interface())
	case reflect.Slice:
		if rv.IsNil() {
			return "nil"
		}
		s := "["
		for i := range rv.Len() {
			s += show(rv.Index(i).Interface()) + " "
		}
		return s + "]"
	case reflect.Struct:
		if t, ok := v.(time.Time); ok {
			return t.Format(time.RFC3339Nano)
		}
		s := "{"
		for i := range rv.NumField() {
			s += rv.Type().Field(i).Name + ":" + show(rv.Field(i).Interface()) + " "
		}
		return s + "}"
	}
	return fmt.Sprintf("%q", fmt.Sprint(v))
}

func TestOpen_PragmasOnEveryConnection(t *testing.T) {
	d, _ := openDB(t)
	tests := []struct {
		pragma          string
		wantW, wantEach string
	}{
		{"journal_mode", "wal", "wal"},
		{"busy_timeout", "5000", "5000"},
		{"foreign_keys", "1", "1"},
		{"synchronous", "1", "1"}, // NORMAL
		{"query_only", "0", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.pragma, func(t *testing.T) {
			gotW, gotR, err := d.PragmaOnConns(context.Background(), tt.pragma, 4)
			if err != nil {
				t.Fatalf("PragmaOnConns: %v", err)
			}
			checkEqual(t, "writer", gotW, tt.wantW)
			checkEqual(t, "readers", gotR, []string{tt.wantEach, tt.wantEach, tt.wantEach,
				tt.wantEach})
		})
	}
}

func TestOpen_BusyTimeoutOption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regdrift.db")
	d, err := db.Open(context.Background(), path, db.WithBusyTimeout(1500*time.Millisecond),
		db.WithReadConns(2))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer d.Close()
	gotW, gotR, err := d.PragmaOnConns(context.Background(), "busy_timeout", 2)
	if err != nil {
		t.Fatalf("PragmaOnConns: %v", err)
	}
	checkEqual(t, "writer", gotW, "1500")
	checkEqual(t, "readers", gotR, []string{"1500", "1500"})
}

func TestOpen_Rejects(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		opts []db.Option
	}{
		{"empty path", "", nil},
		{"memory", ":memory:", nil},
		{"uri", "file:x.db", nil},
		{"missing folder", filepath.Join(dir, "no", "such", "x.db"), nil},
		{"no readers", filepath.Join(dir, "x.db"), []db.Option{db.WithReadConns(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := db.Open(context.Background(), tt.path, tt.opts...)
			if err == nil {
				d.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tt.path)
			}
		})
	}
}

func TestOpen_ReopenKeepsDataAndMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "regdrift.db")
	first, err := db.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	first.Now = (&clock{t: base}).Now
	run := createRun(t, first)
	saveResult(t, first, &regdrift.RepoResult{RunID: run.ID, Name: "app", Status: "in_sync",
		Tags: []regdrift.TagDrift{{Tag: "v1", State: regdrift.StateInSync}}})
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	d := openPath(t, path)
	got, err := d.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatalf("GetRun after reopen: %v", err)
	}
	checkEqual(t, "run after reopen", got, run)
	repo, tags, err := d.GetRepository(ctx, "app")
	if err != nil {
		t.Fatalf("GetRepository after reopen: %v", err)
	}
	checkEqual(t, "repository name", repo.Name, "app")
	checkEqual(t, "tag rows", len(tags), 1)

	v, err := d.SchemaVersion(ctx)
	if err != nil {
		t.Fatalf("SchemaVersion: %v", err)
	}
	want := migrationFiles(t)
	checkEqual(t, "schema version", v, want)
	checkEqual(t, "migration rows", countRows(t, path, "schema_migrations"), want)
	if err := d.IntegrityCheck(ctx); err != nil {
		t.Errorf("IntegrityCheck: %v", err)
	}
}

func TestOpen_RefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regdrift.db")
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	execRaw(t, path, `INSERT INTO schema_migrations (version, name, applied_at)
		VALUES (99, '0099_future.sql', '2030-01-01T00:00:00.000000000Z')`)

	d, err = db.Open(context.Background(), path)
	if err == nil {
		d.Close()
		t.Fatal("Open of a newer schema succeeded, want an error")
	}
}

// rawDB opens the file without the package, to look at it from outside.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatalf("open raw: %v", err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

func execRaw(t *testing.T, path, query string) {
	t.Helper()
	if _, err := rawDB(t, path).Exec(query); err != nil {
		t.Fatalf("exec raw: %v", err)
	}
}

func countRows(t *testing.T, path, table string) int {
	t.Helper()
	var n int
	if err := rawDB(t, path).QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestDB_NotFound(t *testing.T) {
	ctx := context.Background()
	d, _ := openDB(t)
	createRun(t, d)
	tests := []struct {
		name string
		call func() error
	}{
		{"GetRun", func() error { _, err := d.GetRun(ctx, 99); return err }},
		{"UpdateRun", func() error {
			return d.UpdateRun(ctx, &regdrift.Run{ID: 99, Status: regdrift.RunRunning})
		}},
		{"SaveRepoResult", func() error {
			return d.SaveRepoResult(ctx, &regdrift.RepoResult{RunID: 99, Name: "app"})
		}},
		{"ListRunRepos", func() error { _, err := d.ListRunRepos(ctx, 99); return err }},
		{"ListRunTags", func() error {
			_, _, err := d.ListRunTags(ctx, 99, regdrift.TagFilter{})
			return err
		}},
		{"GetRepository", func() error { _, _, err := d.GetRepository(ctx, "app"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !regdrift.IsNotFound(err) {
				t.Fatalf("err = %v, want not found", err)
			}
			if !errors.Is(err, regdrift.ErrNotFound) {
				t.Errorf("err = %v, does not wrap ErrNotFound", err)
			}
			if err.Error() == regdrift.ErrNotFound.Error() {
				t.Errorf("err = %q, want context around it", err)
			}
		})
	}
}

// migrationFiles counts the migrations in the source tree, the ones the build embeds.
func migrationFiles(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("glob migrations: %v (found %d)", err, len(files))
	}
	return len(files)
}
