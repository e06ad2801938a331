package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/regdrift/regdrift/views"
)

// The dashboard's sign-in: a token typed once becomes a session cookie. Sessions live in
// memory, keyed by the hash of the cookie's value; a restart signs everyone out, which for an
// admin tool is a fair price for keeping no session secret on disk.
// TODO: sessions are per process; two servers behind one balancer would each ask to sign in.

const (
	signInPath  = "/signin"
	signOutPath = "/signout"
	// cookieName is the session cookie over plain HTTP; over HTTPS the __Host- prefix makes
	// the browser refuse a cookie set by another host or over plain HTTP.
	cookieName       = "regdrift_session"
	secureCookieName = "__Host-regdrift_session"
	// defaultSessionTTL is how long a sign-in lasts.
	defaultSessionTTL = 12 * time.Hour
)

type session struct {
	p       principal
	expires time.Time
}

// sessions are the signed-in browsers.
type sessions struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[[sha256.Size]byte]session
}

func newSessions(ttl time.Duration) *sessions {
	if ttl <= 0 {
		ttl = defaultSessionTTL
	}
	return &sessions{ttl: ttl, m: map[[sha256.Size]byte]session{}}
}

// create starts a session for p and returns the cookie's value.
func (ss *sessions) create(p principal, now time.Time) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // NOTE: crypto/rand.Read never returns an error (Go 1.24+)
	id := base64.RawURLEncoding.EncodeToString(b[:])
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.m { // sweep, so that abandoned sessions do not pile up
		if now.After(v.expires) {
			delete(ss.m, k)
		}
	}
	ss.m[sha256.Sum256([]byte(id))] = session{p: p, expires: now.Add(ss.ttl)}
	return id
}

// get returns the principal of the request's session cookie, if it names a live session.
func (ss *sessions) get(r *http.Request, now time.Time) (principal, bool) {
	c, err := r.Cookie(sessionCookie(r, false))
	if err != nil {
		return principal{}, false
	}
	k := sha256.Sum256([]byte(c.Value))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[k]
	if !ok || now.After(s.expires) {
		delete(ss.m, k)
		return principal{}, false
	}
	return s.p, true
}

// end forgets the request's session.
func (ss *sessions) end(r *http.Request) {
	c, err := r.Cookie(sessionCookie(r, false))
	if err != nil {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, sha256.Sum256([]byte(c.Value)))
}

// secure reports whether the browser reaches the server over HTTPS: directly, or through a
// proxy in front whose public URL the configuration names.
func (s *Server) secure(r *http.Request) bool { return s.secureCookies || r.TLS != nil }

func sessionCookie(r *http.Request, secure bool) string {
	if secure || r.TLS != nil {
		return secureCookieName
	}
	// Behind an HTTPS proxy the request arrives in plain HTTP: take whichever the browser sent.
	if _, err := r.Cookie(secureCookieName); err == nil {
		return secureCookieName
	}
	return cookieName
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, value string,
	maxAge int) {
	secure := s.secure(r)
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie(r, secure),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode, // links from elsewhere still arrive signed in
	})
}

// signInPage shows the sign-in form; without access control there is nothing to sign in to.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if !s.authOn() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.renderSignIn(w, r, http.StatusOK, next, false)
}

// signIn checks the token of the form and, when it is known, starts a session and goes on to
// the page the form names. A wrong token gets the form again with a 401.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, bodyError(err))
		return
	}
	next := localPath(r.PostForm.Get("next"))
	if !s.authOn() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	t, ok := s.lookup(strings.TrimSpace(r.PostForm.Get("token")))
	if !ok {
		// The address, so that guessing shows in the log; never what was typed.
		s.log.WarnContext(r.Context(), "sign-in refused", keyRequestID, requestID(r.Context()),
			keyRemote, r.RemoteAddr)
		s.renderSignIn(w, r, http.StatusUnauthorized, next, true)
		return
	}
	p := principal{name: t.Name, role: t.Role}
	s.setSessionCookie(w, r, s.sessions.create(p, s.now()), int(s.sessions.ttl.Seconds()))
	s.log.InfoContext(r.Context(), "signed in", keyRequestID, requestID(r.Context()),
		keyToken, t.Name, keyRole, t.Role.String())
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut ends the session and clears the cookie.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	s.sessions.end(r)
	s.setSessionCookie(w, r, "", -1)
	http.Redirect(w, r, signInPath, http.StatusSeeOther)
}

// localPath keeps a redirect target only when it is a path on this site; anything else
// (another host, a scheme, a protocol-relative URL) becomes the overview.
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.Contains(next, `\`) || u.Host != "" || u.Scheme != "" || next == signInPath {
		return "/"
	}
	return next
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, next string,
	failed bool) {
	l := s.layout(r.Context(), "Sign in", "")
	s.render(w, r, status, views.SignIn(views.SignInPage{Layout: l, Next: next, Failed: failed}))
}
