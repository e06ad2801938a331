package cli

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/registry"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig_FlagsOverEnvOverFileOverDefaults(t *testing.T) {
	file := writeFile(t, "c.yaml", `
primary: {url: "http://127.0.0.1:5001"}
secondary: {url: "http://127.0.0.1:5002", username: from-file}
db: file.db
concurrency: 3
listen: 127.0.0.1:9999
log_level: debug
repositories: [a, b]
session_ttl: 30m
guard_repo_min: 20
guard_run_max: 900
`)
	env := map[string]string{"REGDRIFT_DB": "env.db", "REGDRIFT_CONCURRENCY": "4",
		"REGDRIFT_SECONDARY_USERNAME": "from-env", "REGDRIFT_NO_DELETE": "true",
		"REGDRIFT_GUARD_REPO_SHARE": "0.25", "REGDRIFT_GUARD_RUN_MAX": "700"}
	cfg, err := loadConfig("serve", []string{"--config", file, "--concurrency", "5",
		"--guard-run-max", "600"},
		envOf(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := defaults()
	want.ConfigFile = file
	want.Primary.URL, want.Secondary.URL = "http://127.0.0.1:5001", "http://127.0.0.1:5002"
	want.Secondary.Username = "from-env" // env over file
	want.DBPath = "env.db"               // env over file
	want.Concurrency = 5                 // flag over env over file
	want.Listen = "127.0.0.1:9999"       // file over default
	want.LogLevel = slog.LevelDebug      // file over default
	want.Repos = []string{"a", "b"}      // file
	want.SessionTTL = 30 * time.Minute   // file
	want.NoDelete = true                 // env over default
	want.GuardRepoShare = 0.25           // env over default
	want.GuardRepoMin = 20               // file over default
	want.GuardRunMax = 600               // flag over env over file
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config\n got %+v\nwant %+v", cfg, want)
	}

	// A --repo replaces the file's list rather than adding to it; =value spellings work.
	cfg, err = loadConfig("check", []string{"-config=" + file, "--repo", "c", "--repo=d"},
		envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Repos, []string{"c", "d"}) || cfg.Format != "table" {
		t.Errorf("repos %q format %q, want [c d] and table", cfg.Repos, cfg.Format)
	}
	// REGDRIFT_CONFIG names the file when no flag does.
	cfg, err = loadConfig("check", nil, envOf(map[string]string{"REGDRIFT_CONFIG": file}),
		io.Discard)
	if err != nil || cfg.DBPath != "file.db" {
		t.Errorf("REGDRIFT_CONFIG: db %q err %v, want file.db", cfg.DBPath, err)
	}
}

func TestLoadConfig_Refusals(t *testing.T) {
	cases := map[string]struct {
		file string
		env  map[string]string
		want string
	}{
		"unknown key":    {file: "no_delet: true\n", want: "no_delet"},
		"wrong type":     {file: "concurrency: many\n", want: "many"},
		"bad env":        {env: map[string]string{"REGDRIFT_CONCURRENCY": "x"}, want: "REGDRIFT_CONCURRENCY"},
		"bad env level":  {env: map[string]string{"REGDRIFT_LOG_LEVEL": "loud"}, want: "REGDRIFT_LOG_LEVEL"},
		"missing secret": {file: "primary: {password: {file: /nonexistent/pw}}\n", want: "/nonexistent/pw"},
		"secret shape":   {file: "primary: {password: [a]}\n", want: "{file: PATH}"},
		"bad secret file": {
			env:  map[string]string{"REGDRIFT_PRIMARY_PASSWORD_FILE": "/nonexistent"},
			want: "REGDRIFT_PRIMARY_PASSWORD_FILE",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var args []string
			if tc.file != "" {
				args = []string{"--config", writeFile(t, "c.yaml", tc.file)}
			}
			_, err := loadConfig("serve", args, envOf(tc.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestSecret_NeverPrinted(t *testing.T) {
	const pw = "hunter2-but-longer"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "c.yaml", fmt.Sprintf("primary: {password: {file: %s}}\n",
		filepath.Join(dir, "pw")))
	cfg, err := loadConfig("serve", []string{"--config", file}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Primary.Password != pw {
		t.Fatalf("password from file: got %d bytes, want %d", len(cfg.Primary.Password), len(pw))
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg,
		"password", cfg.Primary.Password)
	out := fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.Primary.Password) + logs.String()
	if strings.Contains(out, pw) {
		t.Errorf("the password is printed: %s", out)
	}

	// The environment's _FILE form, and the value itself, which wins over the file.
	cfg, err = loadConfig("serve", nil, envOf(map[string]string{
		"REGDRIFT_SECONDARY_PASSWORD_FILE": filepath.Join(dir, "pw")}), io.Discard)
	if err != nil || cfg.Secondary.Password != pw {
		t.Errorf("REGDRIFT_SECONDARY_PASSWORD_FILE: err %v", err)
	}
	cfg, err = loadConfig("serve", nil, envOf(map[string]string{
		"REGDRIFT_SECONDARY_PASSWORD_FILE": filepath.Join(dir, "pw"),
		"REGDRIFT_SECONDARY_PASSWORD":      "direct"}), io.Discard)
	if err != nil || cfg.Secondary.Password != "direct" {
		t.Errorf("REGDRIFT_SECONDARY_PASSWORD over _FILE: err %v", err)
	}
}

// TestConfig_EveryFieldInTheFile checks that each setting has a yaml name (or says "-"), so
// that a field added for a new setting cannot be left out of the file by mistake.
func TestConfig_EveryFieldInTheFile(t *testing.T) {
	typ := reflect.TypeFor[Config]()
	names := map[string]bool{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, ok := f.Tag.Lookup("yaml")
		if !ok {
			t.Errorf("Config.%s has no yaml tag", f.Name)
		}
		if names[tag] && tag != "-" {
			t.Errorf("yaml name %q is used twice", tag)
		}
		names[tag] = true
	}
}

// TestExampleFile_LoadsAndValidates keeps regdrift.example.yaml in step with Config: it must
// load with every key known, and validate, once its secret files exist.
func TestExampleFile_LoadsAndValidates(t *testing.T) {
	b, err := os.ReadFile("../../../regdrift.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"primary-password", "secondary-password", "regdrift-ci-token",
		"regdrift-webhook-secret", "regdrift-ci-secret"} {
		if err := os.WriteFile(filepath.Join(dir, name),
			[]byte("secret-of-"+name+"-0123456789\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	file := writeFile(t, "regdrift.yaml",
		strings.ReplaceAll(string(b), "/run/secrets/", dir+string(filepath.Separator)))
	cfg, err := loadConfig("serve", []string{"--config", file}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the example does not validate: %v", err)
	}
	tokens, _ := cfg.serverTokens()
	if len(tokens) != 3 || cfg.Secondary.Password != "secret-of-secondary-password-0123456789" ||
		!cfg.secureCookies() || cfg.LogFormat != "json" {
		t.Errorf("example: %d tokens, secure cookies %v, log format %q", len(tokens),
			cfg.secureCookies(), cfg.LogFormat)
	}
	if cfg.WebhookSecret != "secret-of-regdrift-webhook-secret-0123456789" ||
		cfg.CISecret != "secret-of-regdrift-ci-secret-0123456789" ||
		cfg.WebhookMode != regdrift.ModeDryRun || cfg.WebhookSettle != 2*time.Second ||
		cfg.CheckInterval != 15*time.Minute ||
		cfg.ExecuteInterval != 0 || cfg.DrainTimeout != 30*time.Second {
		t.Errorf("example triggers: mode %s, check %v, execute %v, drain %v", cfg.WebhookMode,
			cfg.CheckInterval, cfg.ExecuteInterval, cfg.DrainTimeout)
	}
}

// The triggers come from the file, the environment (secrets from NAME_FILE too) and flags,
// each overriding the one before, and bad values are refused.
func TestTriggers_Config(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "hook")
	if err := os.WriteFile(secretFile, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "regdrift.yaml", "webhook_mode: execute\ncheck_interval: 1h\n"+
		"ci_secret: in-the-file\n")
	env := envOf(map[string]string{"REGDRIFT_WEBHOOK_SECRET_FILE": secretFile,
		"REGDRIFT_CHECK_INTERVAL": "10m", "REGDRIFT_CI_SECRET": "from-env",
		"REGDRIFT_PRIMARY": "http://127.0.0.1:1", "REGDRIFT_SECONDARY": "http://127.0.0.1:2"})
	cfg, err := loadConfig("serve", []string{"--config", file, "--execute-interval", "6h",
		"--webhook-host", "registry.example", "--webhook-host", "lb.example:5000"}, env,
		io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.WebhookSecret != "from-a-file" || cfg.CISecret != "from-env" ||
		cfg.WebhookMode != regdrift.ModeExecute || cfg.CheckInterval != 10*time.Minute ||
		cfg.ExecuteInterval != 6*time.Hour ||
		!slices.Equal(cfg.webhooks(registry.Endpoint{Host: "p:1"},
			registry.Endpoint{Host: "s:2"}).Hosts,
			[]string{"p:1", "s:2", "registry.example", "lb.example:5000"}) {
		t.Errorf("got secret %q ci %q mode %s check %v execute %v", string(cfg.WebhookSecret),
			string(cfg.CISecret), cfg.WebhookMode, cfg.CheckInterval, cfg.ExecuteInterval)
	}
	for _, args := range [][]string{
		{"--webhook-mode", "dry-run"}, {"--check-interval", "-1m"}, {"--drain-timeout", "0s"},
		{"--webhook-settle", "2m"}, {"--webhook-host", "http://x/"},
	} {
		cfg, err := loadConfig("serve", args, env, io.Discard)
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%q: error %v, want one that names %s", args, err, args[0])
		}
	}
}

func TestTokens_FromEnvironmentAndFile(t *testing.T) {
	long := strings.Repeat("k", minTokenLen)
	hash := strings.Repeat("ab", 32)
	file := writeFile(t, "tokens", "# who:role:token\nalice:admin:"+long+"\n\nprom:viewer:sha256:"+
		hash+"\n")
	for name, env := range map[string]map[string]string{
		"REGDRIFT_TOKENS":      {"REGDRIFT_TOKENS": "alice:admin:" + long + ", prom:viewer:sha256:" + hash},
		"REGDRIFT_TOKENS_FILE": {"REGDRIFT_TOKENS_FILE": file},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := defaults()
			cfg.Tokens = []TokenConfig{{Name: "from-file", Role: "admin", Token: Secret(long + "x")}}
			if err := cfg.applyEnv(envOf(env)); err != nil {
				t.Fatal(err)
			}
			want := []TokenConfig{{Name: "alice", Role: "admin", Token: Secret(long)},
				{Name: "prom", Role: "viewer", SHA256: hash}}
			if !reflect.DeepEqual(cfg.Tokens, want) {
				t.Errorf("tokens %+v, want %+v (the file's replaced)", cfg.Tokens, want)
			}
			if _, err := cfg.serverTokens(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestTokens_Refusals(t *testing.T) {
	long := strings.Repeat("s", minTokenLen)
	cases := map[string]struct {
		tokens []TokenConfig
		want   string
	}{
		"no name":  {[]TokenConfig{{Role: "admin", Token: Secret(long)}}, "needs a name"},
		"bad role": {[]TokenConfig{{Name: "a", Role: "root", Token: Secret(long)}}, "root"},
		"short":    {[]TokenConfig{{Name: "a", Role: "admin", Token: "short-secret"}}, "shorter"},
		"neither":  {[]TokenConfig{{Name: "a", Role: "admin"}}, "either"},
		"both":     {[]TokenConfig{{Name: "a", Role: "admin", Token: Secret(long), SHA256: "00"}}, "either"},
		"bad hash": {[]TokenConfig{{Name: "a", Role: "admin", SHA256: "xyz"}}, "hex"},
		"same name": {[]TokenConfig{{Name: "a", Role: "admin", Token: Secret(long)},
			{Name: "a", Role: "viewer", Token: Secret(long + "2")}}, "twice"},
		"same secret": {[]TokenConfig{{Name: "a", Role: "admin", Token: Secret(long)},
			{Name: "b", Role: "viewer", Token: Secret(long)}}, "same secret"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := Config{Tokens: tc.tokens}
			_, err := cfg.serverTokens()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), long) || strings.Contains(err.Error(), "short-secret") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	cfg := defaults()
	err := cfg.applyEnv(envOf(map[string]string{"REGDRIFT_TOKENS": "alice-admin-" + long}))
	if err == nil || strings.Contains(err.Error(), long) {
		t.Errorf("a malformed item: err %v, want an error that does not repeat it", err)
	}
}

func TestMaybeLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:8080": true, "127.0.0.2:1": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "10.0.0.5:8080": false,
		"garbage": false,
	} {
		if got := maybeLoopback(addr); got != want {
			t.Errorf("maybeLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
