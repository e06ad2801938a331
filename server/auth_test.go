package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/regdrift/regdrift/server"
	"github.com/regdrift/regdrift/static"
)

// Secrets of the test tokens, one per role.
const (
	viewerToken   = "viewer-0123456789abcdef0123456789"
	operatorToken = "operator-0123456789abcdef012345678"
	adminToken    = "admin-0123456789abcdef0123456789ab"
)

// withTokens turns access control on with one token per role.
func withTokens(c *server.Config) {
	c.Tokens = []server.Token{
		{Name: "grafana", Role: server.RoleViewer, Hash: server.HashToken(viewerToken)},
		{Name: "ci", Role: server.RoleOperator, Hash: server.HashToken(operatorToken)},
		{Name: "alice", Role: server.RoleAdmin, Hash: server.HashToken(adminToken)},
	}
}

// public marks a route that serves without a token.
const public server.Role = 0

// routeCase is one request to a route and the weakest role it serves.
type routeCase struct {
	min  server.Role
	body func(e *env, t *testing.T) (target string, body string, contentType string)
}

func get(target func(e *env, t *testing.T) string) func(*env, *testing.T) (string, string, string) {
	return func(e *env, t *testing.T) (string, string, string) { return target(e, t), "", "" }
}

func fixed(p string) func(*env, *testing.T) string { return func(*env, *testing.T) string { return p } }

func seededRun(e *env, t *testing.T) string { return fmt.Sprint(e.seed(t).ID) }

func queuedRun(e *env, t *testing.T) string { return fmt.Sprint(e.startQueued(t).ID) }

func jsonBody(target, body string) func(*env, *testing.T) (string, string, string) {
	return func(*env, *testing.T) (string, string, string) {
		return target, body, "application/json"
	}
}

func formBody(target string, f url.Values) func(*env, *testing.T) (string, string, string) {
	return func(*env, *testing.T) (string, string, string) {
		return target, f.Encode(), "application/x-www-form-urlencoded"
	}
}

// routeTable is every route of the server, keyed by method and pattern as chi names them,
// with the requests that test it. A route missing here fails the test, so that a new route
// cannot slip in unprotected.
var routeTable = map[string][]routeCase{
	"GET /healthz":     {{public, get(fixed("/healthz"))}},
	"GET /readyz":      {{public, get(fixed("/readyz"))}},
	"GET /favicon.ico": {{public, get(fixed("/favicon.ico"))}},
	"GET /static/*":    {{public, get(func(*env, *testing.T) string { return static.StyleURL() })}},
	"GET /signin":      {{public, get(fixed("/signin"))}},
	"POST /signin":     {{public, formBody("/signin", url.Values{"token": {"wrong"}})}},
	"POST /signout":    {{server.RoleViewer, formBody("/signout", nil)}},
	"GET /metrics":     {{server.RoleViewer, get(fixed("/metrics"))}},

	"POST /api/v1/runs": {
		{server.RoleOperator, jsonBody("/api/v1/runs", `{"mode":"dry_run"}`)},
		{server.RoleOperator, jsonBody("/api/v1/runs", ``)}, // the default is a dry run
		{server.RoleAdmin, jsonBody("/api/v1/runs", `{"mode":"execute"}`)},
	},
	"GET /api/v1/runs": {{server.RoleViewer, get(fixed("/api/v1/runs"))}},
	// The webhooks check their own secrets (webhook_test.go), never the API tokens.
	"POST /api/v1/webhooks/registry": {{public, jsonBody("/api/v1/webhooks/registry",
		`{"events":[]}`)}},
	"POST /api/v1/webhooks/ci": {{public, jsonBody("/api/v1/webhooks/ci", `{}`)}},
	"GET /api/v1/runs/{id}": {{server.RoleViewer, get(func(e *env, t *testing.T) string {
		return "/api/v1/runs/" + seededRun(e, t)
	})}},
	"GET /api/v1/runs/{id}/tags": {{server.RoleViewer, get(func(e *env, t *testing.T) string {
		return "/api/v1/runs/" + seededRun(e, t) + "/tags"
	})}},
	"POST /api/v1/runs/{id}/cancel": {{server.RoleAdmin,
		func(e *env, t *testing.T) (string, string, string) {
			return "/api/v1/runs/" + queuedRun(e, t) + "/cancel", "", ""
		}}},
	"GET /api/v1/repositories": {{server.RoleViewer, get(fixed("/api/v1/repositories"))}},
	"GET /api/v1/repositories/*": {{server.RoleViewer, get(func(e *env, t *testing.T) string {
		e.seed(t)
		return "/api/v1/repositories/" + seeded
	})}},

	"GET /": {{server.RoleViewer, get(fixed("/"))}},
	"GET /repositories/*": {{server.RoleViewer, get(func(e *env, t *testing.T) string {
		e.seed(t)
		return "/repositories/" + seeded
	})}},
	"GET /runs": {{server.RoleViewer, get(fixed("/runs"))}},
	"GET /runs/{id}": {{server.RoleViewer, get(func(e *env, t *testing.T) string {
		return "/runs/" + seededRun(e, t)
	})}},
	"GET /ui/execute": {{server.RoleAdmin, get(fixed("/ui/execute"))}},
	"POST /ui/runs": {
		{server.RoleOperator, formBody("/ui/runs", url.Values{"mode": {"dry_run"}})},
		// An execute without confirmation only leads to the confirmation, which is an admin's.
		{server.RoleAdmin, formBody("/ui/runs", url.Values{"mode": {"execute"}})},
		{server.RoleAdmin, formBody("/ui/runs", url.Values{"mode": {"execute"},
			"confirm": {"yes"}})},
	},
	"POST /ui/runs/{id}/cancel": {{server.RoleAdmin,
		func(e *env, t *testing.T) (string, string, string) {
			return "/ui/runs/" + queuedRun(e, t) + "/cancel", "", "application/x-www-form-urlencoded"
		}}},
}

// TestRoutes_EveryRouteRefusesMissingOrWeakerTokens walks the server's route table and sends
// each route a request with no token, a wrong one, and each role's: roles below the route's
// get 403, no token 401, and the route's role and those above are served.
func TestRoutes_EveryRouteRefusesMissingOrWeakerTokens(t *testing.T) {
	walked := map[string]bool{}
	err := chi.Walk(server.Routes(newEnv(t, withTokens).srv.(*server.Server)),
		func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			if route == static.Prefix+"*" && method != http.MethodGet {
				return nil // the file server answers every method alike
			}
			walked[method+" "+strings.TrimSuffix(route, "/")] = true
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	walked["GET /"] = walked["GET "] || walked["GET /"]
	delete(walked, "GET ")
	var names []string
	for k := range walked {
		names = append(names, k)
		if _, ok := routeTable[k]; !ok {
			t.Errorf("route %s is not in the access table", k)
		}
	}
	for k := range routeTable {
		if !walked[k] {
			t.Errorf("the access table names %s, which the server does not have", k)
		}
	}
	sort.Strings(names)

	for _, name := range names {
		method, _, _ := strings.Cut(name, " ")
		for i, c := range routeTable[name] {
			t.Run(fmt.Sprintf("%s#%d", name, i), func(t *testing.T) {
				checkRoute(t, method, c)
			})
		}
	}
}

func checkRoute(t *testing.T, method string, c routeCase) {
	creds := []struct {
		name  string
		role  server.Role
		token string
	}{
		{"none", 0, ""}, {"wrong token", 0, "not-a-token-of-this-server"},
		{"viewer", server.RoleViewer, viewerToken}, {"operator", server.RoleOperator, operatorToken},
		{"admin", server.RoleAdmin, adminToken},
	}
	for _, cr := range creds {
		e := newEnv(t, withTokens)
		target, body, ct := c.body(e, t)
		headers := []string{"Sec-Fetch-Site", "same-origin"}
		if ct != "" {
			headers = append(headers, "Content-Type", ct)
		}
		if cr.token != "" {
			headers = append(headers, "Authorization", "Bearer "+cr.token)
		}
		res := e.do(t, method, target, strings.NewReader(body), headers...)
		got := res.StatusCode
		want := ""
		switch {
		case c.min == public:
			want = "served"
			if got == http.StatusUnauthorized && target != "/signin" || got == http.StatusForbidden {
				t.Errorf("%s: %s %s: status %d, want it served", cr.name, method, target, got)
			}
		case cr.role == 0:
			want = "401"
			if got != http.StatusUnauthorized {
				t.Errorf("%s: %s %s: status %d, want 401", cr.name, method, target, got)
			}
		case cr.role < c.min:
			want = "403"
			if got != http.StatusForbidden {
				t.Errorf("%s: %s %s: status %d, want 403", cr.name, method, target, got)
			}
		default:
			want = "served"
			if got == http.StatusUnauthorized || got == http.StatusForbidden || got >= 500 {
				t.Errorf("%s: %s %s: status %d, want it served", cr.name, method, target, got)
			}
		}
		if strings.HasPrefix(target, "/api/") && want == "401" {
			checkAPIError(t, res, http.StatusUnauthorized, "unauthorized", "")
			if res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: a 401 without WWW-Authenticate", method, target)
			}
		}
		if strings.HasPrefix(target, "/api/") && want == "403" {
			checkAPIError(t, res, http.StatusForbidden, "forbidden", "role")
		}
	}
}
