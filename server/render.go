package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/a-h/templ"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/static"
	"github.com/regdrift/regdrift/views"
)

// writeJSON answers with v as JSON. It encodes first, so that a value that cannot be encoded
// still gets a proper 500 instead of half a body.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		s.fail(w, r, fmt.Errorf("encode json: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	s.send(w, r, buf.Bytes())
}

// render answers with a page. It renders into a buffer first for the same reason.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		if status >= http.StatusInternalServerError {
			// The error page itself failed: answer in plain text rather than loop.
			s.log.ErrorContext(r.Context(), "render error page", keyRequestID,
				requestID(r.Context()), keyError, err)
			http.Error(w, "internal error, request id "+requestID(r.Context()), status)
			return
		}
		s.fail(w, r, fmt.Errorf("render page: %w", err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	s.send(w, r, buf.Bytes())
}

// send writes a body. A failure means the client has gone, so it is only worth a debug line.
func (s *Server) send(w http.ResponseWriter, r *http.Request, body []byte) {
	if _, err := w.Write(body); err != nil {
		s.log.DebugContext(r.Context(), "write answer", keyRequestID, requestID(r.Context()),
			keyError, err)
	}
}

// layout fills what every page shares, what the viewer may do included.
func (s *Server) layout(ctx context.Context, title string, section views.Section) views.Layout {
	return views.Layout{Title: title, StyleURL: static.StyleURL(), IconURL: static.IconURL(),
		ScriptURL: static.ScriptURL(), Section: section, Viewer: viewerOf(ctx, s.authOn())}
}

// runJSON is a run as the API serves it: the scope is [] rather than null.
func runJSON(run *regdrift.Run) *regdrift.Run {
	if run.Scope != nil {
		return run
	}
	c := *run
	c.Scope = []string{}
	return &c
}
