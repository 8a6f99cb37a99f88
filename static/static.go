// Package static holds the stylesheet, the vendored scripts and the icons that the binary serves under /static/.
package static

import "embed"

// Files are the static assets, embedded into the binary.
//
//go:embed *.css *.js *.svg
var Files embed.FS
