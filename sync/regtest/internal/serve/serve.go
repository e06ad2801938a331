// Package serve runs an http.Handler on a loopback port for the registry test kit, the way
// httptest.Server does, but returns errors instead of panicking so that a demo binary can use
// it as well as a test.
package serve

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is a handler listening on 127.0.0.1 with a port chosen by the kernel.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:PORT".
	URL string
	// Host is the host and port, "127.0.0.1:PORT", as a registry reference names it.
	Host string

	srv      *http.Server
	err      chan error
	once     sync.Once
	closeErr error
}

// Start listens on 127.0.0.1:0 and serves h until Close.
func Start(h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{
		URL:  "http://" + ln.Addr().String(),
		Host: ln.Addr().String(),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			// NOTE: a client that drops a connection mid-request is routine in tests
			// that inject faults; the server's own log of it is noise.
			ErrorLog: log.New(io.Discard, "", 0),
		},
		err: make(chan error, 1),
	}
	go func() { s.err <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the listener and closes every connection at once. Later calls return the
// result of the first.
func (s *Server) Close() error {
	s.once.Do(func() {
		if err := s.srv.Close(); err != nil {
			s.closeErr = fmt.Errorf("close server %s: %w", s.Host, err)
			return
		}
		if err := <-s.err; err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.closeErr = fmt.Errorf("serve %s: %w", s.Host, err)
		}
	})
	return s.closeErr
}
