package registry

import (
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

// countingTransport counts each request by the registry it goes to. It sits below the
// read-only guard, so it counts what was really sent, and below regclient, so it counts
// retries, token fetches and every page of a listing.
type countingTransport struct {
	roles   map[string]string // canonical address → primary or secondary
	metrics *Metrics
	next    http.RoundTripper
}

func newCountingTransport(pe, se Endpoint, m *Metrics, next http.RoundTripper) http.RoundTripper {
	if m == nil {
		return next
	}
	t := countingTransport{roles: map[string]string{}, metrics: m, next: next}
	for _, a := range se.addresses() {
		t.roles[a] = "secondary"
	}
	for _, a := range pe.addresses() {
		t.roles[a] = "primary"
	}
	return t
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	role := t.roles[canonicalAddr(r.URL.Scheme, r.URL.Host)]
	if role == "" {
		role = "other"
	}
	resp, err := t.next.RoundTrip(r)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.metrics.requests.WithLabelValues(role, r.Method, code).Inc()
	return resp, err
}
