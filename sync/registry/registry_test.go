package registry

import (
	"errors"
	"net/http"
	"net/http/httptest"
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

func TestReadOnlyTransport_RefusesWritesToPrimary(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method)
	}))
	defer srv.Close()
	host := srv.Listener.Addr().String()
	rt := readOnlyTransport{host: host, next: http.DefaultTransport}

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
	other := readOnlyTransport{host: "elsewhere:1", next: http.DefaultTransport}
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
