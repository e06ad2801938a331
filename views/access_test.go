package views_test

import (
	"strings"
	"testing"
	"time"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/views"
	"github.com/regdrift/regdrift/views/viewtest"
)

// TestButtons_OnlyWhatTheViewerMayUse renders every page with a run button for each role and
// checks that a button shows exactly when the role may use it.
func TestButtons_OnlyWhatTheViewerMayUse(t *testing.T) {
	viewers := map[string]views.Viewer{
		"viewer":   {Name: "grafana", Role: "viewer"},
		"operator": {Name: "ci", Role: "operator", DryRun: true},
		"admin":    {Name: "alice", Role: "admin", DryRun: true, Execute: true, Cancel: true},
	}
	started := now.Add(-time.Minute)
	running := &regdrift.Run{ID: 3, Mode: regdrift.ModeDryRun, Status: regdrift.RunRunning,
		CreatedAt: started, StartedAt: &started}
	repo := &regdrift.RepoSummary{Name: "team/app", Status: regdrift.RepoDrift, CheckedAt: now}
	for role, v := range viewers {
		t.Run(role, func(t *testing.T) {
			l := layout("x")
			l.Viewer = v
			pages := map[string]*viewtest.Doc{
				"overview":   render(t, views.Overview(views.OverviewPage{Layout: l, Now: now})),
				"repository": render(t, views.Repository(views.RepositoryPage{Layout: l, Repo: repo, Now: now})),
				"runs":       render(t, views.RunList(views.RunListPage{Layout: l, Limit: 50, Now: now})),
				"run":        render(t, views.Run(views.RunPage{Layout: l, Run: running, Now: now})),
			}
			want := map[string]bool{
				"overview/dry-run-all": v.DryRun, "overview/execute-all": v.Execute,
				"repository/dry-run-repo": v.DryRun, "repository/execute-repo": v.Execute,
				"runs/dry-run-all": v.DryRun, "runs/execute-all": v.Execute,
				"run/cancel-run": v.Cancel,
			}
			for key, shown := range want {
				page, id, _ := strings.Cut(key, "/")
				if got := len(pages[page].All(id)) == 1; got != shown {
					t.Errorf("%s: shown %v, want %v", key, got, shown)
				}
			}
			for name, doc := range pages {
				if got := doc.Texts("viewer"); len(got) != 1 || got[0] != v.Name+" ("+v.Role+")" {
					t.Errorf("%s: viewer %q, want %s (%s)", name, got, v.Name, v.Role)
				}
				if len(doc.All("sign-out")) != 1 {
					t.Errorf("%s: no sign-out button", name)
				}
			}
		})
	}
}

// TestLayout_NoSignOutWithoutAccessControl checks that a server without tokens, where nobody
// signs in, offers no sign-out.
func TestLayout_NoSignOutWithoutAccessControl(t *testing.T) {
	doc := render(t, views.Overview(views.OverviewPage{Layout: layout("Overview"), Now: now}))
	if len(doc.All("sign-out")) != 0 || len(doc.All("viewer")) != 0 {
		t.Error("a page without access control shows a viewer or a sign-out")
	}
}

func TestSignIn_Form(t *testing.T) {
	doc := render(t, views.SignIn(views.SignInPage{Layout: layout("Sign in"), Next: "/runs/4",
		Failed: true}))
	tok := doc.One(t, "token")
	if attrOf(tok, "type") != "password" || attrOf(tok, "name") != "token" {
		t.Errorf("token input: type %q name %q", attrOf(tok, "type"), attrOf(tok, "name"))
	}
	form := doc.One(t, "sign-in").Parent.Parent
	if got := attrOf(form, "method") + " " + attrOf(form, "action"); got != "post /signin" {
		t.Errorf("form: %q", got)
	}
	if len(doc.All("sign-in-failed")) != 1 {
		t.Error("a refused token is not said")
	}
}
