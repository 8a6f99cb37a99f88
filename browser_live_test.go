package main

// Browser tests of issue 12's live and page details: "View JSON" from every page type, live updates that keep
// the reader's place, the live region's announcements, the phone layout, the header's menus, and axe-core.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"stackboard/models/testdb"
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

// A list scrolled to 500 rows keeps them, in order, through a live update, with the focus on the link it was on,
// the scroll position, an open menu and typed text; and the update costs one request (the list's), not a
// re-walk of its pages.
func TestBrowserLiveUpdateKeepsLoadedRows(t *testing.T) {
	findChromium(t)
	stackboardBinary(t) // built before the import's clock starts
	b := setup(t)
	var manifest strings.Builder
	manifest.WriteString("projects:\n  - id: bulk-project\n    stacks:\n")
	for i := range 620 {
		fmt.Fprintf(&manifest, "      - {name: bulk-%03d, status: DEPLOYMENT_COMPLETE}\n", i)
	}
	importManifest(t, b.srv, manifest.String())
	var want []string // newest first: the later created first
	for i := 619; i >= 120; i-- {
		want = append(want, fmt.Sprintf("bulk-%03d", i))
	}

	b.open("/v1/bulk-project/stacks")
	for upTo := 200; upTo <= 500; upTo += 100 {
		b.run("scroll to the end of the list", chromedp.Evaluate(`window.scrollTo(0, document.body.scrollHeight)`, nil))
		b.untilJS(pageTimeout, fmt.Sprintf("%d rows", upTo), fmt.Sprintf(`document.querySelectorAll("tr[data-stack]").length >= %d`, upTo),
			`document.querySelectorAll("tr[data-stack]").length`)
	}
	b.waitRows("the 500 loaded rows", "tr[data-stack]", "data-stack", want)

	// Read row 450, keyboard focus on its link, the Stacks menu open and text typed in the search box.
	const focused = "bulk-170"
	var before struct {
		Top      float64 `json:"top"`
		Requests int     `json:"requests"`
	}
	b.run("type into the search box", chromedp.SendKeys("#q", "half-typed", chromedp.ByQuery))
	b.mustEval(`(() => {
		document.querySelector("#nav-projects").open = true;
		const link = document.querySelector('tr[data-stack="`+focused+`"] a');
		link.scrollIntoView({block: "center"});
		link.focus();
		window.__noReload = 1;
		return {top: link.getBoundingClientRect().top, requests: performance.getEntriesByType("resource").filter(e => new URL(e.name).pathname === "/v1/bulk-project/stacks").length};
	})()`, &before)

	patch(t, b.srv, "/v1/bulk-project/stacks/bulk-450", `{"status":"DEPLOYMENT_FAILED","status_message":"image pull back-off"}`)
	// Latency is TestBrowserLiveUpdate's business; this test allows a loaded machine time to render 500 rows.
	took := b.untilJS(pageTimeout, "row bulk-450 to show DEPLOYMENT_FAILED",
		`document.querySelector('tr[data-stack="bulk-450"]').textContent.includes("image pull back-off")`,
		`document.querySelector('tr[data-stack="bulk-450"]').textContent.replace(/\s+/g, " ").trim()`)
	t.Logf("the list of 500 rows showed the change after %v", took.Round(time.Millisecond))
	time.Sleep(time.Second) // any request the update sets off is made by now

	var after struct {
		NoReload any      `json:"noReload"`
		Active   string   `json:"active"`
		Top      float64  `json:"top"`
		Requests []string `json:"requests"`
		MenuOpen bool     `json:"menuOpen"`
		Typed    string   `json:"typed"`
	}
	b.mustEval(`({
		noReload: window.__noReload === undefined ? null : window.__noReload,
		active: (document.activeElement.closest("tr[data-stack]") || {dataset: {}}).dataset.stack || document.activeElement.tagName,
		top: document.querySelector('tr[data-stack="`+focused+`"] a').getBoundingClientRect().top,
		requests: performance.getEntriesByType("resource").map(e => new URL(e.name)).filter(u => u.pathname === "/v1/bulk-project/stacks").map(u => u.search),
		menuOpen: document.querySelector("#nav-projects").open,
		typed: document.getElementById("q").value,
	})`, &after)
	b.waitRows("the rows after the update", "tr[data-stack]", "data-stack", want)
	if after.NoReload != float64(1) {
		t.Errorf("the page reloaded")
	}
	if after.Active != focused {
		t.Errorf("after the update the focus is on %s, want the link of row %s", after.Active, focused)
	}
	// A row above grew by a line: the page scrolls with it (scroll anchoring), so the row read stays put.
	if math.Abs(after.Top-before.Top) > 1 {
		t.Errorf("after the update row %s is %v px from the top of the window, want it to stay at %v", focused, after.Top, before.Top)
	}
	if !after.MenuOpen || after.Typed != "half-typed" {
		t.Errorf("after the update the Stacks menu is open: %v, the search box holds %q; want it open and \"half-typed\"", after.MenuOpen, after.Typed)
	}
	if made := after.Requests[before.Requests:]; len(made) != 1 {
		t.Errorf("the update made %d requests for the list (%q), want 1", len(made), made)
	} else {
		t.Logf("one change, one request: %s", made[0])
	}
}

// patch sends a PATCH of a stack with a fresh Client-Request-Id and wants 204.
func patch(t *testing.T, srv *testServer, path, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPatch, srv.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Client-Request-Id", fmt.Sprintf("%08x-1d2b-4c3d-9e8f-7a6b5c4d3e2f", time.Now().UnixNano()&0xffffffff))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PATCH %s answered %d, want 204", path, resp.StatusCode)
	}
}

// serveOn runs `stackboard serve --demo` in this process on a fixed address until stop (or the test's end), so
// that a test can stop the server and start it again where the page expects it.
func serveOn(t *testing.T, addr, db string, logs *lockedBuffer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--db", db, "--demo"}, func(string) string { return "" }, io.Discard, logs)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve returned %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("the server did not stop within 20 s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return stop
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("the server did not answer on %s within 20 s:\n%s", addr, logs)
		}
	}
}

// The live indicator's region (role=status, aria-live=polite) changes only when the state does: an update's
// ticking age sits beside it, never in it. Stopping the server says "Reconnecting…", its return "Live", once each.
func TestBrowserLiveRegionAnnouncesStatesOnly(t *testing.T) {
	findChromium(t)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	srv := &testServer{base: "http://" + addr, db: testdb.DSN(t), logs: &lockedBuffer{}}
	stop := serveOn(t, addr, srv.db, srv.logs)
	b := newBrowser(t, srv)
	b.open("/api/products")
	var ok bool
	b.mustEval(`(() => {
		const region = document.getElementById("live");
		window.__said = [];
		new MutationObserver(() => window.__said.push(region.textContent.trim())).observe(region, {subtree: true, childList: true, characterData: true});
		return region.getAttribute("role") === "status" && region.getAttribute("aria-live") === "polite";
	})()`, &ok)
	if !ok {
		t.Fatalf("#live is not a polite status region")
	}
	patch(t, srv, "/v1/search-staging/stacks/crawler", `{"status":"DELETION_FAILED","status_message":"volume still attached"}`)
	b.untilJS(liveDeadline, "the age of the update beside the indicator", `document.getElementById("live-age").textContent.includes("updated")`,
		`document.getElementById("live-age").textContent`)
	var first, later string
	b.mustEval(`document.getElementById("live-age").textContent`, &first)
	b.untilJS(5*time.Second, "the age to tick", `document.getElementById("live-age").textContent !== `+jsString(first),
		`document.getElementById("live-age").textContent`)
	b.mustEval(`document.getElementById("live-age").textContent`, &later)
	var said []string
	b.mustEval(`window.__said`, &said)
	if len(said) != 0 {
		t.Errorf("while live, with the age ticking from %q to %q, the live region changed %d times: %q; want none", first, later, len(said), said)
	}

	stop()
	b.untilJS(10*time.Second, "the indicator to say it reconnects", `document.getElementById("live").dataset.state === "reconnecting"`,
		`document.getElementById("live").textContent`)
	if age := b.text("#live-age"); age != "" {
		t.Errorf("while reconnecting the indicator still says %q", age)
	}
	serveOn(t, addr, srv.db, srv.logs)
	b.untilJS(30*time.Second, "the indicator to be live again", `document.getElementById("live").dataset.state === "live"`,
		`document.getElementById("live").textContent`)
	b.mustEval(`window.__said`, &said)
	if want := []string{"Reconnecting…", "Live"}; !slices.Equal(said, want) {
		t.Errorf("through a server restart the live region said %q, want %q", said, want)
	}
	// The browser logs the refused connections of the stream while the server was away, and htmx's SSE
	// extension logs the stream's error event: expected here, and only here.
	b.mu.Lock()
	b.jsErrors = slices.DeleteFunc(b.jsErrors, func(e string) bool {
		return strings.Contains(e, "ERR_CONNECTION_REFUSED") || strings.Contains(e, "/events?") || e == `console.error: "[object Event]"`
	})
	b.mu.Unlock()
}
