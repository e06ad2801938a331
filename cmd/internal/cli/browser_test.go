package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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

// waitRunFinished polls the run page, which refreshes itself, until the run has finished.
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

func TestDashboard_DryRunAndExecuteFromTheBrowser(t *testing.T) {
	ctx := browser(t)
	s := newSetup(t)
	if code, out, _ := runCLI(t.Context(), s.args(s.primary.URL, "check", "--deep")...); code != 1 {
		t.Fatalf("first check: exit %d\n%s", code, out)
	}
	base := startServe(t, s)

	// The overview shows the drift, worst first.
	err := chromedp.Do(ctx, chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="repo-table"]`)))
	if err != nil {
		t.Fatalf("open overview: %v", err)
	}
	screenshot(t, ctx, "overview")
	row := `[data-testid="repo-row"][data-repo="geo/app"]`
	if got := text(t, ctx, row+` [data-testid="repo-status"]`); !strings.EqualFold(got, "drift") {
		t.Errorf("geo/app status on the overview = %q, want drift", got)
	}

	// A dry run from the overview completes.
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="dry-run-all"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="run-facts"]`)))
	if err != nil {
		t.Fatalf("start dry run: %v", err)
	}
	if got := waitRunFinished(t, ctx); got != "done" {
		t.Errorf("dry run ended %s, want done", got)
	}
	screenshot(t, ctx, "run-dry")

	// An execute of one repository asks first, then repairs it.
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/repositories/"+regtest.DemoApp),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="tag-table"]`)))
	if err != nil {
		t.Fatalf("open repository: %v", err)
	}
	screenshot(t, ctx, "repository-before")
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="execute-repo"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm-execute"]`)))
	if err != nil {
		t.Fatalf("open confirmation: %v", err)
	}
	if got := text(t, ctx, `[data-testid="confirm-copies"]`); got != "2" {
		t.Errorf("confirmation says %q copies, want 2", got)
	}
	screenshot(t, ctx, "confirm")
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="confirm-execute"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="run-facts"]`)))
	if err != nil {
		t.Fatalf("confirm execute: %v", err)
	}
	if got := waitRunFinished(t, ctx); got != "done" {
		t.Errorf("execute ended %s, want done", got)
	}
	outcome, err := attr(ctx, `[data-testid="run-outcome"]`, "data-outcome")
	if err != nil || outcome != "in_sync" {
		t.Errorf("execute outcome %q (%v), want in_sync", outcome, err)
	}
	screenshot(t, ctx, "run-execute")

	err = chromedp.Do(ctx, chromedp.Navigate(base+"/repositories/"+regtest.DemoApp),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="tag-table"]`)))
	if err != nil {
		t.Fatal(err)
	}
	status, err := attr(ctx, `[data-testid="repo-status"]`, "data-status")
	if err != nil || status != "in_sync" {
		t.Errorf("geo/app after the execute: status %q (%v), want in_sync",
			status, err)
	}
	screenshot(t, ctx, "repository-after")
}
