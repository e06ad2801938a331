// Package dist3 runs CNCF Distribution v3 (github.com/distribution/distribution/v3)
// in-process for tests and demos: an in-memory registry with deletes enabled, on a loopback
// port.
//
// Distribution 2.8 and v3 both register handlers on the default mux when their packages
// initialise, so a binary may link this package or dist2, never both.
package dist3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"

	// Registers the "inmemory" storage driver.
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"

	"github.com/regdrift/regdrift/sync/regtest/internal/serve"
)

// Registry is a running Distribution v3 registry.
type Registry struct {
	// URL is the base URL, "http://127.0.0.1:PORT".
	URL string
	// Host is "127.0.0.1:PORT", the registry part of a reference.
	Host string

	srv *serve.Server
	app *handlers.App
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
	// NOTE: the YAML parser defaults these to 1000; in a configuration built in code they
	// start at 0, and a catalog limit of 0 answers an empty list.
	cfg.Catalog.MaxEntries = 1000
	cfg.Tags.MaxTags = 1000
	cfg.HTTP.Secret = "regtest-secret"
	cfg.Notifications.Endpoints = o.endpoints

	app, err := newApp(cfg)
	if err != nil {
		return nil, err
	}
	srv, err := serve.Start(app)
	if err != nil {
		_ = app.Shutdown() // NOTE: the listen error is the one worth reporting.
		return nil, fmt.Errorf("start distribution v3: %w", err)
	}
	return &Registry{URL: srv.URL, Host: srv.Host, srv: srv, app: app}, nil
}

// newApp builds the registry application, which reports bad configuration by panicking.
func newApp(cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("configure distribution v3: %v", r)
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
	return errors.Join(r.srv.Close(), r.app.Shutdown())
}
