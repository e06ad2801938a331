package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/regdrift/regdrift"
)

// Log keys, defined once so every line spells them alike.
const (
	keyRequestID = "request_id"
	keyMethod    = "method"
	keyPath      = "path"
	keyStatus    = "status"
	keyBytes     = "bytes"
	keyDuration  = "duration"
	keyError     = "error"
	keyToken     = "token_name" // the name of a token, never its secret
	keyRole      = "role"
	keyRemote    = "remote_addr"
)

// headerRequestID carries the request id in both directions.
const headerRequestID = "X-Request-Id"

// maxBody bounds the body of a request.
const maxBody = 1 << 20

type ctxKey struct{}

// requestID returns the id the requestID middleware gave the request.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// clientIDRE is what an id from a proxy in front must look like to be kept; anything else
// could smuggle text into logs and pages.
var clientIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID keeps a well-formed X-Request-Id from the client or makes one, puts it in the
// context and echoes it in the answer.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(headerRequestID)
		if !clientIDRE.MatchString(id) {
			id = newID()
		}
		w.Header().Set(headerRequestID, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)))
	})
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // NOTE: crypto/rand.Read never returns an error (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// recorder remembers the status and size of an answer for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog logs one line per request, after it is served.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.log.InfoContext(r.Context(), "http request",
			keyRequestID, requestID(r.Context()),
			keyMethod, r.Method,
			keyPath, r.URL.Path,
			keyStatus, rec.status,
			keyBytes, rec.bytes,
			keyDuration, time.Since(start),
		)
	})
}

// recoverPanic turns a panic in a handler into a logged 500 with the request id.
func (s *Server) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // the server's own signal to drop the connection
			}
			s.fail(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody caps every request body at maxBody; reading past it fails with a
// *http.MaxBytesError, which the decoders turn into a 413.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin refuses state-changing requests that a browser marks as cross-origin. Requests
// without Origin or Sec-Fetch-Site (curl, other programs) pass: they carry no ambient
// browser credentials to abuse.
func (s *Server) crossOrigin() func(http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, regdrift.Errorf(codeForbidden, "cross-origin request refused"))
	}))
	return p.Handler
}
