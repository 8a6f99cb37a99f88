package web

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"stackboard/handlers"
)

// Negotiation never panics, and any format it picks without an error is one of the three. Run longer with
// make fuzz.
func FuzzNegotiate(f *testing.F) {
	f.Add("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", "", "", "")
	f.Add("application/json", "json", "true", "")
	f.Add("*/*;q=abc, text/*;q=2", "html", "true", "true")
	f.Add(";;;,,,=", "xml", "", "")
	f.Fuzz(func(t *testing.T, accept, formatValue, hx, boosted string) {
		r := httptest.NewRequest("GET", "/api/products?format="+url.QueryEscape(formatValue), nil)
		r.Header.Set(HeaderAccept, accept)
		r.Header.Set(HeaderHXRequest, hx)
		r.Header.Set(HeaderHXBoosted, boosted)
		f, err := negotiate(r)
		if f != handlers.FormatJSON && f != handlers.FormatPage && f != handlers.FormatPartial {
			t.Errorf("format %d for Accept %q", f, accept)
		}
		if err == nil && formatValue != "" && formatValue != "json" && formatValue != "html" {
			t.Errorf("?format=%q was accepted", formatValue)
		}
	})
}

// The redirect check only ever gives a local path. Run longer with make fuzz.
func FuzzSafeRedirect(f *testing.F) {
	for _, seed := range []string{"/api/products", "/%09/evil.example/", "//x", "/\\x", "https://x", "/%252F%252Fx", "/a?b=%2F"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeRedirect(next)
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || len(got) == 0 || got[0] != '/' || len(got) > 1 && (got[1] == '/' || got[1] == '\\') {
			t.Errorf("safeRedirect(%q) = %q", next, got)
		}
		for _, c := range got {
			if c < 0x20 || c == 0x7f || c == '\\' {
				t.Errorf("safeRedirect(%q) = %q holds %q", next, got, c)
			}
		}
	})
}
