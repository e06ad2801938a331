// Package server serves regdrift over HTTP: a JSON API under /api/v1, the HTML dashboard,
// health probes and the static files.
//
// It depends only on the interfaces regdrift.Store and regdrift.RunService. Handlers parse the
// request, call one method and render the answer; the methods that gather a page's data live
// in loaders.go. Errors reach clients through one status mapping (errors.go): internal detail
// is logged with the request id and never shown.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/static"
)

// Config holds what the server needs. Store and Runs are required.
type Config struct {
	Store  regdrift.Store
	Runs   regdrift.RunService
	Logger *slog.Logger // nil discards the log
	// Ready reports whether the server can do its work (store reachable and so on); nil means
	// always ready.
	Ready func(context.Context) error
	// Primary and Secondary are the registry URLs the pages show.
	Primary   string
	Secondary string
	// Now is the clock of relative times on the pages; nil means time.Now.
	Now func() time.Time
	// Webhooks configures the registry and CI webhooks; both are off by default. They do not
	// use the tokens: each has its own secret.
	Webhooks Webhooks
	// Tokens may use the server, each with its role. None turns access control off: every
	// request acts as an admin, which the command line allows on loopback addresses only.
	Tokens []Token
	// SecureCookies marks the session cookie Secure even on plain-HTTP requests, for a
	// server behind an HTTPS proxy; requests that arrive over TLS get a Secure cookie anyway.
	SecureCookies bool
	// SessionTTL is how long a dashboard sign-in lasts; zero means 12 hours.
	SessionTTL time.Duration
	// Metrics is where /metrics gathers from; the server adds the store's gauges to it. Nil
	// means a registry of the server's own.
	Metrics *prometheus.Registry
}

// Server is the HTTP handler of regdrift.
type Server struct {
	store     regdrift.Store
	runs      regdrift.RunService
	log       *slog.Logger
	ready     func(context.Context) error
	primary   string
	secondary string
	now       func() time.Time
	hooks     Webhooks
	handler   http.Handler

	tokens        []Token
	secureCookies bool
	sessions      *sessions
	metrics       http.Handler
	hookMetrics   hookMetrics
}

// New returns a server for cfg. It panics when Store or Runs is missing: that is a wiring
// mistake, not a condition to handle at run time.
func New(cfg Config) *Server {
	if cfg.Store == nil || cfg.Runs == nil {
		panic("server: Config.Store and Config.Runs are required")
	}
	s := &Server{
		store:     cfg.Store,
		runs:      cfg.Runs,
		log:       cfg.Logger,
		ready:     cfg.Ready,
		primary:   cfg.Primary,
		secondary: cfg.Secondary,
		now:       cfg.Now,
		hooks:     cfg.Webhooks,

		tokens:        cfg.Tokens,
		secureCookies: cfg.SecureCookies,
		sessions:      newSessions(cfg.SessionTTL),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ready == nil {
		s.ready = func(context.Context) error { return nil }
	}
	if s.now == nil {
		s.now = time.Now
	}
	reg := cfg.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.hookMetrics = newHookMetrics(reg)
	s.metrics = s.metricsHandler(reg)
	s.handler = s.routes()
	return s
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes builds the whole route table. authenticate refuses a request without a principal
// to anything but the public paths (auth.go); each other route names the weakest role it
// serves. A run's mode is in its body, so the run handlers also check that an execute comes
// from an admin.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	// GetHead answers a HEAD as the GET of the same path would be, without the body: uptime
	// checks and link checkers send HEAD, and HTTP asks every server to take it where it
	// takes GET.
	r.Use(s.requestID, s.accessLog, s.recoverPanic, limitBody, s.crossOrigin(), s.authenticate,
		middleware.GetHead)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)
	viewer, operator, admin := s.require(RoleViewer), s.require(RoleOperator),
		s.require(RoleAdmin)

	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Handle(static.Prefix+"*", static.Handler())
	r.Get("/favicon.ico", favicon)
	r.Get(signInPath, s.signInPage)
	r.Post(signInPath, s.signIn)
	r.With(viewer).Post(signOutPath, s.signOut)
	r.With(viewer).Method(http.MethodGet, metricsPath, s.metrics)

	r.Route("/api/v1", func(r chi.Router) {
		r.With(operator).Post("/runs", s.apiStartRun) // an execute needs an admin
		r.With(viewer).Get("/runs", s.apiListRuns)
		r.With(viewer).Get("/runs/{id}", s.apiGetRun)
		r.With(viewer).Get("/runs/{id}/tags", s.apiListRunTags)
		r.With(admin).Post("/runs/{id}/cancel", s.apiCancelRun)
		r.With(viewer).Get("/repositories", s.apiListRepositories)
		r.With(viewer).Get("/repositories/*", s.apiGetRepository) // names hold slashes
		// The webhooks check their own secret and signature, not the API tokens.
		r.Post("/webhooks/registry", s.registryWebhook)
		r.Post("/webhooks/ci", s.ciWebhook)
	})

	r.With(viewer).Get("/", s.overviewPage)
	r.With(viewer).Get("/repositories/*", s.repositoryPage)
	r.With(viewer).Get("/runs", s.runListPage)
	r.With(viewer).Get("/runs/{id}", s.runPage)
	// The confirmation asks before an execute and changes nothing, but only an admin can
	// answer it, so only an admin is shown it.
	r.With(admin).Get("/ui/execute", s.confirmExecutePage)
	r.With(operator).Post("/ui/runs", s.startRunForm) // an execute needs an admin
	r.With(admin).Post("/ui/runs/{id}/cancel", s.cancelRunForm)
	return r
}

// healthz answers 200 while the process serves HTTP at all.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when Ready passes and 503 otherwise; the reason goes to the log only.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", keyRequestID, requestID(ctx), keyError, err)
		s.writeJSON(w, r, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

// favicon sends a browser that asks for the icon by its traditional path, as it does for a
// page that links none (a JSON answer, say), to the embedded one. The redirect is temporary:
// the target's name changes with the icon, so a cached permanent one would lead to a 404.
func favicon(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, static.IconURL(), http.StatusFound)
}

// readyTimeout bounds one readiness check, well inside a probe's usual timeout.
const readyTimeout = 3 * time.Second
