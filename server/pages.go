package server

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/views"
)

// The dashboard's pages and forms. Forms answer 303 to the page of what they started.

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request) {
	f, err := parseRepoFilter(r, views.RepoPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.loadOverview(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.Overview(p))
}

func (s *Server) repositoryPage(w http.ResponseWriter, r *http.Request) {
	name, err := parseRepoName(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.loadRepositoryPage(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.Repository(p))
}

func (s *Server) runListPage(w http.ResponseWriter, r *http.Request) {
	f, err := parseRunFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.loadRunListPage(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.RunList(p))
}

func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	view, err := parseTagView(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.loadRunPage(r.Context(), id, view)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.Run(p))
}

// confirmExecutePage shows what an execute would touch. Only its form starts the execute.
func (s *Server) confirmExecutePage(w http.ResponseWriter, r *http.Request) {
	scope, err := parseScope(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.loadConfirmPage(r.Context(), scope)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.Confirm(p))
}

// startRunForm starts a dry run at once. An execute starts only when the form comes from the
// confirmation page; any other execute request is sent to that page first.
func (s *Server) startRunForm(w http.ResponseWriter, r *http.Request) {
	req, confirmed, err := parseRunForm(r)
	if err == nil {
		err = allow(r.Context(), roleToRun(req.Mode))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Mode == regdrift.ModeExecute && !confirmed {
		q := url.Values{"repository": req.Repositories}
		http.Redirect(w, r, "/ui/execute?"+q.Encode(), http.StatusSeeOther)
		return
	}
	run, err := s.runs.StartRun(r.Context(), req)
	if err != nil {
		s.fail(w, r, fmt.Errorf("start run: %w", err))
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/runs/%d", run.ID), http.StatusSeeOther)
}

func (s *Server) cancelRunForm(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.runs.CancelRun(r.Context(), id); err != nil {
		s.fail(w, r, notFoundAs(fmt.Errorf("cancel run %d: %w", id, err), "run %d not found", id))
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/runs/%d", id), http.StatusSeeOther)
}
