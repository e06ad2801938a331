package views

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/regdrift/regdrift"
)

// The overview's words, links and chart geometry.

// verdictText is the overview's first line: whether the secondary can be trusted now.
func verdictText(m OverviewPage) string {
	t := m.Totals
	switch m.Verdict() {
	case "unknown":
		return "Nothing is known yet: no repository has been checked."
	case "error":
		return fmt.Sprintf("Not trustworthy: %s could not be fully checked or repaired; "+
			"%s unresolved, %s drifting.", count(t.Errors, "repository", "repositories"),
			count(t.Tags.Unresolved, "tag", "tags"), count(t.Tags.Drift(), "tag", "tags"))
	case "drift":
		return fmt.Sprintf("The secondary has drifted: %s in %s differ from the primary.",
			count(t.Tags.Drift(), "tag", "tags"),
			count(t.Drift, "repository", "repositories"))
	default:
		return fmt.Sprintf("The secondary is in sync: all %s in %s match the primary.",
			count(t.Tags.Total(), "tag", "tags"),
			count(t.Repositories, "repository", "repositories"))
	}
}

// count says "1 tag" or "3 tags".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// progressText says how far a run has got.
func progressText(r *regdrift.Run) string {
	if r.Status == regdrift.RunQueued {
		return "waiting to start"
	}
	if r.ReposTotal == 0 {
		return "listing repositories"
	}
	return fmt.Sprintf("%d of %d repositories, %s checked", r.ReposDone, r.ReposTotal,
		count(r.Summary.Tags, "tag", "tags"))
}

// filterName names a status filter for tests and links: "all" for none.
func filterName(s regdrift.RepoStatus) string {
	if s == "" {
		return "all"
	}
	return string(s)
}

// overviewURL is the overview showing the repositories f selects, from f's offset on. The
// default page size is left out of the link.
func overviewURL(f regdrift.RepoFilter) templ.SafeURL {
	q := url.Values{}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	if f.Query != "" {
		q.Set("q", f.Query)
	}
	if f.Offset > 0 {
		q.Set("offset", strconv.Itoa(f.Offset))
	}
	if f.Limit > 0 && f.Limit != RepoPageSize {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if len(q) == 0 {
		return "/"
	}
	return templ.URL("/?" + q.Encode())
}

// RepoPageSize is how many repositories the overview lists at once unless asked otherwise.
const RepoPageSize = 50

// pageOf is f moved to offset.
func pageOf(f regdrift.RepoFilter, offset int) regdrift.RepoFilter {
	f.Offset = max(offset, 0)
	return f
}

// repoCaption says what the repository table lists.
func repoCaption(m OverviewPage) string {
	what := map[regdrift.RepoStatus]string{
		"":                  "The latest check of each repository, worst first",
		regdrift.RepoDrift:  "Repositories whose latest check found drift, worst first",
		regdrift.RepoError:  "Repositories whose latest check ended in error",
		regdrift.RepoInSync: "Repositories in sync at their latest check",
	}[m.Filter.Status]
	if m.Filter.Query != "" {
		what += fmt.Sprintf(", names containing “%s”", m.Filter.Query)
	}
	return what + "."
}

// repoRange says which repositories of how many the page shows.
func repoRange(m OverviewPage) string {
	return fmt.Sprintf("Repositories %d–%d of %d", m.Filter.Offset+1,
		m.Filter.Offset+len(m.Repos), m.Matched)
}

// noRepoMatchText says why the repository list is empty.
func noRepoMatchText(f regdrift.RepoFilter) string {
	what := map[regdrift.RepoStatus]string{
		"":                  "No repository",
		regdrift.RepoDrift:  "No drifting repository",
		regdrift.RepoError:  "No repository in error",
		regdrift.RepoInSync: "No repository in sync",
	}[f.Status]
	switch {
	case f.Query != "":
		return fmt.Sprintf("%s has a name containing “%s”.", what, f.Query)
	case f.Offset > 0:
		return what + " on this page."
	default:
		return what + " as of the latest checks."
	}
}

// The chart's drawing area, in SVG user units; the SVG scales to its box.
const (
	chartWidth  = 600
	chartHeight = 120
	chartSlots  = 15
)

func chartViewBox() string { return fmt.Sprintf("0 0 %d %d", chartWidth, chartHeight) }

func chartHeightText() string { return strconv.Itoa(chartHeight) }

// chartBar is one run's bar: drift stacked on unresolved, from the bottom up.
type chartBar struct {
	Run                      *regdrift.Run
	Drift, Unresolved        int
	X, W                     string
	DriftY, DriftH           string
	UnresolvedY, UnresolvedH string
	Title                    string
}

// chartBars lays out runs, given newest first, as bars oldest to newest, scaled to the
// largest total.
func chartBars(runs []*regdrift.Run, now time.Time) []chartBar {
	top := 1
	for _, r := range runs {
		top = max(top, r.Summary.Drift()+r.Summary.Unresolved)
	}
	// Room for chartSlots bars at least, newest on the right, so a few runs do not make a
	// few wide slabs.
	slots := max(len(runs), chartSlots)
	slot := float64(chartWidth) / float64(slots)
	first := slots - len(runs)
	scale := float64(chartHeight-4) / float64(top) // a little headroom
	bars := make([]chartBar, 0, len(runs))
	for i := range runs {
		r := runs[len(runs)-1-i]
		d, u := r.Summary.Drift(), r.Summary.Unresolved
		uh, dh := float64(u)*scale, float64(d)*scale
		bars = append(bars, chartBar{
			Run: r, Drift: d, Unresolved: u,
			X: num(float64(first+i)*slot + slot*0.15), W: num(slot * 0.7),
			UnresolvedY: num(chartHeight - uh), UnresolvedH: num(uh),
			DriftY: num(chartHeight - uh - dh), DriftH: num(dh),
			Title: fmt.Sprintf("Run #%d, %s (%s): %s drifting, %d unresolved%s", r.ID,
				label(r.Mode), ago(now, r.CreatedAt), count(d, "tag", "tags"), u,
				beforeActing(r)),
		})
	}
	return bars
}

// beforeActing marks the counts of an execute as found before it acted.
func beforeActing(r *regdrift.Run) string {
	if r.Mode == regdrift.ModeExecute {
		return " before acting"
	}
	return ""
}

// chartCaption sums up the chart in words, for everyone and for screen readers.
func chartCaption(runs []*regdrift.Run) string {
	newest, oldest := runs[0], runs[len(runs)-1]
	var b strings.Builder
	// A run's counts are what it found before acting, so an execute that repaired every tag
	// still shows its drift; the caption says so rather than seem to show no progress.
	fmt.Fprintf(&b, "Drifting and unresolved tags found by the last %s over every repository "+
		"(an execute's before it acted), oldest on the left. ", count(len(runs), "run", "runs"))
	fmt.Fprintf(&b, "Latest, run #%d: %s drifting, %d unresolved%s", newest.ID,
		count(newest.Summary.Drift(), "tag", "tags"), newest.Summary.Unresolved,
		beforeActing(newest))
	if len(runs) > 1 {
		fmt.Fprintf(&b, "; oldest shown, run #%d: %d drifting, %d unresolved%s", oldest.ID,
			oldest.Summary.Drift(), oldest.Summary.Unresolved, beforeActing(oldest))
	}
	b.WriteString(".")
	return b.String()
}

// num writes a coordinate with one decimal, enough for a chart a few hundred units wide.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
