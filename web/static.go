package web

import (
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"stackboard/handlers"
	"stackboard/static"
)

// staticFiles serves the embedded assets under /static/. Content-hashed names (those the pages link to) never change
// meaning, so browsers keep them for a year without asking; plain names are revalidated. A miss is a 404 in the
// error shape of every other URL.
func staticFiles(files fs.FS) handlerFunc {
	server := http.FileServerFS(files)
	return func(w http.ResponseWriter, r *http.Request) error {
		name := strings.TrimPrefix(r.URL.Path, static.Prefix)
		plain, hashed := static.Unhashed(name)
		if !hashed {
			plain = name
		}
		if info, err := fs.Stat(files, plain); name == "" || strings.Contains(name, "/") || err != nil || info.IsDir() {
			return &handlers.Error{Status: http.StatusNotFound, Message: "Not Found: no static file " + strings.TrimPrefix(r.URL.Path, "/")}
		}
		if hashed {
			w.Header().Set(HeaderCacheControl, "public, max-age=31536000, immutable")
		} else {
			w.Header().Set(HeaderCacheControl, "no-cache")
		}
		r2 := new(http.Request)
		*r2 = *r
		r2.URL = new(url.URL)
		*r2.URL = *r.URL
		r2.URL.Path = "/" + plain
		r2.URL.RawPath = ""
		server.ServeHTTP(w, r2)
		return nil
	}
}
