package web

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Header names the server reads or writes.
const (
	HeaderHXRequest        = "HX-Request"
	HeaderHXHistoryRestore = "HX-History-Restore-Request"
	HeaderHXBoosted        = "HX-Boosted"
	HeaderClientRequestID  = "Client-Request-Id"
	HeaderRequestID        = "X-Request-Id"
	HeaderAccept           = "Accept"
	HeaderVary             = "Vary"
)

// format is one of the three ways a URL can answer.
type format int

const (
	formatJSON format = iota
	formatPage
	formatPartial
)

// String names the format as logs show it.
func (f format) String() string {
	return [...]string{"json", "page", "partial"}[f]
}

// negotiate decides once, in DESIGN.md's order, how to answer: ?format= wins; then an htmx request gets the
// partial (but history restores and boosted navigations get the page); then a browser that prefers HTML gets the
// page; everything else gets JSON. An unknown ?format= value is an error, reported in the format the rest of the
// request asks for.
func negotiate(r *http.Request) (format, error) {
	htmx := r.Header.Get(HeaderHXRequest) == "true" &&
		r.Header.Get(HeaderHXHistoryRestore) != "true" && r.Header.Get(HeaderHXBoosted) != "true"
	html := formatPage
	if htmx {
		html = formatPartial
	}
	switch value := r.URL.Query().Get("format"); value {
	case "json":
		return formatJSON, nil
	case "html":
		return html, nil
	case "":
	default:
		fallback, _ := negotiate(withoutFormat(r))
		return fallback, fmt.Errorf("format %q is not one of json, html", value)
	}
	if htmx {
		return formatPartial, nil
	}
	if prefersHTML(r.Header.Values(HeaderAccept)) {
		return formatPage, nil
	}
	return formatJSON, nil
}

func withoutFormat(r *http.Request) *http.Request {
	clone := r.Clone(r.Context())
	q := clone.URL.Query()
	q.Del("format")
	clone.URL.RawQuery = q.Encode()
	return clone
}

// prefersHTML reports whether an Accept header ranks text/html above application/json. A tie goes to JSON unless
// only text/html is named, so "*/*" and an API client's list stay JSON while browsers get HTML.
func prefersHTML(accept []string) bool {
	htmlQ, htmlNamed := acceptQuality(accept, "text", "html")
	jsonQ, jsonNamed := acceptQuality(accept, "application", "json")
	if htmlQ > jsonQ {
		return true
	}
	return htmlQ == jsonQ && htmlQ > 0 && htmlNamed && !jsonNamed
}

// acceptQuality returns the quality an Accept header gives a media type, by its most specific matching range,
// and whether the type was named exactly.
func acceptQuality(accept []string, typ, subtype string) (float64, bool) {
	bestSpecificity, quality, named := -1, 0.0, false
	for _, header := range accept {
		for _, item := range strings.Split(header, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			mediaType, params, err := mime.ParseMediaType(item)
			if err != nil {
				continue
			}
			t, s, _ := strings.Cut(mediaType, "/")
			specificity := -1
			switch {
			case t == typ && s == subtype:
				specificity = 2
			case t == typ && s == "*":
				specificity = 1
			case t == "*" && s == "*":
				specificity = 0
			}
			if specificity < bestSpecificity || specificity < 0 {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if parsed, err := strconv.ParseFloat(v, 64); err == nil && parsed >= 0 && parsed <= 1 {
					q = parsed
				}
			}
			if specificity > bestSpecificity {
				bestSpecificity, quality = specificity, q
			} else if q > quality {
				quality = q
			}
			if specificity == 2 && q > 0 {
				named = true
			}
		}
	}
	return quality, named
}
