package web

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"stackboard/handlers"
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
	HeaderLocation         = "Location"
	HeaderRetryAfter       = "Retry-After"
	HeaderCookie           = "Cookie"
	// The fetch metadata a browser sends with its own navigations (and no page's script can forge).
	HeaderSecFetchSite = "Sec-Fetch-Site"
	HeaderSecFetchMode = "Sec-Fetch-Mode"
	HeaderSecFetchDest = "Sec-Fetch-Dest"
)

// negotiate decides, in DESIGN.md's order, how to answer: ?format= wins; then an htmx request gets the partial
// (but history restores and boosted navigations get the page); then a browser that prefers HTML gets the page;
// everything else gets JSON. An unknown ?format= value is an error, reported in the format the rest of the
// request asks for. It runs once per request, in common; everything else reads its answer.
func negotiate(r *http.Request) (handlers.Format, error) {
	hxRequest := headerIs(r.Header, canonicalHXRequest, "true")
	fullPage := headerIs(r.Header, canonicalHXHistoryRestore, "true") || headerIs(r.Header, canonicalHXBoosted, "true")
	html := handlers.FormatPage
	if hxRequest && !fullPage {
		html = handlers.FormatPartial
	}
	value := ""
	if r.URL.RawQuery != "" {
		value = r.URL.Query().Get("format")
	}
	switch value {
	case "json":
		return handlers.FormatJSON, nil
	case "html":
		return html, nil
	case "":
	default:
		fallback, _ := negotiate(withoutFormat(r))
		return fallback, fmt.Errorf("format %q is not one of json, html", value)
	}
	switch {
	case hxRequest:
		// An htmx request always wants HTML, whatever its Accept says: the fragment, or for history restores and
		// boosted navigations the whole page.
		return html, nil
	case prefersHTMLKnown(r.Header[HeaderAccept]):
		return handlers.FormatPage, nil
	}
	return handlers.FormatJSON, nil
}

// The htmx headers' names as net/http keeps them: looking them up in that form spares canonicalising (and
// allocating) their mixed-case names on every request.
var (
	canonicalHXRequest        = http.CanonicalHeaderKey(HeaderHXRequest)
	canonicalHXHistoryRestore = http.CanonicalHeaderKey(HeaderHXHistoryRestore)
	canonicalHXBoosted        = http.CanonicalHeaderKey(HeaderHXBoosted)
)

// headerIs reports whether the first value of a header, by its canonical name, is value.
func headerIs(h http.Header, canonicalName, value string) bool {
	values := h[canonicalName]
	return len(values) > 0 && values[0] == value
}

func withoutFormat(r *http.Request) *http.Request {
	clone := r.Clone(r.Context())
	q := clone.URL.Query()
	q.Del("format")
	clone.URL.RawQuery = q.Encode()
	return clone
}

// acceptVerdicts remember prefersHTML's answer for the Accept headers seen so far, which are few (every browser
// sends one of a handful), so that a request does not parse its Accept again. The map is replaced, never changed,
// so reads take no lock.
var acceptVerdicts struct {
	mu    sync.Mutex
	known atomic.Pointer[map[string]bool]
}

// Limits of acceptVerdicts: how many headers it remembers, and how long one may be.
const (
	mostAcceptVerdicts = 64
	longestKeptAccept  = 512
)

// prefersHTMLKnown is prefersHTML, answered from acceptVerdicts when the header was seen before.
func prefersHTMLKnown(accept []string) bool {
	if len(accept) != 1 || len(accept[0]) > longestKeptAccept {
		return prefersHTML(accept)
	}
	known := acceptVerdicts.known.Load()
	if known != nil {
		if verdict, ok := (*known)[accept[0]]; ok {
			return verdict
		}
	}
	verdict := prefersHTML(accept)
	acceptVerdicts.mu.Lock()
	defer acceptVerdicts.mu.Unlock()
	known = acceptVerdicts.known.Load()
	if known == nil || len(*known) < mostAcceptVerdicts {
		grown := make(map[string]bool, 1+len(mapOrNil(known)))
		for k, v := range mapOrNil(known) {
			grown[k] = v
		}
		grown[strings.Clone(accept[0])] = verdict
		acceptVerdicts.known.Store(&grown)
	}
	return verdict
}

func mapOrNil(m *map[string]bool) map[string]bool {
	if m == nil {
		return nil
	}
	return *m
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
