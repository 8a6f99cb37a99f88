// Package static holds the stylesheet, the vendored scripts and the icons that the binary serves under /static/.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"
	"sync"
)

// Files are the static assets, embedded into the binary.
//
//go:embed *.css *.js *.svg
var Files embed.FS

// Prefix is the URL path under which the assets are served.
const Prefix = "/static/"

// names maps each asset to its content-hashed name and back. The files are embedded, so the table never changes
// once built.
var names = sync.OnceValue(func() assetNames {
	table := assetNames{hashed: make(map[string]string), plain: make(map[string]string)}
	entries, err := fs.ReadDir(Files, ".")
	if err != nil {
		panic("static: embedded files unreadable: " + err.Error())
	}
	for _, entry := range entries {
		content, err := fs.ReadFile(Files, entry.Name())
		if err != nil {
			panic("static: embedded file unreadable: " + err.Error())
		}
		sum := sha256.Sum256(content)
		ext := path.Ext(entry.Name())
		hashed := strings.TrimSuffix(entry.Name(), ext) + "." + hex.EncodeToString(sum[:5]) + ext
		table.hashed[entry.Name()] = hashed
		table.plain[hashed] = entry.Name()
	}
	return table
})

type assetNames struct {
	hashed map[string]string
	plain  map[string]string
}

// URL is the address of an asset under its content-hashed name, which changes whenever the file does, so browsers
// may keep it for ever.
func URL(name string) string {
	if hashed, ok := names().hashed[name]; ok {
		return Prefix + hashed
	}
	return Prefix + name
}

// Unhashed returns the file behind a content-hashed name, and whether the name is one.
func Unhashed(name string) (string, bool) {
	plain, ok := names().plain[name]
	return plain, ok
}
