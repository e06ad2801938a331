package views

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/regdrift/regdrift"
)

// stateLabel is a state as a reader says it: "only on primary".
func stateLabel(s regdrift.State) string { return strings.ReplaceAll(string(s), "_", " ") }

// label turns any snake_case value into words; an empty value reads as a dash.
func label[T ~string](v T) string {
	if v == "" {
		return "—"
	}
	return strings.ReplaceAll(string(v), "_", " ")
}

// shortDigest keeps the algorithm and the first twelve hex digits, enough to tell digests
// apart by eye; the full digest goes in a title attribute.
func shortDigest(d string) string {
	if d == "" {
		return "—"
	}
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return algo + ":" + hex[:12]
}

// shortMissing shortens one item of missing content, "kind digest", to the kind and a short
// digest; the full text goes in a title attribute. Anything else stays as it is.
func shortMissing(m string) string {
	kind, d, ok := strings.Cut(m, " ")
	if !ok {
		return m
	}
	return kind + " " + shortDigest(d)
}

// mediaTypeLabels names the manifest media types a registry commonly serves.
var mediaTypeLabels = map[string]string{
	"application/vnd.oci.image.index.v1+json":                   "OCI index",
	"application/vnd.oci.image.manifest.v1+json":                "OCI manifest",
	"application/vnd.docker.distribution.manifest.list.v2+json": "Docker manifest list",
	"application/vnd.docker.distribution.manifest.v2+json":      "Docker manifest v2",
}

// mediaTypeLabel is a short name for a media type; unknown ones stay as they are.
func mediaTypeLabel(mt string) string {
	if l, ok := mediaTypeLabels[mt]; ok {
		return l
	}
	return mt
}

// withheld reports whether a tag's action was held back on purpose, as a deletion that the
// options or an empty primary forbid: its message is then a reason, not a failure. An
// unresolved tag is skipped too, but because it could not be read, and that stays an error.
func withheld(d regdrift.TagDrift) bool {
	return d.Result == regdrift.ResultSkipped && d.State != regdrift.StateUnresolved
}

// tagMessageClass styles a tag row's message: a muted note when the action was withheld, so
// that red is left for what went wrong.
func tagMessageClass(d regdrift.TagDrift) string {
	if withheld(d) {
		return "note"
	}
	return "error"
}

// utc formats t in the project's one timestamp form.
func utc(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// ago says how long before now t was, coarsely.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	default:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// duration is how long a run took or has taken so far.
func duration(run *regdrift.Run, now time.Time) string {
	if run.StartedAt == nil {
		return "—"
	}
	end := now
	if run.FinishedAt != nil {
		end = *run.FinishedAt
	}
	return end.Sub(*run.StartedAt).Round(time.Second).String()
}

// worstFirst orders a repository's tags by state, worst first, names in order within a state:
// the store lists them by name, which scattered the four wrong tags of a repository among its
// hundred in sync.
func worstFirst(tags []*regdrift.TagRow) []*regdrift.TagRow {
	out := slices.Clone(tags)
	slices.SortStableFunc(out, func(a, b *regdrift.TagRow) int {
		return cmp.Compare(slices.Index(regdrift.States, a.State),
			slices.Index(regdrift.States, b.State))
	})
	return out
}

// scopeLabel describes which repositories a run covers. A scope can hold thousands of names
// (the API takes any list that fits in a request), and each runs table and the overview's
// verdict show it, so past scopeShown names it says how many more there are; the run's API
// answer lists them all.
func scopeLabel(scope []string) string {
	switch {
	case len(scope) == 0:
		return "all repositories"
	case len(scope) <= scopeShown:
		return strings.Join(scope, ", ")
	}
	return strings.Join(scope[:scopeShown], ", ") + " and " + itoa(len(scope)-scopeShown) +
		" more"
}

// knownCount is n, or "unknown" when nothing has been checked: a 0 there would read as
// "nothing to do" when nobody knows.
func knownCount(known bool, n int) string {
	if !known {
		return "unknown"
	}
	return itoa(n)
}

// scopeShown is how many names of a run's scope the pages show.
const scopeShown = 10

// options lists a run's switches in words. Deep has a line of its own (contentCheck).
func options(run *regdrift.Run) string {
	var opts []string
	if run.NoDelete {
		opts = append(opts, "no delete")
	}
	if run.AllowMassDelete {
		opts = append(opts, "deletion guard off")
	}
	if len(opts) == 0 {
		return "—"
	}
	return strings.Join(opts, ", ")
}

// history says what happened to a run besides its work: the restarts it came through and the
// requests (webhook bursts, schedule ticks) that joined it while it was queued. "" for none.
func history(run *regdrift.Run) string {
	var parts []string
	switch n := run.Interruptions; {
	case n == 1:
		parts = append(parts, "interrupted once by a server stop, resumed where it was")
	case n > 1:
		parts = append(parts, fmt.Sprintf("interrupted %d times by server stops, resumed "+
			"each time where it was", n))
	}
	switch n := run.Coalesced; {
	case n == 1:
		parts = append(parts, "1 more request joined it while it was queued")
	case n > 1:
		parts = append(parts, fmt.Sprintf("%d more requests joined it while it was queued", n))
	}
	return strings.Join(parts, "; ")
}

// guardText says what the deletion guard held back and how to override it. The engine's note
// has the numbers and the limits; a run recorded without one still gets the numbers.
func guardText(g regdrift.Guard) string {
	if g.Note != "" {
		return g.Note
	}
	return fmt.Sprintf("deletion guard: %d of %d deletions held back in %d repositories; %s",
		g.HeldBack, g.WouldDelete, g.Repositories, regdrift.OverrideHint)
}

// contentCheck says how far a run looked. Only a deep run can see that a tag is broken; a
// shallow one reads a matching digest as in sync.
func contentCheck(run *regdrift.Run) string {
	if run.Deep {
		return "digests and every child manifest and blob"
	}
	return "digests only"
}

// outcomeClass names the badge colour of an outcome; a run without one is neutral.
func outcomeClass(o regdrift.Outcome) string {
	if o == regdrift.OutcomeNone {
		return "badge outcome-none"
	}
	return "badge outcome-" + string(o)
}

func repoURL(name string) templ.SafeURL { return templ.URL("/repositories/" + name) }

func runURL(id int64) templ.SafeURL { return templ.URL(fmt.Sprintf("/runs/%d", id)) }

// tagCountText says how many of a run's tag rows the view selects, and which.
func tagCountText(p RunPage) string {
	n, total := p.Matched, p.TagCounts.Total()
	var what string
	switch v := p.View; {
	case v.State != "" && v.Result != "":
		what = fmt.Sprintf("those %s whose action %s", stateLabel(v.State), resultWords(v.Result))
	case v.State != "":
		what = "those " + stateLabel(v.State)
	case v.Result != "":
		what = "those whose action " + resultWords(v.Result)
	case v.All:
		return fmt.Sprintf("Showing all %d tags.", n)
	default:
		what = "those not in sync or acted on"
	}
	return fmt.Sprintf("Showing %d of %d tags: %s.", n, total, what)
}

// filterResults are the results a run's tags can be filtered by, in the order shown.
var filterResults = []regdrift.Result{regdrift.ResultFailed, regdrift.ResultOK,
	regdrift.ResultPlanned, regdrift.ResultSkipped}

// resultLabel names a result filter.
func resultLabel(r regdrift.Result) string { return string(r) }

// resultWords says how an action ended, after "whose action".
func resultWords(r regdrift.Result) string {
	switch r {
	case regdrift.ResultFailed:
		return "failed"
	case regdrift.ResultOK:
		return "succeeded"
	case regdrift.ResultPlanned:
		return "is planned"
	case regdrift.ResultSkipped:
		return "was withheld or skipped"
	}
	return "ended " + string(r)
}

// noMatchText says why a run page shows no tag row.
func noMatchText(p RunPage) string {
	switch v := p.View; {
	case v.Offset > 0 && p.Matched > 0:
		return "No tags on this page."
	case v.State != "" && v.Result != "":
		return fmt.Sprintf("No tag of this run is %s with an action that %s.",
			stateLabel(v.State), resultWords(v.Result))
	case v.State != "":
		return "No tag of this run is " + stateLabel(v.State) + "."
	case v.Result != "":
		return "No tag of this run has an action that " + resultWords(v.Result) + "."
	case v.All:
		return "No tag rows in this run yet."
	default:
		return fmt.Sprintf("All %d tags are in sync and nothing was done about them.",
			p.TagCounts.Total())
	}
}

// tagRange says which of the selected tag rows the page shows.
func tagRange(p RunPage) string {
	return fmt.Sprintf("Tags %d–%d of %d", p.View.Offset+1, p.View.Offset+len(p.Tags),
		p.Matched)
}

// pageOfTags is v moved to offset.
func pageOfTags(v TagView, offset int) TagView {
	v.Offset = max(offset, 0)
	return v
}

// actionsText says what a run has done or would do so far.
func actionsText(r *regdrift.Run) string {
	s := r.Summary
	if r.Mode != regdrift.ModeExecute {
		return count(s.Actions, "action", "actions") + " planned"
	}
	return fmt.Sprintf("%d ok, %d failed of %s", s.Actions-s.FailedActions, s.FailedActions,
		count(s.Actions, "action", "actions"))
}

// afterPartialText warns that the counts after an execute leave out the repositories that
// were not verified, whose drift would otherwise seem gone.
func afterPartialText(verified, repos int) string {
	return fmt.Sprintf("These counts cover the %d of %d repositories verified after acting; "+
		"see the table below for the others.", verified, repos)
}

func boolAttr(b bool) string { return strconv.FormatBool(b) }

// runTagsURL is the run page showing the tag rows of view.
func runTagsURL(runID int64, view TagView) templ.SafeURL {
	q := url.Values{}
	switch {
	case view.State != "" || view.Result != "":
		if view.State != "" {
			q.Set("state", string(view.State))
		}
		if view.Result != "" {
			q.Set("result", string(view.Result))
		}
	case view.All:
		q.Set("all", "1")
	}
	if view.Offset > 0 {
		q.Set("offset", strconv.Itoa(view.Offset))
	}
	u := fmt.Sprintf("/runs/%d", runID)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return templ.URL(u)
}

func runsPageURL(offset, limit int) templ.SafeURL {
	return templ.URL(fmt.Sprintf("/runs?offset=%d&limit=%d", max(offset, 0), limit))
}

// pageRange says which runs of how many a page shows.
func pageRange(offset, n, total int) string {
	if n == 0 {
		return fmt.Sprintf("No runs on this page; %d in all", total)
	}
	return fmt.Sprintf("Runs %d–%d of %d", offset+1, offset+n, total)
}

func itoa(n int) string { return strconv.Itoa(n) }

func id(n int64) string { return strconv.FormatInt(n, 10) }

// moreText says how many repositories a list leaves out, after its first clause.
func moreText(more int) string {
	if more <= 0 {
		return ""
	}
	return fmt.Sprintf("; %d more are not listed", more)
}

// live marks a part of a live page that app.js swaps for its new version; on a page that is
// not live it marks nothing.
func live(on bool, part string) templ.Attributes {
	if !on {
		return nil
	}
	return templ.Attributes{"data-live": part}
}

// moreReposText says how many repositories of a run its page leaves out, and where they are.
func moreReposText(p RunPage) string {
	return fmt.Sprintf("The %d repositories above are the worst of %d; the other %d are "+
		"listed by their tags below and on the overview.", len(p.Repos), p.AllRepos,
		p.AllRepos-len(p.Repos))
}
