// Package web serves gennaker's web UI: the page at "/" and its assets
// under "/assets/", built by Vite from this directory's TypeScript into
// dist/ and embedded in the binary. The UI uses hash routes
// ("/#/applications/hello/executions"), so no API path is shadowed: an API
// client asking for /applications still gets JSON.
//
// dist/ is committed, so a Go build needs no Node.js; TestDistIsCurrent
// rebuilds it and fails when the committed copy differs from the sources.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
)

//go:embed all:dist
var dist embed.FS

// Patterns are the routes Handler serves, for a mux that mounts it.
var Patterns = []string{"GET /{$}", "GET /assets/{file}"}

// Assets returns the built UI: index.html and assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded at build time
	}
	return sub
}

// Handler serves the UI. The page is revalidated on every load; assets
// have content hashes in their names, so browsers keep them for a year.
func Handler() http.Handler {
	assets := Assets()
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			http.ServeFileFS(w, r, assets, "index.html")
			return
		}
		name := path.Clean(r.URL.Path)
		if _, err := fs.Stat(assets, name[1:]); err != nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			http.Error(w, "no such asset "+name+"; reload the page to get the current UI", http.StatusNotFound)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
