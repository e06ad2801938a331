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
	"sync"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/reconcile"
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
		"--webhook-settle", "3s", "--log-level", "debug")
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
	if copied != 1 || len(runs) != 1 {
		t.Errorf("%d actions over %d runs, want one run that copies v1: the events of one "+
			"push settle into one run", copied, len(runs))
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

// notifyDirect posts one push event for repo to the registry webhook, as a registry would.
func notifyDirect(t *testing.T, base, host, repo string, i int) {
	t.Helper()
	body := fmt.Sprintf(`{"events":[{"action":"push","target":{"repository":%q,"tag":"v%d",`+
		`"mediaType":"application/vnd.oci.image.manifest.v1+json"},"request":{"host":%q}}]}`,
		repo, i, host)
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/webhooks/registry",
		strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.docker.distribution.events.v1+json")
	req.Header.Set("X-Regdrift-Webhook-Token", hookSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("notification %d: %d %s", i, resp.StatusCode, b)
	}
}

// A burst of notifications for one repository while its run is busy copying becomes a few
// runs, not one per notification: at most one per run slot (those wait for the repository)
// and one queued run that every later notification joins.
func TestRegistryWebhook_BurstBecomesBoundedRuns(t *testing.T) {
	primary, secondary := dist2.New(t), dist2.New(t)
	rc := regtest.NewClient(primary.Host, secondary.Host)
	if _, err := regtest.Push(t.Context(), rc, primary.Host, "burst/app", "v0",
		regtest.Spec{Kind: regtest.OCIImage, Seed: "burst"}); err != nil {
		t.Fatal(err)
	}
	// The first copy is held at its first blob upload until the burst is in.
	proxy, err := regtest.NewProxy(secondary.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	held, open := make(chan struct{}), make(chan struct{})
	var once sync.Once
	proxy.SetFault(func(r *http.Request) (int, bool) {
		if regtest.KindOf(r.URL.Path) == regtest.PathBlob && r.Method == http.MethodPost {
			once.Do(func() { close(held) })
			select {
			case <-open:
			case <-r.Context().Done():
			}
		}
		return 0, false
	})
	sv := serveWith(t, map[string]string{"REGDRIFT_WEBHOOK_SECRET": hookSecret},
		"--primary", primary.URL, "--secondary", proxy.URL, "--listen", "127.0.0.1:0",
		"--db", filepath.Join(t.TempDir(), "regdrift.db"), "--webhook-mode", "execute",
		"--webhook-settle", "0", "--log-level", "error")

	notifyDirect(t, sv.base, primary.Host, "burst/app", 0)
	select {
	case <-held:
	case <-time.After(time.Minute):
		t.Fatal("the first run never started copying")
	}
	const burst = 200
	for i := 1; i <= burst; i++ {
		notifyDirect(t, sv.base, primary.Host, "burst/app", i)
	}
	var got runList
	apiJSON(t, http.MethodGet, sv.base+"/api/v1/runs", "", http.StatusOK, &got)
	joined := 0
	for _, r := range got.Runs {
		joined += r.Coalesced
	}
	if max := reconcile.DefaultMaxRuns + 1; got.Total > max || got.Total+joined != burst+1 {
		t.Errorf("%d notifications made %d runs (%d joined), want at most %d runs and "+
			"every notification counted", burst+1, got.Total, joined, max)
	}
	t.Logf("%d notifications: %d runs, %d joined a queued run", burst+1, got.Total, joined)

	close(open)
	runs := pollRuns(t, sv.base, "every burst run finished", func(runs []regdrift.Run) bool {
		for _, r := range runs {
			if !r.Status.Finished() {
				return false
			}
		}
		return true
	})
	copies := 0
	for _, r := range runs {
		copies += r.Summary.Actions
		if r.Status != regdrift.RunDone || r.Outcome != regdrift.OutcomeInSync {
			t.Errorf("run %+v, want done and in sync", r)
		}
	}
	if copies != 1 {
		t.Errorf("%d copies over %d runs, want 1", copies, len(runs))
	}
	status, body := getMetrics(t, sv.base)
	want := fmt.Sprintf(`regdrift_webhook_runs_total{outcome="joined",webhook="registry"} %d`,
		joined)
	if status != http.StatusOK || !strings.Contains(body, want+"\n") {
		t.Errorf("/metrics %d lacks %s", status, want)
	}
}

func getMetrics(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// A scheduled execute repairs without anyone asking.
func TestServe_ExecuteIntervalRepairs(t *testing.T) {
	s := newSetup(t)
	base := serveWith(t, nil, s.args(s.primary.URL, "--listen", "127.0.0.1:0",
		"--execute-interval", "200ms", "--repo", "geo/app")...).base

	runs := pollRuns(t, base, "scheduled execute in sync", func(runs []regdrift.Run) bool {
		for _, r := range runs {
			if r.Outcome == regdrift.OutcomeInSync {
				return true
			}
		}
		return false
	})
	for _, r := range runs {
		if r.Trigger != regdrift.TriggerSchedule || r.Mode != regdrift.ModeExecute {
			t.Errorf("run %+v, want a scheduled execute", r)
		}
	}
	want := digestOf(t, s.primary.URL, "geo/app", "latest")
	if got := digestOf(t, s.secondary.URL, "geo/app", "latest"); want == "" || got != want {
		t.Errorf("geo/app:latest is %q on the secondary after the scheduled execute, want %q",
			got, want)
	}
}

// A CI wait that runs out answers 504 with the run as it stands; the run goes on.
func TestCIWebhook_WaitRunsOut(t *testing.T) {
	s := newSetup(t)
	proxy, err := regtest.NewProxy(s.secondary.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	open := make(chan struct{})
	proxy.SetFault(func(r *http.Request) (int, bool) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			select { // every write waits until the wait has run out
			case <-open:
			case <-r.Context().Done():
			}
		}
		return 0, false
	})
	base := serveWith(t, map[string]string{"REGDRIFT_CI_SECRET": ciKey},
		"--primary", s.primary.URL, "--secondary", proxy.URL, "--listen", "127.0.0.1:0",
		"--db", s.db, "--log-level", "error").base

	status, got := callCI(t, base, "?wait=true&timeout=1s",
		`{"repositories":["geo/app"],"mode":"execute"}`)
	close(open)
	if status != http.StatusGatewayTimeout || got.Passed || got.ExitCode != 2 ||
		got.Run.Status != regdrift.RunRunning || got.Message != "the run did not finish "+
		"within 1s; it goes on" {
		t.Errorf("wait that ran out: %d %+v, want 504 with the running run", status, got)
	}
	run := waitRun(t, base, fmt.Sprintf("/api/v1/runs/%d", got.Run.ID))
	if run.Status != regdrift.RunDone || run.Outcome != regdrift.OutcomeInSync {
		t.Errorf("the run after the wait: %+v, want done and in sync", run)
	}
}

// With a settle time, a burst of notifications for one repository is one run that starts once
// they stop.
func TestRegistryWebhook_BurstSettlesIntoOneRun(t *testing.T) {
	primary, secondary := dist2.New(t), dist2.New(t)
	rc := regtest.NewClient(primary.Host, secondary.Host)
	pushed, err := regtest.Push(t.Context(), rc, primary.Host, "burst/app", "v0",
		regtest.Spec{Kind: regtest.OCIImage, Seed: "settle"})
	if err != nil {
		t.Fatal(err)
	}
	sv := serveWith(t, map[string]string{"REGDRIFT_WEBHOOK_SECRET": hookSecret},
		"--primary", primary.URL, "--secondary", secondary.URL, "--listen", "127.0.0.1:0",
		"--db", filepath.Join(t.TempDir(), "regdrift.db"), "--webhook-mode", "execute",
		"--webhook-settle", "2s", "--log-level", "error")

	const burst = 100
	for i := range burst {
		notifyDirect(t, sv.base, primary.Host, "burst/app", i)
	}
	var queued runList
	apiJSON(t, http.MethodGet, sv.base+"/api/v1/runs", "", http.StatusOK, &queued)
	if queued.Total != 1 || queued.Runs[0].NotBefore == nil ||
		queued.Runs[0].Status != regdrift.RunQueued {
		t.Fatalf("after the burst: %+v, want one queued run held back", queued.Runs)
	}
	runs := pollRuns(t, sv.base, "the settled run finished", func(runs []regdrift.Run) bool {
		return len(runs) > 0 && runs[len(runs)-1].Status.Finished()
	})
	if r := runs[0]; len(runs) != 1 || r.Coalesced != burst-1 || r.Status != regdrift.RunDone ||
		r.Outcome != regdrift.OutcomeInSync || r.Summary.Actions != 1 {
		t.Errorf("runs %+v, want one done run that %d notifications joined, with one copy",
			runs, burst-1)
	}
	if got := digestOf(t, secondary.URL, "burst/app", "v0"); got != pushed.Digest().String() {
		t.Errorf("burst/app:v0 on the secondary is %q, want %s", got, pushed.Digest())
	}
}
