package web

import (
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"stackboard/static"
)

// staticFiles serves the embedded assets under /static/. Content-hashed names (those the pages link to) never change
// meaning, so browsers keep them for a year without asking; plain names are revalidated.
func staticFiles(files fs.FS) http.Handler {
	server := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, static.Prefix)
		if name == "" || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		if plain, ok := static.Unhashed(name); ok {
			w.Header().Set(HeaderCacheControl, "public, max-age=31536000, immutable")
			name = plain
		} else {
			w.Header().Set(HeaderCacheControl, "no-cache")
		}
		r2 := new(http.Request)
		*r2 = *r
		r2.URL = new(url.URL)
		*r2.URL = *r.URL
		r2.URL.Path = "/" + name
		r2.URL.RawPath = ""
		server.ServeHTTP(w, r2)
	})
}
