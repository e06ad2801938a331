package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/server"
)

const (
	registrySecret = "registry-shared-secret"
	ciSecret       = "ci-hmac-key"
	eventsType     = "application/vnd.docker.distribution.events.v1+json"
	primaryHost    = "primary.example:5000"
)

// withHooks turns both webhooks on, for an execute of what registries report.
func withHooks(cfg *server.Config) {
	cfg.Webhooks = server.Webhooks{
		RegistrySecret: registrySecret, CISecret: ciSecret, Mode: regdrift.ModeExecute,
		NoDelete: true, Hosts: []string{primaryHost, "mirror.example"},
	}
}

// ev is one event as Distribution writes it, with the fields regdrift ignores filled in too.
func ev(action, repo, tag, mediaType, host string) string {
	return fmt.Sprintf(`{"id":"4d9b1e1c","timestamp":"2026-12-03T12:00:00Z","action":%q,
	"target":{"mediaType":%q,"size":528,"digest":"sha256:%s","length":528,
	"repository":%q,"url":"http://%s/v2/%s/manifests/sha256:%s","tag":%q},
	"request":{"id":"8a2c","addr":"10.0.0.7:40112","host":%q,"method":"PUT",
	"useragent":"containerd/2.0"},"actor":{},"source":{"addr":"reg-0:5000",
	"instanceID":"1f0e"}}`, action, mediaType, strings.Repeat("d", 64), repo, host, repo,
		strings.Repeat("d", 64), tag, host)
}

func envelope(events ...string) string {
	return `{"events":[` + strings.Join(events, ",") + `]}`
}

const manifestType = "application/vnd.oci.image.manifest.v1+json"

func (e *env) notify(t *testing.T, body string, headers ...string) *http.Response {
	t.Helper()
	h := append([]string{"Content-Type", eventsType, "X-Regdrift-Webhook-Token",
		registrySecret}, headers...)
	return e.do(t, http.MethodPost, "/api/v1/webhooks/registry", strings.NewReader(body), h...)
}

type hookAnswer struct {
	Events int `json:"events"`
	Runs   []struct {
		Repository string `json:"repository"`
		RunID      int64  `json:"run_id"`
		Joined     bool   `json:"joined"`
	} `json:"runs"`
	Ignored server.Ignored `json:"ignored"`
}

func TestRegistryWebhook_QueuesARunPerRepository(t *testing.T) {
	e := newEnv(t, withHooks)
	body := envelope(
		ev("push", "team/app", "", "application/octet-stream", primaryHost), // a layer
		ev("push", "team/app", "", manifestType, primaryHost),               // by digest
		ev("push", "team/app", "v1", manifestType, primaryHost),
		ev("delete", "base", "1.0", "", primaryHost),
		ev("pull", "team/app", "v1", manifestType, primaryHost),
		ev("mount", "team/app", "", "application/octet-stream", primaryHost),
		ev("push", "elsewhere", "v1", manifestType, "other.example:5000"),
		ev("push", "Bad//Name", "v1", manifestType, primaryHost),
		ev("replicate", "team/app", "v1", manifestType, primaryHost),
		ev("push", "mirrored", "v2", manifestType, ""), // no host named: it counts
		ev("push", "mirrored", "v3", manifestType, "Mirror.Example:443"),
	)
	res := e.notify(t, body)

	checkStatus(t, res, http.StatusAccepted)
	var got hookAnswer
	decode(t, res, &got)
	wantIgnored := server.Ignored{Pull: 1, Mount: 1, Blob: 1, OtherHost: 1, Invalid: 1,
		Other: 1}
	if got.Events != 11 || got.Ignored != wantIgnored {
		t.Errorf("events %d ignored %+v, want 11 and %+v", got.Events, got.Ignored, wantIgnored)
	}
	if !strings.Contains(e.logs.String(), `"hosts":["other.example:5000"]`) {
		t.Errorf("no warning names the other host:\n%s", e.logs.String())
	}
	var repos []string
	for _, r := range got.Runs {
		repos = append(repos, r.Repository)
		if r.Joined || r.RunID == 0 {
			t.Errorf("run %+v: want a new run", r)
		}
	}
	if want := []string{"base", "mirrored", "team/app"}; !reflect.DeepEqual(repos, want) {
		t.Errorf("runs for %q, want %q", repos, want)
	}
	for i, req := range e.runs.Started() {
		want := regdrift.RunRequest{Mode: regdrift.ModeExecute, Repositories: []string{repos[i]},
			NoDelete: true, Trigger: regdrift.TriggerWebhook, Coalesce: true}
		if !reflect.DeepEqual(req, want) {
			t.Errorf("request %d: got %+v, want %+v", i, req, want)
		}
	}
	for _, r := range got.Runs {
		run, err := e.store.GetRun(context.Background(), r.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if run.Trigger != regdrift.TriggerWebhook || run.Status != regdrift.RunQueued {
			t.Errorf("run %d: trigger %s status %s, want a queued webhook run", run.ID,
				run.Trigger, run.Status)
		}
	}
	if strings.Contains(e.logs.String(), registrySecret) {
		t.Error("the log holds the webhook secret")
	}
}

func TestRegistryWebhook_BurstJoinsTheQueuedRun(t *testing.T) {
	e := newEnv(t, withHooks)
	const burst = 25
	var first int64
	for i := range burst {
		res := e.notify(t, envelope(ev("push", "team/app", fmt.Sprintf("v%d", i), manifestType,
			primaryHost)))
		checkStatus(t, res, http.StatusAccepted)
		var got hookAnswer
		decode(t, res, &got)
		if len(got.Runs) != 1 {
			t.Fatalf("envelope %d: %d runs, want 1", i, len(got.Runs))
		}
		if i == 0 {
			first = got.Runs[0].RunID
		}
		if got.Runs[0].RunID != first || got.Runs[0].Joined != (i > 0) {
			t.Errorf("envelope %d: run %+v, want run %d, joined after the first", i,
				got.Runs[0], first)
		}
	}
	// Another repository's events get their own run.
	checkStatus(t, e.notify(t, envelope(ev("delete", "base", "1.0", "", primaryHost))),
		http.StatusAccepted)

	runs, total, err := e.store.ListRuns(context.Background(), regdrift.RunFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 {
		t.Fatalf("%d runs recorded, want 2", total)
	}
	app := runs[1]
	if app.ID != first || app.Coalesced != burst-1 || !reflect.DeepEqual(app.Scope,
		[]string{"team/app"}) {
		t.Errorf("run %d scope %q coalesced %d, want run %d of team/app with %d joined", app.ID,
			app.Scope, app.Coalesced, first, burst-1)
	}

	res := e.do(t, http.MethodGet, "/metrics", nil)
	checkStatus(t, res, http.StatusOK)
	scrape := readBody(t, res)
	for _, want := range []string{
		`regdrift_webhook_events_total{outcome="accepted"} 26`,
		`regdrift_webhook_runs_total{outcome="joined",webhook="registry"} 24`,
		`regdrift_webhook_runs_total{outcome="queued",webhook="registry"} 2`,
	} {
		if !strings.Contains(scrape, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestRegistryWebhook_IgnoredEventsAnswer200(t *testing.T) {
	e := newEnv(t, withHooks)
	res := e.notify(t, envelope(ev("pull", "team/app", "v1", manifestType, primaryHost)))

	checkStatus(t, res, http.StatusOK)
	var got hookAnswer
	decode(t, res, &got)
	if got.Events != 1 || got.Ignored.Pull != 1 || len(got.Runs) != 0 {
		t.Errorf("answer %+v, want one ignored pull and no run", got)
	}
	if n := len(e.runs.Started()); n != 0 {
		t.Errorf("%d runs started, want none", n)
	}
}

func TestRegistryWebhook_CoversOnlyConfiguredRepositories(t *testing.T) {
	e := newEnv(t, withHooks, func(cfg *server.Config) {
		cfg.Webhooks.Repositories = []string{"base"}
	})
	res := e.notify(t, envelope(ev("push", "team/app", "v1", manifestType, primaryHost),
		ev("push", "base", "2.0", manifestType, primaryHost)))

	checkStatus(t, res, http.StatusAccepted)
	var got hookAnswer
	decode(t, res, &got)
	if got.Ignored.NotCovered != 1 || len(got.Runs) != 1 || got.Runs[0].Repository != "base" {
		t.Errorf("answer %+v, want a run for base only and one event not covered", got)
	}
}

func TestRegistryWebhook_Refused(t *testing.T) {
	good := envelope(ev("push", "team/app", "v1", manifestType, primaryHost))
	tests := []struct {
		name    string
		hooks   bool
		body    string
		headers []string
		status  int
		code    string
		msg     string
	}{
		{"off without a secret", false, good, nil, http.StatusNotFound, "not_found",
			"REGDRIFT_WEBHOOK_SECRET"},
		{"wrong token", true, good, []string{"X-Regdrift-Webhook-Token", "guess"},
			http.StatusForbidden, "forbidden", "X-Regdrift-Webhook-Token"},
		{"no token", true, good, []string{"X-Regdrift-Webhook-Token", ""},
			http.StatusForbidden, "forbidden", "X-Regdrift-Webhook-Token"},
		{"the CI secret is not the registry's", true, good,
			[]string{"X-Regdrift-Webhook-Token", ciSecret}, http.StatusForbidden, "forbidden",
			"X-Regdrift-Webhook-Token"},
		{"form body", true, good, []string{"Content-Type",
			"application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType,
			"unsupported_media_type", "application/vnd.docker.distribution.events.v1+json"},
		{"invalid JSON", true, `{"events":[`, nil, http.StatusBadRequest, "invalid",
			"unexpected end"},
		{"not an object", true, `[1,2]`, nil, http.StatusBadRequest, "invalid",
			"must be a JSON object"},
		{"no events list", true, `{"id":"x"}`, nil, http.StatusBadRequest, "invalid",
			`no "events" list`},
		{"empty body", true, ``, nil, http.StatusBadRequest, "invalid", `no "events" list`},
		{"events of the wrong kind", true, `{"events":{"action":"push"}}`, nil,
			http.StatusBadRequest, "invalid", `field "events" must be a list`},
		{"two values", true, good + good, nil, http.StatusBadRequest, "invalid",
			"more than one value"},
		{"too large", true, `{"events":[],"x":"` + strings.Repeat("a", 1<<20) + `"}`, nil,
			http.StatusRequestEntityTooLarge, "too_large", "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *env
			if tt.hooks {
				e = newEnv(t, withHooks)
			} else {
				e = newEnv(t)
			}
			res := e.notify(t, tt.body, tt.headers...)
			checkAPIError(t, res, tt.status, tt.code, tt.msg)
			if n := len(e.runs.Started()); n != 0 {
				t.Errorf("a refused notification started %d runs", n)
			}
		})
	}
}

// sign is the X-Regdrift-Signature-256 of body under key.
func sign(key, body string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (e *env) ci(t *testing.T, query, body, signature string) *http.Response {
	t.Helper()
	return e.do(t, http.MethodPost, "/api/v1/webhooks/ci"+query, strings.NewReader(body),
		"Content-Type", "application/json", "X-Regdrift-Signature-256", signature)
}

func TestCIWebhook_QueuesTheSignedRequest(t *testing.T) {
	e := newEnv(t, withHooks)
	body := `{"repositories":["team/app","base","team/app"],"mode":"execute","deep":true}`
	res := e.ci(t, "", body, sign(ciSecret, body))

	checkStatus(t, res, http.StatusAccepted)
	var got regdrift.Run
	decode(t, res, &got)
	if res.Header.Get("Location") != fmt.Sprintf("/api/v1/runs/%d", got.ID) {
		t.Errorf("Location %q for run %d", res.Header.Get("Location"), got.ID)
	}
	want := []regdrift.RunRequest{{Mode: regdrift.ModeExecute,
		Repositories: []string{"team/app", "base"}, Deep: true, Trigger: regdrift.TriggerCI}}
	if started := e.runs.Started(); !reflect.DeepEqual(started, want) {
		t.Errorf("started %+v, want %+v", started, want)
	}
	if got.Trigger != regdrift.TriggerCI || got.Status != regdrift.RunQueued {
		t.Errorf("run %+v, want a queued CI run", got)
	}
}

func TestCIWebhook_Refused(t *testing.T) {
	body := `{"repositories":["team/app"],"mode":"dry_run"}`
	tests := []struct {
		name, query, body, sig string
		status                 int
		code, msg              string
	}{
		{"no signature", "", body, "", http.StatusForbidden, "forbidden", "sha256=<hex"},
		{"signed with another key", "", body, sign("other", body), http.StatusForbidden,
			"forbidden", "X-Regdrift-Signature-256"},
		{"body changed after signing", "", body + " ", sign(ciSecret, body),
			http.StatusForbidden, "forbidden", "X-Regdrift-Signature-256"},
		{"bare hex", "", body, strings.TrimPrefix(sign(ciSecret, body), "sha256="),
			http.StatusForbidden, "forbidden", "X-Regdrift-Signature-256"},
		{"not hex", "", body, "sha256=zz", http.StatusForbidden, "forbidden",
			"X-Regdrift-Signature-256"},
		{"unknown field", "", `{"mode":"dry_run","nodelete":true}`,
			sign(ciSecret, `{"mode":"dry_run","nodelete":true}`), http.StatusBadRequest,
			"invalid", `unknown field "nodelete"`},
		{"unknown mode", "", `{"mode":"dry-run"}`, sign(ciSecret, `{"mode":"dry-run"}`),
			http.StatusBadRequest, "invalid", "not one of dry_run, execute"},
		{"bad name", "", `{"repositories":["A B"]}`, sign(ciSecret, `{"repositories":["A B"]}`),
			http.StatusBadRequest, "invalid", "repository"},
		{"bad wait", "?wait=yes", body, sign(ciSecret, body), http.StatusBadRequest, "invalid",
			"not true or false"},
		{"timeout too long", "?wait=true&timeout=2h", body, sign(ciSecret, body),
			http.StatusBadRequest, "invalid", "between 1s and 30m"},
		{"timeout not a duration", "?wait=true&timeout=10", body, sign(ciSecret, body),
			http.StatusBadRequest, "invalid", "such as 90s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withHooks)
			checkAPIError(t, e.ci(t, tt.query, tt.body, tt.sig), tt.status, tt.code, tt.msg)
			if n := len(e.runs.Started()); n != 0 {
				t.Errorf("a refused call started %d runs", n)
			}
		})
	}
	t.Run("off without a secret", func(t *testing.T) {
		e := newEnv(t)
		checkAPIError(t, e.ci(t, "", body, sign("", body)), http.StatusNotFound, "not_found",
			"REGDRIFT_CI_SECRET")
	})
	t.Run("repository outside the configuration", func(t *testing.T) {
		e := newEnv(t, withHooks, func(cfg *server.Config) {
			cfg.Webhooks.Repositories = []string{"base"}
		})
		checkAPIError(t, e.ci(t, "", body, sign(ciSecret, body)), http.StatusBadRequest,
			"invalid", "not one the server is configured for")
	})
}

// With access control on, the webhooks need their own secrets and no API token, and no API
// token, not even an admin's, stands in for those secrets.
func TestWebhooks_IgnoreAPITokens(t *testing.T) {
	e := newEnv(t, withTokens, withHooks)
	note := envelope(ev("push", "team/app", "v1", manifestType, primaryHost))
	checkStatus(t, e.notify(t, note), http.StatusAccepted)
	body := `{"repositories":["team/app"]}`
	checkStatus(t, e.ci(t, "", body, sign(ciSecret, body)), http.StatusAccepted)

	res := e.do(t, http.MethodPost, "/api/v1/webhooks/registry", strings.NewReader(note),
		"Content-Type", eventsType, "Authorization", "Bearer "+adminToken)
	checkAPIError(t, res, http.StatusForbidden, "forbidden", "X-Regdrift-Webhook-Token")
	res = e.do(t, http.MethodPost, "/api/v1/webhooks/ci", strings.NewReader(body),
		"Content-Type", "application/json", "Authorization", "Bearer "+adminToken)
	checkAPIError(t, res, http.StatusForbidden, "forbidden", "X-Regdrift-Signature-256")
	if n := len(e.runs.Started()); n != 2 {
		t.Errorf("%d runs started, want the 2 of the signed calls", n)
	}
}

// A wait that ends with the run unfinished (the server shut down first: the test double's
// Wait returns the run as queued) answers 503, so that a pipeline retries after the restart.
func TestCIWebhook_WaitEndingUnfinishedIs503(t *testing.T) {
	e := newEnv(t, withHooks)
	body := `{"repositories":["team/app"]}`
	res := e.ci(t, "?wait=true&timeout=90s", body, sign(ciSecret, body))

	checkStatus(t, res, http.StatusServiceUnavailable)
	var got struct {
		Run      regdrift.Run `json:"run"`
		Passed   bool         `json:"passed"`
		ExitCode int          `json:"exit_code"`
		Message  string       `json:"message"`
	}
	decode(t, res, &got)
	if got.Passed || got.ExitCode != 2 || got.Run.Status != regdrift.RunQueued ||
		!strings.Contains(got.Message, "resumes when the server starts again") ||
		res.Header.Get("Retry-After") == "" ||
		res.Header.Get("Location") != fmt.Sprintf("/api/v1/runs/%d", got.Run.ID) {
		t.Errorf("answer %+v (Location %q), want not passed, exit code 2 and a retry hint", got,
			res.Header.Get("Location"))
	}
}
