package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/views"
)

// Error codes the server adds to the root package's vocabulary, for failures of HTTP itself.
const (
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeTooLarge         = "too_large"
	codeMethodNotAllowed = "method_not_allowed"
	// codeUnsupportedMediaType is a body in a content type the endpoint does not read.
	codeUnsupportedMediaType = "unsupported_media_type"
)

// errorStatus maps an error code to its HTTP status. It is the only place that does.
func errorStatus(code string) int {
	switch code {
	case regdrift.EINVALID:
		return http.StatusBadRequest
	case codeUnauthorized:
		return http.StatusUnauthorized
	case codeForbidden:
		return http.StatusForbidden
	case regdrift.ENOTFOUND:
		return http.StatusNotFound
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case regdrift.ECONFLICT:
		return http.StatusConflict
	case codeTooLarge:
		return http.StatusRequestEntityTooLarge
	case codeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case regdrift.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorJSON is the body of every API error.
type errorJSON struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// fail answers a request with err: JSON for the API, a page for a browser. An internal error
// is logged here, with the request id, and the client sees only that id and a generic
// message; other errors carry a message that is safe to show.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	code := regdrift.ErrorCode(err)
	status := errorStatus(code)
	id := requestID(ctx)
	if status >= http.StatusInternalServerError {
		s.log.ErrorContext(ctx, "request failed", keyRequestID, id, keyError, err)
	} else {
		s.log.DebugContext(ctx, "request refused", keyRequestID, id, keyError, err)
	}

	msg := regdrift.ErrorMessage(err)
	if status == http.StatusServiceUnavailable {
		// A draining server: a registry or pipeline that retries should wait for the restart.
		w.Header().Set("Retry-After", retryAfter)
	}
	if isAPI(r) {
		s.writeJSON(w, r, status, errorJSON{Error: errorDetail{Code: code, Message: msg,
			RequestID: id}})
		return
	}
	s.render(w, r, status, views.Error(views.ErrorPage{
		Layout:    s.layout(ctx, http.StatusText(status), ""),
		Status:    status,
		Message:   msg,
		RequestID: id,
	}))
}

// retryAfter is the Retry-After of a 503, in seconds: about a restart's time.
const retryAfter = "30"

// isAPI reports whether r is a request to the JSON API or the metrics, which get JSON errors.
func isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == metricsPath
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, regdrift.Errorf(regdrift.ENOTFOUND, "no page at %s", r.URL.Path))
}

// methodNotAllowed answers 405 with the Allow header HTTP asks for, which names the methods
// the path does take; chi fills it in only for its own handler, not for this one.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if allowed := s.allowed(r); len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
	}
	s.fail(w, r, regdrift.Errorf(codeMethodNotAllowed, "method %s is not allowed here", r.Method))
}

// allowed lists the methods the route table serves at r's path; HEAD goes with GET.
func (s *Server) allowed(r *http.Request) []string {
	routes, ok := s.handler.(chi.Routes)
	if !ok {
		return nil
	}
	path := r.URL.RawPath // the path as chi routes it
	if path == "" {
		path = r.URL.Path
	}
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		if routes.Match(chi.NewRouteContext(), m, path) {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	return out
}

// bodyError turns a failure to read a request body into a client error.
func bodyError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return regdrift.Errorf(codeTooLarge, "request body is larger than %d bytes", maxBody)
	}
	return regdrift.Errorf(regdrift.EINVALID, "cannot read the request body")
}

// notFoundAs replaces the store's bare "not found" with a message that names what is missing,
// which only the handler knows; other errors pass through. The code, and so the status, stays.
func notFoundAs(err error, format string, args ...any) error {
	if err != nil && regdrift.IsNotFound(err) {
		return regdrift.Errorf(regdrift.ENOTFOUND, format, args...)
	}
	return err
}
