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

// loadRunTags returns the tag rows of a run that f selects.
func (s *Server) loadRunTags(ctx context.Context, id int64, f regdrift.TagFilter) (
	[]*regdrift.TagRow, error) {
	tags, err := s.store.ListRunTags(ctx, id, f)
	if err != nil {
		return nil, notFoundAs(err, "run %d not found", id)
	}
	return tags, nil
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

func (s *Server) loadOverview(ctx context.Context) (views.OverviewPage, error) {
	repos, err := s.store.ListRepositories(ctx)
	if err != nil {
		return views.OverviewPage{}, err
	}
	p := views.OverviewPage{
		Layout:    s.layout(ctx, "Overview", views.SectionOverview),
		Primary:   s.primary,
		Secondary: s.secondary,
		Repos:     repos,
		Now:       s.now(),
	}
	for _, r := range repos {
		p.Totals.Merge(r.Counts)
	}
	return p, nil
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

// loadRunPage gathers a run page. The store filters by state; the default view, which also
// keeps in-sync rows that were acted on, needs every row and leaves the choice to the view.
func (s *Server) loadRunPage(ctx context.Context, id int64, view views.TagView) (views.RunPage,
	error) {
	run, repos, err := s.loadRun(ctx, id)
	if err != nil {
		return views.RunPage{}, err
	}
	tags, err := s.loadRunTags(ctx, id, regdrift.TagFilter{State: view.State})
	if err != nil {
		return views.RunPage{}, err
	}
	l := s.layout(ctx, fmt.Sprintf("Run #%d", id), views.SectionRuns)
	l.Refresh = !run.Status.Finished()
	return views.NewRunPage(l, run, repos, tags, view, s.now()), nil
}

func (s *Server) loadConfirmPage(ctx context.Context, scope []string) (views.ConfirmPage,
	error) {
	known, err := s.store.ListRepositories(ctx)
	if err != nil {
		return views.ConfirmPage{}, err
	}
	l := s.layout(ctx, "Confirm execute", views.SectionOverview)
	return views.NewConfirmPage(l, scope, known, s.now()), nil
}
