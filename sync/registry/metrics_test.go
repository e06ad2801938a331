package registry

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestObservingTransport_CountsAndWarns(t *testing.T) {
	primary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer primary.Close()
	secondary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer secondary.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()

	pe, err := ParseEndpoint(primary.URL)
	if err != nil {
		t.Fatal(err)
	}
	se, err := ParseEndpoint(secondary.URL)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry())
	var logs bytes.Buffer
	rt := newObservingTransport(pe, se, m, slog.New(slog.NewJSONHandler(&logs, nil)),
		http.DefaultTransport)
	for _, target := range []string{primary.URL + "/v2/", primary.URL + "/v2/a/tags/list",
		secondary.URL + "/v2/", goneURL + "/token"} {
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := rt.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
	}

	for _, c := range []struct {
		registry, code string
		want           float64
	}{{"primary", "200", 2}, {"secondary", "503", 1}, {"other", "error", 1}} {
		got := testutil.ToFloat64(m.requests.WithLabelValues(c.registry, "GET", c.code))
		if got != c.want {
			t.Errorf("%s GET %s: %v requests, want %v", c.registry, c.code, got, c.want)
		}
	}
	out := logs.String()
	if n := strings.Count(out, `"level":"WARN"`); n != 2 ||
		!strings.Contains(out, `"msg":"registry answered with an error","registry":"secondary"`) ||
		!strings.Contains(out, `"msg":"registry request failed","registry":"other"`) {
		t.Errorf("want two warnings, a 503 from the secondary and a failed request:\n%s", out)
	}
}
