package cli_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/regclient/regclient"
	"github.com/regclient/regclient/config"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/cmd/internal/cli"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

// served is a `regdrift serve` running in the test.
type served struct {
	base   string
	stdout *syncBuffer
	stderr *syncBuffer
}

// serveWith runs `regdrift serve` with args and env until the test ends.
func serveWith(t *testing.T, env map[string]string, args ...string) served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := served{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, append([]string{"serve"}, args...),
			func(k string) string { return env[k] }, s.stdout, s.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d\n%s", code, s.stderr)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := dashboardRE.FindStringSubmatch(s.stdout.String()); m != nil {
			s.base = m[1]
			return s
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before listening\n%s", code, s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("serve did not print its URL")
	return s
}

func TestServe_WithoutTokensLoopbackOnly(t *testing.T) {
	dbArgs := []string{"--primary", "http://127.0.0.1:1", "--secondary", "http://127.0.0.1:2",
		"--db", filepath.Join(t.TempDir(), "r.db")}

	// Beyond loopback without tokens: refused before anything binds.
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		code, _, errOut := runCLI(t.Context(), append([]string{"serve", "--listen", addr},
			dbArgs...)...)
		if code != 2 || !strings.Contains(errOut, "--insecure-no-auth") {
			t.Errorf("--listen %s: exit %d, stderr %q; want 2 naming --insecure-no-auth", addr,
				code, errOut)
		}
	}

	// On loopback it serves, everyone is an admin, and the log says so at Warn.
	s := serveWith(t, nil, append([]string{"--listen", "127.0.0.1:0", "--log-format", "json"},
		dbArgs...)...)
	if log := s.stderr.String(); !strings.Contains(log, `"level":"WARN","msg":"access control is off`) {
		t.Errorf("no warning that access control is off:\n%s", log)
	}
	apiJSON(t, http.MethodGet, s.base+"/api/v1/runs", "", http.StatusOK, nil)

	// With a token the same address serves only with the token, and no warning.
	token := strings.Repeat("t", 32)
	s = serveWith(t, map[string]string{"REGDRIFT_TOKENS": "ops:viewer:" + token},
		append([]string{"--listen", "127.0.0.1:0"}, dbArgs...)...)
	if strings.Contains(s.stderr.String(), "access control is off") {
		t.Error("a server with tokens warns that access control is off")
	}
	if got := get(t, s.base+"/api/v1/runs", "").StatusCode; got != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", got)
	}
	if got := get(t, s.base+"/api/v1/runs", token).StatusCode; got != http.StatusOK {
		t.Errorf("viewer token: status %d, want 200", got)
	}
}

// get sends a GET with a bearer token (none when empty) and reads the whole answer.
func get(t *testing.T, url, token string) *answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, http.DefaultClient, req, token)
}

// answer is a response with its body read.
type answer struct {
	*http.Response
	Body string
}

func send(t *testing.T, c *http.Client, req *http.Request, token string) *answer {
	t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &answer{Response: res, Body: string(b)}
}

// secretRun is a full execute between two registries that need passwords, served with tokens
// and debug logs; everything the server said is kept.
type secretRun struct {
	served
	secrets map[string]string // what → secret
	answers []string          // every header and body the server sent
	run     regdrift.Run
}

func newSecretRun(t *testing.T) *secretRun {
	t.Helper()
	sr := &secretRun{secrets: map[string]string{
		"primary password":   "primary-Pa55word-0f-the-source",
		"secondary password": "secondary-Pa55word-0f-the-mirror",
		"admin token":        "admin-token-4b9c2e7d1f3a5c8e0b2d4f6a",
		"viewer token":       "viewer-token-7e1d3c5b9a2f4e6d8c0b1a3f",
		"refused token":      "a-wrong-token-someone-typed-1234567",
		"webhook secret":     "webhook-shared-secret-5d7f9b1c3e",
		"CI key":             "ci-hmac-key-8a6c4e2b0d9f7a5c",
	}}
	primary := dist2.New(t, dist2.WithBasicAuth("reader", sr.secrets["primary password"]))
	secondary := dist2.New(t, dist2.WithBasicAuth("writer", sr.secrets["secondary password"]))
	rc := regclient.New(regclient.WithConfigHost(
		config.Host{Name: primary.Host, TLS: config.TLSDisabled, User: "reader",
			Pass: sr.secrets["primary password"]},
		config.Host{Name: secondary.Host, TLS: config.TLSDisabled, User: "writer",
			Pass: sr.secrets["secondary password"]}))
	ctx := t.Context()
	for _, p := range []struct{ host, tag, seed string }{
		{primary.Host, "v1", "new"}, {primary.Host, "v2", "stale-p"},
		{secondary.Host, "v2", "stale-s"}, {secondary.Host, "old", "orphan"},
	} {
		spec := regtest.Spec{Kind: regtest.OCIIndex, Seed: p.seed, Platforms: 2}
		if _, err := regtest.Push(ctx, rc, p.host, "app/one", p.tag, spec); err != nil {
			t.Fatalf("push %s to %s: %v", p.tag, p.host, err)
		}
	}

	dir := t.TempDir()
	pwFile := filepath.Join(dir, "secondary-password")
	tokensFile := filepath.Join(dir, "tokens")
	mustWrite(t, pwFile, sr.secrets["secondary password"]+"\n")
	ciFile := filepath.Join(dir, "ci-key")
	mustWrite(t, ciFile, sr.secrets["CI key"]+"\n")
	mustWrite(t, tokensFile, fmt.Sprintf("# name:role:token\noncall:admin:%s\nprom:viewer:%s\n",
		sr.secrets["admin token"], sr.secrets["viewer token"]))
	sr.served = serveWith(t, map[string]string{
		"REGDRIFT_PRIMARY_USERNAME": "reader", "REGDRIFT_PRIMARY_PASSWORD": sr.secrets["primary password"],
		"REGDRIFT_SECONDARY_USERNAME": "writer", "REGDRIFT_SECONDARY_PASSWORD_FILE": pwFile,
		"REGDRIFT_TOKENS_FILE":    tokensFile,
		"REGDRIFT_WEBHOOK_SECRET": sr.secrets["webhook secret"], "REGDRIFT_CI_SECRET_FILE": ciFile,
	}, "--listen", "127.0.0.1:0", "--primary", primary.URL, "--secondary", secondary.URL,
		"--db", filepath.Join(dir, "r.db"), "--log-level", "debug", "--log-format", "json")
	return sr
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// keep records an answer, headers and all, for the search for secrets.
func (sr *secretRun) keep(a *answer) *answer {
	sr.answers = append(sr.answers, fmt.Sprint(a.Header), a.Body)
	return a
}

func (sr *secretRun) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	a := sr.keep(get(t, sr.base+"/metrics", sr.secrets["viewer token"]))
	if a.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: status %d\n%s", a.StatusCode, a.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(a.Body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, a.Body)
	}
	return fams
}

// execute signs in through the form, as a browser, then runs an execute with the API and
// reads every answer and page about it.
func (sr *secretRun) execute(t *testing.T) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar}
	signIn := func(token string) *answer {
		req, err := http.NewRequest(http.MethodPost, sr.base+"/signin",
			strings.NewReader(url.Values{"token": {token}, "next": {"/"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return sr.keep(send(t, browser, req, ""))
	}
	if a := signIn(sr.secrets["refused token"]); a.StatusCode != http.StatusUnauthorized {
		t.Errorf("sign-in with a wrong token: status %d, want 401", a.StatusCode)
	}
	if a := signIn(sr.secrets["admin token"]); a.StatusCode != http.StatusOK ||
		!strings.Contains(a.Body, `data-testid="execute-all"`) {
		t.Errorf("sign-in as admin: status %d, want the overview with its execute button",
			a.StatusCode)
	}

	admin := sr.secrets["admin token"]
	req, err := http.NewRequest(http.MethodPost, sr.base+"/api/v1/runs",
		strings.NewReader(`{"mode":"execute","repositories":["app/one"]}`))
	if err != nil {
		t.Fatal(err)
	}
	a := sr.keep(send(t, http.DefaultClient, req, admin))
	if a.StatusCode != http.StatusAccepted {
		t.Fatalf("start execute: status %d\n%s", a.StatusCode, a.Body)
	}
	loc := a.Header.Get("Location")
	deadline := time.Now().Add(60 * time.Second)
	for !sr.run.Status.Finished() {
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not finish", loc)
		}
		time.Sleep(50 * time.Millisecond)
		a := sr.keep(get(t, sr.base+loc, admin))
		var got struct {
			Run regdrift.Run `json:"run"`
		}
		decodeString(t, a.Body, &got)
		sr.run = got.Run
	}
	for _, p := range []string{loc + "/tags", "/api/v1/repositories", "/api/v1/repositories/app/one",
		"/api/v1/runs", "/", "/runs", fmt.Sprintf("/runs/%d?all=1", sr.run.ID),
		"/repositories/app/one", "/ui/execute"} {
		if a := sr.keep(get(t, sr.base+p, admin)); a.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", p, a.StatusCode)
		}
	}
}

// TestServe_SecretsNeverShown runs a full execute with debug logs between registries that need
// passwords, with tokens from a file, and looks for every secret in everything the process
// wrote and answered.
func TestServe_SecretsNeverShown(t *testing.T) {
	sr := newSecretRun(t)
	sr.execute(t)
	if sr.run.Status != regdrift.RunDone || sr.run.Outcome != regdrift.OutcomeInSync {
		t.Fatalf("run %+v, want done and in sync (the credentials reach both registries)", sr.run)
	}
	sr.webhooks(t)
	logs := sr.stderr.String()
	// The levels the README promises: the run at Info with its counts, each tag at Debug.
	for _, want := range []string{
		`"level":"INFO","msg":"run started"`,
		`"level":"INFO","msg":"run finished"`, `"actions":3`,
		`"level":"DEBUG","msg":"tag checked"`, `"tag":"old","state":"only_on_secondary"`,
		`"level":"DEBUG","msg":"repository checked"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s", want)
		}
	}
	everything := map[string]string{"log": logs, "stdout": sr.stdout.String(),
		"answers": strings.Join(sr.answers, "\n")}
	for where, text := range everything {
		for what, secret := range sr.secrets {
			if strings.Contains(text, secret) {
				t.Errorf("the %s shows the %s", where, what)
			}
		}
	}
}

// TestServe_MetricsMoveWithARun scrapes /metrics before and after a real execute and checks
// that the counters and gauges say what the run did.
func TestServe_MetricsMoveWithARun(t *testing.T) {
	sr := newSecretRun(t)
	if a := get(t, sr.base+"/metrics", ""); a.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without a token: status %d, want 401", a.StatusCode)
	}
	before := sr.scrape(t)
	sr.execute(t)
	after := sr.scrape(t)

	if got := sum(before, "regdrift_registry_requests_total", nil); got != 0 {
		t.Errorf("registry requests before any run: %v, want 0", got)
	}
	for _, reg := range []string{"primary", "secondary"} {
		if got := sum(after, "regdrift_registry_requests_total",
			map[string]string{"registry": reg, "method": "GET", "code": "200"}); got == 0 {
			t.Errorf("no GET 200 counted on the %s", reg)
		}
	}
	if got := sum(after, "regdrift_registry_requests_total",
		map[string]string{"registry": "primary", "method": "PUT"}); got != 0 {
		t.Errorf("%v PUTs counted on the primary", got)
	}
	if got := sum(after, "regdrift_registry_requests_total",
		map[string]string{"registry": "secondary", "method": "PUT"}); got == 0 {
		t.Error("no PUT counted on the secondary, which the copies wrote")
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"regdrift_runs_total", map[string]string{"mode": "execute", "status": "done",
			"outcome": "in_sync"}, 1},
		{"regdrift_actions_total", map[string]string{"action": "copy", "result": "ok"}, 2},
		{"regdrift_actions_total", map[string]string{"action": "delete", "result": "ok"}, 1},
		{"regdrift_actions_total", map[string]string{"result": "failed"}, 0},
		// The latest check of app/one is the verification after the execute: all in sync.
		{"regdrift_tags", map[string]string{"state": "in_sync"}, 2},
		{"regdrift_tags", map[string]string{"state": "stale"}, 0},
		{"regdrift_repositories", map[string]string{"status": "in_sync"}, 1},
	}
	for _, c := range checks {
		if got := sum(after, c.name, c.labels); got != c.want {
			t.Errorf("%s%v: got %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if h := after["regdrift_run_duration_seconds"]; h == nil ||
		h.Metric[0].GetHistogram().GetSampleCount() != 1 {
		t.Errorf("run duration histogram: %v, want one sample", h)
	}
	last := sum(after, "regdrift_last_check_timestamp_seconds", nil)
	if sum(before, "regdrift_last_check_timestamp_seconds", nil) != 0 ||
		time.Since(time.Unix(int64(last), 0)) > time.Minute {
		t.Errorf("last check: before %v, after %v; want 0, then about now",
			sum(before, "regdrift_last_check_timestamp_seconds", nil), last)
	}
}

// sum adds up the values of the series of a family whose labels include want.
func sum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	total := 0.0
series:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		}
	}
	return total
}

func decodeString(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode: %v\n%s", err, s)
	}
}

// webhooks sends a registry notification and a signed CI call that waits, the webhooks'
// secrets in their headers, and keeps the answers.
func (sr *secretRun) webhooks(t *testing.T) {
	t.Helper()
	note, err := http.NewRequest(http.MethodPost, sr.base+"/api/v1/webhooks/registry",
		strings.NewReader(`{"events":[{"action":"delete","target":{"repository":"app/one",`+
			`"tag":"old"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	note.Header.Set("Content-Type", "application/vnd.docker.distribution.events.v1+json")
	note.Header.Set("X-Regdrift-Webhook-Token", sr.secrets["webhook secret"])
	if a := sr.keep(send(t, http.DefaultClient, note, "")); a.StatusCode != http.StatusAccepted {
		t.Errorf("notification: status %d\n%s", a.StatusCode, a.Body)
	}
	body := `{"repositories":["app/one"],"mode":"dry_run"}`
	mac := hmac.New(sha256.New, []byte(sr.secrets["CI key"]))
	mac.Write([]byte(body))
	ci, err := http.NewRequest(http.MethodPost, sr.base+"/api/v1/webhooks/ci?wait=true",
		strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ci.Header.Set("X-Regdrift-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	if a := sr.keep(send(t, http.DefaultClient, ci, "")); a.StatusCode != http.StatusOK {
		t.Errorf("CI call after the execute: status %d, want 200 (in sync)\n%s", a.StatusCode,
			a.Body)
	}
}
