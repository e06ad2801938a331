package registry

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestParseEndpoint(t *testing.T) {
	cases := []struct {
		in      string
		want    Endpoint
		wantErr bool
	}{
		{"http://127.0.0.1:5001", Endpoint{"http://127.0.0.1:5001", "127.0.0.1:5001", false}, false},
		{"https://reg.example", Endpoint{"https://reg.example", "reg.example", true}, false},
		{"reg.example:5000", Endpoint{"https://reg.example:5000", "reg.example:5000", true}, false},
		{"http://h:1/", Endpoint{"http://h:1", "h:1", false}, false},
		{"", Endpoint{}, true},
		{"ftp://h", Endpoint{}, true},
		{"http://h/v2/repo", Endpoint{}, true},
		{"http://user:pw@h", Endpoint{}, true},
		{"http://h?x=1", Endpoint{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseEndpoint(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A URL with credentials is refused without quoting them: the error reaches the terminal
// and the log.
func TestParseEndpoint_ErrorsHideCredentials(t *testing.T) {
	for _, in := range []string{"http://user:s3cret-pw@h:5000", "user:s3cret-pw@h",
		"http://user:s3cret-pw@h:port", "ftp://user:s3cret-pw@h", "http://u:s3cret-pw@h/v2/x",
		"http://user:s3cret-pw@h?x=1", "http://us@er:s3cret-pw@h"} {
		_, err := ParseEndpoint(in)
		if err == nil {
			t.Errorf("%s: no error", in)
			continue
		}
		if strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(),
			"[redacted]") {
			t.Errorf("%s: error %q, want the credentials as [redacted]", in, err)
		}
	}
}

func TestReadOnlyTransport_RefusesWritesToPrimary(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method)
	}))
	defer srv.Close()
	host := srv.Listener.Addr().String()
	rt := newReadOnlyTransport(Endpoint{Host: host}, http.DefaultTransport)

	for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		req, _ := http.NewRequest(method, srv.URL+"/v2/a/manifests/x", nil)
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: err = %v, want ErrReadOnly", method, err)
		}
	}
	for _, method := range []string{"GET", "HEAD"} {
		req, _ := http.NewRequest(method, srv.URL+"/v2/", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		resp.Body.Close()
	}
	if len(seen) != 2 || seen[0] != "GET" || seen[1] != "HEAD" {
		t.Errorf("primary saw %v, want only [GET HEAD]", seen)
	}

	// Another host (the secondary) may be written to.
	other := newReadOnlyTransport(Endpoint{Host: "elsewhere:1"}, http.DefaultTransport)
	req, _ := http.NewRequest("PUT", srv.URL+"/v2/a/manifests/x", nil)
	resp, err := other.RoundTrip(req)
	if err != nil {
		t.Fatalf("PUT to a host that is not the primary: %v", err)
	}
	resp.Body.Close()
}

func TestNewPair_RefusesSameRegistry(t *testing.T) {
	_, err := NewPair(Config{URL: "http://127.0.0.1:5000"}, Config{URL: "127.0.0.1:5000"},
		Options{})
	if err == nil {
		t.Fatal("NewPair accepted the same host as primary and secondary")
	}
}

func TestReadOnlyTransport_MatchesEveryAddressOfThePrimary(t *testing.T) {
	refused := func(primary, method, url string) bool {
		t.Helper()
		ep, err := ParseEndpoint(primary)
		if err != nil {
			t.Fatal(err)
		}
		// The next transport must never be reached for a refused request.
		rt := newReadOnlyTransport(ep, roundTripFunc(func(*http.Request) (*http.Response,
			error) {
			return nil, errors.New("sent")
		}))
		req, _ := http.NewRequest(method, url, nil)
		_, err = rt.RoundTrip(req)
		return errors.Is(err, ErrReadOnly)
	}
	cases := []struct {
		primary, method, url string
		want                 bool
	}{
		{"docker.io", "DELETE", "https://registry-1.docker.io/v2/a/manifests/x", true},
		{"docker.io", "PUT", "https://registry-1.docker.io:443/v2/a/manifests/x", true},
		{"REG.example", "POST", "https://reg.example:443/v2/a/blobs/uploads/", true},
		{"reg.example:443", "PATCH", "https://reg.example/v2/a/blobs/uploads/x", true},
		{"http://127.0.0.1:5000", "PUT", "http://localhost:5000/v2/a/manifests/x", true},
		{"http://127.0.0.1:5000", "PUT", "http://127.0.0.1:5001/v2/a/manifests/x", false},
		{"docker.io", "GET", "https://registry-1.docker.io/v2/a/manifests/x", false},
		{"reg.example", "PUT", "https://other.example/v2/a/manifests/x", false},
		// Token endpoints on the registry's own host change nothing stored.
		{"myreg.azurecr.io", "POST", "https://myreg.azurecr.io/oauth2/token", false},
		{"quay.example", "POST", "https://quay.example/v2/auth", false},
		{"reg.example", "POST", "https://reg.example/v2/auth/blobs/uploads/", true},
		{"reg.example", "DELETE", "https://reg.example/v2/", true},
	}
	for _, tc := range cases {
		if got := refused(tc.primary, tc.method, tc.url); got != tc.want {
			t.Errorf("primary %s, %s %s: refused %v, want %v", tc.primary, tc.method, tc.url,
				got, tc.want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestEndpoint_Same(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"http://127.0.0.1:5000", "http://localhost:5000", true},
		{"reg.example", "https://reg.example:443", true},
		{"docker.io", "registry-1.docker.io", true},
		{"http://127.0.0.1:5000", "http://127.0.0.1:5001", false},
		{"a.example", "b.example", false},
	}
	for _, tc := range cases {
		a, _ := ParseEndpoint(tc.a)
		b, _ := ParseEndpoint(tc.b)
		if got := a.Same(b); got != tc.want {
			t.Errorf("Same(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestValidTag(t *testing.T) {
	long := strings.Repeat("a", 128)
	for tag, want := range map[string]bool{
		"1.2.3": true, "v1_rc-2": true, "_x": true, "latest": true, long: true,
		"": false, ".hidden": false, "-x": false, "a/b": false, "a:b": false, "a@b": false,
		long + "a": false, "é": false,
	} {
		if got := validTag(tag); got != want {
			t.Errorf("validTag(%q) = %v, want %v", tag, got, want)
		}
	}
}

func TestTagRef_ParsesTheRepositoryOnce(t *testing.T) {
	r := reader{ep: Endpoint{Host: "127.0.0.1:5000"}, repoRefs: &sync.Map{}}
	for _, tag := range []string{"v1", "v2"} {
		rf, err := r.tagRef("team/app", tag)
		if err != nil {
			t.Fatal(err)
		}
		if rf.Registry != "127.0.0.1:5000" || rf.Repository != "team/app" || rf.Tag != tag ||
			rf.Digest != "" || rf.CommonName() != "127.0.0.1:5000/team/app:"+tag {
			t.Errorf("tagRef(team/app, %s) = %+v", tag, rf)
		}
	}
	if _, err := r.tagRef("team/app", "bad/tag"); err == nil {
		t.Error("tagRef with a bad tag: no error")
	}
	if _, err := r.tagRef("Team/App", "v1"); err == nil {
		t.Error("tagRef with a bad repository name: no error")
	}
}
