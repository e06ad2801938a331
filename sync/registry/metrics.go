package registry

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts the HTTP requests regdrift sends to the registries. One value serves every
// pair built with it; a nil *Metrics counts nothing.
type Metrics struct {
	requests *prometheus.CounterVec
}

// NewMetrics registers the request counter with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "regdrift_registry_requests_total",
		Help: "HTTP requests to the registries, by registry (primary, secondary, or other for " +
			"a token server elsewhere), method and status code (error when none came back).",
	}, []string{"registry", "method", "code"})}
	reg.MustRegister(m.requests)
	return m
}

// observingTransport counts each request by the registry it goes to and logs registry trouble
// at Warn: no answer, 429 or a 5xx, which regclient may retry without a word. It sits below
// the read-only guard, so it sees what was really sent, and below regclient, so it sees
// retries, token fetches and every page of a listing.
type observingTransport struct {
	roles   map[string]string // canonical address → primary or secondary
	metrics *Metrics          // nil counts nothing
	log     *slog.Logger
	next    http.RoundTripper
}

func newObservingTransport(pe, se Endpoint, m *Metrics, log *slog.Logger,
	next http.RoundTripper) http.RoundTripper {
	t := observingTransport{roles: map[string]string{}, metrics: m, log: log, next: next}
	for _, a := range se.addresses() {
		t.roles[a] = "secondary"
	}
	for _, a := range pe.addresses() {
		t.roles[a] = "primary"
	}
	return t
}

func (t observingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	role := t.roles[canonicalAddr(r.URL.Scheme, r.URL.Host)]
	if role == "" {
		role = "other"
	}
	resp, err := t.next.RoundTrip(r)
	code := "error"
	switch {
	case err != nil && r.Context().Err() != nil:
		// The caller gave up (a canceled run, a shutdown): not the registry's trouble.
	case err != nil:
		t.log.WarnContext(r.Context(), "registry request failed", "registry", role,
			"method", r.Method, "path", r.URL.Path, "err", err)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		code = strconv.Itoa(resp.StatusCode)
		t.log.WarnContext(r.Context(), "registry answered with an error", "registry", role,
			"method", r.Method, "path", r.URL.Path, "status", resp.StatusCode)
	default:
		code = strconv.Itoa(resp.StatusCode)
	}
	if t.metrics != nil {
		t.metrics.requests.WithLabelValues(role, r.Method, code).Inc()
	}
	return resp, err
}
