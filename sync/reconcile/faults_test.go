package reconcile_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/sync/reconcile"
	"github.com/regdrift/regdrift/sync/registry"
	"github.com/regdrift/regdrift/sync/regtest"
)

// The fault fixture: m/app drifts in every way a plan acts on (v1 in sync, v2 stale, v3 only
// on the primary, old an orphan); m/other is in sync. A fault aimed at m/app must leave
// m/other's result as it is.
const (
	faultApp   = "m/app"
	faultOther = "m/other"
)

func fillFaults(t *testing.T) func(pHost, sHost string) error {
	return func(pHost, sHost string) error {
		ctx := t.Context()
		rc := regtest.NewClient(pHost, sHost)
		push := func(host, repo, tag, seed string) error {
			_, err := regtest.Push(ctx, rc, host, repo, tag,
				regtest.Spec{Kind: regtest.OCIImage, Seed: seed})
			return err
		}
		for _, p := range []struct{ host, repo, tag, seed string }{
			{pHost, faultApp, "v1", "app-v1"}, {sHost, faultApp, "v1", "app-v1"},
			{pHost, faultApp, "v2", "app-v2"}, {sHost, faultApp, "v2", "app-v2-old"},
			{pHost, faultApp, "v3", "app-v3"},
			{sHost, faultApp, "old", "app-old"},
			{pHost, faultOther, "v1", "other-v1"}, {sHost, faultOther, "v1", "other-v1"},
			{pHost, faultOther, "v2", "other-v2"}, {sHost, faultOther, "v2", "other-v2"},
		} {
			if err := push(p.host, p.repo, p.tag, p.seed); err != nil {
				return fmt.Errorf("push %s/%s:%s: %w", p.host, p.repo, p.tag, err)
			}
		}
		return nil
	}
}

// counted wraps in so that hits counts the requests m selects, faulted or not.
func counted(m regtest.Match, in regtest.Intercept) (regtest.Intercept, *atomic.Int64) {
	var hits atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) bool {
		if m.Matches(r) {
			hits.Add(1)
		}
		return in(w, r)
	}, &hits
}

func path(repo, rest string) string { return "/v2/" + repo + "/" + rest }

var (
	appHeadV2 = regtest.Match{Method: http.MethodHead, Kind: regtest.PathManifest,
		Path: path(faultApp, "manifests/v2")}
	appTags = regtest.Match{Method: http.MethodGet, Kind: regtest.PathTags,
		Path: path(faultApp, "tags/list")}
	catalog       = regtest.Match{Method: http.MethodGet, Kind: regtest.PathCatalog}
	appManifestV2 = regtest.Match{Kind: regtest.PathManifest,
		Path: path(faultApp, "manifests/v2")}
	blobUpload = regtest.Match{Method: http.MethodPost, Kind: regtest.PathBlob}
	putManif   = regtest.Match{Method: http.MethodPut, Kind: regtest.PathManifest}
	// anyListing is every tag listing, the first request a run sends for a repository.
	anyListing = regtest.Match{Kind: regtest.PathTags}
	lieDigest  = "sha256:" + strings.Repeat("ab", 32)
)

// goneAfterCatalog drops every request but the catalog's without an answer.
func goneAfterCatalog(w http.ResponseWriter, r *http.Request) bool {
	if catalog.Matches(r) {
		return false
	}
	return regtest.Gone(regtest.Match{Kind: regtest.KindOf(r.URL.Path)})(w, r)
}

// faultRow is one fault and what must come of it.
type faultRow struct {
	name string
	// secondary puts the fault on the secondary; otherwise it is on the primary.
	secondary bool
	// match selects the requests the fault is about; intercept and modify inject it.
	match     regtest.Match
	intercept regtest.Intercept
	modify    regtest.Modify
	// status and outcome of the run; app and other the status of each repository (empty:
	// none, the run failed before them).
	status     regdrift.RunStatus
	outcome    regdrift.Outcome
	app, other regdrift.RepoStatus
	// cause must appear in the run's error, m/app's error or one of its tag errors.
	cause string
	// minHits and maxHits bound the requests match selected: a retry shows as more than one.
	minHits, maxHits int64
	// keepOrphan says the primary's view of m/app was incomplete: its orphan must stay.
	keepOrphan bool
	// hangs says the fault is a request that never answers: only then is the request
	// timeout short, so that a loaded machine does not turn other rows into timeouts.
	hangs bool
}

func faultRows() []faultRow {
	var rows []faultRow
	forever := -1
	// 5xx on the catalog: the run cannot know its repositories and fails before any is
	// touched. regclient retries 500 and 502 until its backoff count reaches RetryLimit (2
	// here: two tries) but not 503.
	for _, c := range []struct {
		status int
		hits   int64
	}{{500, 2}, {502, 2}, {503, 1}} {
		rows = append(rows, faultRow{
			name: fmt.Sprintf("catalog %d", c.status), match: catalog,
			intercept: regtest.Times(catalog, forever, c.status, nil),
			status:    regdrift.RunFailed, outcome: regdrift.OutcomeError,
			cause: "catalog", minHits: c.hits, maxHits: c.hits, keepOrphan: true,
		})
	}
	rows = append(rows,
		faultRow{
			name: "catalog 500 once: retried, recovered", match: catalog,
			intercept: regtest.Times(catalog, 1, 500, nil),
			status:    regdrift.RunDone, outcome: regdrift.OutcomeInSync,
			app: regdrift.RepoInSync, other: regdrift.RepoInSync, minHits: 2, maxHits: 2,
		},
		// A HEAD that fails leaves its tag unresolved, its repository an error; 500 on a
		// primary HEAD is TestEngine_HeadFailureLeavesTagUnresolved.
		faultRow{
			name: "secondary HEAD 502: retried, unresolved", secondary: true, match: appHeadV2,
			intercept: regtest.Times(appHeadV2, forever, 502, nil),
			status:    regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "502", minHits: 2,
		},
		faultRow{
			name: "primary HEAD 503: not retried, unresolved", match: appHeadV2,
			intercept: regtest.Times(appHeadV2, forever, 503, nil),
			status:    regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "503",
			minHits: 1, maxHits: 2, // the check, and the verification after the execute
		},
		// A 429 with Retry-After waits as told (capped by RetryAfterMax, here 50ms: an hour
		// would hold the run) and does not count as a backoff, so it gets RetryLimit+1 tries;
		// without the header it is an ordinary backoff.
		faultRow{
			name: "429 with Retry-After (an hour, capped): retried, recovered", match: appHeadV2,
			intercept: regtest.Times(appHeadV2, 2, 429, http.Header{"Retry-After": {"3600"}}),
			status:    regdrift.RunDone, outcome: regdrift.OutcomeInSync,
			app: regdrift.RepoInSync, other: regdrift.RepoInSync, minHits: 3,
		},
		faultRow{
			name: "429 without Retry-After: backoff, recovered", match: appHeadV2,
			intercept: regtest.Times(appHeadV2, 1, 429, nil),
			status:    regdrift.RunDone, outcome: regdrift.OutcomeInSync,
			app: regdrift.RepoInSync, other: regdrift.RepoInSync, minHits: 2,
		},
		faultRow{
			name: "429 for ever: bounded, unresolved", match: appHeadV2,
			intercept: regtest.Times(appHeadV2, forever, 429,
				http.Header{"Retry-After": {"3600"}}),
			status: regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync,
			cause: "retry limit exceeded", minHits: 3,
		},
		faultRow{
			name: "HEAD never answers: timeout, unresolved", match: appHeadV2,
			intercept: regtest.Hang(appHeadV2), hangs: true,
			status: regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "timeout", minHits: 2,
		},
		// The primary's listing of m/app is incomplete: no deletion there.
		faultRow{
			name: "tag list reset mid-body", match: appTags,
			modify: regtest.ResetMidBody(appTags),
			status: regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "list tags",
			minHits: 1, keepOrphan: true,
		},
		faultRow{
			name: "tag list truncated JSON", match: appTags, modify: regtest.Truncate(appTags),
			status: regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "tags", minHits: 1,
			keepOrphan: true,
		},
		faultRow{
			name: "tag list never answers: timeout", match: appTags,
			intercept: regtest.Hang(appTags), hangs: true,
			status: regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "timeout",
			minHits: 1, keepOrphan: true,
		},
		faultRow{
			name: "primary 401 (token revoked)", match: appTags,
			intercept: regtest.Times(appTags, forever, 401,
				http.Header{"Www-Authenticate": {`Basic realm="regtest"`}}),
			status: regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "unauthorized",
			minHits: 1, keepOrphan: true,
		},
		faultRow{
			name: "secondary 403 (token revoked)", secondary: true, match: appTags,
			intercept: regtest.Times(appTags, forever, 403, nil),
			status:    regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "403",
			minHits: 1, maxHits: 2, keepOrphan: true, // the guard's count, the check
		},
		faultRow{
			// Every connection after the catalog is dropped unanswered.
			name: "the primary goes away after the catalog", match: anyListing,
			intercept: goneAfterCatalog,
			status:    regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoError, cause: "primary",
			minHits: 2, keepOrphan: true,
		},
		faultRow{
			name: "HEAD without a digest header: GET fallback", match: appHeadV2,
			modify: regtest.SetHeader(appHeadV2, "Docker-Content-Digest", ""),
			status: regdrift.RunDone, outcome: regdrift.OutcomeInSync,
			app: regdrift.RepoInSync, other: regdrift.RepoInSync, minHits: 1,
		},
		faultRow{
			name: "HEAD digest disagrees with the content: the copy fails", match: appHeadV2,
			modify: regtest.SetHeader(appHeadV2, "Docker-Content-Digest", lieDigest),
			status: regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "copy", minHits: 1,
		},
		faultRow{
			name: "GET digest disagrees with the body", match: appManifestV2,
			modify: func(r *http.Response) error {
				if !appManifestV2.Matches(r.Request) {
					return nil
				}
				r.Header.Del("Docker-Content-Digest")
				if r.Request.Method == http.MethodGet {
					r.Header.Set("Docker-Content-Digest", lieDigest)
				}
				return nil
			},
			status: regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "digest mismatch", minHits: 1,
		},
		// Uploads to the secondary fail: the copies are failed actions with the cause.
		faultRow{
			name: "blob upload 500: retried, copy failed", secondary: true, match: blobUpload,
			intercept: regtest.Times(blobUpload, forever, 500, nil),
			status:    regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "500", minHits: 2,
		},
		faultRow{
			name: "manifest upload 502: retried, copy failed", secondary: true, match: putManif,
			intercept: regtest.Times(putManif, forever, 502, nil),
			status:    regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "502", minHits: 2,
		},
		faultRow{
			name: "manifest upload 503: copy failed", secondary: true, match: putManif,
			intercept: regtest.Times(putManif, forever, 503, nil),
			status:    regdrift.RunDone, outcome: regdrift.OutcomeError,
			app: regdrift.RepoError, other: regdrift.RepoInSync, cause: "503", minHits: 1,
		},
	)
	return rows
}

// TestFaultMatrix runs an execute over the fault fixture once per fault and checks what the
// run, each repository and the secondary show for it. Faults on the primary's view of m/app
// must never turn into a deletion there.
func TestFaultMatrix(t *testing.T) {
	for _, row := range faultRows() {
		t.Run(row.name, func(t *testing.T) {
			timeout := 10 * time.Second
			if row.hangs {
				timeout = 300 * time.Millisecond
			}
			e := newEnvOpts(t, fillFaults(t), reconcile.Config{}, registry.Options{
				RetryLimit: 2, RetryDelay: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
				RetryAfterMax: 50 * time.Millisecond, RequestTimeout: timeout,
			})
			faulty := e.primary
			if row.secondary {
				faulty = e.secondary
			}
			intercept := row.intercept
			if intercept == nil {
				intercept = func(http.ResponseWriter, *http.Request) bool { return false }
			}
			intercept, hits := counted(row.match, intercept)
			faulty.SetIntercept(intercept)
			faulty.SetModify(row.modify)

			run, results := e.run(t, regdrift.ModeExecute, false)
			checkFaultRun(t, e, row, run, results)
			if n := hits.Load(); n < row.minHits || (row.maxHits > 0 && n > row.maxHits) {
				t.Errorf("%d requests for the faulted path, want %d..%d", n, row.minHits,
					row.maxHits)
			}
		})
	}
}

func checkFaultRun(t *testing.T, e *env, row faultRow, run *regdrift.Run,
	results map[string]*regdrift.RepoResult) {
	t.Helper()
	if run.Status != row.status || run.Outcome != row.outcome {
		t.Errorf("run %s/%s %q, want %s/%s", run.Status, run.Outcome, run.Error, row.status,
			row.outcome)
	}
	if (row.outcome == regdrift.OutcomeError) != (run.Outcome.ExitCode() == 2) ||
		(row.outcome == regdrift.OutcomeError && run.Summary.Errors == 0) {
		t.Errorf("exit code %d, %d errors counted, for outcome %s", run.Outcome.ExitCode(),
			run.Summary.Errors, run.Outcome)
	}
	for repo, want := range map[string]regdrift.RepoStatus{faultApp: row.app,
		faultOther: row.other} {
		res := results[repo]
		switch {
		case want == "" && res != nil:
			t.Errorf("%s: a result %s, want none", repo, res.Status)
		case want != "" && res == nil:
			t.Errorf("%s: no result, want %s", repo, want)
		case res != nil && res.Status != want:
			t.Errorf("%s: %s, want %s: %s", repo, res.Status, want, causes(run, res))
		}
	}
	if row.cause != "" && !strings.Contains(causes(run, results[faultApp]), row.cause) {
		t.Errorf("no error names %q: %s", row.cause, causes(run, results[faultApp]))
	}
	kept := headDigest(t, e.sReg.URL, faultApp, "old") != ""
	if row.keepOrphan && !kept {
		t.Error("the orphan was deleted although the primary's view was incomplete")
	}
	if row.app == regdrift.RepoInSync && kept {
		t.Error("the orphan was kept although the run recovered")
	}
}

// causes gathers every message a run and a repository carry.
func causes(run *regdrift.Run, res *regdrift.RepoResult) string {
	msgs := []string{run.Error}
	if res != nil {
		msgs = append(msgs, res.Error)
		for _, t := range res.Tags {
			msgs = append(msgs, t.Error)
		}
	}
	return strings.Join(msgs, " | ")
}
