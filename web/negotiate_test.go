package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"stackboard/handlers"
)

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

// Every combination of ?format=, HX-Request and Accept answers in the format DESIGN.md's order gives, for both
// documented endpoints.
func TestNegotiationMatrix(t *testing.T) {
	cases := []struct {
		name    string
		query   string
		accept  string
		htmx    string // "", "request", "restore", "boosted"
		wantFmt handlers.Format
	}{
		{"no Accept", "", "", "", handlers.FormatJSON},
		{"any type", "", "*/*", "", handlers.FormatJSON},
		{"JSON asked", "", "application/json", "", handlers.FormatJSON},
		{"browser", "", browserAccept, "", handlers.FormatPage},
		{"HTML only", "", "text/html", "", handlers.FormatPage},
		{"JSON and HTML tie", "", "application/json, text/html", "", handlers.FormatJSON},
		{"HTML ranked lower", "", "text/html;q=0.5, application/json", "", handlers.FormatJSON},
		{"JSON ranked lower", "", "application/json;q=0.5, text/html", "", handlers.FormatPage},
		{"text wildcard", "", "text/*", "", handlers.FormatPage},
		{"HTML refused", "", "text/html;q=0, */*", "", handlers.FormatJSON},
		{"htmx", "", browserAccept, "request", handlers.FormatPartial},
		{"htmx without Accept", "", "", "request", handlers.FormatPartial},
		{"htmx history restore", "", browserAccept, "restore", handlers.FormatPage},
		{"htmx boosted", "", browserAccept, "boosted", handlers.FormatPage},
		{"htmx history restore without a browser Accept", "", "*/*", "restore", handlers.FormatPage},
		{"htmx boosted without Accept", "", "", "boosted", handlers.FormatPage},
		{"format=json beats browser", "format=json", browserAccept, "", handlers.FormatJSON},
		{"format=json beats htmx", "format=json", browserAccept, "request", handlers.FormatJSON},
		{"format=html beats no Accept", "format=html", "", "", handlers.FormatPage},
		{"format=html with htmx", "format=html", "", "request", handlers.FormatPartial},
	}
	endpoints := []struct {
		path       string
		fragmentID string
	}{
		{"/api/products", `<div id="overview"`},
		{"/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks", `<section id="stacks"`},
	}
	// Vary names every request header that changes the answer: those negotiation reads, the encoding, and on /v1
	// the Client-Request-Id whose absence is a 400 (or, for a browser's own navigation, the JSON view page).
	const negotiated = "Accept, HX-Request, HX-History-Restore-Request, HX-Boosted, Accept-Encoding"
	wantVary := map[string]string{
		"/api/products": negotiated,
		"/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks": negotiated + ", Client-Request-Id, Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest",
	}
	server := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	for _, endpoint := range endpoints {
		for _, tc := range cases {
			t.Run(endpoint.path+"/"+tc.name, func(t *testing.T) {
				target := endpoint.path
				if tc.query != "" {
					target += "?" + tc.query
				}
				headers := []string{HeaderClientRequestID, clientRequestID}
				if tc.accept != "" {
					headers = append(headers, HeaderAccept, tc.accept)
				}
				switch tc.htmx {
				case "request":
					headers = append(headers, HeaderHXRequest, "true")
				case "restore":
					headers = append(headers, HeaderHXRequest, "true", HeaderHXHistoryRestore, "true")
				case "boosted":
					headers = append(headers, HeaderHXRequest, "true", HeaderHXBoosted, "true")
				}
				rec := get(t, server, target, headers...)
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				if got := rec.Header().Get(HeaderVary); got != wantVary[endpoint.path] {
					t.Errorf("Vary %q", got)
				}
				body := rec.Body.String()
				contentType := rec.Header().Get("Content-Type")
				switch tc.wantFmt {
				case handlers.FormatJSON:
					if contentType != "application/json" || !json.Valid(rec.Body.Bytes()) {
						t.Errorf("want JSON, got %s: %.80s", contentType, body)
					}
				case handlers.FormatPage:
					if contentType != "text/html; charset=utf-8" || !strings.HasPrefix(body, "<!doctype html>") || !strings.Contains(body, "</html>") || !strings.Contains(body, endpoint.fragmentID) {
						t.Errorf("want a full page, got %s: %.80s", contentType, body)
					}
				case handlers.FormatPartial:
					if contentType != "text/html; charset=utf-8" || strings.Contains(body, "<html") || !strings.HasPrefix(body, endpoint.fragmentID) || !strings.Contains(body, `id="nav-projects" class="menu" hx-swap-oob="morph"`) {
						t.Errorf("want the partial, got %s: %.80s", contentType, body)
					}
				}
			})
		}
	}
}

func TestUnknownFormatIsABadRequest(t *testing.T) {
	server := newTestServer(openTestDB(t))
	rec := get(t, server, "/api/products?format=xml")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"code":"400"`) {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}
	rec = get(t, server, "/api/products?format=xml", HeaderAccept, browserAccept)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "<!doctype html>") {
		t.Errorf("a browser should get an error page, got %d %.100s", rec.Code, rec.Body)
	}
}
