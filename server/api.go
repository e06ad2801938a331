package server

import (
	"fmt"
	"net/http"

	"github.com/regdrift/regdrift"
)

// The JSON API under /api/v1.

type runListJSON struct {
	Runs  []*regdrift.Run `json:"runs"`
	Total int             `json:"total"`
}

type runDetailJSON struct {
	Run          *regdrift.Run          `json:"run"`
	Repositories []*regdrift.RepoResult `json:"repositories"`
}

// tagRowJSON is a tag of a run: the repository it belongs to and the shared tag shape.
type tagRowJSON struct {
	Repository string `json:"repository"`
	TagJSON
}

type tagListJSON struct {
	Tags []tagRowJSON `json:"tags"`
	// Total counts the rows the filter selects, whatever the page.
	Total int `json:"total"`
}

type repoListJSON struct {
	Repositories []*regdrift.RepoSummary `json:"repositories"`
	// Total counts the repositories the filter selects, whatever the page; Totals add up the
	// latest results of every repository.
	Total  int                 `json:"total"`
	Totals regdrift.RepoTotals `json:"totals"`
}

type repoDetailJSON struct {
	Repository *regdrift.RepoSummary `json:"repository"`
	Tags       []TagJSON             `json:"tags"`
}

// apiStartRun starts a run and answers 202 with it and its Location.
func (s *Server) apiStartRun(w http.ResponseWriter, r *http.Request) {
	req, err := parseRunRequest(r)
	if err == nil {
		err = allow(r.Context(), roleToRun(req.Mode))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	run, err := s.runs.StartRun(r.Context(), req)
	if err != nil {
		s.fail(w, r, fmt.Errorf("start run: %w", err))
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/runs/%d", run.ID))
	s.writeJSON(w, r, http.StatusAccepted, runJSON(run))
}

func (s *Server) apiListRuns(w http.ResponseWriter, r *http.Request) {
	f, err := parseRunFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	runs, total, err := s.store.ListRuns(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := runListJSON{Runs: make([]*regdrift.Run, 0, len(runs)), Total: total}
	for _, run := range runs {
		out.Runs = append(out.Runs, runJSON(run))
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) apiGetRun(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	run, repos, err := s.loadRun(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK,
		runDetailJSON{Run: runJSON(run), Repositories: orEmpty(repos)})
}

func (s *Server) apiListRunTags(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := parseTagFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tags, total, err := s.loadRunTags(r.Context(), id, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := tagListJSON{Tags: make([]tagRowJSON, 0, len(tags)), Total: total}
	for _, t := range tags {
		out.Tags = append(out.Tags,
			tagRowJSON{Repository: t.Repository, TagJSON: NewTagJSON(t.TagDrift)})
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// apiCancelRun asks a run to stop and answers 202 with the run; the run ends shortly after.
func (s *Server) apiCancelRun(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	run, err := s.cancelRun(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusAccepted, runJSON(run))
}

// apiListRepositories lists the latest results of the repositories the query selects, worst
// first; without a limit, all of them.
func (s *Server) apiListRepositories(w http.ResponseWriter, r *http.Request) {
	f, err := parseRepoFilter(r, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.loadRepoList(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) apiGetRepository(w http.ResponseWriter, r *http.Request) {
	name, err := parseRepoName(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	repo, tags, err := s.loadRepository(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := repoDetailJSON{Repository: repo, Tags: make([]TagJSON, 0, len(tags))}
	for _, t := range tags {
		out.Tags = append(out.Tags, NewTagJSON(t.TagDrift))
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// orEmpty makes a nil list encode as [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
