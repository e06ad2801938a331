package cli_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/regdrift/regdrift/sync/regtest"
)

// chromium returns the browser binary, skipping the test where there is none; CI installs it,
// so there a missing browser fails the test instead.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; `make deps` installs it")
	}
	t.Skip("chromium is not installed; `make deps` installs it")
	return ""
}

// browser starts headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// artifacts is where screenshots go: $REGDRIFT_ARTIFACTS (make test sets it) or a temp dir.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("REGDRIFT_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(artifacts(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// attr reads an attribute of the first element matching a CSS selector.
func attr(ctx context.Context, sel, name string) (string, error) {
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	return v.Value, err
}

// waitRunFinished polls the run page, which keeps itself current, until the run has finished.
func waitRunFinished(t *testing.T, ctx context.Context) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		status, err := attr(ctx, `[data-testid="run-status"]`, "data-status")
		if err == nil && (status == "done" || status == "failed" || status == "canceled") {
			return status
		}
		if err := chromedp.Do(ctx, chromedp.Sleep(200*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the run page never showed a finished run")
	return ""
}

// eval runs a JavaScript expression in the page and returns its value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// slowProxy forwards to target, holding each manifest request for delay: a primary slow
// enough that a run lasts a few seconds, so that its page can be watched while it runs.
func slowProxy(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			time.Sleep(delay)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestDashboard_OperatorJourney walks the dashboard as an operator would, in headless
// Chromium against the real server and registries with the demo drift: the overview, filtered
// to drift and searched; a repository; a dry run watched to its end without a reload; the run,
// filtered; the runs; then an execute, confirmed, that turns the repository in sync. It saves a
// screenshot of each page, at 1280 px and, for the overview, at phone width.
func TestDashboard_OperatorJourney(t *testing.T) {
	ctx := browser(t)
	s := newSetup(t)
	if code, out, _ := runCLI(t.Context(), s.args(s.primary.URL, "check", "--deep")...); code != 1 {
		t.Fatalf("first check: exit %d\n%s", code, out)
	}
	base := startServeWith(t, s, slowProxy(t, s.primary.URL, 25*time.Millisecond))

	// The overview says at once that the secondary drifted, and lists the worst first.
	navigate(t, ctx, base+"/", `[data-testid="repo-table"]`)
	screenshot(t, ctx, "overview")
	if got, _ := attr(ctx, `[data-testid="verdict"]`, "data-verdict"); got != "drift" {
		t.Errorf("verdict = %q, want drift", got)
	}
	row := `[data-testid="repo-row"][data-repo="geo/app"]`
	if got := text(t, ctx, row+` [data-testid="repo-status"]`); !strings.EqualFold(got, "drift") {
		t.Errorf("geo/app status on the overview = %q, want drift", got)
	}

	// Filter to drift, then search by name: the list narrows to what matches.
	click(t, ctx, `[data-testid="repo-filter"][data-filter="drift"]`, `[data-testid="repo-table"]`)
	if got, _ := attr(ctx, `[data-testid="repo-filter"][data-filter="drift"]`,
		"aria-current"); got != "page" {
		t.Errorf("drift filter not marked current: %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-testid="repo-row"]').length`); n != 6 {
		t.Errorf("drifting repositories listed: %d, want 6", n)
	}
	err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#q`), "geo/"),
		chromedp.Click(chromedp.CSS(`[data-testid="repo-search-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="clear-search"]`)))
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	names := eval[[]string](t, ctx, `Array.from(document.querySelectorAll(
		'[data-testid="repo-row"]')).map(r => r.dataset.repo)`)
	slices.Sort(names) // the page lists them worst first
	if strings.Join(names, " ") != "geo/app geo/tiles" {
		t.Errorf("search for geo/ among drifting repositories: %v", names)
	}
	screenshot(t, ctx, "overview-filtered")

	// A repository: every tag, both digests, platforms of its indexes.
	click(t, ctx, row+` th a`, `[data-testid="tag-table"]`)
	platforms := eval[[]string](t, ctx, `Array.from(document.querySelectorAll(
		'[data-tag="2.1"] [data-testid="platform"]')).map(p => p.textContent)`)
	if len(platforms) != 3 {
		t.Errorf("platforms of geo/app:2.1 = %v, want 3", platforms)
	}
	screenshot(t, ctx, "repository-before")

	// A dry run of all repositories, watched without a reload until it ends.
	navigate(t, ctx, base+"/", `[data-testid="dry-run-all"]`)
	click(t, ctx, `[data-testid="dry-run-all"]`, `[data-testid="run-progress"]`)
	eval[bool](t, ctx, `window.regdriftNoReload = true`)
	if live := eval[bool](t, ctx, `!!document.querySelector('[data-live]')`); !live {
		t.Fatal("the run ended before its page could be watched; the primary is not slow enough")
	}
	screenshot(t, ctx, "run-live")
	if got := waitRunFinished(t, ctx); got != "done" {
		t.Errorf("dry run ended %s, want done", got)
	}
	if !eval[bool](t, ctx, `window.regdriftNoReload === true`) {
		t.Error("the run page reloaded; it should update in place")
	}
	done, _ := attr(ctx, `[data-testid="progress-repos"]`, "data-done")
	total, _ := attr(ctx, `[data-testid="progress-repos"]`, "data-total")
	if done != "6" || total != "6" {
		t.Errorf("progress at the end: %s of %s repositories, want 6 of 6", done, total)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-testid="run-repo-row"]').length`); n != 6 {
		t.Errorf("repositories on the finished run page: %d, want 6", n)
	}
	screenshot(t, ctx, "run-dry")

	// The run's tags filtered to one state.
	click(t, ctx, `[data-testid="tag-filter"][data-filter="stale"]`, `[data-testid="tag-table"]`)
	states := eval[[]string](t, ctx, `Array.from(document.querySelectorAll(
		'[data-testid="tag-row"] [data-testid="state-badge"]')).map(b => b.dataset.state)`)
	if len(states) == 0 || strings.Trim(strings.Join(states, " "), "stale ") != "" {
		t.Errorf("stale filter shows states %v", states)
	}

	// The runs, newest first.
	navigate(t, ctx, base+"/runs", `[data-testid="run-table"]`)
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-testid="run-row"]').length`); n != 2 {
		t.Errorf("runs listed: %d, want 2", n)
	}
	screenshot(t, ctx, "runs")

	// An execute of one repository asks first, then repairs it.
	navigate(t, ctx, base+"/repositories/"+regtest.DemoApp, `[data-testid="tag-table"]`)
	click(t, ctx, `[data-testid="execute-repo"]`, `[data-testid="confirm-execute"]`)
	if got := text(t, ctx, `[data-testid="confirm-copies"]`); got != "2" {
		t.Errorf("confirmation says %q copies, want 2", got)
	}
	screenshot(t, ctx, "confirm")
	click(t, ctx, `[data-testid="confirm-execute"]`, `[data-testid="run-facts"]`)
	if got := waitRunFinished(t, ctx); got != "done" {
		t.Errorf("execute ended %s, want done", got)
	}
	outcome, err := attr(ctx, `[data-testid="run-outcome"]`, "data-outcome")
	if err != nil || outcome != "in_sync" {
		t.Errorf("execute outcome %q (%v), want in_sync", outcome, err)
	}
	screenshot(t, ctx, "run-execute")

	navigate(t, ctx, base+"/repositories/"+regtest.DemoApp, `[data-testid="tag-table"]`)
	status, err := attr(ctx, `[data-testid="repo-status"]`, "data-status")
	if err != nil || status != "in_sync" {
		t.Errorf("geo/app after the execute: status %q (%v), want in_sync", status, err)
	}
	screenshot(t, ctx, "repository-after")

	// On a phone the overview keeps to the screen's width.
	err = chromedp.Do(ctx, chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="verdict"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("overview on a phone is %d px wide, wider than the screen", w)
	}
	screenshot(t, ctx, "overview-phone")
}

// navigate opens u and waits for sel.
func navigate(t *testing.T, ctx context.Context, u, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(u),
		chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
}

// click clicks what and waits for sel.
func click(t *testing.T, ctx context.Context, what, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(what)),
		chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", what, err)
	}
}
