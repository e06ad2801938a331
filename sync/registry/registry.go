// Package registry reaches the primary and the secondary registry through regclient.
//
// A Primary offers only reads. The shared HTTP transport refuses any request to the primary's
// host other than GET and HEAD, so no code path, in this package or in regclient, can write to
// or delete from the primary. A Secondary reads, copies from the primary and deletes tags.
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/regclient/regclient"
	"github.com/regclient/regclient/config"
	"github.com/regclient/regclient/scheme/reg"
	"github.com/regclient/regclient/types/ref"
)

// Endpoint is a parsed registry URL.
type Endpoint struct {
	// URL is the address as the operator gave it, for display.
	URL string
	// Host is host[:port], the name regclient and references use.
	Host string
	// TLS is false only for an explicit http:// URL.
	TLS bool
}

// ParseEndpoint reads http://host:port (plain HTTP), https://host or a bare host (TLS).
func ParseEndpoint(raw string) (Endpoint, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return Endpoint{}, errors.New("registry URL is empty")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	// A URL with a password in it is refused, and the error must not repeat the password.
	shown := redactUserinfo(raw)
	u, err := url.Parse(s)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // its message holds the whole URL
		}
		return Endpoint{}, fmt.Errorf("parse registry URL %q: %w", shown, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Endpoint{}, fmt.Errorf("registry URL %q: scheme must be http or https", shown)
	}
	if u.User != nil {
		return Endpoint{}, fmt.Errorf("registry URL %q: credentials do not belong in the URL; "+
			"use REGDRIFT_PRIMARY_USERNAME and _PASSWORD (or SECONDARY)", shown)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return Endpoint{}, fmt.Errorf("registry URL %q: want scheme://host[:port] only", shown)
	}
	return Endpoint{URL: u.Scheme + "://" + u.Host, Host: u.Host, TLS: u.Scheme == "https"}, nil
}

// redactUserinfo replaces what stands between "://" (or the start) and the last "@" before
// the path with [redacted], so that a URL can be quoted in an error.
func redactUserinfo(raw string) string {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + len("://")
	}
	authority := raw[start:]
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	return raw[:start] + "[redacted]" + raw[start+at:]
}

// addresses returns the host:port forms requests to e may carry: the name given and the one
// regclient connects to (docker.io is registry-1.docker.io), lowercase, with the default port
// of the scheme made explicit.
func (e Endpoint) addresses() []string {
	scheme := "http"
	if e.TLS {
		scheme = "https"
	}
	names := []string{e.Host}
	if h := config.HostNewName(e.Host); h.Hostname != "" && h.Hostname != e.Host {
		names = append(names, h.Hostname)
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = canonicalAddr(scheme, n)
	}
	return out
}

// canonicalAddr lowercases host and adds the scheme's default port when it has none. Loopback
// names become one, so 127.0.0.1:5000 and localhost:5000 compare equal.
func canonicalAddr(scheme, host string) string {
	host = strings.ToLower(host)
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		h, port = strings.Trim(host, "[]"), "443"
		if scheme == "http" {
			port = "80"
		}
	}
	if h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.") {
		h = "loopback"
	}
	return net.JoinHostPort(h, port)
}

// Same reports whether e and o name one registry server, so that one cannot be the mirror of
// the other.
func (e Endpoint) Same(o Endpoint) bool {
	for _, a := range e.addresses() {
		for _, b := range o.addresses() {
			if a == b {
				return true
			}
		}
	}
	return false
}

// Config describes one registry.
type Config struct {
	URL      string
	Username string
	// Password is a secret: it is handed to regclient and never logged.
	Password string
}

// Options tune the client shared by both registries.
type Options struct {
	Logger *slog.Logger
	// Concurrency bounds the requests in flight to each registry.
	Concurrency int
	// DockerCreds reads the docker config file and its credential helpers.
	DockerCreds bool
	// RetryLimit, RetryDelay and RetryMax tune regclient's own backoff; zero keeps its
	// defaults (5 tries, 100ms doubling to 30s). Tests shorten them. regclient retries a
	// request that failed to connect or got 429, 408, 500, 502 or 504; it does not retry
	// 503, 401 after a failed login, 403 or 404.
	RetryLimit int
	RetryDelay time.Duration
	RetryMax   time.Duration
	// RetryAfterMax caps the wait a registry may ask for with Retry-After (default 60s):
	// regclient sleeps as long as a 429 says, so "Retry-After: 86400" would hold a run a day.
	RetryAfterMax time.Duration
	// Transport, when set, carries every request (a counting or fault-injecting layer).
	Transport http.RoundTripper
	// RequestTimeout bounds the wait for a response's headers (default 60s), so a registry
	// that never answers fails the request instead of holding the run. It applies to the
	// default transport only.
	RequestTimeout time.Duration
	// ListTimeout bounds one repository's tag listing, every page included (default 10m).
	ListTimeout time.Duration
	// Metrics, when set, counts every request by registry, method and status code.
	Metrics *Metrics
}

// Pair is the primary and secondary of one mirror relationship.
type Pair struct {
	Primary   *Primary
	Secondary *Secondary
}

// NewPair builds the clients for a primary and a secondary.
func NewPair(primary, secondary Config, opts Options) (*Pair, error) {
	pe, err := ParseEndpoint(primary.URL)
	if err != nil {
		return nil, fmt.Errorf("primary: %w", err)
	}
	se, err := ParseEndpoint(secondary.URL)
	if err != nil {
		return nil, fmt.Errorf("secondary: %w", err)
	}
	if pe.Same(se) {
		return nil, fmt.Errorf("primary %s and secondary %s are the same registry", pe.URL,
			se.URL)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = time.Minute
	}
	if opts.ListTimeout <= 0 {
		opts.ListTimeout = 10 * time.Minute
	}
	if opts.RetryAfterMax <= 0 {
		opts.RetryAfterMax = time.Minute
	}
	rc := newRegClient(pe, se, primary, secondary, opts)
	p := &Primary{reader: reader{rc: rc, ep: pe, listTimeout: opts.ListTimeout,
		log: opts.Logger.With("registry", "primary"), repoRefs: &sync.Map{}}}
	s := &Secondary{
		reader: reader{rc: rc, ep: se, listTimeout: opts.ListTimeout,
			log: opts.Logger.With("registry", "secondary"), repoRefs: &sync.Map{}},
		primary: p.ep,
		homes:   newBlobHomes(),
	}
	return &Pair{Primary: p, Secondary: s}, nil
}

func newRegClient(pe, se Endpoint, pc, sc Config, opts Options) *regclient.RegClient {
	next := opts.Transport
	if next == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = opts.RequestTimeout
		// The default keeps 2 idle connections a host: with more requests in flight, every
		// answer past the second closes its connection and the next request opens one,
		// which on a local registry costs more than the request.
		t.MaxIdleConnsPerHost = opts.Concurrency
		next = t
	}
	next = retryAfterCap{next: next, max: opts.RetryAfterMax, log: opts.Logger}
	hc := &http.Client{Transport: newReadOnlyTransport(pe,
		newObservingTransport(pe, se, opts.Metrics, opts.Logger, next))}
	var rcOpts []regclient.Opt
	if opts.DockerCreds {
		// First, so that credentials from the environment, set next, take precedence.
		rcOpts = append(rcOpts, regclient.WithDockerCreds())
	}
	rcOpts = append(rcOpts,
		regclient.WithConfigHost(hostConfig(pe, pc, opts), hostConfig(se, sc, opts)),
		regclient.WithRegOpts(reg.WithHTTPClient(hc)),
		regclient.WithSlog(quiet(opts.Logger)),
		regclient.WithUserAgent("regdrift"),
	)
	if opts.RetryLimit > 0 {
		rcOpts = append(rcOpts, regclient.WithRegOpts(reg.WithRetryLimit(opts.RetryLimit)))
	}
	if opts.RetryDelay > 0 {
		rcOpts = append(rcOpts,
			regclient.WithRegOpts(reg.WithDelay(opts.RetryDelay, opts.RetryMax)))
	}
	return regclient.New(rcOpts...)
}

func hostConfig(e Endpoint, c Config, opts Options) config.Host {
	h := config.HostNewName(e.Host)
	h.TLS = config.TLSEnabled
	if !e.TLS {
		h.TLS = config.TLSDisabled
	}
	if c.Username != "" || c.Password != "" {
		h.User, h.Pass = c.Username, c.Password
	}
	h.ReqConcurrent = int64(opts.Concurrency)
	return *h
}

// ErrReadOnly is returned for any attempt to change the primary.
var ErrReadOnly = errors.New("the primary registry is read-only")

// readOnlyTransport refuses every request to the primary that is not a read. It sits below
// regclient, so it also covers what regclient does on its own (tag deletion fallbacks, blob
// mounts, uploads), and it matches the primary under every address regclient may use for it.
type readOnlyTransport struct {
	primary map[string]bool
	next    http.RoundTripper
}

func newReadOnlyTransport(primary Endpoint, next http.RoundTripper) readOnlyTransport {
	t := readOnlyTransport{primary: map[string]bool{}, next: next}
	for _, a := range primary.addresses() {
		t.primary[a] = true
	}
	return t
}

func (t readOnlyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if writesRegistry(r) && t.primary[canonicalAddr(r.URL.Scheme, r.URL.Host)] {
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, ErrReadOnly)
	}
	return t.next.RoundTrip(r)
}

// writesRegistry reports a request that could change a registry: anything but a read under
// the registry API's /v2/ root. A token endpoint on the registry's own host (an OAuth2 POST to
// /oauth2/token or /v2/auth) changes nothing stored and stays allowed, or logins with an
// identity token would fail.
func writesRegistry(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return false
	}
	p := path.Clean("/" + r.URL.Path)
	return (p == "/v2" || strings.HasPrefix(p, "/v2/")) && p != "/v2/auth"
}

// retryAfterCap shortens a Retry-After longer than max to max. It does not retry anything
// itself: regclient's backoff does, and honours the header it is left with.
type retryAfterCap struct {
	next http.RoundTripper
	max  time.Duration
	log  *slog.Logger
}

func (t retryAfterCap) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		// regclient's final error says only "retry limit exceeded"; the log keeps the cause.
		t.log.Warn("registry rate limit", "host", r.URL.Host, "path", r.URL.Path,
			"retry_after", resp.Header.Get("Retry-After"))
	}
	if resp.Header.Get("Retry-After") == "" {
		return resp, nil
	}
	// regclient reads the header as a number of seconds (fractions allowed) and ignores the
	// HTTP-date form, which then gets its ordinary backoff.
	secs, perr := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64)
	if perr == nil && (secs > t.max.Seconds() || math.IsInf(secs, 0) || math.IsNaN(secs)) {
		resp.Header.Set("Retry-After", strconv.FormatFloat(t.max.Seconds(), 'f', -1, 64))
	}
	return resp, nil
}

// newRef builds a reference on host for repo with a tag or a digest (one of them set).
func newRef(host, repo, tag, digest string) (ref.Ref, error) {
	s := host + "/" + repo
	switch {
	case digest != "":
		s += "@" + digest
	case tag != "":
		s += ":" + tag
	}
	r, err := ref.New(s)
	if err != nil {
		return ref.Ref{}, fmt.Errorf("reference %q: %w", s, err)
	}
	return r, nil
}

// quiet passes regclient's records on from Warn up, or all of them when log is at Debug:
// regclient logs every layer it copies at Info, which would drown a run's own lines.
func quiet(log *slog.Logger) *slog.Logger {
	if log.Enabled(context.Background(), slog.LevelDebug) {
		return log
	}
	return slog.New(minLevel{Handler: log.Handler(), min: slog.LevelWarn})
}

// minLevel drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
