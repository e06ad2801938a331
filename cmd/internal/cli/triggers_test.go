package cli_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

const (
	hookSecret = "s3cret-registry-token"
	ciKey      = "s3cret-ci-key"
)

// freeAddr returns a loopback address nobody listens on, for a server whose address a
// registry must know before the server starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

type runList struct {
	Runs  []regdrift.Run `json:"runs"`
	Total int            `json:"total"`
}

// pollRuns lists the runs until cond holds for them, for at most a minute.
func pollRuns(t *testing.T, base, what string, cond func([]regdrift.Run) bool) []regdrift.Run {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var got runList
	for time.Now().Before(deadline) {
		apiJSON(t, http.MethodGet, base+"/api/v1/runs", "", http.StatusOK, &got)
		if cond(got.Runs) {
			return got.Runs
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s within a minute; runs: %+v", what, got.Runs)
	return nil
}

func digestOf(t *testing.T, baseURL, repo, tag string) string {
	t.Helper()
	resp, err := regtest.RawManifest(t.Context(), http.MethodHead, baseURL, repo, tag,
		regtest.ManifestTypes...)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK {
		return ""
	}
	return resp.Digest
}

// A push to a primary whose notifications reach the server leaves the secondary in sync,
// with nobody asking for a run.
func TestRegistryWebhook_PushReachesTheSecondary(t *testing.T) {
	addr := freeAddr(t)
	primary := dist2.New(t, dist2.WithNotify("http://"+addr+"/api/v1/webhooks/registry",
		map[string][]string{"X-Regdrift-Webhook-Token": {hookSecret}}))
	secondary := dist2.New(t)
	sv := serveWith(t, map[string]string{"REGDRIFT_WEBHOOK_SECRET": hookSecret},
		"--primary", primary.URL, "--secondary", secondary.URL, "--listen", addr,
		"--db", filepath.Join(t.TempDir(), "regdrift.db"), "--webhook-mode", "execute",
		"--log-level", "debug")
	base, logs := sv.base, sv.stderr

	rc := regtest.NewClient(primary.Host, secondary.Host)
	pushed, err := regtest.Push(t.Context(), rc, primary.Host, "team/app", "v1",
		regtest.Spec{Kind: regtest.OCIIndex, Seed: "webhook"})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	want := pushed.Digest().String()

	// Done when the tag is on the secondary and no webhook run is left to do.
	runs := pollRuns(t, base, "webhook run that copies v1", func(runs []regdrift.Run) bool {
		for _, r := range runs {
			if !r.Status.Finished() {
				return false
			}
		}
		return len(runs) > 0 && digestOf(t, secondary.URL, "team/app", "v1") == want
	})
	var copied, joined int
	for _, r := range runs {
		joined += r.Coalesced
		if r.Trigger != regdrift.TriggerWebhook || r.Mode != regdrift.ModeExecute ||
			r.Status != regdrift.RunDone || len(r.Scope) != 1 || r.Scope[0] != "team/app" {
			t.Errorf("run %+v, want a done webhook execute of team/app", r)
		}
		copied += r.Summary.Actions
	}
	t.Logf("%d notifications, %d runs, %d joined a queued run",
		strings.Count(logs.String(), `msg="registry notification"`), len(runs), joined)
	if copied != 1 {
		t.Errorf("%d actions over %d runs, want one copy of v1", copied, len(runs))
	}
	// The latest run saw the push whole and verified the copy.
	if last := runs[0]; last.Outcome != regdrift.OutcomeInSync {
		t.Errorf("last run %+v, want in_sync", last)
	}
	if err := regtest.VerifyPull(t.Context(), rc, secondary.Host+"/team/app:v1"); err != nil {
		t.Errorf("pull from the secondary: %v", err)
	}
	// Several envelopes (child manifests by digest, then the tag) may each reach the server;
	// the log says how many started nothing new.
	if n := strings.Count(logs.String(), `msg="registry notification"`); n < len(runs) {
		t.Errorf("%d notifications logged for %d runs", n, len(runs))
	}
	if strings.Contains(logs.String(), hookSecret) {
		t.Error("the server's log holds the webhook secret")
	}
}

func signBody(body string) string {
	mac := hmac.New(sha256.New, []byte(ciKey))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

type ciAnswer struct {
	Run      regdrift.Run `json:"run"`
	Passed   bool         `json:"passed"`
	ExitCode int          `json:"exit_code"`
	Message  string       `json:"message"`
}

// callCI posts a signed CI request that waits and returns the status and the answer.
func callCI(t *testing.T, base, query, body string) (int, ciAnswer) {
	t.Helper()
	status, b := postCI(t, base, query, body)
	var got ciAnswer
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return status, got
}

func postCI(t *testing.T, base, query, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/webhooks/ci"+query,
		strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Regdrift-Signature-256", signBody(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// A pipeline step that waits fails (409) while drift remains and passes (200) once the
// secondary is clean.
func TestCIWebhook_WaitFailsOnDriftAndPassesWhenClean(t *testing.T) {
	s := newSetup(t)
	sv := serveWith(t, map[string]string{"REGDRIFT_CI_SECRET": ciKey},
		s.args(s.primary.URL, "--listen", "127.0.0.1:0")...)
	base, logs := sv.base, sv.stderr
	const scope = `"repositories":["geo/app","geo/tiles"]`

	status, got := callCI(t, base, "?wait=true&timeout=1m", `{`+scope+`,"mode":"dry_run"}`)
	if status != http.StatusConflict || got.Passed || got.ExitCode != 1 ||
		got.Run.Outcome != regdrift.OutcomeDrift || got.Run.Trigger != regdrift.TriggerCI ||
		got.Run.Summary.Drift() == 0 {
		t.Errorf("dry run over drift: %d %+v, want 409, not passed, exit code 1", status, got)
	}

	status, got = callCI(t, base, "?wait=true", `{`+scope+`,"mode":"execute"}`)
	if status != http.StatusOK || !got.Passed || got.ExitCode != 0 ||
		got.Run.Outcome != regdrift.OutcomeInSync || got.Run.Summary.Actions == 0 {
		t.Errorf("execute: %d %+v, want 200, passed, exit code 0 after actions", status, got)
	}

	status, got = callCI(t, base, "?wait=true", `{`+scope+`}`)
	if status != http.StatusOK || !got.Passed || got.Run.Mode != regdrift.ModeDryRun ||
		got.Run.Summary.Drift() != 0 || got.Message != "the run ended in_sync" {
		t.Errorf("dry run when clean: %d %+v, want 200 and passed", status, got)
	}

	// Without wait the answer is the queued run, at once.
	status, b := postCI(t, base, "", `{`+scope+`}`)
	var queued regdrift.Run
	if err := json.Unmarshal(b, &queued); err != nil || status != http.StatusAccepted ||
		queued.ID <= got.Run.ID || queued.Trigger != regdrift.TriggerCI {
		t.Errorf("without wait: %d %s (%v), want 202 with a new CI run", status, b, err)
	}
	if strings.Contains(logs.String(), ciKey) {
		t.Error("the server's log holds the CI key")
	}
}

// A schedule queues dry runs of its own, with no request at all.
func TestServe_CheckIntervalQueuesScheduledDryRuns(t *testing.T) {
	s := newSetup(t)
	base := serveWith(t, nil, s.args(s.primary.URL, "--listen", "127.0.0.1:0",
		"--check-interval", "200ms", "--repo", "geo/app")...).base

	runs := pollRuns(t, base, "finished scheduled run", func(runs []regdrift.Run) bool {
		for _, r := range runs {
			if r.Trigger == regdrift.TriggerSchedule && r.Status.Finished() {
				return true
			}
		}
		return false
	})
	for _, r := range runs {
		if r.Trigger != regdrift.TriggerSchedule || r.Mode != regdrift.ModeDryRun ||
			fmt.Sprint(r.Scope) != "[geo/app]" {
			t.Errorf("run %+v, want a scheduled dry run of geo/app", r)
		}
		if r.Status.Finished() && r.Outcome != regdrift.OutcomeDrift {
			t.Errorf("run %d outcome %s, want drift (geo/app has some)", r.ID, r.Outcome)
		}
	}
}
