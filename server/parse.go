package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/views"
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
	limit, offset, err := parsePage(r, defaultLimit)
	return regdrift.RunFilter{Limit: limit, Offset: offset}, err
}

// parsePage reads ?limit= (def when absent; 0 means none) and ?offset=.
func parsePage(r *http.Request, def int) (limit, offset int, err error) {
	q := r.URL.Query()
	limit = def
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return 0, 0, regdrift.Errorf(regdrift.EINVALID,
				"limit %q is not between 1 and %d", clip(v), maxLimit)
		}
		limit = n
	}
	if offset, err = parseOffset(q.Get("offset")); err != nil {
		return 0, 0, err
	}
	return limit, offset, nil
}

// parseOffset reads an offset; empty means 0.
func parseOffset(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if errors.Is(err, strconv.ErrRange) {
		return 0, regdrift.Errorf(regdrift.EINVALID, "offset %q is too large", clip(v))
	}
	if err != nil || n < 0 {
		return 0, regdrift.Errorf(regdrift.EINVALID, "offset %q is not a whole number", clip(v))
	}
	return n, nil
}

// parseTagFilter reads ?state=, ?result=, ?repository=, ?limit= and ?offset=. Without a limit
// a page holds the most a limit may ask for: a run can hold a million rows, and one request
// must not pull them all into memory. The answer's total tells a client to page on.
func parseTagFilter(r *http.Request) (regdrift.TagFilter, error) {
	q := r.URL.Query()
	f := regdrift.TagFilter{Repository: q.Get("repository")}
	var err error
	if f.State, err = parseState(q.Get("state")); err != nil {
		return f, err
	}
	if f.Result, err = parseResult(q.Get("result")); err != nil {
		return f, err
	}
	if f.Repository != "" {
		if err := regdrift.ValidateRepoName(f.Repository); err != nil {
			return f, err
		}
	}
	f.Limit, f.Offset, err = parsePage(r, maxLimit)
	return f, err
}

func parseState(v string) (regdrift.State, error) {
	s := regdrift.State(v)
	if s != "" && !s.Valid() {
		return "", regdrift.Errorf(regdrift.EINVALID, "state %q is not a tag state", clip(v))
	}
	return s, nil
}

func parseResult(v string) (regdrift.Result, error) {
	res := regdrift.Result(v)
	if !res.Valid() {
		return "", regdrift.Errorf(regdrift.EINVALID,
			"result %q is not one of planned, ok, failed, skipped", clip(v))
	}
	return res, nil
}

// parseTagView reads which tag rows a run page shows: ?state= for one state and ?result= for
// one result, ?all=1 for every row, none of them for the rows that say something; ?offset=
// for the page.
func parseTagView(r *http.Request) (views.TagView, error) {
	q := r.URL.Query()
	var v views.TagView
	switch all := q.Get("all"); all {
	case "", "0":
	case "1":
		v.All = true
	default:
		return v, regdrift.Errorf(regdrift.EINVALID, "all %q is not 1 or 0", clip(all))
	}
	var err error
	if v.State, err = parseState(q.Get("state")); err != nil {
		return v, err
	}
	if v.Result, err = parseResult(q.Get("result")); err != nil {
		return v, err
	}
	v.Offset, err = parseOffset(q.Get("offset"))
	return v, err
}

// parseRepoFilter reads the repositories a listing selects: ?status= (drift, error, in_sync),
// ?q= for a part of the name, and ?limit= and ?offset= (def is the limit when none is given;
// 0 lists all).
func parseRepoFilter(r *http.Request, def int) (regdrift.RepoFilter, error) {
	q := r.URL.Query()
	f := regdrift.RepoFilter{Status: regdrift.RepoStatus(q.Get("status")), Query: q.Get("q")}
	switch f.Status {
	case "", regdrift.RepoDrift, regdrift.RepoError, regdrift.RepoInSync:
	default:
		return f, regdrift.Errorf(regdrift.EINVALID,
			"status %q is not one of drift, error, in_sync", clip(q.Get("status")))
	}
	if len(f.Query) > maxQuery {
		return f, regdrift.Errorf(regdrift.EINVALID, "q is longer than %d characters", maxQuery)
	}
	// SQLite's LIKE ends a pattern at a NUL, so "?q=%00" matched every repository; no name
	// holds a control character, so such a search is refused rather than answered wrongly.
	if strings.IndexFunc(f.Query, unicode.IsControl) >= 0 {
		return f, regdrift.Errorf(regdrift.EINVALID, "q holds a control character")
	}
	var err error
	f.Limit, f.Offset, err = parsePage(r, def)
	return f, err
}

// maxQuery bounds a name search: no repository name is longer.
const maxQuery = 255

// parseRunRequest decodes the JSON body of POST /api/v1/runs. Unknown fields are refused so
// that a misspelt "no_delete" cannot silently start a run that deletes. An empty body asks for
// the defaults: a dry run of every repository.
func parseRunRequest(r *http.Request) (regdrift.RunRequest, error) {
	var req regdrift.RunRequest
	if err := decodeStrictBody(r.Body, &req, true); err != nil {
		return req, err
	}
	req.Trigger = regdrift.TriggerAPI
	return req, req.Validate()
}

// jsonError describes a failure to decode a body into target to the client by position,
// field and type. target is the value decoded into or a pointer to it.
func jsonError(err error, target any) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return bodyError(err)
	}
	if e, ok := errors.AsType[*json.SyntaxError](err); ok {
		return regdrift.Errorf(regdrift.EINVALID, "invalid JSON at byte %d", e.Offset)
	}
	if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return typeError(e, target)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return regdrift.Errorf(regdrift.EINVALID, "invalid JSON: unexpected end of body")
	}
	// What is left is an unknown field, whose message names only the field.
	return regdrift.Errorf(regdrift.EINVALID, "invalid JSON: %s",
		strings.TrimPrefix(err.Error(), "json: "))
}

// typeError says which field of target got the wrong kind of value, in JSON's words rather
// than Go's: a client knows strings and objects, not regdrift.Mode.
func typeError(e *json.UnmarshalTypeError, target any) error {
	got := ""
	if w := jsonValueWords(e.Value); w != "" {
		got = ", not " + w
	}
	if e.Field == "" {
		return regdrift.Errorf(regdrift.EINVALID, "the body must be a JSON object%s", got)
	}
	// For an element of a list the error names the list but the element's type, so the
	// field's own type is looked up to say "a list of strings" rather than "a string".
	t := e.Type
	if f, ok := jsonField(reflect.TypeOf(target), e.Field); ok {
		t = f
	}
	return regdrift.Errorf(regdrift.EINVALID, "field %q must be %s%s", e.Field, goTypeWords(t),
		got)
}

// jsonField returns the type of the field of struct type t that JSON calls name.
func jsonField(t reflect.Type, name string) (reflect.Type, bool) {
	if t != nil && t.Kind() == reflect.Pointer { // the decoders pass what they decode into
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil, false
	}
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name || (tag == "" && f.Name == name) {
			return f.Type, true
		}
	}
	return nil, false
}

// goTypeWords names what JSON value decodes into a value of type t.
func goTypeWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings"
		}
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	default:
		return "a different kind of value"
	}
}

// jsonValueWords names the kind of JSON value the decoder met; "" when it is not one of the
// kinds it reports.
func jsonValueWords(v string) string {
	kind, _, _ := strings.Cut(v, " ") // numbers come as "number 1e999"
	switch kind {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	case "array":
		return "a list"
	case "object":
		return "an object"
	}
	return ""
}

// parseRunForm reads the dashboard's run form. confirmed is true only when the form came from
// the confirmation page of an execute.
func parseRunForm(r *http.Request) (req regdrift.RunRequest, confirmed bool, err error) {
	if err := r.ParseForm(); err != nil {
		return req, false, bodyError(err)
	}
	f := r.PostForm
	// The dashboard's forms always name the mode and send a switch as "true" or not at all.
	// Anything else did not come from them, and is refused rather than read as a default: a
	// missing mode would start a shallow dry run, and "no_delete=yes" would delete.
	if f.Get("mode") == "" {
		return req, false, regdrift.Errorf(regdrift.EINVALID, "mode is missing")
	}
	req = regdrift.RunRequest{
		Mode:         regdrift.Mode(f.Get("mode")),
		Repositories: f["repository"],
		Trigger:      regdrift.TriggerUI,
	}
	if req.Deep, err = formSwitch(f, "deep"); err != nil {
		return req, false, err
	}
	if req.NoDelete, err = formSwitch(f, "no_delete"); err != nil {
		return req, false, err
	}
	return req, f.Get("confirm") == "yes", req.Validate()
}

// formSwitch reads a checkbox or hidden switch: absent is false, "true" is true.
func formSwitch(f url.Values, name string) (bool, error) {
	switch v := f.Get(name); v {
	case "":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, regdrift.Errorf(regdrift.EINVALID, "%s %q is not true", name, clip(v))
	}
}

// parseScope reads the repositories an execute would cover from ?repository=. It checks them
// as the execute's request will be checked, so that the page shows the very scope the execute
// gets, repeated names dropped.
func parseScope(r *http.Request) ([]string, error) {
	req := regdrift.RunRequest{Mode: regdrift.ModeExecute,
		Repositories: r.URL.Query()["repository"]}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return req.Repositories, nil
}

// clip shortens client input echoed in a message, at a character boundary: a cut inside a
// multi-byte character would put invalid UTF-8 into the page.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	n := 40
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
