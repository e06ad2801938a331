// Package dist2 runs CNCF Distribution 2.8 (github.com/docker/distribution) in-process for
// tests and demos: an in-memory registry with deletes enabled, on a loopback port.
//
// Distribution 2.8 and v3 both register handlers on the default mux when their packages
// initialise, so a binary may link this package or dist3, never both.
package dist2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/docker/distribution/configuration"
	"github.com/docker/distribution/registry/handlers"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	// Registers the "htpasswd" access controller.
	_ "github.com/docker/distribution/registry/auth/htpasswd"

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
	// htpasswd is the file of WithBasicAuth, removed on Close.
	htpasswd string
}

type options struct {
	endpoints []configuration.Endpoint
	htpasswd  string
	urlsAllow []string
}

// WithLayerURLs lets pushed manifests list URLs where a layer may be fetched instead (foreign
// layers) when they match one of the regular expressions allow, as a registry config file's
// `validation.manifests.urls.allow` does. By default Distribution 2.8 refuses any.
func WithLayerURLs(allow ...string) Option {
	return func(o *options) { o.urlsAllow = append(o.urlsAllow, allow...) }
}

// WithBasicAuth makes the registry ask every request for user and password (HTTP basic auth
// from an htpasswd file, as a registry config file's `auth.htpasswd` does).
func WithBasicAuth(user, password string) Option {
	return func(o *options) {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			panic(fmt.Sprintf("hash password: %v", err)) // only on a password over 72 bytes
		}
		o.htpasswd = user + ":" + string(hash) + "\n"
	}
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
	cfg.Validation.Manifests.URLs.Allow = o.urlsAllow
	var htpasswd string
	if o.htpasswd != "" {
		path, err := writeHtpasswd(o.htpasswd)
		if err != nil {
			return nil, err
		}
		htpasswd = path
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{
			"realm": "regtest", "path": path,
		}}
	}

	fail := func(err error) (*Registry, error) {
		if htpasswd != "" {
			err = errors.Join(err, os.Remove(htpasswd))
		}
		return nil, err
	}
	app, err := newApp(cfg)
	if err != nil {
		return fail(err)
	}
	srv, err := serve.Start(app)
	if err != nil {
		return fail(fmt.Errorf("start distribution 2.8: %w", err))
	}
	return &Registry{URL: srv.URL, Host: srv.Host, srv: srv, htpasswd: htpasswd}, nil
}

// writeHtpasswd writes an htpasswd file the registry reads; Close removes it.
func writeHtpasswd(content string) (string, error) {
	f, err := os.CreateTemp("", "regtest-htpasswd-")
	if err != nil {
		return "", fmt.Errorf("htpasswd file: %w", err)
	}
	if _, err := f.WriteString(content); err != nil {
		return "", errors.Join(fmt.Errorf("write htpasswd file: %w", err), f.Close())
	}
	return f.Name(), f.Close()
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
	err := r.srv.Close()
	if r.htpasswd != "" {
		err = errors.Join(err, os.Remove(r.htpasswd))
	}
	return err
}
