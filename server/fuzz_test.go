package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/db"
)

// fuzzBody fuzzes parse, a decoder of a request body, the way the server runs it: behind the
// body limit. Whatever the body, parse must not panic, and an error must be one a client can
// read: a 4xx code and a short message that names no Go type. When parse accepts a body,
// accepted checks what it made of it.
//
// It is meant for every body the server decodes: the run request here, webhook bodies next
// (fuzzBody(f, parseRegistryWebhook, check, seeds...)).
func fuzzBody[T any](f *testing.F, parse func(*http.Request) (T, error),
	accepted func(t *testing.T, v T), seeds ...string) {
	f.Helper()
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, maxBody)
		v, err := parse(r)
		if err == nil {
			accepted(t, v)
			return
		}
		checkClientError(t, err)
	})
}

// checkClientError fails unless err is an error the API shows a client as a 4xx.
func checkClientError(t *testing.T, err error) {
	t.Helper()
	code, msg := regdrift.ErrorCode(err), regdrift.ErrorMessage(err)
	if status := errorStatus(code); status < 400 || status > 499 {
		t.Fatalf("error %q has code %q (status %d), want a 4xx", err, code, status)
	}
	if msg == "" || len(msg) > 300 || !utf8.ValidString(msg) {
		t.Fatalf("message %q: want short, readable text", msg)
	}
	for _, leak := range []string{"regdrift.", "[]string", "json: ", "reflect"} {
		if strings.Contains(msg, leak) {
			t.Fatalf("message %q shows internals (%q)", msg, leak)
		}
	}
}

func FuzzParseRunRequest(f *testing.F) {
	fuzzBody(f, parseRunRequest, func(t *testing.T, req regdrift.RunRequest) {
		if !req.Mode.Valid() || req.Trigger != regdrift.TriggerAPI {
			t.Fatalf("accepted mode %q trigger %q", req.Mode, req.Trigger)
		}
		seen := map[string]bool{}
		for _, name := range req.Repositories {
			if regdrift.ValidateRepoName(name) != nil || seen[name] {
				t.Fatalf("accepted repositories %q", req.Repositories)
			}
			seen[name] = true
		}
		// What was accepted reads back the same when sent again.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseRunRequest(httptest.NewRequest(http.MethodPost, "/",
			bytes.NewReader(b)))
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("%s read back as %+v, %v; want %+v", b, again, err, req)
		}
	},
		``, `{}`, `{"mode":"execute","repositories":["geo/app","base"],"deep":true}`,
		`{"mode":"dry_run","no_delete":true,"allow_mass_delete":true}`,
		`{"mode":"execute","nodelete":true}`, `{"repositories":["a","a","b"]}`,
		`{"repositories":["127.0.0.1:5000/x"]}`, `{"repositories":["a/../b"]}`,
		`{"mode":5}`, `{"deep":"yes"}`, `[]`, `"x"`, `{} {}`, `{"mode":"execute"`,
		`{"repositories":["`+strings.Repeat("a", 300)+`"]}`, "{\"mode\":\"\xff\"}",
	)
}

// FuzzRepositoryPath asks the API and the dashboard for any repository path: nothing may
// answer with a 5xx, and a name the server takes must be a valid one.
func FuzzRepositoryPath(f *testing.F) {
	store, err := db.Open(f.Context(), filepath.Join(f.TempDir(), "regdrift.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	// The pages read from the store only; a run service that is never called will do.
	srv := New(Config{Store: store, Runs: struct{ regdrift.RunService }{},
		Logger:  slog.New(slog.DiscardHandler),
		Primary: "https://primary.example", Secondary: "https://mirror.example"})
	for _, s := range []string{"geo/app", "a//b", "Bad/Name", "a/../b", "%2e%2e/x",
		"a%2Fb", "127.0.0.1:5000/x", "x?y=1", "a/b/", strings.Repeat("a/", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, prefix := range []string{"/api/v1/repositories/", "/repositories/"} {
			req, err := http.NewRequest(http.MethodGet, "http://x"+prefix+name, nil)
			if err != nil {
				return // not a request a client could send
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("GET %s%s: %d %s", prefix, name, rec.Code, rec.Body)
			}
		}
	})
}

// FuzzRegistryWebhook feeds any body to the envelope decoder and what it accepts to the event
// filter: every event is either ignored or names a valid, covered repository on our hosts.
func FuzzRegistryWebhook(f *testing.F) {
	s := &Server{hooks: Webhooks{Repositories: []string{"geo/app", "base"},
		Hosts: []string{"primary.example:5000"}}}
	fuzzBody(f, parseEnvelope, func(t *testing.T, env envelope) {
		repos, ign := s.affected(env)
		if ign.total() > len(env.Events) || len(repos) > len(env.Events)-ign.total() {
			t.Fatalf("%d events gave %d repositories and %+v ignored", len(env.Events),
				len(repos), ign)
		}
		for i, name := range repos {
			if regdrift.ValidateRepoName(name) != nil || !s.covers(name) ||
				(i > 0 && repos[i-1] >= name) {
				t.Fatalf("affected %q", repos)
			}
		}
	},
		`{"events":[]}`, `{}`, ``, `[]`, `{"events":null}`, `{"events":{}}`,
		`{"events":[{"action":"push","target":{"repository":"geo/app","tag":"v1",`+
			`"mediaType":"application/vnd.oci.image.manifest.v1+json"},`+
			`"request":{"host":"primary.example:5000"}}]}`,
		`{"events":[{"action":"delete","target":{"repository":"base","digest":"sha256:x"}}]}`,
		`{"events":[{"action":"push","target":{"repository":"geo/app"},`+
			`"request":{"host":"evil.example"}}]}`,
		`{"events":[{"action":"push","target":{"repository":"../etc","tag":"x"}}]}`,
		`{"events":[{"action":"pull"},{"action":"mount"},{"action":7}]}`,
		`{"events":[{"target":"x"}]}`, `{"events":[1,2,3]}`, `{"events":[]}{}`,
	)
}

// FuzzCIWebhook signs any body correctly and feeds it to the CI request parser: it must
// refuse with a 4xx or accept a valid run request of trigger ci, inside the configuration.
func FuzzCIWebhook(f *testing.F) {
	const key = "fuzz-key"
	s := &Server{hooks: Webhooks{CISecret: key, Repositories: []string{"geo/app", "base"}}}
	parse := func(r *http.Request) (regdrift.RunRequest, error) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return regdrift.RunRequest{}, bodyError(err)
		}
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write(body)
		r.Header.Set(headerSignature, "sha256="+hex.EncodeToString(mac.Sum(nil)))
		r.Body = io.NopCloser(bytes.NewReader(body))
		req, _, _, err := s.parseCIRequest(r)
		return req, err
	}
	fuzzBody(f, parse, func(t *testing.T, req regdrift.RunRequest) {
		if !req.Mode.Valid() || req.Trigger != regdrift.TriggerCI || len(req.Repositories) == 0 {
			t.Fatalf("accepted %+v", req)
		}
		for _, name := range req.Repositories {
			if !s.covers(name) {
				t.Fatalf("accepted %q, outside the configuration", name)
			}
		}
	},
		``, `{}`, `{"repositories":["geo/app"],"mode":"execute"}`, `{"mode":"dry-run"}`,
		`{"repositories":["other"]}`, `{"repositories":["geo/app"],"allow_mass_delete":true}`,
		`{"repositories":"geo/app"}`, `{"x":1}`, `[]`, `{"mode":"execute"} {}`,
	)
}
