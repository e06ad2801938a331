// Package registry reaches the primary and the secondary registry through regclient.
//
// A Primary offers only reads. The shared HTTP transport refuses any request to the primary's
// host other than GET and HEAD, so no code path, in this package or in regclient, can write to
// or delete from the primary. A Secondary reads, copies from the primary and deletes tags.
package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
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
	u, err := url.Parse(s)
	if err != nil {
		return Endpoint{}, fmt.Errorf("parse registry URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Endpoint{}, fmt.Errorf("registry URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return Endpoint{}, fmt.Errorf("registry URL %q: want scheme://host[:port] only", raw)
	}
	return Endpoint{URL: u.Scheme + "://" + u.Host, Host: u.Host, TLS: u.Scheme == "https"}, nil
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
	// defaults. Tests shorten them.
	RetryLimit int
	RetryDelay time.Duration
	RetryMax   time.Duration
	// Transport, when set, carries every request (a counting or fault-injecting layer).
	Transport http.RoundTripper
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
	if pe.Host == se.Host {
		return nil, fmt.Errorf("primary and secondary are the same registry %s", pe.Host)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rc := newRegClient(pe, se, primary, secondary, opts)
	p := &Primary{reader: reader{rc: rc, ep: pe, log: opts.Logger.With("registry", "primary")}}
	s := &Secondary{
		reader:  reader{rc: rc, ep: se, log: opts.Logger.With("registry", "secondary")},
		primary: p.ep,
	}
	return &Pair{Primary: p, Secondary: s}, nil
}

func newRegClient(pe, se Endpoint, pc, sc Config, opts Options) *regclient.RegClient {
	next := opts.Transport
	if next == nil {
		next = http.DefaultTransport.(*http.Transport).Clone()
	}
	hc := &http.Client{Transport: readOnlyTransport{host: pe.Host, next: next}}
	rcOpts := []regclient.Opt{
		regclient.WithConfigHost(hostConfig(pe, pc, opts), hostConfig(se, sc, opts)),
		regclient.WithRegOpts(reg.WithHTTPClient(hc)),
		regclient.WithSlog(opts.Logger),
		regclient.WithUserAgent("regdrift"),
	}
	if opts.DockerCreds {
		rcOpts = append(rcOpts, regclient.WithDockerCreds())
	}
	if opts.RetryLimit > 0 {
		rcOpts = append(rcOpts, regclient.WithRetryLimit(opts.RetryLimit))
	}
	if opts.RetryDelay > 0 {
		rcOpts = append(rcOpts, regclient.WithRetryDelay(opts.RetryDelay, opts.RetryMax))
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

// readOnlyTransport refuses every request to the primary host that is not a read. It sits
// below regclient, so it also covers what regclient does on its own (tag deletion fallbacks,
// blob mounts, uploads).
type readOnlyTransport struct {
	host string
	next http.RoundTripper
}

func (t readOnlyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.EqualFold(r.URL.Host, t.host) && r.Method != http.MethodGet &&
		r.Method != http.MethodHead {
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, ErrReadOnly)
	}
	return t.next.RoundTrip(r)
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
