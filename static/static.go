// Package static holds the portal's CSS and JavaScript, embedded in the binary and served with
// content-hashed URLs so that browsers may cache them for a year.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed *.css *.js
var files embed.FS

// hashes maps a file name to the first 12 hex digits of its SHA-256.
var hashes = func() map[string]string {
	m := map[string]string{}
	fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := files.ReadFile(p)
		sum := sha256.Sum256(b)
		m[p] = hex.EncodeToString(sum[:])[:12]
		return nil
	})
	return m
}()

// URL returns the URL of a static file with its content hash, e.g. /static/app.css?v=1a2b3c4d5e6f.
func URL(name string) string {
	return "/static/" + name + "?v=" + hashes[name]
}

// Handler serves the files under /static/. A request carrying the file's current hash is cached
// for a year (immutable); any other is revalidated.
func Handler() http.Handler {
	fsrv := http.FileServer(http.FS(files))
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Clean(strings.TrimPrefix(r.URL.Path, "/"))
		h, ok := hashes[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == h {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		fsrv.ServeHTTP(w, r)
	}))
}
