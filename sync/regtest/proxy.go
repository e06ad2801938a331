package regtest

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/regdrift/regdrift/sync/regtest/internal/serve"
)

// PathKind is the kind of registry API path a request is for.
type PathKind string

// Path kinds. PathBlob covers blob uploads as well as blob reads and deletes.
const (
	PathCatalog  PathKind = "catalog"
	PathTags     PathKind = "tags"
	PathManifest PathKind = "manifest"
	PathBlob     PathKind = "blob"
	PathOther    PathKind = "other"
)

// KindOf classifies a request path of the registry API.
func KindOf(path string) PathKind {
	rest, ok := strings.CutPrefix(path, "/v2/")
	switch {
	case !ok:
		return PathOther
	case rest == "_catalog":
		return PathCatalog
	case strings.HasSuffix(rest, "/tags/list"):
		return PathTags
	case strings.Contains(rest, "/manifests/"):
		return PathManifest
	case strings.Contains(rest, "/blobs/"):
		return PathBlob
	}
	return PathOther
}

// Hit is one kind of request the proxy counts.
type Hit struct {
	Method string
	Kind   PathKind
}

// Fault decides whether the proxy answers a request itself: when ok, it answers status with
// a registry error body and never forwards the request.
type Fault func(r *http.Request) (status int, ok bool)

// FailOn returns a Fault that answers status to every request of kind with method; an empty
// method matches any.
func FailOn(method string, kind PathKind, status int) Fault {
	return func(r *http.Request) (int, bool) {
		if KindOf(r.URL.Path) != kind || (method != "" && r.Method != method) {
			return 0, false
		}
		return status, true
	}
}

// Proxy is a reverse proxy in front of a registry that counts requests and can fail them on
// demand. It is safe for concurrent use.
type Proxy struct {
	// URL is the proxy's base URL, "http://127.0.0.1:PORT".
	URL string
	// Host is "127.0.0.1:PORT", the registry part of a reference through the proxy.
	Host string

	srv      *serve.Server
	pageTags int

	mu        sync.Mutex
	fault     Fault
	intercept Intercept
	modify    Modify
	counts    map[Hit]int
	// inFlight and maxInFlight measure concurrency, to check a client's bound.
	inFlight, maxInFlight int
	// uploaded counts the request body bytes of blob requests: what a client sent as content.
	uploaded int64
	// blobs counts the bytes of each upload a client finished with a digest (the PUT that
	// closes an upload), so that content can be told from other uploads.
	blobs map[string]int64
	// mounts counts the cross-repository mounts asked for (a POST with mount and from).
	mounts int
	// conns holds the client addresses requests came from: one a connection.
	conns map[string]struct{}
}

// ProxyOption configures a Proxy.
type ProxyOption func(*Proxy)

// PageTags adds n=<n> to every tags/list request that has no n, so that a registry which
// pages (v3, not 2.8) answers in pages of n with a Link header to the next.
func PageTags(n int) ProxyOption {
	return func(p *Proxy) { p.pageTags = n }
}

// NewProxy starts a proxy that forwards to the registry at target, a base URL such as
// "http://127.0.0.1:5000".
func NewProxy(target string, opts ...ProxyOption) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("proxy target %q: %w", target, err)
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("proxy target %q: want a base URL like http://host:port", target)
	}
	p := &Proxy{counts: map[Hit]int{}, blobs: map[string]int64{}, conns: map[string]struct{}{}}
	for _, opt := range opts {
		opt(p)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			// NOTE: the registry builds upload Locations from Host; keeping the proxy's
			// host sends the rest of an upload through the proxy too.
			pr.Out.Host = pr.In.Host
			if p.pageTags > 0 && KindOf(pr.Out.URL.Path) == PathTags {
				q := pr.Out.URL.Query()
				if !q.Has("n") {
					q.Set("n", strconv.Itoa(p.pageTags))
					pr.Out.URL.RawQuery = q.Encode()
				}
			}
		},
		ModifyResponse: func(r *http.Response) error {
			p.mu.Lock()
			m := p.modify
			p.mu.Unlock()
			if m == nil {
				return nil
			}
			return m(r)
		},
		// A body cut on purpose (ResetMidBody) is not news.
		ErrorLog: log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeError(w, http.StatusBadGateway, "proxy: "+err.Error())
		},
	}
	srv, err := serve.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer p.enter()()
		if status, ok := p.count(r); ok {
			writeError(w, status, "regtest: injected fault")
			return
		}
		if p.intercepted(w, r) {
			return
		}
		p.countMount(r)
		if r.Body != nil && KindOf(r.URL.Path) == PathBlob {
			r.Body = &countingBody{ReadCloser: r.Body, p: p, digest: uploadDigest(r)}
		}
		rp.ServeHTTP(w, r)
	}))
	if err != nil {
		return nil, fmt.Errorf("start proxy: %w", err)
	}
	p.srv, p.URL, p.Host = srv, srv.URL, srv.Host
	return p, nil
}

// enter counts a request in flight until the returned function is called.
func (p *Proxy) enter() (leave func()) {
	p.mu.Lock()
	p.inFlight++
	p.maxInFlight = max(p.maxInFlight, p.inFlight)
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.inFlight--
		p.mu.Unlock()
	}
}

// MaxInFlight returns the most requests the proxy has had in flight at once since it started
// or since ResetCounts.
func (p *Proxy) MaxInFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxInFlight
}

// count records r and returns the fault's verdict on it.
func (p *Proxy) count(r *http.Request) (int, bool) {
	p.mu.Lock()
	p.counts[Hit{Method: r.Method, Kind: KindOf(r.URL.Path)}]++
	p.conns[r.RemoteAddr] = struct{}{}
	fault := p.fault
	p.mu.Unlock()
	if fault == nil {
		return 0, false
	}
	return fault(r)
}

// SetFault installs f, or removes the fault when f is nil. Requests a fault answers are
// counted too.
func (p *Proxy) SetFault(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

// SetIntercept installs f, or removes it when f is nil: a fault that writes its own answer
// (headers, a partial body, a hang, a closed connection). It runs after the Fault.
func (p *Proxy) SetIntercept(f Intercept) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.intercept = f
}

// SetModify installs m, or removes it when m is nil: it changes the real registry's answers
// on their way back (a header dropped, a body cut or replaced).
func (p *Proxy) SetModify(m Modify) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.modify = m
}

func (p *Proxy) intercepted(w http.ResponseWriter, r *http.Request) bool {
	p.mu.Lock()
	f := p.intercept
	p.mu.Unlock()
	return f != nil && f(w, r)
}

// Count returns how many requests with method for kind the proxy has seen; an empty method
// counts every method.
func (p *Proxy) Count(method string, kind PathKind) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for h, c := range p.counts {
		if h.Kind == kind && (method == "" || h.Method == method) {
			n += c
		}
	}
	return n
}

// Counts returns a copy of every count.
func (p *Proxy) Counts() map[Hit]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts)
}

// ResetCounts sets every count back to zero.
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.counts)
	p.maxInFlight = p.inFlight
	p.uploaded = 0
	clear(p.blobs)
	clear(p.conns)
	p.mounts = 0
}

// Connections returns how many client connections requests came over since the proxy started
// or since ResetCounts: a client that keeps too few idle connections opens one per request.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Uploaded returns how many bytes of blob content clients have sent through the proxy since it
// started or since ResetCounts.
func (p *Proxy) Uploaded() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.uploaded
}

// UploadedBlobs returns the bytes sent in each upload a client closed with a digest, by
// digest, since the proxy started or since ResetCounts.
func (p *Proxy) UploadedBlobs() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.blobs)
}

// Mounts returns how many cross-repository blob mounts clients asked for since the proxy
// started or since ResetCounts; the registry may have refused some.
func (p *Proxy) Mounts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mounts
}

// uploadDigest returns the digest a PUT that closes a blob upload names, or "", and counts a
// mount request.
func uploadDigest(r *http.Request) string {
	if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/blobs/uploads/") {
		return ""
	}
	return r.URL.Query().Get("digest")
}

// countMount counts r when it asks for a cross-repository mount.
func (p *Proxy) countMount(r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPost && q.Get("mount") != "" && q.Get("from") != "" {
		p.mu.Lock()
		p.mounts++
		p.mu.Unlock()
	}
}

// countingBody adds what is read from a request body to the proxy's upload count, and to the
// digest's when the request closes an upload.
type countingBody struct {
	io.ReadCloser
	p      *Proxy
	digest string
}

func (b *countingBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	b.p.mu.Lock()
	b.p.uploaded += int64(n)
	if b.digest != "" {
		b.p.blobs[b.digest] += int64(n)
	}
	b.p.mu.Unlock()
	return n, err
}

// Close stops the proxy.
func (p *Proxy) Close() error {
	return p.srv.Close()
}

// writeError answers status with a body in the registry's error format.
func writeError(w http.ResponseWriter, status int, msg string) {
	body, err := json.Marshal(map[string]any{"errors": []map[string]any{{
		"code": errorCode(status), "message": msg, "detail": nil,
	}}})
	if err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	// NOTE: the client may already be gone; there is nobody to tell.
	_, _ = w.Write(body)
}

// errorCode picks the registry error code that goes with an HTTP status.
func errorCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case http.StatusForbidden:
		return "DENIED"
	case http.StatusNotFound:
		return "NAME_UNKNOWN"
	case http.StatusMethodNotAllowed:
		return "UNSUPPORTED"
	case http.StatusTooManyRequests:
		return "TOOMANYREQUESTS"
	}
	return "UNKNOWN"
}
