package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/regdrift/regdrift"
	"github.com/regdrift/regdrift/views"
)

// Access control. Every request but the few public ones (publicPath) needs a principal: a
// bearer token from the configured list, or the session cookie a sign-in with such a token
// made. With no token configured, access control is off and everyone is an anonymous admin;
// the command line allows that on loopback addresses only.

// Role is what a token may do. Each role may do everything the ones below it may.
type Role int

// Roles, weakest first.
const (
	RoleViewer   Role = iota + 1 // reads every page and answer
	RoleOperator                 // also starts dry runs
	RoleAdmin                    // also starts executes and cancels runs
)

var roleNames = map[Role]string{RoleViewer: "viewer", RoleOperator: "operator",
	RoleAdmin: "admin"}

func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if n == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("role %q: want viewer, operator or admin", s)
}

// Token is one API token. Only the SHA-256 of its secret is kept: tokens are long random
// strings, so a fast hash is enough, and a memory dump or a config file holding hashes gives
// nothing away.
type Token struct {
	Name string // who holds it; shown on the pages and in the log, never secret
	Role Role
	Hash [sha256.Size]byte
}

// HashToken returns the hash a Token keeps of secret.
func HashToken(secret string) [sha256.Size]byte { return sha256.Sum256([]byte(secret)) }

// ParseTokenHash reads a hash written as 64 hex digits, as `regdrift token` prints it.
func ParseTokenHash(s string) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return h, fmt.Errorf("token hash: want %d hex digits", 2*sha256.Size)
	}
	copy(h[:], b)
	return h, nil
}

// principal is who makes a request.
type principal struct {
	name string // empty for the anonymous admin of a server without tokens
	role Role
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principalOf returns who makes the request; the zero principal has no role at all.
func principalOf(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// webhookPrefix is left to the webhook handlers, which check their own shared secrets and
// signatures: a registry or a forge sends no bearer token.
const webhookPrefix = "/api/v1/webhooks/"

// publicPath reports whether a path is served without a principal: probes, static files,
// the sign-in page itself and the webhooks.
func publicPath(p string) bool {
	switch p {
	case "/healthz", "/readyz", "/favicon.ico", signInPath:
		return true
	}
	return strings.HasPrefix(p, "/static/") || strings.HasPrefix(p, webhookPrefix)
}

// lookup finds the token whose secret is presented. It hashes the secret and compares it with
// every configured hash, without stopping at a match, so that the time taken says nothing
// about which token, or how much of one, matched.
func (s *Server) lookup(secret string) (Token, bool) {
	h := HashToken(secret)
	var found Token
	ok := 0
	for _, t := range s.tokens {
		if subtle.ConstantTimeCompare(h[:], t.Hash[:]) == 1 {
			found, ok = t, 1
		}
	}
	return found, ok == 1
}

// identify returns the principal a request's credentials name. A bearer token wins over the
// session cookie; a bad bearer token is an error even when a cookie is good, so that a
// script with a typo fails instead of acting as whoever is signed in in the same browser.
func (s *Server) identify(r *http.Request) (principal, bool, error) {
	if !s.authOn() {
		return principal{role: RoleAdmin}, true, nil
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || secret == "" {
			return principal{}, false, regdrift.Errorf(codeUnauthorized,
				"the Authorization header must be Bearer <token>")
		}
		t, ok := s.lookup(strings.TrimSpace(secret))
		if !ok {
			return principal{}, false, regdrift.Errorf(codeUnauthorized, "unknown token")
		}
		return principal{name: t.Name, role: t.Role}, true, nil
	}
	if p, ok := s.sessions.get(r, s.now()); ok {
		return p, true, nil
	}
	return principal{}, false, nil
}

func (s *Server) authOn() bool { return len(s.tokens) > 0 }

// authenticate puts the request's principal in its context and refuses, with a 401, a
// request to anything but a public path that has none.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, webhookPrefix) {
			next.ServeHTTP(w, r)
			return
		}
		p, ok, err := s.identify(r)
		if publicPath(r.URL.Path) {
			if ok {
				r = r.WithContext(withPrincipal(r.Context(), p))
			}
			next.ServeHTTP(w, r)
			return
		}
		if err == nil && !ok {
			err = regdrift.Errorf(codeUnauthorized, "sign in or send Authorization: Bearer <token>")
		}
		if err != nil {
			s.unauthorized(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), p)))
	})
}

// unauthorized answers 401: JSON with a WWW-Authenticate challenge for programs, the sign-in
// page for a browser, which comes back to the page it asked for.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	if isAPI(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="regdrift"`)
		s.fail(w, r, err)
		return
	}
	next := "/"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	s.renderSignIn(w, r, http.StatusUnauthorized, next, false)
}

// require refuses, with a 403, a principal whose role is weaker than min.
func (s *Server) require(min Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := allow(r.Context(), min); err != nil {
				s.fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// allow checks that the request's principal has at least role min.
func allow(ctx context.Context, min Role) error {
	p := principalOf(ctx)
	if p.role >= min {
		return nil
	}
	if p.role == 0 {
		return regdrift.Errorf(codeUnauthorized, "sign in first")
	}
	return regdrift.Errorf(codeForbidden, "this needs the %s role; token %s has %s", min,
		p.name, p.role)
}

// roleToRun is the role that may start a run in mode.
func roleToRun(m regdrift.Mode) Role {
	if m == regdrift.ModeExecute {
		return RoleAdmin
	}
	return RoleOperator
}

// viewerOf says what the principal of ctx may do, so that pages show only what works.
func viewerOf(ctx context.Context, authOn bool) views.Viewer {
	p := principalOf(ctx)
	v := views.Viewer{
		DryRun:  p.role >= RoleOperator,
		Execute: p.role >= RoleAdmin,
		Cancel:  p.role >= RoleAdmin,
	}
	if authOn && p.role != 0 {
		v.Name, v.Role = p.name, p.role.String()
	}
	return v
}
