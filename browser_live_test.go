package main

// Browser tests of issue 12's live and page details: "View JSON" from every page type, live updates that keep
// the reader's place, the live region's announcements, the phone layout, the header's menus, and axe-core.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// pageTypes are one page of each kind, as the demo data has them.
var pageTypes = []struct{ name, path string }{
	{"overview", "/api/products"},
	{"product", "/api/products/search"},
	{"stacks", "/v1/search-staging/stacks"},
	{"stack", "/v1/search-staging/stacks/elasticsearch"},
	{"events", "/v1/search-staging/stacks/elasticsearch/events"},
}

// "View JSON" on every page type, clicked as a person clicks it, shows that URL's JSON: never an error.
func TestBrowserViewJSONOnEveryPage(t *testing.T) {
	b := setup(t)
	for _, p := range pageTypes {
		b.open(p.path)
		b.run("click View JSON on "+p.name, chromedp.Click("#view-json", chromedp.ByQuery))
		b.waitPath(p.path + "?format=json")
		// /api answers JSON itself (the browser shows it in a <pre>); /v1, whose JSON needs Client-Request-Id,
		// answers its JSON view page, whose <pre id="json"> holds it.
		b.untilJS(pageTimeout, p.name+"'s JSON to show", `document.readyState === "complete" && document.querySelector("pre")`,
			`document.body.innerText.slice(0, 200)`)
		var shown struct {
			Text        string `json:"text"`
			ContentType string `json:"contentType"`
			Search      bool   `json:"search"`
		}
		b.mustEval(`({
			text: (document.getElementById("json") || document.querySelector("pre")).textContent,
			contentType: document.contentType,
			search: !!document.getElementById("q"),
		})`, &shown)
		var v any
		if err := json.Unmarshal([]byte(shown.Text), &v); err != nil {
			t.Errorf("%s: View JSON shows %.200q (%s), which is not JSON: %v", p.name, shown.Text, shown.ContentType, err)
			continue
		}
		if m, ok := v.(map[string]any); ok && m["error_code"] != nil {
			t.Errorf("%s: View JSON shows an error: %s", p.name, shown.Text)
		}
		if strings.HasPrefix(p.path, "/v1/") && (shown.ContentType != "text/html" || !shown.Search) {
			t.Errorf("%s: the JSON view is %s (search box %v), want the page with the header", p.name, shown.ContentType, shown.Search)
		}
	}
}
