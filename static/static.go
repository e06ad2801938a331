// Package static embeds the dashboard's stylesheet, icon and script and serves
// each file under a name that carries a hash of its content, so browsers may cache it for good.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is the URL path under which Handler serves the files.
const Prefix = "/static/"

//go:embed *.css *.svg *.js
var files embed.FS

// asset is one embedded file and its cache-busted URL path.
type asset struct {
	body []byte
	url  string
}

// byName maps a file's embedded name to its asset; byURL maps the hashed URL path back.
var byName, byURL = load()

func load() (map[string]asset, map[string]asset) {
	names, err := fs.Glob(files, "*")
	if err != nil {
		panic(err) // NOTE: only a malformed pattern fails, which a test would catch at once
	}
	byName := make(map[string]asset, len(names))
	byURL := make(map[string]asset, len(names))
	for _, name := range names {
		body, err := files.ReadFile(name)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		a := asset{body: body, url: Prefix + strings.TrimSuffix(name, ext) + "." +
			hex.EncodeToString(sum[:4]) + ext}
		byName[name] = a
		byURL[a.url] = a
	}
	return byName, byURL
}

// URL returns the cache-busted URL path of an embedded file, such as
// "/static/style.1a2b3c4d.css". It panics on a name that is not embedded: that is a
// programming error a test of any page finds.
func URL(name string) string {
	a, ok := byName[name]
	if !ok {
		panic("static: no embedded file " + name)
	}
	return a.url
}

// StyleURL returns the URL path of the stylesheet.
func StyleURL() string { return URL("style.css") }

// IconURL returns the URL path of the site icon, an SVG.
func IconURL() string { return URL("icon.svg") }

// ScriptURL returns the URL path of app.js, the dashboard's one script.
func ScriptURL() string { return URL("app.js") }

// Handler serves the embedded files by their hashed URL paths (the full path, Prefix
// included) with a year-long immutable cache. Any other path is not found.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := byURL[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		if ct := mime.TypeByExtension(path.Ext(a.url)); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		http.ServeContent(w, r, a.url, time.Time{}, bytes.NewReader(a.body))
	})
}
