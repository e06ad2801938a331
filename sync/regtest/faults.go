package regtest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
)

// Intercept answers a request in the proxy's place when it returns true; it may write any
// answer, hang until the client gives up, or panic with http.ErrAbortHandler to drop the
// connection.
type Intercept func(w http.ResponseWriter, r *http.Request) bool

// Modify changes a real registry's answer before the proxy passes it on.
type Modify func(r *http.Response) error

// Match selects requests by method (empty: any) and kind, and, when path is set, by exact
// path.
type Match struct {
	Method string
	Kind   PathKind
	Path   string
}

// Matches reports whether r is selected.
func (m Match) Matches(r *http.Request) bool {
	return KindOf(r.URL.Path) == m.Kind && (m.Method == "" || r.Method == m.Method) &&
		(m.Path == "" || r.URL.Path == m.Path)
}

// Times returns an Intercept that answers status, with header, to the first n requests m
// selects and lets later ones through: a registry that recovers. n < 0 never recovers.
func Times(m Match, n int, status int, header http.Header) Intercept {
	var seen atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !m.Matches(r) || (n >= 0 && seen.Add(1) > int64(n)) {
			return false
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		writeError(w, status, "regtest: injected fault")
		return true
	}
}

// Hang returns an Intercept that never answers the requests m selects: it waits until the
// client gives up, as a registry stuck behind a load balancer does.
func Hang(m Match) Intercept {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !m.Matches(r) {
			return false
		}
		<-r.Context().Done()
		return true
	}
}

// Gone returns an Intercept that closes the connection of every request m selects without
// an answer: a registry that has gone away.
func Gone(m Match) Intercept {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !m.Matches(r) {
			return false
		}
		panic(http.ErrAbortHandler)
	}
}

// errReset stands for a connection reset while a body is read.
var errReset = errors.New("regtest: connection reset mid-body")

// ResetMidBody returns a Modify that sends the first half of each body m selects, announced
// at its full length, then drops the connection.
func ResetMidBody(m Match) Modify {
	return withBody(m, func(r *http.Response, body []byte) {
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:len(body)/2]),
			errReader{errReset}))
	})
}

// Truncate returns a Modify that cuts each body m selects to its first half and says so in
// Content-Length: a well-formed answer whose JSON ends too early.
func Truncate(m Match) Modify {
	return ReplaceBody(m, func(b []byte) []byte { return b[:len(b)/2] })
}

// ReplaceBody returns a Modify that replaces each body m selects with what fn makes of it,
// with a matching Content-Length.
func ReplaceBody(m Match, fn func([]byte) []byte) Modify {
	return withBody(m, func(r *http.Response, body []byte) {
		body = fn(body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	})
}

// withBody returns a Modify that reads the whole body of each answer m selects and lets set
// put a new one in place.
func withBody(m Match, set func(r *http.Response, body []byte)) Modify {
	return func(r *http.Response) error {
		if !m.Matches(r.Request) {
			return nil
		}
		body, err := readAll(r)
		if err != nil {
			return err
		}
		set(r, body)
		return nil
	}
}

// SetHeader returns a Modify that sets header key to value on every answer m selects, or
// removes it when value is empty.
func SetHeader(m Match, key, value string) Modify {
	return func(r *http.Response) error {
		if !m.Matches(r.Request) {
			return nil
		}
		if value == "" {
			r.Header.Del(key)
		} else {
			r.Header.Set(key, value)
		}
		return nil
	}
}

func readAll(r *http.Response) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if cerr := r.Body.Close(); err == nil {
		err = cerr
	}
	return body, err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
