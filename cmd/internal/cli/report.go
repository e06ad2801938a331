package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/server"
)

// report is the output of check and reconcile. Its JSON shape is part of the interface:
// a field may be empty, never absent.
type report struct {
	RunID     int64              `json:"run_id"`
	Mode      regdrift.Mode      `json:"mode"`
	Status    regdrift.RunStatus `json:"status"`
	Outcome   regdrift.Outcome   `json:"outcome"`
	Error     string             `json:"error"`
	Primary   string             `json:"primary"`
	Secondary string             `json:"secondary"`
	Summary   regdrift.Summary   `json:"summary"`
	Guard     regdrift.Guard     `json:"guard"`
	// Repositories is written one repository at a time from results, each with the tag rows
	// tags gives: a report of a million tags is never held whole.
	Repositories []repoReport `json:"repositories"`

	results []*regdrift.RepoResult
	tags    tagRows
}

// tagRows gives the tag rows of a repository result.
type tagRows func(*regdrift.RepoResult) ([]regdrift.TagDrift, error)

// heldRows gives the rows a result holds.
func heldRows(r *regdrift.RepoResult) ([]regdrift.TagDrift, error) { return r.Tags, nil }

// repoReport is a repository result as the API serves it, with its tags.
type repoReport struct {
	*regdrift.RepoResult
	Tags []server.TagJSON `json:"tags"`
}

func newReport(run *regdrift.Run, primary, secondary string,
	results []*regdrift.RepoResult, tags tagRows) report {
	return report{
		RunID: run.ID, Mode: run.Mode, Status: run.Status, Outcome: run.Outcome,
		Error: run.Error, Primary: primary, Secondary: secondary, Summary: run.Summary,
		Guard: run.Guard, Repositories: []repoReport{}, results: results, tags: tags,
	}
}

// repo returns result r with its tag rows.
func (rep report) repo(r *regdrift.RepoResult) (repoReport, error) {
	tags, err := rep.tags(r)
	if err != nil {
		return repoReport{}, fmt.Errorf("tags of %s: %w", r.Name, err)
	}
	rr := repoReport{RepoResult: r, Tags: make([]server.TagJSON, 0, len(tags))}
	for _, t := range tags {
		rr.Tags = append(rr.Tags, server.NewTagJSON(t))
	}
	return rr, nil
}

// writeJSON writes the report as json.Encoder with a two-space indent would, one repository
// at a time.
func (rep report) writeJSON(w io.Writer) error {
	head, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	// The head ends with its empty list of repositories, which the loop below fills in.
	const empty = "[]\n}"
	if !bytes.HasSuffix(head, []byte(empty)) {
		return fmt.Errorf("report head ends with %q", head[max(0, len(head)-20):])
	}
	// A buffered writer keeps its first error, which Flush returns.
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s", head[:len(head)-len(empty)])
	if len(rep.results) == 0 {
		fmt.Fprint(bw, empty+"\n")
		return bw.Flush()
	}
	fmt.Fprint(bw, "[")
	for i, r := range rep.results {
		rr, err := rep.repo(r)
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(rr, "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprint(bw, ",")
		}
		fmt.Fprintf(bw, "\n    %s", b)
	}
	fmt.Fprint(bw, "\n  ]\n}\n")
	return bw.Flush()
}

// writeTable prints every tag that is not in sync, then the summary. Tags in sync are counted,
// not listed: a registry holds too many of them for a terminal.
func (r report) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "run %d (%s): %s -> %s\n\n", r.RunID, r.Mode, r.Primary, r.Secondary)
	if len(r.results) == 0 && r.Error != "" {
		_, err := fmt.Fprintf(w, "run %s: %s\n", r.Status, r.Error)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tSTATE\tPRIMARY\tSECONDARY\tACTION\tRESULT\tDETAIL")
	for _, res := range r.results {
		repo, err := r.repo(res)
		if err != nil {
			return err
		}
		if repo.Error != "" {
			fmt.Fprintf(tw, "%s\t-\terror\t\t\t\t\t%s\n", repo.Name, repo.Error)
		}
		for _, t := range repo.Tags {
			if t.State == regdrift.StateInSync {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", repo.Name, t.Tag, t.State,
				short(t.PrimaryDigest), short(t.SecondaryDigest), t.Action, dash(t.Result),
				detail(t))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	fmt.Fprintf(w, "\n%d repositories, %d tags: %d in_sync, %d only_on_primary, "+
		"%d only_on_secondary, %d stale, %d broken, %d unresolved\n",
		s.Repositories, s.Tags, s.InSync, s.OnlyOnPrimary, s.OnlyOnSecondary, s.Stale,
		s.Broken, s.Unresolved)
	_, err := fmt.Fprintf(w, "%d actions, %d failed, %d withheld, %d errors; outcome: %s\n",
		s.Actions, s.FailedActions, s.SkippedActions, s.Errors, outcomeText(r))
	if r.Guard.Note != "" {
		_, err = fmt.Fprintf(w, "%s\n", r.Guard.Note)
	}
	if r.Error != "" {
		_, err = fmt.Fprintf(w, "run error: %s\n", r.Error)
	}
	return err
}

func outcomeText(r report) string {
	if r.Outcome == regdrift.OutcomeNone {
		return string(r.Status)
	}
	return string(r.Outcome)
}

// short shortens a digest for a table: algorithm and 12 hex digits.
func short(d string) string {
	if d == "" {
		return "-"
	}
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

func dash[T ~string](s T) string {
	if s == "" {
		return "-"
	}
	return string(s)
}

func detail(t server.TagJSON) string {
	if t.Error != "" {
		return t.Error
	}
	if len(t.Missing) > 0 {
		return fmt.Sprintf("missing %d: %s", len(t.Missing), t.Missing[0])
	}
	return ""
}
