package static_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/regdrift/regdrift/static"
)

func TestURL_HashOfContent(t *testing.T) {
	tests := []struct {
		file, base, ext string
		url             func() string
	}{
		{"style.css", "style", ".css", static.StyleURL},
		{"icon.svg", "icon", ".svg", static.IconURL},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(body)
			want := "/static/" + tt.base + "." + hex.EncodeToString(sum[:4]) + tt.ext
			if got := tt.url(); got != want {
				t.Errorf("URL: got %q, want %q", got, want)
			}
		})
	}
}

// TestIcon_WellFormed guards the hand-written icon: a browser shows nothing at all for an SVG
// that does not parse, and no other test would notice.
func TestIcon_WellFormed(t *testing.T) {
	body, err := os.ReadFile("icon.svg")
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	var root string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("icon.svg: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Space + " " + se.Name.Local
		}
	}
	if want := "http://www.w3.org/2000/svg svg"; root != want {
		t.Errorf("root element: got %q, want %q", root, want)
	}
}

func TestHandler(t *testing.T) {
	style, err := os.ReadFile("style.css")
	if err != nil {
		t.Fatal(err)
	}
	icon, err := os.ReadFile("icon.svg")
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
			"public, max-age=31536000, immutable", "text/css; charset=utf-8", string(style)},
		{"icon", static.IconURL(), http.StatusOK,
			"public, max-age=31536000, immutable", "image/svg+xml", string(icon)},
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
				t.Errorf("body: got %d bytes, want %d", len(got), len(tt.body))
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
