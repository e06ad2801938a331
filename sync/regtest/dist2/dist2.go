// Package dist2 runs CNCF Distribution 2.8 (github.com/docker/distribution) in-process for
// tests and demos: an in-memory registry with deletes enabled, on a loopback port.
//
// Distribution 2.8 and v3 both register handlers on the default mux when their packages
// initialise, so a binary may link this package or dist3, never both.
package dist2

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/docker/distribution/configuration"
	"github.com/docker/distribution/registry/handlers"
	"github.com/sirupsen/logrus"

	// Registers the "inmemory" storage driver.
	_ "github.com/docker/distribution/registry/storage/driver/inmemory"

	"github.com/regdrift/regdrift/sync/regtest/internal/serve"
)

// Registry is a running Distribution 2.8 registry.
type Registry struct {
	// URL is the base URL, "http://127.0.0.1:PORT".
	URL string
	// Host is "127.0.0.1:PORT", the registry part of a reference.
	Host string

	srv *serve.Server
}

type options struct {
	endpoints []configuration.Endpoint
}

// Option configures a registry started by Start or New.
type Option func(*options)

// WithNotify sends the registry's notification events (pushes, pulls, deletes) to url with
// the given extra headers, as `notifications.endpoints` in a registry config file does.
func WithNotify(url string, headers map[string][]string) Option {
	return func(o *options) {
		o.endpoints = append(o.endpoints, configuration.Endpoint{
			Name:      fmt.Sprintf("regtest-%d", len(o.endpoints)+1),
			URL:       url,
			Headers:   http.Header(headers),
			Timeout:   5 * time.Second,
			Threshold: 3,
			Backoff:   100 * time.Millisecond,
		})
	}
}

// Start runs a registry until Close is called.
//
// NOTE: the registry logs through the process-wide logrus logger; Start lowers its level to
// panic so that every 404 a test provokes does not print an error line.
func Start(opts ...Option) (*Registry, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	logrus.SetLevel(logrus.PanicLevel)

	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{
		"inmemory": configuration.Parameters{},
		"delete":   configuration.Parameters{"enabled": true},
		"maintenance": configuration.Parameters{
			"uploadpurging": map[any]any{"enabled": false},
		},
	}
	cfg.Log.AccessLog.Disabled = true
	// The YAML parser defaults this to 1000; a configuration built in code starts at 0,
	// which makes the catalog answer an empty list.
	cfg.Catalog.MaxEntries = 1000
	cfg.HTTP.Secret = "regtest-secret"
	cfg.Notifications.Endpoints = o.endpoints

	app, err := newApp(cfg)
	if err != nil {
		return nil, err
	}
	srv, err := serve.Start(app)
	if err != nil {
		return nil, fmt.Errorf("start distribution 2.8: %w", err)
	}
	return &Registry{URL: srv.URL, Host: srv.Host, srv: srv}, nil
}

// newApp builds the registry application, which reports bad configuration by panicking.
func newApp(cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("configure distribution 2.8: %v", r)
		}
	}()
	return handlers.NewApp(context.Background(), cfg), nil
}

// New starts a registry for the test and closes it when the test ends.
func New(tb testing.TB, opts ...Option) *Registry {
	tb.Helper()
	r, err := Start(opts...)
	if err != nil {
		tb.Fatalf("start registry: %v", err)
	}
	tb.Cleanup(func() {
		if err := r.Close(); err != nil {
			tb.Errorf("close registry: %v", err)
		}
	})
	return r
}

// Close stops the registry and drops its content.
func (r *Registry) Close() error {
	return r.srv.Close()
}
