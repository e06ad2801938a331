package static_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/regdrift/regdrift/static"
)

func TestStyleURL_HashOfContent(t *testing.T) {
	body, err := os.ReadFile("style.css")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	want := "/static/style." + hex.EncodeToString(sum[:4]) + ".css"
	if got := static.StyleURL(); got != want {
		t.Errorf("StyleURL: got %q, want %q", got, want)
	}
}

func TestHandler(t *testing.T) {
	body, err := os.ReadFile("style.css")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path   string
		status       int
		cache, ctype string
		body         string
	}{
		{"hashed name", static.StyleURL(), http.StatusOK,
			"public, max-age=31536000, immutable", "text/css; charset=utf-8", string(body)},
		{"plain name", "/static/style.css", http.StatusNotFound, "", "", ""},
		{"stale hash", "/static/style.00000000.css", http.StatusNotFound, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			static.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))

			res := rec.Result()
			got, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status {
				t.Errorf("status: got %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status != http.StatusOK {
				return
			}
			if c := res.Header.Get("Cache-Control"); c != tt.cache {
				t.Errorf("Cache-Control: got %q, want %q", c, tt.cache)
			}
			if c := res.Header.Get("Content-Type"); c != tt.ctype {
				t.Errorf("Content-Type: got %q, want %q", c, tt.ctype)
			}
			if string(got) != tt.body {
				t.Errorf("body: got %d bytes, want the %d of style.css", len(got), len(tt.body))
			}
		})
	}
}

func TestURL_UnknownPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("URL of a file that is not embedded did not panic")
		}
	}()
	static.URL("nope.js")
}
