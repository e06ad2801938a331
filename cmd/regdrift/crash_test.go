package main_test

// Crash safety of the real binary: `regdrift serve` in a subprocess, killed with SIGKILL or
// stopped with SIGTERM in the middle of copying, then started again on the same SQLite file.
// A gate in front of the secondary holds the copy at a known point, so nothing depends on
// timing.

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath)) // NOTE: a leftover temp dir hurts nobody
	}
	os.Exit(code)
}

// binary builds ./cmd/regdrift once per test process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "regdrift-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "regdrift")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// syncBuffer collects a subprocess's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gate sits in front of the secondary as the proxy's fault hook. It counts the requests of
// every repository (a "/write" key counts its writes) and holds the blob uploads of one
// repository from the nth on until it is opened or the client goes away.
type gate struct {
	mu      sync.Mutex
	counts  map[string]int
	repo    string
	from    int
	uploads int
	reached chan struct{}
	open    chan struct{}
	once    sync.Once
}

func newGate(repo string, from int) *gate {
	return &gate{counts: map[string]int{}, repo: repo, from: from,
		reached: make(chan struct{}), open: make(chan struct{})}
}

var repoPathRE = regexp.MustCompile(`^/v2/(.+?)/(manifests|blobs|tags)/`)

func (g *gate) fault(r *http.Request) (int, bool) {
	m := repoPathRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return 0, false
	}
	g.mu.Lock()
	g.counts[m[1]]++
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	if write {
		g.counts[m[1]+"/write"]++
	}
	hold := false
	if m[1] == g.repo && m[2] == "blobs" && write {
		g.uploads++
		hold = g.uploads >= g.from
	}
	g.mu.Unlock()
	if hold {
		g.once.Do(func() { close(g.reached) })
		select {
		case <-g.open:
		case <-r.Context().Done():
		}
	}
	return 0, false
}

// takeCounts returns the requests per repository since the last call, and starts again.
func (g *gate) takeCounts() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.counts
	g.counts = map[string]int{}
	return c
}

func (g *gate) waitReached(t *testing.T, p *proc) {
	t.Helper()
	select {
	case <-g.reached:
	case <-time.After(time.Minute):
		t.Fatalf("the copy never reached the gate; log:\n%s", p.logs.String())
	}
}

// fixture is a primary with three repositories of two tags each, an empty secondary behind a
// gate, and a database file.
type fixture struct {
	primary, secondary *dist2.Registry
	proxy              *regtest.Proxy
	gate               *gate
	db                 string
}

var repos = []string{"crash/a", "crash/b", "crash/c"}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{primary: dist2.New(t), secondary: dist2.New(t),
		gate: newGate("crash/b", 2), db: filepath.Join(t.TempDir(), "regdrift.db")}
	rc := regtest.NewClient(f.primary.Host)
	for _, repo := range repos {
		for _, tag := range []string{"t1", "t2"} {
			_, err := regtest.Push(t.Context(), rc, f.primary.Host, repo, tag,
				regtest.Spec{Kind: regtest.OCIIndex, Seed: repo + tag})
			if err != nil {
				t.Fatalf("push %s:%s: %v", repo, tag, err)
			}
		}
	}
	p, err := regtest.NewProxy(f.secondary.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close proxy: %v", err)
		}
	})
	p.SetFault(f.gate.fault)
	f.proxy = p
	return f
}

// proc is a running `regdrift serve`.
type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan error
}

const hookSecret = "crash-test-webhook-secret"

var dashboardRE = regexp.MustCompile(`regdrift dashboard: (http://\S+)/`)

// serve starts `regdrift serve` on f's registries and database, one repository and one
// request at a time so that the copy order is known.
func (f *fixture) serve(t *testing.T) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--primary", f.primary.URL,
		"--secondary", f.proxy.URL, "--db", f.db, "--listen", "127.0.0.1:0",
		"--concurrency", "1", "--log-format", "json", "--log-level", "debug",
		"--drain-timeout", "1m")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
		"REGDRIFT_WEBHOOK_SECRET=" + hookSecret}
	var out syncBuffer
	p := &proc{cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = &out, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := dashboardRE.FindStringSubmatch(out.String()); m != nil {
			p.url = m[1]
			return p
		}
		select {
		case err := <-p.done:
			t.Fatalf("serve exited (%v) before listening; log:\n%s", err, p.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not print its URL; log:\n%s", p.logs.String())
	return nil
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve did not exit; log:\n%s", p.logs.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *proc) do(t *testing.T, method, path, body string,
	headers ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, p.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// startExecute asks the server for an execute of every repository and returns the run id.
func (p *proc) startExecute(t *testing.T) int64 {
	t.Helper()
	status, _, b := p.do(t, http.MethodPost, "/api/v1/runs", `{"mode":"execute"}`)
	var run regdrift.Run
	if err := json.Unmarshal(b, &run); err != nil || status != http.StatusAccepted {
		t.Fatalf("start execute: %d %s", status, b)
	}
	return run.ID
}

// waitFinished polls the run until it has finished.
func (p *proc) waitFinished(t *testing.T, id int64) regdrift.Run {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		status, _, b := p.do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", id), "")
		var got struct {
			Run regdrift.Run `json:"run"`
		}
		if err := json.Unmarshal(b, &got); err != nil || status != http.StatusOK {
			t.Fatalf("get run %d: %d %s", id, status, b)
		}
		if got.Run.Status.Finished() {
			return got.Run
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("run %d did not finish; log:\n%s", id, p.logs.String())
	return regdrift.Run{}
}

// waitLog polls the log until it holds msg.
func (p *proc) waitLog(t *testing.T, msg string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if strings.Contains(p.logs.String(), msg) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the log never said %s:\n%s", msg, p.logs.String())
}

// record is what the database file says about a run, read straight from disk.
type record struct {
	status        string
	interruptions int
	// finished maps each repository with a result to whether it was finished.
	finished map[string]bool
	// tags maps "repo:tag" to "action/result".
	tags map[string]string
}

func readRecord(t *testing.T, path string, id int64) record {
	t.Helper()
	conn, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var check string
	if err := conn.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	rec := record{finished: map[string]bool{}, tags: map[string]string{}}
	err = conn.QueryRow(`SELECT status, interruptions FROM runs WHERE id = ?`, id).
		Scan(&rec.status, &rec.interruptions)
	if err != nil {
		t.Fatalf("read run %d: %v", id, err)
	}
	rows, err := conn.Query(`SELECT name, finished FROM run_repos WHERE run_id = ?`, id)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var fin bool
		if err := rows.Scan(&name, &fin); err != nil {
			t.Fatal(err)
		}
		rec.finished[name] = fin
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = conn.Query(`SELECT repository, tag, action, result FROM run_tags
		WHERE run_id = ?`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var repo, tag, action, result string
		if err := rows.Scan(&repo, &tag, &action, &result); err != nil {
			t.Fatal(err)
		}
		rec.tags[repo+":"+tag] = action + "/" + result
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return rec
}

// tagsOf returns the results of repo's rows, sorted.
func (r record) tagsOf(repo string) []string {
	var out []string
	for k, v := range r.tags {
		if strings.HasPrefix(k, repo+":") {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// checkInSync runs `regdrift check` against the secondary itself, not through the gate.
func (f *fixture) checkInSync(t *testing.T) {
	t.Helper()
	cmd := exec.Command(binary(t), "check", "--primary", f.primary.URL, "--secondary",
		f.secondary.URL, "--db", filepath.Join(t.TempDir(), "check.db"), "--deep")
	cmd.Env = []string{"HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("check after the resumed run: %v\n%s", err, out)
	}
}

var (
	copyOK      = "copy/ok"
	copyPlanned = "copy/planned"
	copyRunning = "copy/running"
)

func TestServe_SIGKILLMidCopyResumesWithNothingLostOrRepeated(t *testing.T) {
	f := newFixture(t)
	p := f.serve(t)
	id := p.startExecute(t)
	f.gate.waitReached(t, p)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != -1 {
		t.Fatalf("exit code %d after SIGKILL, want -1 (killed)", code)
	}
	before := f.gate.takeCounts()

	// What the crash left on disk: a's copies done, b's plan recorded with the copy that was
	// cut short marked as started, c not begun.
	crashed := readRecord(t, f.db, id)
	if crashed.status != string(regdrift.RunRunning) || crashed.interruptions != 0 {
		t.Errorf("run after the crash: %+v, want running, never interrupted", crashed)
	}
	wantFinished := map[string]bool{"crash/a": true, "crash/b": false}
	if !maps.Equal(crashed.finished, wantFinished) {
		t.Errorf("repositories %v, want %v", crashed.finished, wantFinished)
	}
	if got := crashed.tagsOf("crash/a"); !slices.Equal(got, []string{copyOK, copyOK}) {
		t.Errorf("crash/a rows %q, want two finished copies", got)
	}
	if got := crashed.tagsOf("crash/b"); !slices.Equal(got, []string{copyPlanned,
		copyRunning}) {
		t.Errorf("crash/b rows %q, want the copy in flight recorded as running", got)
	}
	// The secondary saw writes only where the rows say actions began.
	if before["crash/c/write"] != 0 || before["crash/a/write"] == 0 ||
		before["crash/b/write"] == 0 {
		t.Errorf("requests per repository before the crash: %v", before)
	}

	close(f.gate.open)
	p2 := f.serve(t)
	run := p2.waitFinished(t, id)
	after := f.gate.takeCounts()

	if run.Status != regdrift.RunDone || run.Outcome != regdrift.OutcomeInSync ||
		run.Interruptions != 1 || run.Summary.Actions != 6 ||
		run.Summary.FailedActions != 0 || run.ReposDone != 3 {
		t.Errorf("resumed run %+v, want done, in_sync, one interruption, 6 actions", run)
	}
	if !strings.Contains(p2.logs.String(), `"msg":"runs of an earlier server were cut short; `+
		`they resume","runs":1`) {
		t.Errorf("the restarted server did not say it marked the run interrupted:\n%s",
			p2.logs.String())
	}
	// The finished repository is not touched again; the others are.
	if after["crash/a"] != 0 || after["crash/b"] == 0 || after["crash/c"] == 0 {
		t.Errorf("requests per repository after the restart: %v, want none for crash/a", after)
	}
	final := readRecord(t, f.db, id)
	for _, repo := range repos {
		if got := final.tagsOf(repo); !slices.Equal(got, []string{copyOK, copyOK}) {
			t.Errorf("%s rows %q, want two finished copies", repo, got)
		}
		if !final.finished[repo] {
			t.Errorf("%s not finished", repo)
		}
	}
	f.checkInSync(t)
	p2.stop(t)
}

func TestServe_SIGTERMMidCopyDrainsThenResumes(t *testing.T) {
	f := newFixture(t)
	p := f.serve(t)
	id := p.startExecute(t)
	f.gate.waitReached(t, p)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, `"msg":"draining`)

	// While crash/b's copy is held, the server drains: no intake, reads still served.
	status, hdr, b := p.do(t, http.MethodPost, "/api/v1/runs", `{"mode":"dry_run"}`)
	if status != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" ||
		!strings.Contains(string(b), `"code":"unavailable"`) {
		t.Errorf("run request while draining: %d %q %s, want 503 with Retry-After", status,
			hdr.Get("Retry-After"), b)
	}
	status, hdr, b = p.do(t, http.MethodPost, "/api/v1/webhooks/registry",
		`{"events":[{"action":"push","target":{"repository":"crash/c","tag":"t3",`+
			`"mediaType":"application/vnd.oci.image.manifest.v1+json"}}]}`,
		"X-Regdrift-Webhook-Token", hookSecret)
	if status != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("notification while draining: %d %q %s, want 503 with Retry-After", status,
			hdr.Get("Retry-After"), b)
	}
	if status, _, _ := p.do(t, http.MethodGet, "/readyz", ""); status != 503 {
		t.Errorf("readyz while draining: %d, want 503", status)
	}
	if status, _, _ := p.do(t, http.MethodGet, "/api/v1/runs", ""); status != 200 {
		t.Errorf("run list while draining: %d, want 200", status)
	}

	close(f.gate.open)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; log:\n%s", code, p.logs.String())
	}
	if !strings.Contains(p.logs.String(), `"msg":"drained"`) {
		t.Errorf("the log does not say the drain ended:\n%s", p.logs.String())
	}
	f.gate.takeCounts()

	// The repository in progress was finished, the next one never begun.
	drained := readRecord(t, f.db, id)
	if drained.status != string(regdrift.RunInterrupted) || drained.interruptions != 1 {
		t.Errorf("run after the drain: %+v, want interrupted once", drained)
	}
	wantFinished := map[string]bool{"crash/a": true, "crash/b": true}
	if !maps.Equal(drained.finished, wantFinished) {
		t.Errorf("repositories %v, want %v", drained.finished, wantFinished)
	}
	for _, repo := range repos[:2] {
		if got := drained.tagsOf(repo); !slices.Equal(got, []string{copyOK, copyOK}) {
			t.Errorf("%s rows %q, want two finished copies", repo, got)
		}
	}

	p2 := f.serve(t)
	run := p2.waitFinished(t, id)
	after := f.gate.takeCounts()
	if run.Status != regdrift.RunDone || run.Outcome != regdrift.OutcomeInSync ||
		run.Interruptions != 1 || run.Summary.Actions != 6 || run.ReposDone != 3 {
		t.Errorf("resumed run %+v, want done, in_sync, one interruption, 6 actions", run)
	}
	if after["crash/a"] != 0 || after["crash/b"] != 0 || after["crash/c"] == 0 {
		t.Errorf("requests per repository after the restart: %v, want crash/c only", after)
	}
	if got := readRecord(t, f.db, id).tagsOf("crash/c"); !slices.Equal(got,
		[]string{copyOK, copyOK}) {
		t.Errorf("crash/c rows %q, want two finished copies", got)
	}
	f.checkInSync(t)
	p2.stop(t)
}

// stop ends the process with SIGTERM and checks that it exits 0.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; log:\n%s", code, p.logs.String())
	}
}
