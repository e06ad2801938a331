package server

import (
	"context"
	"fmt"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/views"
)

// The loaders gather what one answer needs from the store, so that each handler calls one
// method. Store errors pass through as they are: the store names the operation already.

// repoRunsShown bounds the runs listed on a repository page.
const repoRunsShown = 20

// loadRun returns a run and its repository results.
func (s *Server) loadRun(ctx context.Context, id int64) (*regdrift.Run, []*regdrift.RepoResult,
	error) {
	run, err := s.store.GetRun(ctx, id)
	if err != nil {
		return nil, nil, notFoundAs(err, "run %d not found", id)
	}
	repos, err := s.store.ListRunRepos(ctx, id)
	if err != nil {
		return nil, nil, notFoundAs(err, "run %d not found", id)
	}
	return run, repos, nil
}

// loadRepository returns the latest result of a repository and its tag rows.
func (s *Server) loadRepository(ctx context.Context, name string) (*regdrift.RepoSummary,
	[]*regdrift.TagRow, error) {
	repo, tags, err := s.store.GetRepository(ctx, name)
	if err != nil {
		// The store knows only checked repositories; the name may well exist on a registry.
		return nil, nil, notFoundAs(err, "repository %s has not been checked yet", name)
	}
	return repo, tags, nil
}

// loadRunTags returns the tag rows of a run that f selects and how many it selects in all.
func (s *Server) loadRunTags(ctx context.Context, id int64, f regdrift.TagFilter) (
	[]*regdrift.TagRow, int, error) {
	tags, total, err := s.store.ListRunTags(ctx, id, f)
	if err != nil {
		return nil, 0, notFoundAs(err, "run %d not found", id)
	}
	return tags, total, nil
}

// cancelRun asks a run to stop and returns it as it is now.
func (s *Server) cancelRun(ctx context.Context, id int64) (*regdrift.Run, error) {
	if err := s.runs.CancelRun(ctx, id); err != nil {
		return nil, notFoundAs(fmt.Errorf("cancel run %d: %w", id, err), "run %d not found", id)
	}
	run, err := s.store.GetRun(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, "run %d not found", id)
	}
	return run, nil
}

// loadRepoList gathers the repositories f selects, how many there are, and the totals.
func (s *Server) loadRepoList(ctx context.Context, f regdrift.RepoFilter) (repoListJSON, error) {
	repos, total, err := s.store.ListRepositories(ctx, f)
	if err != nil {
		return repoListJSON{}, err
	}
	totals, err := s.store.RepoTotals(ctx)
	if err != nil {
		return repoListJSON{}, err
	}
	return repoListJSON{Repositories: orEmpty(repos), Total: total, Totals: totals}, nil
}

// Bounds of what the overview shows beside the repository list.
const (
	// chartRuns is how many finished runs the drift chart draws.
	chartRuns = 30
	// activeShown bounds the runs in progress named at the top.
	activeShown = 5
)

// activeStatuses are the statuses of a run that has not ended; an interrupted one resumes.
var activeStatuses = []regdrift.RunStatus{regdrift.RunQueued, regdrift.RunRunning,
	regdrift.RunInterrupted}

func (s *Server) loadOverview(ctx context.Context, f regdrift.RepoFilter) (views.OverviewPage,
	error) {
	totals, err := s.store.RepoTotals(ctx)
	if err != nil {
		return views.OverviewPage{}, err
	}
	repos, matched, err := s.store.ListRepositories(ctx, f)
	if err != nil {
		return views.OverviewPage{}, err
	}
	active, _, err := s.store.ListRuns(ctx,
		regdrift.RunFilter{Statuses: activeStatuses, Limit: activeShown})
	if err != nil {
		return views.OverviewPage{}, err
	}
	history, _, err := s.store.ListRuns(ctx, regdrift.RunFilter{WholeRegistry: true,
		Statuses: []regdrift.RunStatus{regdrift.RunDone}, Limit: chartRuns})
	if err != nil {
		return views.OverviewPage{}, err
	}
	return views.OverviewPage{
		Layout:    s.layout(ctx, "Overview", views.SectionOverview),
		Primary:   s.primary,
		Secondary: s.secondary,
		Totals:    totals,
		Active:    active,
		History:   history,
		Filter:    f,
		Repos:     repos,
		Matched:   matched,
		Now:       s.now(),
	}, nil
}

func (s *Server) loadRepositoryPage(ctx context.Context, name string) (views.RepositoryPage,
	error) {
	repo, tags, err := s.loadRepository(ctx, name)
	if err != nil {
		return views.RepositoryPage{}, err
	}
	runs, err := s.store.ListRepoRuns(ctx, name, repoRunsShown)
	if err != nil {
		return views.RepositoryPage{}, err
	}
	return views.RepositoryPage{
		Layout: s.layout(ctx, name, views.SectionOverview),
		Repo:   repo,
		Tags:   tags,
		Runs:   runs,
		Now:    s.now(),
	}, nil
}

func (s *Server) loadRunListPage(ctx context.Context, f regdrift.RunFilter) (views.RunListPage,
	error) {
	runs, total, err := s.store.ListRuns(ctx, f)
	if err != nil {
		return views.RunListPage{}, err
	}
	return views.RunListPage{
		Layout: s.layout(ctx, "Runs", views.SectionRuns),
		Runs:   runs,
		Total:  total,
		Offset: f.Offset,
		Limit:  f.Limit,
		Now:    s.now(),
	}, nil
}

// loadRunPage gathers a run page: the run, its worst repositories and the page of tag rows
// view selects.
func (s *Server) loadRunPage(ctx context.Context, id int64, view views.TagView) (views.RunPage,
	error) {
	run, err := s.store.GetRun(ctx, id)
	if err != nil {
		return views.RunPage{}, notFoundAs(err, "run %d not found", id)
	}
	repos, err := s.store.WorstRunRepos(ctx, id, views.RunReposShown)
	if err != nil {
		return views.RunPage{}, notFoundAs(err, "run %d not found", id)
	}
	tags, matched, err := s.loadRunTags(ctx, id, view.Filter())
	if err != nil {
		return views.RunPage{}, err
	}
	l := s.layout(ctx, fmt.Sprintf("Run #%d", id), views.SectionRuns)
	l.Live = !run.Status.Finished()
	return views.NewRunPage(l, run, repos, tags, matched, view, s.now()), nil
}

// confirmShown bounds the repositories the confirmation of an execute of all lists.
const confirmShown = 200

// loadConfirmPage gathers what an execute over scope would touch. For every repository it
// lists the drifting ones, worst first, and adds up all.
func (s *Server) loadConfirmPage(ctx context.Context, scope []string) (views.ConfirmPage,
	error) {
	totals, err := s.store.RepoTotals(ctx)
	if err != nil {
		return views.ConfirmPage{}, err
	}
	var (
		known []*regdrift.RepoSummary
		more  int
	)
	if len(scope) == 0 {
		var matched int
		known, matched, err = s.store.ListRepositories(ctx,
			regdrift.RepoFilter{Status: regdrift.RepoDrift, Limit: confirmShown})
		more = matched - len(known)
	} else {
		known, _, err = s.store.ListRepositories(ctx, regdrift.RepoFilter{Names: scope})
	}
	if err != nil {
		return views.ConfirmPage{}, err
	}
	l := s.layout(ctx, "Confirm execute", views.SectionOverview)
	return views.NewConfirmPage(l, scope, known, totals, more, s.now()), nil
}
