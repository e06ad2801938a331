package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/regdrift/regdrift"
)

// Webhook intake: registry notifications and signed CI calls. Neither can name a registry
// host: runs only ever reach the registries of the configuration, and a webhook names
// repositories at most.

// Webhooks configures the two webhook endpoints. An empty secret turns its endpoint off.
type Webhooks struct {
	// RegistrySecret is what a registry sends in the X-Regdrift-Webhook-Token header.
	RegistrySecret string
	// CISecret is the HMAC-SHA256 key of the X-Regdrift-Signature-256 header of CI calls.
	CISecret string
	// Mode, Deep and NoDelete shape the runs registry notifications start; an empty Mode is
	// a dry run.
	Mode     regdrift.Mode
	Deep     bool
	NoDelete bool
	// Settle holds a notification's run back until the repository's events have been quiet
	// that long (at most regdrift.MaxSettle), so that one push makes one run.
	Settle time.Duration
	// Repositories are the ones the configuration covers; empty means every repository.
	Repositories []string
	// Hosts are the registry hosts (host[:port]) whose events count: the primary's and the
	// secondary's. An event that names another host in its request is ignored; an event that
	// names none counts. Empty accepts every host.
	Hosts []string
}

// Header names and limits of the webhooks.
const (
	headerWebhookToken = "X-Regdrift-Webhook-Token"
	headerSignature    = "X-Regdrift-Signature-256"
	eventsMediaType    = "application/vnd.docker.distribution.events.v1+json"

	defaultCIWait = 5 * time.Minute
	maxCIWait     = 30 * time.Minute
)

// manifestMediaTypes are the targets of push events that change what a tag points at; other
// pushes upload blobs, which no tag names yet.
var manifestMediaTypes = []string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v1+prettyjws",
	"application/vnd.docker.distribution.manifest.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
}

// envelope is the part of a Distribution notification regdrift reads. Other fields (actor,
// source, request, target URL) are ignored on purpose: hosts come from configuration only.
type envelope struct {
	Events []event `json:"events"`
}

type event struct {
	Action string `json:"action"`
	Target struct {
		MediaType  string `json:"mediaType"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	} `json:"target"`
	// Request.Host is the registry host the client that caused the event spoke to.
	Request struct {
		Host string `json:"host"`
	} `json:"request"`
}

// Ignored counts the events that started nothing, by reason.
type Ignored struct {
	Pull       int `json:"pull"`
	Mount      int `json:"mount"`
	Blob       int `json:"blob"`
	NotCovered int `json:"not_covered"`
	OtherHost  int `json:"other_host"`
	Invalid    int `json:"invalid_name"`
	Other      int `json:"other_action"`
}

// webhookRun is one repository's run in a webhook answer.
type webhookRun struct {
	Repository string `json:"repository"`
	RunID      int64  `json:"run_id"`
	// Joined is true when the events joined a run already queued for the repository.
	Joined bool `json:"joined"`
}

type registryHookJSON struct {
	Events  int          `json:"events"`
	Runs    []webhookRun `json:"runs"`
	Ignored Ignored      `json:"ignored"`
}

// registryWebhook takes a Distribution notification envelope and queues a run for every
// repository its push and delete events touch. Events for one repository join the run that
// is already queued for it. Ignored events are counted in a 200 answer, never refused: a
// registry resends a refused envelope again and again, holding up the events behind it.
func (s *Server) registryWebhook(w http.ResponseWriter, r *http.Request) {
	if s.hooks.RegistrySecret == "" {
		s.fail(w, r, regdrift.Errorf(regdrift.ENOTFOUND, "the registry webhook is off: "+
			"start the server with REGDRIFT_WEBHOOK_SECRET set"))
		return
	}
	if !sameSecret(r.Header.Get(headerWebhookToken), s.hooks.RegistrySecret) {
		s.fail(w, r, regdrift.Errorf(codeForbidden, "missing or wrong %s", headerWebhookToken))
		return
	}
	if err := checkMediaType(r, eventsMediaType, "application/json"); err != nil {
		s.fail(w, r, err)
		return
	}
	env, err := parseEnvelope(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	repos, ignored := s.affected(env)
	s.hookMetrics.events.WithLabelValues("ignored").Add(float64(ignored.total()))
	s.hookMetrics.events.WithLabelValues("accepted").Add(float64(len(env.Events) -
		ignored.total()))
	out := registryHookJSON{Events: len(env.Events), Runs: []webhookRun{}, Ignored: ignored}
	for _, name := range repos {
		run, err := s.runs.StartRun(r.Context(), regdrift.RunRequest{
			Mode: s.hooks.Mode, Repositories: []string{name}, Deep: s.hooks.Deep,
			NoDelete: s.hooks.NoDelete, Trigger: regdrift.TriggerWebhook, Coalesce: true,
			Settle: s.hooks.Settle,
		})
		if err != nil {
			// The registry sends the envelope again; its events join the runs queued so far.
			s.fail(w, r, fmt.Errorf("queue run for %s: %w", name, err))
			return
		}
		joined := run.Coalesced > 0
		s.hookMetrics.countRun("registry", joined)
		out.Runs = append(out.Runs, webhookRun{Repository: name, RunID: run.ID, Joined: joined})
	}
	if ignored.OtherHost > 0 {
		// Most likely the registry knows itself by another name than the configuration:
		// its pushes would never be mirrored, so say so where an operator looks.
		s.log.WarnContext(r.Context(), "registry notification names hosts regdrift does not "+
			"check; those events are ignored (a name of one of ours belongs in webhook_hosts)",
			keyRequestID, requestID(r.Context()),
			"hosts", otherHosts(env, s), "configured", s.hooks.Hosts)
	}
	s.log.InfoContext(r.Context(), "registry notification", keyRequestID,
		requestID(r.Context()), "events", out.Events, "runs", len(out.Runs),
		"ignored", ignored.total(), "ignored_other_host", ignored.OtherHost,
		"ignored_not_covered", ignored.NotCovered, "ignored_invalid_name", ignored.Invalid)
	status := http.StatusOK
	if len(out.Runs) > 0 {
		status = http.StatusAccepted
	}
	s.writeJSON(w, r, status, out)
}

// parseEnvelope decodes a notification envelope. Unknown fields are fine: Distribution adds
// some from version to version, and regdrift reads only the few it needs.
func parseEnvelope(r *http.Request) (envelope, error) {
	var env envelope
	if err := decodeStrictBody(r.Body, &env, false); err != nil {
		return env, err
	}
	if env.Events == nil {
		return env, regdrift.Errorf(regdrift.EINVALID,
			`the body is not a notification envelope: it has no "events" list`)
	}
	return env, nil
}

// affected returns, in name order, the repositories whose tags the events may have changed,
// and counts the events that changed none or that the configuration does not cover.
func (s *Server) affected(env envelope) ([]string, Ignored) {
	var ign Ignored
	seen := map[string]bool{}
	for _, ev := range env.Events {
		t := ev.Target
		switch ev.Action {
		case "pull":
			ign.Pull++
			continue
		case "mount":
			ign.Mount++
			continue
		case "push":
			if t.Tag == "" && !slices.Contains(manifestMediaTypes, baseType(t.MediaType)) {
				ign.Blob++
				continue
			}
		case "delete":
			// A delete names a tag, or a digest of a manifest or a blob that the event does
			// not tell apart: the check finds out.
		default:
			ign.Other++
			continue
		}
		switch {
		case !s.fromOurHosts(ev):
			ign.OtherHost++
		case regdrift.ValidateRepoName(t.Repository) != nil:
			ign.Invalid++
		case !s.covers(t.Repository):
			ign.NotCovered++
		default:
			seen[t.Repository] = true
		}
	}
	return slices.Sorted(maps.Keys(seen)), ign
}

func (i Ignored) total() int {
	return i.Pull + i.Mount + i.Blob + i.NotCovered + i.OtherHost + i.Invalid + i.Other
}

// covers reports whether the configuration covers the repository name.
func (s *Server) covers(name string) bool {
	return len(s.hooks.Repositories) == 0 || slices.Contains(s.hooks.Repositories, name)
}

// fromOurHosts reports whether ev happened on one of the configured registries. A registry
// that serves several names, or a notification endpoint shared by other registries, sends
// events for repositories regdrift does not mirror; their names may clash with ours.
func (s *Server) fromOurHosts(ev event) bool {
	h := hostKey(ev.Request.Host)
	return h == "" || len(s.hooks.Hosts) == 0 || slices.ContainsFunc(s.hooks.Hosts,
		func(ours string) bool { return hostKey(ours) == h })
}

// otherHosts lists, once each and at most five, the hosts of env's events that are not ours.
func otherHosts(env envelope, s *Server) []string {
	var hosts []string
	for _, ev := range env.Events {
		h := ev.Request.Host
		if !s.fromOurHosts(ev) && !slices.Contains(hosts, h) && len(hosts) < 5 {
			hosts = append(hosts, clip(h))
		}
	}
	return hosts
}

// hostKey is a host[:port] as compared: lower case, without the default ports that one side
// may spell out and the other leave off.
func hostKey(h string) string {
	h = strings.ToLower(h)
	for _, port := range []string{":443", ":80"} {
		h = strings.TrimSuffix(h, port)
	}
	return h
}

// ciResultJSON is the answer of a CI call that waited for its run.
type ciResultJSON struct {
	Run *regdrift.Run `json:"run"`
	// Passed is true only when the run ended in sync (after an execute: verified so).
	Passed bool `json:"passed"`
	// ExitCode is what `regdrift check` would exit with: 0 in sync, 1 drift, 2 errors.
	ExitCode int    `json:"exit_code"`
	Message  string `json:"message"`
}

// ciWebhook starts a run for a pipeline. The body is a run request (repositories, mode, deep,
// no_delete), signed with HMAC-SHA256. Without ?wait=true it answers 202 with the queued run;
// with it, it waits up to ?timeout= and answers 200 when the run ended in sync, 409 when drift
// or errors remain, 504 when the wait ran out and 503 when the server stopped first.
func (s *Server) ciWebhook(w http.ResponseWriter, r *http.Request) {
	req, wait, timeout, err := s.parseCIRequest(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	run, err := s.runs.StartRun(r.Context(), req)
	if err != nil {
		s.fail(w, r, fmt.Errorf("start run: %w", err))
		return
	}
	s.hookMetrics.countRun("ci", false)
	w.Header().Set("Location", fmt.Sprintf("/api/v1/runs/%d", run.ID))
	if !wait {
		s.writeJSON(w, r, http.StatusAccepted, runJSON(run))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	final, err := s.runs.Wait(ctx, run.ID)
	if errors.Is(err, context.DeadlineExceeded) {
		// The run goes on; the answer says where to look.
		final, err = s.store.GetRun(r.Context(), run.ID)
		if err == nil {
			s.writeJSON(w, r, http.StatusGatewayTimeout, ciResult(final,
				fmt.Sprintf("the run did not finish within %v; it goes on", timeout)))
			return
		}
	}
	if err != nil {
		s.fail(w, r, fmt.Errorf("wait for run %d: %w", run.ID, err))
		return
	}
	status := http.StatusOK
	switch {
	case !final.Status.Finished():
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", retryAfter)
	case final.Outcome != regdrift.OutcomeInSync:
		status = http.StatusConflict
	}
	s.writeJSON(w, r, status, ciResult(final, ""))
}

func ciResult(run *regdrift.Run, msg string) ciResultJSON {
	out := ciResultJSON{Run: runJSON(run), ExitCode: regdrift.OutcomeError.ExitCode(),
		Message: msg}
	switch {
	case !run.Status.Finished():
		if msg == "" {
			out.Message = fmt.Sprintf("the run is %s: the server stopped before it finished; "+
				"it resumes when the server starts again", run.Status)
		}
	default:
		out.ExitCode = run.Outcome.ExitCode()
		out.Passed = run.Outcome == regdrift.OutcomeInSync
		if out.Message == "" {
			out.Message = "the run ended " + string(run.Outcome)
		}
	}
	return out
}

// parseCIRequest checks the signature over the raw body, then reads the run request in it
// and the wait parameters.
func (s *Server) parseCIRequest(r *http.Request) (req regdrift.RunRequest, wait bool,
	timeout time.Duration, err error) {
	if s.hooks.CISecret == "" {
		return req, false, 0, regdrift.Errorf(regdrift.ENOTFOUND,
			"the CI webhook is off: start the server with REGDRIFT_CI_SECRET set")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return req, false, 0, bodyError(err)
	}
	if !validSignature(r.Header.Get(headerSignature), body, s.hooks.CISecret) {
		return req, false, 0, regdrift.Errorf(codeForbidden,
			"missing or wrong %s: want sha256=<hex HMAC-SHA256 of the body>", headerSignature)
	}
	if wait, timeout, err = parseWait(r); err != nil {
		return req, false, 0, err
	}
	if err := decodeStrictBody(bytes.NewReader(body), &req, true); err != nil {
		return req, false, 0, err
	}
	req.Trigger = regdrift.TriggerCI
	if err := req.Validate(); err != nil {
		return req, false, 0, err
	}
	for _, name := range req.Repositories {
		if !s.covers(name) {
			return req, false, 0, regdrift.Errorf(regdrift.EINVALID,
				"repository %q is not one the server is configured for", clip(name))
		}
	}
	if len(req.Repositories) == 0 {
		req.Repositories = s.hooks.Repositories
	}
	return req, wait, timeout, nil
}

// parseWait reads ?wait=true and ?timeout= (a Go duration such as 90s or 10m, at most 30m).
func parseWait(r *http.Request) (bool, time.Duration, error) {
	q := r.URL.Query()
	var wait bool
	switch v := q.Get("wait"); v {
	case "", "false", "0":
	case "true", "1":
		wait = true
	default:
		return false, 0, regdrift.Errorf(regdrift.EINVALID, "wait %q is not true or false",
			clip(v))
	}
	timeout := defaultCIWait
	if v := q.Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxCIWait {
			return false, 0, regdrift.Errorf(regdrift.EINVALID,
				"timeout %q is not a duration between 1s and %v (such as 90s or 10m)", clip(v),
				maxCIWait)
		}
		timeout = d
	}
	return wait, timeout, nil
}

// decodeStrictBody decodes one JSON value from body into v; with strict, unknown fields are
// refused. An empty body leaves v as it is.
func decodeStrictBody(body io.Reader, v any, strict bool) error {
	dec := json.NewDecoder(body)
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return jsonError(err, v)
	case dec.More():
		return regdrift.Errorf(regdrift.EINVALID, "invalid JSON: more than one value")
	}
	return nil
}

// checkMediaType refuses a body whose Content-Type is none of types; parameters such as
// charset are allowed.
func checkMediaType(r *http.Request, types ...string) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && slices.Contains(types, mt) {
		return nil
	}
	return regdrift.Errorf(codeUnsupportedMediaType, "content type %q is not one of %s",
		clip(ct), strings.Join(types, ", "))
}

// sameSecret compares in constant time. Both sides are hashed first, so that neither the
// time nor an early exit on length tells anything about the secret.
func sameSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return got != "" && subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// validSignature checks a "sha256=<hex>" header against the HMAC-SHA256 of body.
func validSignature(header string, body []byte, secret string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// baseType drops the parameters of a media type.
func baseType(mt string) string {
	base, _, _ := strings.Cut(mt, ";")
	return strings.TrimSpace(base)
}
