package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
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
		wantFmt format
	}{
		{"no Accept", "", "", "", formatJSON},
		{"any type", "", "*/*", "", formatJSON},
		{"JSON asked", "", "application/json", "", formatJSON},
		{"browser", "", browserAccept, "", formatPage},
		{"HTML only", "", "text/html", "", formatPage},
		{"JSON and HTML tie", "", "application/json, text/html", "", formatJSON},
		{"HTML ranked lower", "", "text/html;q=0.5, application/json", "", formatJSON},
		{"JSON ranked lower", "", "application/json;q=0.5, text/html", "", formatPage},
		{"text wildcard", "", "text/*", "", formatPage},
		{"HTML refused", "", "text/html;q=0, */*", "", formatJSON},
		{"htmx", "", browserAccept, "request", formatPartial},
		{"htmx without Accept", "", "", "request", formatPartial},
		{"htmx history restore", "", browserAccept, "restore", formatPage},
		{"htmx boosted", "", browserAccept, "boosted", formatPage},
		{"format=json beats browser", "format=json", browserAccept, "", formatJSON},
		{"format=json beats htmx", "format=json", browserAccept, "request", formatJSON},
		{"format=html beats no Accept", "format=html", "", "", formatPage},
		{"format=html with htmx", "format=html", "", "request", formatPartial},
	}
	endpoints := []struct {
		path       string
		fragmentID string
	}{
		{"/api/products", `<div id="overview"`},
		{"/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks", `<section id="stacks"`},
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
				if got := rec.Header().Get(HeaderVary); got != "Accept, HX-Request, Accept-Encoding" {
					t.Errorf("Vary %q", got)
				}
				body := rec.Body.String()
				contentType := rec.Header().Get("Content-Type")
				switch tc.wantFmt {
				case formatJSON:
					if contentType != "application/json" || !json.Valid(rec.Body.Bytes()) {
						t.Errorf("want JSON, got %s: %.80s", contentType, body)
					}
				case formatPage:
					if contentType != "text/html; charset=utf-8" || !strings.HasPrefix(body, "<!doctype html>") || !strings.Contains(body, "</html>") || !strings.Contains(body, endpoint.fragmentID) {
						t.Errorf("want a full page, got %s: %.80s", contentType, body)
					}
				case formatPartial:
					if contentType != "text/html; charset=utf-8" || strings.Contains(body, "<html") || !strings.HasPrefix(body, endpoint.fragmentID) || !strings.Contains(body, `id="nav-projects" class="menu" hx-swap-oob="true"`) {
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
