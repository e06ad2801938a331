package cli_test

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/regdrift/regdrift"
)

// snapshot reads every row of every table of the database file at path, as text.
func snapshot(t *testing.T, path string) map[string][]string {
	t.Helper()
	conn, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tables := []string{"runs", "run_repos", "run_tags", "repos_latest", "schema_migrations"}
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := conn.Query(`SELECT * FROM ` + table + ` ORDER BY 1, 2`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], fmt.Sprint(vals...))
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestServe_BadInputTouchesNothing sends a served regdrift every kind of bad request the API
// and the dashboard take, each of which must get a clear 4xx, and checks that the database
// reads exactly as before, row for row.
func TestServe_BadInputTouchesNothing(t *testing.T) {
	s := newSetup(t)
	base := startServe(t, s)
	var started regdrift.Run
	hdr := apiJSON(t, http.MethodPost, base+"/api/v1/runs", `{"mode":"dry_run"}`,
		http.StatusAccepted, &started)
	done := waitRun(t, base, hdr.Get("Location"))
	before := snapshot(t, s.db)
	if len(before["run_tags"]) == 0 {
		t.Fatal("the seeding run recorded no tags")
	}

	huge := `{"repositories":["` + strings.Repeat("a/", 1<<19) + `b"]}`
	form := func(v url.Values) string { return v.Encode() }
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		code, msg                       string
	}{
		{"body over the limit", "POST", "/api/v1/runs", "application/json", huge, 413,
			"too_large", "larger than"},
		{"invalid JSON", "POST", "/api/v1/runs", "application/json", `{"mode":"execute"`, 400,
			"invalid", "invalid JSON"},
		{"unknown field", "POST", "/api/v1/runs", "application/json",
			`{"mode":"execute","allow_mass_deletes":true}`, 400, "invalid", "unknown field"},
		{"malformed name", "POST", "/api/v1/runs", "application/json",
			`{"mode":"execute","repositories":["../etc"]}`, 400, "invalid",
			"invalid repository name"},
		{"a host in the name", "POST", "/api/v1/runs", "application/json",
			`{"mode":"execute","repositories":["127.0.0.1:1/x"]}`, 400, "invalid",
			"invalid repository name"},
		{"a NUL in the name", "POST", "/api/v1/runs", "application/json",
			`{"repositories":["a\u0000b"]}`, 400, "invalid", "invalid repository name"},
		{"unknown run", "GET", "/api/v1/runs/987654", "", "", 404, "not_found", "not found"},
		{"unknown run's tags", "GET", "/api/v1/runs/987654/tags", "", "", 404, "not_found",
			"not found"},
		{"cancel an unknown run", "POST", "/api/v1/runs/987654/cancel", "", "", 404,
			"not_found", "not found"},
		{"cancel a finished run", "POST", fmt.Sprintf("/api/v1/runs/%d/cancel", done.ID), "",
			"", 409, "conflict", "not running"},
		{"run id not a number", "GET", "/api/v1/runs/1e3", "", "", 400, "invalid",
			"not a positive integer"},
		{"run id overflows", "GET", "/api/v1/runs/99999999999999999999", "", "", 400,
			"invalid", "not a positive integer"},
		{"bad repository path", "GET", "/api/v1/repositories/UPPER/case", "", "", 400,
			"invalid", "invalid repository name"},
		{"bad tag filter", "GET", fmt.Sprintf("/api/v1/runs/%d/tags?state=gone", done.ID), "",
			"", 400, "invalid", "not a tag state"},
		{"dashboard: bad mode", "POST", "/ui/runs", "application/x-www-form-urlencoded",
			form(url.Values{"mode": {"wipe"}}), 400, "", ""},
		{"dashboard: malformed name", "POST", "/ui/runs", "application/x-www-form-urlencoded",
			form(url.Values{"mode": {"dry_run"}, "repository": {"a//b"}}), 400, "", ""},
		{"dashboard: body over the limit", "POST", "/ui/runs",
			"application/x-www-form-urlencoded", "repository=" + strings.Repeat("a", 1<<20+1),
			413, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if tc.code != "" && (!strings.Contains(string(b), `"code":"`+tc.code+`"`) ||
				!strings.Contains(string(b), tc.msg)) {
				t.Errorf("body %s, want code %q and %q", b, tc.code, tc.msg)
			}
		})
	}
	if after := snapshot(t, s.db); !reflect.DeepEqual(after, before) {
		for table := range before {
			if !reflect.DeepEqual(after[table], before[table]) {
				t.Errorf("table %s changed:\n before %v\n after  %v", table, before[table],
					after[table])
			}
		}
	}
}
