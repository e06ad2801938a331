package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

// TestWebhooks_ContactConfiguredHostsOnly sends a served regdrift webhooks that name a decoy
// host every way they can (the target URL of an event, the host of its request, a repository
// name in a CI request) and checks that the decoy is never contacted while the run the events
// asked for copies from the configured primary.
func TestWebhooks_ContactConfiguredHostsOnly(t *testing.T) {
	var hits atomic.Int64
	decoy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.NotFound(w, nil)
	}))
	defer decoy.Close()
	decoyHost := strings.TrimPrefix(decoy.URL, "http://")
	primary, secondary := dist2.New(t), dist2.New(t)
	rc := regtest.NewClient(primary.Host, secondary.Host)
	pushed, err := regtest.Push(t.Context(), rc, primary.Host, "team/app", "v1",
		regtest.Spec{Kind: regtest.OCIImage, Seed: "hosts"})
	if err != nil {
		t.Fatal(err)
	}
	base := serveWith(t, map[string]string{"REGDRIFT_WEBHOOK_SECRET": hookSecret,
		"REGDRIFT_CI_SECRET": ciKey},
		"--primary", primary.URL, "--secondary", secondary.URL, "--listen", freeAddr(t),
		"--db", filepath.Join(t.TempDir(), "regdrift.db"), "--webhook-mode", "execute").base

	event := func(repo, host string) string {
		return fmt.Sprintf(`{"action":"push","target":{"mediaType":%q,"repository":%q,`+
			`"tag":"v1","digest":%q,"url":"%s/v2/%s/manifests/v1"},"request":{"host":%q}}`,
			pushed.Desc.MediaType, repo, pushed.Digest(), decoy.URL, repo, host)
	}
	body := `{"events":[` + event("team/app", primary.Host) + "," +
		event("team/elsewhere", decoyHost) + `]}`
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/webhooks/registry",
		strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.docker.distribution.events.v1+json")
	req.Header.Set("X-Regdrift-Webhook-Token", hookSecret)
	var answer struct {
		Runs    []struct{ Repository string } `json:"runs"`
		Ignored struct {
			OtherHost int `json:"other_host"`
		} `json:"ignored"`
	}
	doJSON(t, req, http.StatusAccepted, &answer)
	if len(answer.Runs) != 1 || answer.Runs[0].Repository != "team/app" ||
		answer.Ignored.OtherHost != 1 {
		t.Errorf("answer %+v, want one run of team/app and the decoy's event ignored", answer)
	}

	ci := `{"mode":"execute","repositories":["` + decoyHost + `/team/app"]}`
	if status, b := postCI(t, base, "", ci); status != http.StatusBadRequest {
		t.Errorf("a CI request naming the decoy: %d %s, want 400", status, b)
	}

	pollRuns(t, base, "the webhook's run", func(runs []regdrift.Run) bool {
		return len(runs) == 1 && runs[0].Status.Finished()
	})
	if got := digestOf(t, secondary.URL, "team/app", "v1"); got != pushed.Digest().String() {
		t.Errorf("team/app:v1 on the secondary: %q, want %s", got, pushed.Digest())
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the decoy host was contacted %d times", n)
	}
}

// doJSON sends req, wants status and decodes the answer into v.
func doJSON(t *testing.T, req *http.Request, status int, v any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
