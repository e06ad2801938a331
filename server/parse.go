package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/regdrift/regdrift"
)

// Bounds of a page of runs.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// parseID reads the run id from the path.
func parseID(r *http.Request) (int64, error) {
	raw := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, regdrift.Errorf(regdrift.EINVALID, "run id %q is not a positive integer",
			clip(raw))
	}
	return id, nil
}

// parseRepoName reads a repository name, slashes and all, from the path's wildcard.
func parseRepoName(r *http.Request) (string, error) {
	name := chi.URLParam(r, "*")
	if err := regdrift.ValidateRepoName(name); err != nil {
		return "", err
	}
	return name, nil
}

// parseRunFilter reads ?limit= and ?offset=.
func parseRunFilter(r *http.Request) (regdrift.RunFilter, error) {
	f := regdrift.RunFilter{Limit: defaultLimit}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return f, regdrift.Errorf(regdrift.EINVALID, "limit %q is not between 1 and %d",
				clip(v), maxLimit)
		}
		f.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return f, regdrift.Errorf(regdrift.EINVALID, "offset %q is not a whole number",
				clip(v))
		}
		f.Offset = n
	}
	return f, nil
}

// parseTagFilter reads ?state= and ?repository=.
func parseTagFilter(r *http.Request) (regdrift.TagFilter, error) {
	q := r.URL.Query()
	f := regdrift.TagFilter{State: regdrift.State(q.Get("state")), Repository: q.Get("repository")}
	if f.State != "" && !f.State.Valid() {
		return f, regdrift.Errorf(regdrift.EINVALID, "state %q is not a tag state", clip(q.Get("state")))
	}
	if f.Repository != "" {
		if err := regdrift.ValidateRepoName(f.Repository); err != nil {
			return f, err
		}
	}
	return f, nil
}

// parseRunRequest decodes the JSON body of POST /api/v1/runs. Unknown fields are refused so
// that a misspelt "no_delete" cannot silently start a run that deletes. An empty body asks for
// the defaults: a dry run of every repository.
func parseRunRequest(r *http.Request) (regdrift.RunRequest, error) {
	var req regdrift.RunRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	switch {
	case errors.Is(err, io.EOF):
		// An empty body.
	case err != nil:
		return req, jsonError(err)
	case dec.More():
		return req, regdrift.Errorf(regdrift.EINVALID, "invalid JSON: more than one value")
	}
	req.Trigger = regdrift.TriggerAPI
	return req, req.Validate()
}

// jsonError describes a decoding failure to the client by position, field and type.
func jsonError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return bodyError(err)
	}
	if e, ok := errors.AsType[*json.SyntaxError](err); ok {
		return regdrift.Errorf(regdrift.EINVALID, "invalid JSON at byte %d", e.Offset)
	}
	if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return regdrift.Errorf(regdrift.EINVALID, "invalid JSON: field %q must be %s", e.Field,
			e.Type)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return regdrift.Errorf(regdrift.EINVALID, "invalid JSON: unexpected end of body")
	}
	// What is left is an unknown field, whose message names only the field.
	return regdrift.Errorf(regdrift.EINVALID, "invalid JSON: %s",
		strings.TrimPrefix(err.Error(), "json: "))
}

// parseRunForm reads the dashboard's run form. confirmed is true only when the form came from
// the confirmation page of an execute.
func parseRunForm(r *http.Request) (req regdrift.RunRequest, confirmed bool, err error) {
	if err := r.ParseForm(); err != nil {
		return req, false, bodyError(err)
	}
	f := r.PostForm
	req = regdrift.RunRequest{
		Mode:         regdrift.Mode(f.Get("mode")),
		Repositories: f["repository"],
		Deep:         f.Get("deep") == "true",
		NoDelete:     f.Get("no_delete") == "true",
		Trigger:      regdrift.TriggerUI,
	}
	return req, f.Get("confirm") == "yes", req.Validate()
}

// parseScope reads the repositories an execute would cover from ?repository=.
func parseScope(r *http.Request) ([]string, error) {
	names := r.URL.Query()["repository"]
	for _, name := range names {
		if err := regdrift.ValidateRepoName(name); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// clip shortens client input echoed in a message.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:40] + "…"
}
