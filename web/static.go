package web

import (
	"io/fs"
	"net/http"
	"strings"
)

// staticFiles serves the embedded assets under /static/.
func staticFiles(files fs.FS) http.Handler {
	server := http.StripPrefix("/static/", http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		server.ServeHTTP(w, r)
	})
}
