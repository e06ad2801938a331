package reconcile

import "github.com/regdrift/regdrift"

// Summarize adds up the results of a run. Counts describe what the run found; Errors counts
// unresolved tags, repositories whose listing or recording failed, and failed actions.
func Summarize(results []*regdrift.RepoResult) regdrift.Summary {
	var s regdrift.Summary
	for _, r := range results {
		addResult(&s, r)
	}
	return s
}

// addResult adds one repository's result to s.
func addResult(s *regdrift.Summary, r *regdrift.RepoResult) {
	s.Repositories++
	s.Counts.Merge(r.Before)
	s.Tags += r.Before.Total()
	s.Actions += r.Actions
	s.FailedActions += r.Failed
	s.SkippedActions += r.Skipped
	s.HeldBack += r.HeldBack
	s.Errors += r.Before.Unresolved + r.Failed
	if r.Error != "" {
		s.Errors++
	}
}

// Outcome judges a finished run from its repositories: any error makes it an error, any drift
// left makes it drift.
func Outcome(results []*regdrift.RepoResult) regdrift.Outcome {
	out := regdrift.OutcomeInSync
	for _, r := range results {
		switch r.Status {
		case regdrift.RepoError:
			return regdrift.OutcomeError
		case regdrift.RepoDrift:
			out = regdrift.OutcomeDrift
		}
	}
	return out
}
