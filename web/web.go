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
	"bytes"
	"compress/gzip"
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
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
// Clients that accept gzip get the files compressed (once, at start).
func Handler() http.Handler {
	assets := Assets()
	zipped := compressAll(assets)
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "index.html"
		if r.URL.Path != "/" {
			name = path.Clean(r.URL.Path)[1:]
			if _, err := fs.Stat(assets, name); err != nil {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				http.Error(w, "no such asset /"+name+"; reload the page to get the current UI", http.StatusNotFound)
				return
			}
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Vary", "Accept-Encoding")
		if name == "index.html" {
			h.Set("Cache-Control", "no-cache")
		} else {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		if gz, ok := zipped[name]; ok && acceptsGzip(r) {
			h.Set("Content-Type", contentType(name))
			h.Set("Content-Encoding", "gzip")
			h.Set("Content-Length", strconv.Itoa(len(gz)))
			w.WriteHeader(http.StatusOK)
			if r.Method != http.MethodHead {
				_, _ = w.Write(gz)
			}
			return
		}
		if name == "index.html" {
			http.ServeFileFS(w, r, assets, name)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// compressAll gzips the text files of the UI.
func compressAll(assets fs.FS) map[string][]byte {
	out := map[string][]byte{}
	_ = fs.WalkDir(assets, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(contentType(p), "text/") && !strings.Contains(contentType(p), "javascript") {
			return err
		}
		b, err := fs.ReadFile(assets, p)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		out[p] = buf.Bytes()
		return nil
	})
	return out
}

func contentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (listed, and not with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		_, q, found := strings.Cut(strings.ReplaceAll(params, " ", ""), "q=")
		if !found {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}
