package server_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift/server"
)

// signIn posts token to the sign-in form and returns the answer.
func (e *env) signIn(t *testing.T, token, next string) *http.Response {
	t.Helper()
	return e.postForm(t, "/signin", url.Values{"token": {token}, "next": {next}})
}

func sessionCookie(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if strings.HasSuffix(c.Name, "regdrift_session") {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", res.Header["Set-Cookie"])
	return nil
}

func TestSignIn_SessionCookieActsAsTheToken(t *testing.T) {
	e := newEnv(t, withTokens)
	run := e.startQueued(t)

	// A page without a session is the sign-in form, with a 401, coming back to the page.
	res := e.do(t, http.MethodGet, "/runs?limit=5", nil)
	checkStatus(t, res, http.StatusUnauthorized)
	if body := readBody(t, res); !strings.Contains(body, `name="next" value="/runs?limit=5"`) {
		t.Errorf("the sign-in form does not lead back to the page:\n%s", body)
	}

	res = e.signIn(t, operatorToken, "/runs")
	checkStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/runs" {
		t.Errorf("after sign-in: Location %q, want /runs", loc)
	}
	c := sessionCookie(t, res)
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" ||
		c.MaxAge <= 0 || c.Value == "" || strings.Contains(c.Value, operatorToken) {
		t.Errorf("session cookie %+v: want HttpOnly, Lax, not Secure over HTTP, Path /, an id", c)
	}
	cookie := c.Name + "=" + c.Value

	// The page shows who is signed in and only the buttons the operator may use.
	res = e.do(t, http.MethodGet, "/runs", nil, "Cookie", cookie)
	checkStatus(t, res, http.StatusOK)
	body := readBody(t, res)
	for _, want := range []string{`data-testid="viewer"`, "ci (operator)", `data-testid="dry-run-all"`,
		`data-testid="sign-out"`} {
		if !strings.Contains(body, want) {
			t.Errorf("runs page lacks %s", want)
		}
	}
	if strings.Contains(body, `data-testid="execute-all"`) {
		t.Error("an operator is shown the execute button")
	}

	// The session may start dry runs, but not cancel: that is an admin's.
	res = e.postForm(t, "/ui/runs", url.Values{"mode": {"dry_run"}}, "Cookie", cookie)
	checkStatus(t, res, http.StatusSeeOther)
	res = e.postForm(t, fmt.Sprintf("/ui/runs/%d/cancel", run.ID), nil, "Cookie", cookie)
	checkStatus(t, res, http.StatusForbidden)

	// A cross-origin form post is refused even with a good session.
	res = e.do(t, http.MethodPost, "/ui/runs", strings.NewReader("mode=dry_run"),
		"Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie,
		"Sec-Fetch-Site", "cross-site")
	checkStatus(t, res, http.StatusForbidden)

	// A wrong bearer token is refused even next to a good cookie.
	res = e.do(t, http.MethodGet, "/api/v1/runs", nil, "Cookie", cookie,
		"Authorization", "Bearer wrong")
	checkAPIError(t, res, http.StatusUnauthorized, "unauthorized", "unknown token")

	// Sign-out ends the session on the server, not only in the browser.
	res = e.postForm(t, "/signout", nil, "Cookie", cookie)
	checkStatus(t, res, http.StatusSeeOther)
	if c := sessionCookie(t, res); c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("sign-out cookie %+v: want it cleared", c)
	}
	res = e.do(t, http.MethodGet, "/api/v1/runs", nil, "Cookie", cookie)
	checkStatus(t, res, http.StatusUnauthorized)
	if got := len(e.runs.Started()); got != 1 {
		t.Errorf("%d runs started, want the one dry run", got)
	}
}

func TestSignIn_WrongTokenAndForeignNext(t *testing.T) {
	e := newEnv(t, withTokens)
	res := e.signIn(t, "not-a-token", "/")
	checkStatus(t, res, http.StatusUnauthorized)
	if len(res.Cookies()) != 0 {
		t.Error("a refused sign-in sets a cookie")
	}
	if body := readBody(t, res); !strings.Contains(body, `data-testid="sign-in-failed"`) {
		t.Error("a refused sign-in does not say so")
	}
	for _, next := range []string{"https://evil.example/", "//evil.example/x", `/\evil.example`,
		"javascript:alert(1)", ""} {
		res := e.signIn(t, viewerToken, next)
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("next %q: Location %q, want /", next, loc)
		}
	}
}

func TestSignIn_SecureCookie(t *testing.T) {
	cases := map[string]struct {
		config func(*server.Config)
		tls    bool
	}{
		"over TLS":           {config: withTokens, tls: true},
		"behind HTTPS proxy": {config: func(c *server.Config) { withTokens(c); c.SecureCookies = true }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, tc.config)
			req := httptest.NewRequest(http.MethodPost, "/signin",
				strings.NewReader(url.Values{"token": {adminToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			c := sessionCookie(t, rec.Result())
			if !c.Secure || c.Name != "__Host-regdrift_session" {
				t.Errorf("cookie %s Secure=%v, want __Host-regdrift_session, Secure", c.Name, c.Secure)
			}
			res := e.do(t, http.MethodGet, "/api/v1/runs", nil, "Cookie", c.Name+"="+c.Value)
			checkStatus(t, res, http.StatusOK)
		})
	}
}

// TestAuth_WebhooksAreLeftToTheirHandlers checks that the webhook routes, which check their own
// secrets, get no bearer-token check, and that the exemption stops at their prefix.
func TestAuth_WebhooksAreLeftToTheirHandlers(t *testing.T) {
	e := newEnv(t, withTokens)
	reached := 0
	h := server.Authenticate(e.srv.(*server.Server), http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { reached++ }))
	for target, want := range map[string]int{
		"/api/v1/webhooks/registry": http.StatusOK,
		"/api/v1/webhooks/ci":       http.StatusOK,
		"/api/v1/webhooksx":         http.StatusUnauthorized,
		"/api/v1/runs":              http.StatusUnauthorized,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, target, strings.NewReader("{}")))
		if rec.Code != want {
			t.Errorf("POST %s: status %d, want %d", target, rec.Code, want)
		}
	}
	if reached != 2 {
		t.Errorf("the handler was reached %d times, want 2 (the webhooks)", reached)
	}
}

// TestAuth_OffWithoutTokens checks that a server without tokens serves everyone as an admin
// and shows no sign-in.
func TestAuth_OffWithoutTokens(t *testing.T) {
	e := newEnv(t)
	res := e.do(t, http.MethodPost, "/api/v1/runs", strings.NewReader(`{"mode":"execute"}`),
		"Content-Type", "application/json")
	checkStatus(t, res, http.StatusAccepted)
	body := readBody(t, e.do(t, http.MethodGet, "/", nil))
	if strings.Contains(body, `data-testid="sign-out"`) || !strings.Contains(body, "execute-all") {
		t.Error("without tokens the overview shows a sign-out or hides the execute button")
	}
}

func TestSignIn_SessionExpires(t *testing.T) {
	clock := now
	e := newEnv(t, withTokens, func(c *server.Config) {
		c.SessionTTL = time.Hour
		c.Now = func() time.Time { return clock }
	})
	c := sessionCookie(t, e.signIn(t, viewerToken, "/"))
	if c.MaxAge != 3600 {
		t.Errorf("cookie Max-Age %d, want 3600", c.MaxAge)
	}
	cookie := c.Name + "=" + c.Value
	clock = now.Add(59 * time.Minute)
	checkStatus(t, e.do(t, http.MethodGet, "/api/v1/runs", nil, "Cookie", cookie), http.StatusOK)
	clock = now.Add(61 * time.Minute)
	checkStatus(t, e.do(t, http.MethodGet, "/api/v1/runs", nil, "Cookie", cookie),
		http.StatusUnauthorized)
}
