package web

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strconv"
)

// openAPIDocument is the OpenAPI 3.1 description of every JSON endpoint. It is written by hand, and
// openapi_test.go sends real requests to every endpoint and validates the answers against it, so that it and the
// server cannot drift apart.
//
//go:embed openapi.json
var openAPIDocument []byte

// serveDocument answers with a fixed JSON document, with an ETag so that clients fetch it again only after an
// upgrade.
func serveDocument(doc []byte) handlerFunc {
	sum := sha256.Sum256(doc)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	length := strconv.Itoa(len(doc))
	return func(w http.ResponseWriter, r *http.Request) error {
		header := w.Header()
		header.Set(HeaderETag, etag)
		header.Set(HeaderCacheControl, "public, no-cache")
		if r.Header.Get(HeaderIfNoneMatch) == etag {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		header.Set(HeaderContentType, contentTypeJSON)
		header.Set(HeaderContentLength, length)
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(doc)
		}
		return nil
	}
}
