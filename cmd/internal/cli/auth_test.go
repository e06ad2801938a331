package cli_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regclient/regclient"
	"github.com/regclient/regclient/config"

	"github.com/regdrift/regdrift/cmd/internal/cli"
	"github.com/regdrift/regdrift/sync/regtest"
	"github.com/regdrift/regdrift/sync/regtest/dist2"
)

func TestCheck_CredentialsFromEnvironment(t *testing.T) {
	const user, password = "mirror", "s3cret-Pa55word-never-logged"
	primary := dist2.New(t, dist2.WithBasicAuth(user, password))
	secondary := dist2.New(t)
	rc := regclient.New(regclient.WithConfigHost(
		config.Host{Name: primary.Host, TLS: config.TLSDisabled, User: user, Pass: password},
		config.Host{Name: secondary.Host, TLS: config.TLSDisabled}))
	spec := regtest.Spec{Kind: regtest.OCIIndex, Seed: "auth", Platforms: 2}
	if _, err := regtest.Push(t.Context(), rc, primary.Host, "app/one", "v1", spec); err != nil {
		t.Fatalf("push to the primary: %v", err)
	}

	args := []string{"check", "--repo", "app/one", "--primary", primary.URL, "--secondary",
		secondary.URL, "--db", filepath.Join(t.TempDir(), "r.db"), "--format", "json",
		"--log-level", "debug"}
	run := func(env map[string]string) (int, string) {
		var out, errOut bytes.Buffer
		code := cli.Main(t.Context(), args, func(k string) string { return env[k] }, &out,
			&errOut)
		if strings.Contains(out.String()+errOut.String(), password) {
			t.Error("the password appears in the output or the log")
		}
		return code, out.String()
	}

	code, out := run(map[string]string{
		"REGDRIFT_PRIMARY_USERNAME": user, "REGDRIFT_PRIMARY_PASSWORD": password,
	})
	if code != 1 || !strings.Contains(out, `"only_on_primary"`) {
		t.Errorf("with credentials: exit %d, want 1 (v1 only on the primary)\n%s", code, out)
	}
	// No docker config either: the refusal is shown and the exit code says error.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	code, out = run(nil)
	if code != 2 || !strings.Contains(out, "unauthorized") {
		t.Errorf("without credentials: exit %d, want 2 with the refusal shown\n%s", code, out)
	}

	// The docker config file serves when the environment has nothing.
	writeDockerConfig(t, primary.Host, user, password)
	if code, out = run(nil); code != 1 {
		t.Errorf("with the docker config: exit %d, want 1\n%s", code, out)
	}
	// The environment wins over a stale docker config.
	writeDockerConfig(t, primary.Host, user, "an-old-password")
	if code, out = run(map[string]string{
		"REGDRIFT_PRIMARY_USERNAME": user, "REGDRIFT_PRIMARY_PASSWORD": password,
	}); code != 1 {
		t.Errorf("environment over a stale docker config: exit %d, want 1\n%s", code, out)
	}
}

// writeDockerConfig points DOCKER_CONFIG at a config.json holding one login for host.
func writeDockerConfig(t *testing.T, host, user, password string) {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	cfg := fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}
