package web

import (
	"html"
	"net/http"
	"strings"
	"testing"
)

// "View JSON" on a /v1 page is a link a person follows: the browser sends no Client-Request-Id, so its own
// same-origin navigation gets the JSON shown in a page. Everything else keeps /v1's rule: no header, no JSON.
func TestViewJSONInTheBrowser(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	const project = "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks"
	navigate := func(site string) []string {
		return []string{HeaderAccept, browserAccept, HeaderSecFetchMode, "navigate", HeaderSecFetchDest, "document", HeaderSecFetchSite, site}
	}
	wantJSON := compactJSON(t, get(t, server, project+"?format=json", HeaderClientRequestID, clientRequestID).Body.Bytes())
	cases := []struct {
		name     string
		target   string
		headers  []string
		status   int
		wantType string
	}{
		{"link followed on the site", project + "?format=json", navigate("same-origin"), 200, contentTypeHTML},
		{"address typed in", project + "?format=json", navigate("none"), 200, contentTypeHTML},
		{"stack page", project + "/memcached?format=json", navigate("same-origin"), 200, contentTypeHTML},
		{"events page", project + "/memcached/events?format=json", navigate("same-origin"), 200, contentTypeHTML},
		{"link on another site", project + "?format=json", navigate("cross-site"), 400, contentTypeJSON},
		{"a fetch, not a navigation", project + "?format=json", []string{HeaderSecFetchMode, "cors", HeaderSecFetchDest, "empty", HeaderSecFetchSite, "same-origin"}, 400, contentTypeJSON},
		{"curl without the header", project, nil, 400, contentTypeJSON},
		{"with the header the JSON itself", project + "?format=json", append(navigate("same-origin"), HeaderClientRequestID, clientRequestID), 200, contentTypeJSON},
		{"unknown stack", project + "/nope?format=json", navigate("same-origin"), 404, contentTypeHTML},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, server, tc.target, tc.headers...)
			if rec.Code != tc.status || rec.Header().Get("Content-Type") != tc.wantType {
				t.Fatalf("%d %s, want %d %s: %.300s", rec.Code, rec.Header().Get("Content-Type"), tc.status, tc.wantType, rec.Body)
			}
			body := rec.Body.String()
			if tc.status == 400 && !strings.Contains(body, `"error_code":"RF.10011001"`) {
				t.Errorf("want RF.10011001 for the missing header, got %s", body)
			}
			if tc.wantType != contentTypeHTML || tc.status != 200 {
				return
			}
			start, end := strings.Index(body, `<pre id="json"`), strings.Index(body, "</pre>")
			if start < 0 || end < start {
				t.Fatalf("no <pre id=json> in the page: %.300s", body)
			}
			shown := html.UnescapeString(body[strings.Index(body[start:], ">")+start+1 : end])
			if tc.target == project+"?format=json" && compactJSON(t, []byte(shown)) != wantJSON {
				t.Errorf("the page shows\n%s\nwant the JSON API clients get\n%s", shown, wantJSON)
			}
			for _, want := range []string{`id="q"`, `id="nav-projects"`, `data-json-header="Client-Request-Id"`, `Back to the page`} {
				if !strings.Contains(body, want) {
					t.Errorf("the JSON view lacks %s", want)
				}
			}
		})
	}
}

// Every page that finds nothing, whatever is missing, says the same and keeps the header, its search and menu.
func TestNotFoundPagesShareOneWording(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	const project = "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks"
	for _, target := range []string{"/nothing-here", "/api/products/nope", project + "/nope", project + "/nope/events", "/static/nope.css", "/v1/unknown-project/stacks/x"} {
		rec := get(t, server, target, HeaderAccept, browserAccept)
		body := rec.Body.String()
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", target, rec.Code)
			continue
		}
		for _, want := range []string{notFoundText, "<h1>Not found</h1>", `<code class="break">` + target + "</code>", `role="search"`, `id="nav-projects"`, `ba2b9930c977f71edaeaa3a5e96a8ff1`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the page lacks %q", target, want)
			}
		}
		if strings.Contains(body, "sse-connect") {
			t.Errorf("%s: an error page subscribes to live updates", target)
		}
	}
}
