package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/server"
	"github.com/regdrift/regdrift/views/viewtest"
)

// secret is internal error text that must reach the log and never a client.
const secret = "open /var/lib/regdrift/regdrift.db: disk I/O error"

// brokenStore is the real store whose listing of repositories fails, or panics.
type brokenStore struct {
	regdrift.Store
	panics bool
}

func (s brokenStore) ListRepositories(context.Context, regdrift.RepoFilter) (
	[]*regdrift.RepoSummary, int, error) {
	if s.panics {
		panic(secret)
	}
	return nil, 0, fmt.Errorf("list repositories: %w", errors.New(secret))
}

func withBrokenStore(panics bool) func(*server.Config) {
	return func(c *server.Config) { c.Store = brokenStore{Store: c.Store, panics: panics} }
}

func TestInternalError_ShowsRequestIDNotDetail(t *testing.T) {
	for _, panics := range []bool{false, true} {
		t.Run(fmt.Sprintf("panics=%v", panics), func(t *testing.T) {
			e := newEnv(t, withBrokenStore(panics))

			// The API answers with the code and the request id only.
			res := e.do(t, http.MethodGet, "/api/v1/repositories", nil)
			checkAPIError(t, res, http.StatusInternalServerError, regdrift.EINTERNAL,
				"internal error")
			apiID := res.Header.Get("X-Request-Id")

			// The page shows the request id and no detail either.
			res = e.do(t, http.MethodGet, "/", nil)
			checkStatus(t, res, http.StatusInternalServerError)
			page := readBody(t, res)
			if strings.Contains(page, "disk I/O") {
				t.Errorf("page shows internal detail:\n%s", page)
			}
			doc := viewtest.Parse(t, page)
			pageID := viewtest.Text(doc.One(t, "request-id"))
			if pageID == "" || pageID != res.Header.Get("X-Request-Id") {
				t.Errorf("page request id %q, header %q", pageID,
					res.Header.Get("X-Request-Id"))
			}
			if got := viewtest.Text(doc.One(t, "error-message")); got != "internal error" {
				t.Errorf("message: got %q", got)
			}

			// The log holds the detail under each request id, once.
			for _, id := range []string{apiID, pageID} {
				re := regexp.MustCompile(`"level":"ERROR".*"request_id":"` + id + `".*disk I/O`)
				if n := len(re.FindAllString(e.logs.String(), -1)); n != 1 {
					t.Errorf("log lines with the detail of request %s: got %d, want 1\n%s", id, n,
						e.logs)
				}
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"none sent", "", false},
		{"well-formed kept", "req-42.abc_DEF", true},
		{"ill-formed replaced", "bad id\nwith newline", false},
		{"too long replaced", strings.Repeat("a", 65), false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.sent != "" {
				h = []string{"X-Request-Id", tt.sent}
			}
			res := e.do(t, http.MethodGet, "/healthz", nil, h...)

			got := res.Header.Get("X-Request-Id")
			if tt.kept && got != tt.sent {
				t.Errorf("request id: got %q, want %q", got, tt.sent)
			}
			if !tt.kept && !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(got) {
				t.Errorf("request id: got %q, want 16 hex digits", got)
			}
			if seen[got] {
				t.Errorf("request id %q given twice", got)
			}
			seen[got] = true
			line := `"msg":"http request","request_id":"` + got + `","method":"GET",` +
				`"path":"/healthz","status":200`
			if !strings.Contains(e.logs.String(), line) {
				t.Errorf("access log lacks %s\n%s", line, e.logs)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	notReady := func(c *server.Config) {
		c.Ready = func(context.Context) error { return errors.New("database locked: " + secret) }
	}
	tests := []struct {
		name   string
		change []func(*server.Config)
		path   string
		status int
		body   string
		logged bool // the reason of unreadiness is in the log
	}{
		{"healthz", nil, "/healthz", http.StatusOK, `{"status":"ok"}`, false},
		{"healthz while not ready", []func(*server.Config){notReady}, "/healthz",
			http.StatusOK, `{"status":"ok"}`, false},
		{"readyz", nil, "/readyz", http.StatusOK, `{"status":"ok"}`, false},
		{"readyz not ready", []func(*server.Config){notReady}, "/readyz",
			http.StatusServiceUnavailable, `{"status":"unavailable"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.change...)
			res := e.do(t, http.MethodGet, tt.path, nil)

			checkStatus(t, res, tt.status)
			if got := strings.TrimSpace(readBody(t, res)); got != tt.body {
				t.Errorf("body: got %s, want %s", got, tt.body)
			}
			logged := strings.Contains(e.logs.String(), `"level":"WARN","msg":"not ready"`) &&
				strings.Contains(e.logs.String(), "database locked")
			if logged != tt.logged {
				t.Errorf("reason logged: got %v, want %v\n%s", logged, tt.logged, e.logs)
			}
		})
	}
}
