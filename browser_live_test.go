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
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

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
	for i := range 510 {
		fmt.Fprintf(&manifest, "      - {name: bulk-%03d, status: DEPLOYMENT_COMPLETE}\n", i)
	}
	importManifest(t, b.srv, manifest.String())
	// All of one severity, created in one second: the list is in the manifest's order.
	var want []string
	for i := range 500 {
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
	const focused = "bulk-449"
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
		// What asks the list to refresh: its topic's notices, and resyncs after a reconnect.
		window.__notices = 0;
		document.body.addEventListener("htmx:sseMessage", e => { if (e.detail.type === "project-bulk-project") window.__notices++ });
		document.body.addEventListener("resync", () => window.__notices++);
		return {top: link.getBoundingClientRect().top, requests: performance.getEntriesByType("resource").filter(e => new URL(e.name).pathname === "/v1/bulk-project/stacks").length};
	})()`, &before)

	// bulk-300 fails, so it moves to the top of the broken-first list: the same 500 rows, one of them moved.
	patch(t, b.srv, "/v1/bulk-project/stacks/bulk-300", `{"status":"DEPLOYMENT_FAILED","status_message":"image pull back-off"}`)
	moved := append([]string{"bulk-300"}, slices.Delete(slices.Clone(want), 300, 301)...)
	// Latency is TestBrowserLiveUpdate's business; this test allows a loaded machine time to render 500 rows.
	took := b.untilJS(pageTimeout, "row bulk-300 to show DEPLOYMENT_FAILED at the top",
		`document.querySelector('tr[data-stack]').dataset.stack === "bulk-300" && document.querySelector('tr[data-stack="bulk-300"]').textContent.includes("image pull back-off")`,
		`document.querySelector('tr[data-stack]').textContent.replace(/\s+/g, " ").trim()`)
	t.Logf("the list of 500 rows showed the change after %v", took.Round(time.Millisecond))
	time.Sleep(time.Second) // any request the update sets off is made by now

	var after struct {
		NoReload any      `json:"noReload"`
		Active   string   `json:"active"`
		Top      float64  `json:"top"`
		Requests []string `json:"requests"`
		MenuOpen bool     `json:"menuOpen"`
		Notices  int      `json:"notices"`
		Typed    string   `json:"typed"`
	}
	b.mustEval(`({
		noReload: window.__noReload === undefined ? null : window.__noReload,
		active: (document.activeElement.closest("tr[data-stack]") || {dataset: {}}).dataset.stack || document.activeElement.tagName,
		top: document.querySelector('tr[data-stack="`+focused+`"] a').getBoundingClientRect().top,
		requests: performance.getEntriesByType("resource").map(e => new URL(e.name)).filter(u => u.pathname === "/v1/bulk-project/stacks").map(u => u.search),
		menuOpen: document.querySelector("#nav-projects").open,
		notices: window.__notices,
		typed: document.getElementById("q").value,
	})`, &after)
	b.waitRows("the rows after the update", "tr[data-stack]", "data-stack", moved)
	if after.NoReload != float64(1) {
		t.Errorf("the page reloaded")
	}
	if after.Active != focused {
		t.Errorf("after the update the focus is on %s, want the link of row %s", after.Active, focused)
	}
	// Rows above moved and one grew by a line: the page scrolls with them (scroll anchoring), so the row read
	// stays put.
	if math.Abs(after.Top-before.Top) > 1 {
		t.Errorf("after the update row %s is %v px from the top of the window, want it to stay at %v", focused, after.Top, before.Top)
	}
	if !after.MenuOpen || after.Typed != "half-typed" {
		t.Errorf("after the update the Stacks menu is open: %v, the search box holds %q; want it open and \"half-typed\"", after.MenuOpen, after.Typed)
	}
	// One request per notice the list hears (one per change; a loaded machine may drop the stream, whose
	// reconnect asks once more), each for all 500 rows at once: never a walk through the pages.
	made := after.Requests[before.Requests:]
	if after.Notices < 1 || len(made) != after.Notices || slices.ContainsFunc(made, func(q string) bool { return q != "?limit=500" }) {
		t.Errorf("after %d notices the list made %d requests (%q), want one ?limit=500 per notice", after.Notices, len(made), made)
	} else {
		t.Logf("%d notice(s), %d request(s): %q", after.Notices, len(made), made)
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
	// Leave the page, so that its stream is closed before the test's end stops the server again.
	b.run("leave the page", chromedp.Navigate("about:blank"))
	// The browser logs the refused connections of the stream while the server was away, and htmx's SSE
	// extension logs the stream's error event: expected here, and only here.
	b.mu.Lock()
	b.jsErrors = slices.DeleteFunc(b.jsErrors, func(e string) bool {
		return strings.Contains(e, "ERR_CONNECTION_REFUSED") || strings.Contains(e, "/events?") || e == `console.error: "[object Event]"`
	})
	b.mu.Unlock()
}

// axeScript is axe-core, vendored for the tests (testdata/axe-core/README.md).
const axeScript = "testdata/axe-core/axe-4.11.0.min.js"

// axeViolations runs axe-core on the page and lists its serious and critical violations, one line each.
func (b *browser) axeViolations() []string {
	b.t.Helper()
	script, err := os.ReadFile(axeScript)
	if err != nil {
		b.t.Fatal(err)
	}
	var found []string
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	err = chromedp.Run(ctx,
		chromedp.Evaluate(string(script)+";true", nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
			.filter(v => v.impact === "serious" || v.impact === "critical")
			.map(v => v.impact + " " + v.id + ": " + v.help + " — " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")))`,
			&found, func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if err != nil {
		b.t.Fatalf("running axe-core on %s: %v", b.location(), err)
	}
	return found
}

// axe-core finds nothing serious or critical on any page type, light and wide, and dark at 375 px.
func TestBrowserAccessibility(t *testing.T) {
	b := setup(t)
	pages := append(pageTypes[:len(pageTypes):len(pageTypes)],
		struct{ name, path string }{"JSON view", "/v1/search-staging/stacks?format=json"},
		struct{ name, path string }{"not found", "/v1/search-staging/stacks/nope"},
		struct{ name, path string }{"events with a bad filter", "/v1/search-staging/stacks/elasticsearch/events?filter=colour%3D%3Dred"},
	)
	for _, look := range []struct {
		scheme string
		width  int64
	}{{"light", 1280}, {"dark", 375}} {
		scheme, width := look.scheme, look.width
		{
			b.newTab()
			b.run("emulate prefers-color-scheme: "+scheme, emulation.SetEmulatedMedia().
				WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}))
			b.run("set the viewport", chromedp.EmulateViewport(width, 800))
			for _, p := range pages {
				b.run("open "+p.path, chromedp.Navigate(b.base+p.path))
				b.untilJS(pageTimeout, p.name+" to load", `document.readyState === "complete"`, `document.readyState`)
				if found := b.axeViolations(); len(found) > 0 {
					t.Errorf("%s (%s, %d px): axe-core finds\n  %s", p.name, scheme, width, strings.Join(found, "\n  "))
				}
			}
		}
	}
	// The page with a bad filter answers 400, which the browser logs: expected here.
	b.mu.Lock()
	b.jsErrors = slices.DeleteFunc(b.jsErrors, func(e string) bool {
		return strings.Contains(e, "status of 400") && strings.Contains(e, "filter=colour") || strings.Contains(e, "status of 404") && strings.Contains(e, "/nope")
	})
	b.mu.Unlock()
}

// At 375 px every table row is a card whose fields say what they are (no bare badge, no bare "none"), with the
// image:tag and the ages kept; the live indicator has its word beside the dot.
func TestBrowserPhoneCardsAreLabelled(t *testing.T) {
	b := setup(t)
	b.run("set a phone's viewport", chromedp.EmulateViewport(375, 800))
	type cell struct {
		Row     string `json:"row"`
		Label   string `json:"label"`
		Text    string `json:"text"`
		Visible bool   `json:"visible"`
	}
	cells := func(rows string) []cell {
		var out []cell
		b.mustEval(`Array.from(document.querySelectorAll(`+jsString(rows)+`)).flatMap(tr => Array.from(tr.children).filter((td, i) => i > 0 || td.dataset.label).map(td => ({
			row: tr.dataset.stack || tr.dataset.service || tr.dataset.product || tr.rowIndex + "",
			label: getComputedStyle(td, "::before").content.replace(/^"|"$/g, ""),
			text: td.textContent.replace(/\s+/g, " ").trim(),
			visible: td.checkVisibility() && td.getBoundingClientRect().width > 0,
		})))`, &out)
		return out
	}
	check := func(page, rows string, want map[string]func(string) bool) {
		t.Helper()
		got := cells(rows)
		if len(got) == 0 {
			t.Fatalf("%s: no rows %s", page, rows)
		}
		seen := map[string]bool{}
		for _, c := range got {
			if c.Label == "" || c.Label == "none" || c.Label == "normal" || !c.Visible {
				t.Errorf("%s: row %s has a cell %q without a visible label (label %q, visible %v)", page, c.Row, c.Text, c.Label, c.Visible)
				continue
			}
			seen[c.Label] = true
			if ok, known := want[c.Label]; known && !ok(c.Text) {
				t.Errorf("%s: row %s's %s says %q", page, c.Row, c.Label, c.Text)
			}
		}
		for label := range want {
			if !seen[label] {
				t.Errorf("%s: no cell is labelled %s", page, label)
			}
		}
	}
	any := func(string) bool { return true }
	b.open("/v1/search-staging/stacks/elasticsearch")
	check("the stack page's services", "tr[data-service]", map[string]func(string) bool{
		"Status": any, "State": any, "Domains": any,
		"Image": func(s string) bool { return s == "elasticsearch:8.13.4" },
	})
	b.open("/v1/search-staging/stacks")
	check("the stack list", "tr[data-stack]", map[string]func(string) bool{
		"Lifecycle": any, "Run status": any,
		"In this state": func(s string) bool { return strings.Contains(s, " for ") },
		"Created":       func(s string) bool { return s != "" },
	})
	b.open("/v1/search-staging/stacks/elasticsearch/events")
	check("the events", "#event-rows tr", map[string]func(string) bool{
		"When": any, "Resource": any, "Event": any, "Time in previous state": any,
	})
	var live struct {
		Text  string  `json:"text"`
		Width float64 `json:"width"`
	}
	b.mustEval(`(() => { const e = document.querySelector("#live .live-text"); return {text: e.textContent, width: e.getBoundingClientRect().width} })()`, &live)
	if live.Text != "Live" || live.Width == 0 {
		t.Errorf("at 375 px the live indicator's text is %q, %v px wide; want \"Live\" shown beside the dot", live.Text, live.Width)
	}
	b.checkNoHorizontalScroll("the events page")
}

// The header's Stacks menu closes on Escape (the focus going back to it) and on a click outside it.
func TestBrowserMenuClosesOnEscapeAndOutsideClick(t *testing.T) {
	b := setup(t)
	b.open("/v1/search-staging/stacks")
	open := func() bool {
		var o bool
		b.mustEval(`document.getElementById("nav-projects").open`, &o)
		return o
	}
	b.run("open the Stacks menu", chromedp.Click("#nav-projects summary", chromedp.ByQuery))
	if !open() {
		t.Fatal("clicking the Stacks menu did not open it")
	}
	b.run("tab into the menu", chromedp.KeyEvent(kb.Tab))
	b.run("press Escape", chromedp.KeyEvent(kb.Escape))
	if open() {
		t.Error("Escape left the Stacks menu open")
	}
	var focus string
	b.mustEval(`document.activeElement.closest("#nav-projects") ? document.activeElement.tagName : document.activeElement.tagName + " outside the menu"`, &focus)
	if focus != "SUMMARY" {
		t.Errorf("after Escape the focus is on %s, want the menu's summary", focus)
	}
	b.run("open the Stacks menu", chromedp.Click("#nav-projects summary", chromedp.ByQuery))
	b.run("click outside it", chromedp.Click("h1", chromedp.ByQuery))
	if open() {
		t.Error("a click outside left the Stacks menu open")
	}
}

// Times show in the reader's time zone, with the UTC ISO in the tooltip and in datetime; the page without script
// shows the UTC ISO.
func TestBrowserLocalTimes(t *testing.T) {
	b := setup(t)
	b.run("move to Tokyo", emulation.SetTimezoneOverride("Asia/Tokyo"))
	b.open("/v1/search-staging/stacks/elasticsearch")
	var times []struct {
		Datetime string `json:"datetime"`
		Title    string `json:"title"`
		Text     string `json:"text"`
	}
	b.mustEval(`Array.from(document.querySelectorAll("time[data-local]")).map(e => ({datetime: e.getAttribute("datetime"), title: e.title, text: e.textContent}))`, &times)
	if len(times) < 3 {
		t.Fatalf("the stack page has %d local times, want its created, updated and since times", len(times))
	}
	for _, tm := range times {
		if !strings.HasSuffix(tm.Datetime, "Z") || tm.Title != tm.Datetime+" UTC" || tm.Text == tm.Datetime || !strings.Contains(tm.Text, "GMT+9") {
			t.Errorf("a time shows %q with tooltip %q for %s; want Tokyo's time, and the UTC ISO in the tooltip", tm.Text, tm.Title, tm.Datetime)
		}
	}
	resp, err := http.Get(b.base + "/v1/search-staging/stacks/elasticsearch?format=html")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	html, _ := io.ReadAll(resp.Body)
	if want := `data-local>2024-01-15T09:47:03Z</time>`; !strings.Contains(string(html), want) {
		t.Errorf("without script the page does not show the created time as %s", want)
	}
}
