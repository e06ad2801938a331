package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Routes exposes the route table, so that a test can walk every route.
func Routes(s *Server) chi.Routes { return s.handler.(chi.Routes) }

// Authenticate wraps h in the server's authentication, so that a test can place a route the
// server does not have yet behind it (the webhooks).
func Authenticate(s *Server, h http.Handler) http.Handler { return s.authenticate(h) }
