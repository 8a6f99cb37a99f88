package main

// Browser tests: Debian's headless Chromium, driven through chromedp, against a real server on a real SQLite file.
// They click through the pages, use the filters and Back, watch a change made by `stackboard import` in another
// process arrive without a reload, try the keyboard shortcuts and the theme toggle, and save screenshots of every
// page in light and dark mode (also into $STACKBOARD_SCREENSHOTS when it is set). Any JavaScript error fails them.
//
// Without Chromium they skip, except when CI is set: then they fail, because CI must run them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"stackboard/models/testdb"
)

// Timeouts of the browser tests. A change must show on an open page within liveDeadline.
const (
	browserStartTimeout = 30 * time.Second
	actionTimeout       = 10 * time.Second
	pageTimeout         = 10 * time.Second
	liveDeadline        = 2 * time.Second
	pollInterval        = 25 * time.Millisecond
)

// The demo data set (models/demo.yaml) as the tests expect to see it: the overview opens broken-first (the worst
// stack of each product; creation order among equals).
var (
	demoProducts = []string{"search", "billing", "autocomplete", "tracing", "payouts", "memcached", "kodo",
		"monitoring", "payments", "kodo-console", "merchant-portal"}
	demoUnstable = []string{"search", "billing", "autocomplete", "tracing", "payouts"}
)

// TestMain removes the stackboard binary that the browser tests build, and what is left of Chromium's profiles.
func TestMain(m *testing.M) {
	code := m.Run()
	removeFixtures()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	profiles.Lock()
	for _, dir := range profiles.dirs {
		os.RemoveAll(dir)
	}
	profiles.Unlock()
	os.Exit(code)
}

// profiles are Chromium's profile directories. Each is removed when its test ends, but a helper process of
// Chromium may still write into it for a moment after the browser exits, so TestMain sweeps them once more.
var profiles struct {
	sync.Mutex
	dirs []string
}

// binary is the stackboard command, built once per test run for the tests that run it as another process.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func stackboardBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "stackboard-browser-test-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "stackboard")
		cmd := exec.Command("go", "build", "-o", binary.path, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build -o %s .: %v\n%s", binary.path, err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// findChromium returns Chromium's path, or skips the test (fails it when CI is set) when there is none.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const msg = "no Chromium on PATH (looked for chromium, chromium-browser, google-chrome); " +
		"install it with `apt-get install -y chromium` (as root) to run the browser tests"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI is set, so a missing browser fails the run")
	}
	t.Skip(msg)
	return ""
}

// testServer is `stackboard serve --demo` running in this process on a SQLite file in a temporary directory.
type testServer struct {
	base string // http://127.0.0.1:PORT
	db   string // the SQLite file
	logs *lockedBuffer
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer serves the demo data on 127.0.0.1:0 (with the extra flags of serve) until the test ends; its log is
// shown when the test fails.
func startServer(t *testing.T, extra ...string) *testServer {
	t.Helper()
	srv := &testServer{db: testdb.DSN(t), logs: &lockedBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	logs, logWriter := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", srv.db, "--demo"}, extra...),
			func(string) string { return "" }, io.Discard, logWriter)
		logWriter.Close()
	}()
	found := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(logs)
		for lines.Scan() {
			fmt.Fprintln(srv.logs, lines.Text())
			if _, u, ok := strings.Cut(lines.Text(), "msg=serving url="); ok {
				u, _, _ = strings.Cut(u, " ")
				select {
				case found <- u:
				default:
				}
			}
		}
		io.Copy(srv.logs, logs)
		close(found)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("the server did not stop within 10 s of its context ending")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", srv.logs)
		}
	})
	select {
	case u, ok := <-found:
		if !ok || u == "" {
			cancel()
			t.Fatalf("the server stopped before saying where it listens: %v\n%s", <-done, srv.logs)
		}
		srv.base = u
	case <-time.After(20 * time.Second):
		t.Fatalf("the server did not say where it listens within 20 s:\n%s", srv.logs)
	}
	return srv
}

// streamsEnded counts the event streams (/events requests) the server has finished, from its request log.
func (srv *testServer) streamsEnded() int {
	n := 0
	for line := range strings.Lines(srv.logs.String()) {
		if strings.Contains(line, "msg=request ") && strings.Contains(line, " path=/events ") {
			n++
		}
	}
	return n
}

// browser is one headless Chromium looking at a test server, through one tab at a time. It records JavaScript
// errors (console errors, uncaught exceptions, and errors the browser logs, such as failed loads) while the test
// runs, and fails the test on any of them. It also keeps count of the event streams (/events) the tab holds open.
type browser struct {
	t    *testing.T
	srv  *testServer
	base string
	exe  string
	root context.Context    // the first tab, which owns the browser
	ctx  context.Context    // the current tab
	tab  context.CancelFunc // closes the current tab, unless it is the first

	mu        sync.Mutex
	listening bool
	jsErrors  []string
	opened    int // event streams (/events) requested by the tab's pages
	output    lockedBuffer
}

// newBrowser starts Chromium for the rest of the test. Call it after startServer, so that it is closed (and stops
// recording errors) before the server stops.
func newBrowser(t *testing.T, srv *testServer) *browser {
	t.Helper()
	b := &browser{t: t, base: srv.base, srv: srv, exe: findChromium(t), listening: true}
	// Chromium's helpers may still write into the profile for a moment after it exits, so the profile is not a
	// t.TempDir (whose removal must succeed) but a directory removed with retries, and once more by TestMain.
	profile, err := os.MkdirTemp("", "stackboard-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	profiles.Lock()
	profiles.dirs = append(profiles.dirs, profile)
	profiles.Unlock()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(b.exe),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("disable-features", "site-per-process,Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&b.output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(allocCtx, chromedp.WithErrorf(b.errorf))
	b.root, b.ctx = root, root
	t.Cleanup(func() {
		b.mu.Lock()
		b.listening = false
		errs := b.jsErrors
		b.mu.Unlock()
		if len(errs) > 0 {
			t.Errorf("JavaScript errors while the test ran:\n  %s", strings.Join(errs, "\n  "))
		}
		if b.tab != nil {
			b.tab()
		}
		cancelRoot()
		cancelAlloc()
		for i := 0; ; i++ {
			if err := os.RemoveAll(profile); err == nil || i == 20 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if t.Failed() {
			out := b.output.String()
			if len(out) > 4000 {
				out = "…" + out[len(out)-4000:]
			}
			t.Logf("Chromium's output (end):\n%s", out)
		}
	})
	b.listen(root)
	b.start(root, "starting "+b.exe)
	b.run("set the viewport to 1280x900", chromedp.EmulateViewport(1280, 900))
	return b
}

// newTab closes the current tab (unless it is the first) and continues in a new one.
func (b *browser) newTab() {
	b.t.Helper()
	if b.tab != nil {
		b.tab()
	}
	ctx, cancel := chromedp.NewContext(b.root)
	b.ctx, b.tab = ctx, cancel
	b.listen(ctx)
	b.start(ctx, "opening a new tab")
	b.run("set the viewport to 1280x900", chromedp.EmulateViewport(1280, 900))
}

// start opens a tab (and, for the first, the browser). The first Run on a tab's context does that, and its
// context must be the tab's own, not a short-lived one: so the timeout is kept here.
func (b *browser) start(ctx context.Context, what string) {
	b.t.Helper()
	started := make(chan error, 1)
	go func() { started <- chromedp.Run(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			b.t.Fatalf("%s: %v\n%s", what, err, b.output.String())
		}
	case <-time.After(browserStartTimeout):
		b.t.Fatalf("%s: no answer within %v:\n%s", what, browserStartTimeout, b.output.String())
	}
}

// listen records a tab's JavaScript errors and event streams.
func (b *browser) listen(ctx context.Context) {
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				args := make([]string, 0, len(ev.Args))
				for _, arg := range ev.Args {
					if len(arg.Value) > 0 {
						args = append(args, string(arg.Value))
					} else {
						args = append(args, arg.Description)
					}
				}
				b.recordError("console.error: " + strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text += " " + d.Exception.Description
			}
			b.recordError(fmt.Sprintf("uncaught exception: %s (%s:%d:%d)", text, d.URL, d.LineNumber+1, d.ColumnNumber+1))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError {
				b.recordError(fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			if u, err := url.Parse(ev.Request.URL); err == nil && u.Path == "/events" {
				b.mu.Lock()
				b.opened++
				b.mu.Unlock()
			}
		}
	})
}

// openStreams counts the event streams open between the browser and the server: those the browser asked for,
// less those the server finished. (The browser does not report the end of a stream of a page it has left, so the
// server's request log is the witness of the end.)
func (b *browser) openStreams() int {
	b.mu.Lock()
	opened := b.opened
	b.mu.Unlock()
	return opened - b.srv.streamsEnded()
}

func (b *browser) errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.HasPrefix(msg, "unhandled node event") {
		return // events newer than chromedp's protocol definitions, such as dom.topLayerElementsUpdated
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.listening {
		b.t.Logf("chromedp: %s", msg)
	}
}

func (b *browser) recordError(text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.listening {
		b.jsErrors = append(b.jsErrors, text)
	}
}

// run runs actions with a timeout, failing the test with what it was doing and where the page was.
func (b *browser) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (the page is at %s)", what, err, b.location())
	}
}

// eval evaluates a JavaScript expression into out.
func (b *browser) eval(expr string, out any) error {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate(expr, out))
}

// mustEval evaluates a JavaScript expression into out, failing the test if it throws.
func (b *browser) mustEval(expr string, out any) {
	b.t.Helper()
	if err := b.eval(expr, out); err != nil {
		b.t.Fatalf("evaluating %s: %v (the page is at %s)", expr, err, b.location())
	}
}

// location is the page's path and query, or a note saying why it is unknown.
func (b *browser) location() string {
	var loc string
	if err := b.eval("location.pathname + location.search", &loc); err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return loc
}

// until polls check until it reports true, and fails the test after timeout with what check last saw.
func (b *browser) until(timeout time.Duration, what string, check func() (bool, string)) time.Duration {
	b.t.Helper()
	start := time.Now()
	for {
		ok, saw := check()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			b.t.Fatalf("waited %v for %s, but the page shows %s (at %s)", timeout, what, saw, b.location())
		}
		time.Sleep(pollInterval)
	}
}

// untilJS waits for a JavaScript condition; show is an expression whose value describes what the page shows.
func (b *browser) untilJS(timeout time.Duration, what, cond, show string) time.Duration {
	b.t.Helper()
	return b.until(timeout, what, func() (bool, string) {
		var ok bool
		if err := b.eval("(() => { try { return !!("+cond+") } catch (e) { return false } })()", &ok); err != nil {
			return false, "an error: " + err.Error()
		}
		if ok {
			return true, ""
		}
		var shown any
		if err := b.eval("(() => { try { return "+show+" } catch (e) { return 'error: ' + e } })()", &shown); err != nil {
			return false, "an error: " + err.Error()
		}
		return false, jsonText(shown)
	})
}

// jsonText shows a value from the page as JSON.
func jsonText(v any) string {
	out, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(out)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	out, _ := json.Marshal(s)
	return string(out)
}

// open navigates to path and waits until the page is live: scripts loaded and the event stream connected.
func (b *browser) open(path string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.base+path))
	b.waitLive()
}

// waitLive waits for the live indicator to say the page's event stream is connected.
func (b *browser) waitLive() {
	b.t.Helper()
	b.untilJS(pageTimeout, `the live indicator #live to say data-state="live"`,
		`document.readyState === "complete" && window.htmx && document.getElementById("live").dataset.state === "live"`,
		`document.readyState + ", #live " + JSON.stringify(document.getElementById("live") && document.getElementById("live").outerHTML)`)
}

// waitPath waits until the page's path and query are want.
func (b *browser) waitPath(want string) {
	b.t.Helper()
	b.until(pageTimeout, "the URL "+want, func() (bool, string) {
		loc := b.location()
		return loc == want, "the URL " + loc
	})
}

// query returns the page's query parameters.
func (b *browser) query() url.Values {
	b.t.Helper()
	var search string
	b.mustEval("location.search", &search)
	values, err := url.ParseQuery(strings.TrimPrefix(search, "?"))
	if err != nil {
		b.t.Fatalf("the URL's query %q: %v", search, err)
	}
	return values
}

// stringList evaluates an expression that yields an array of strings.
func (b *browser) stringList(expr string) ([]string, error) {
	var out []string
	err := b.eval(expr, &out)
	return out, err
}

// waitRows waits until the list rows (selected by sel, named by attribute attr) are exactly want, in order.
func (b *browser) waitRows(what, sel, attr string, want []string) {
	b.t.Helper()
	expr := fmt.Sprintf(`Array.from(document.querySelectorAll(%s)).map(e => e.getAttribute(%s))`, jsString(sel), jsString(attr))
	b.until(pageTimeout, fmt.Sprintf("%s to list %q", what, want), func() (bool, string) {
		got, err := b.stringList(expr)
		if err != nil {
			return false, "an error: " + err.Error()
		}
		return slices.Equal(got, want), fmt.Sprintf("%q", got)
	})
}

// text returns the trimmed, whitespace-collapsed text of the first element matching sel ("" when there is none).
func (b *browser) text(sel string) string {
	b.t.Helper()
	var s string
	b.mustEval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.textContent.replace(/\s+/g, " ").trim() : "" })()`, jsString(sel)), &s)
	return s
}

// setSelect chooses value in the select sel and fires the change event a person's choice would.
func (b *browser) setSelect(sel, value string) {
	b.t.Helper()
	var ok bool
	b.mustEval(fmt.Sprintf(`(() => {
		const s = document.querySelector(%s);
		if (!s || !Array.from(s.options).some(o => o.value === %s)) return false;
		s.value = %s;
		s.dispatchEvent(new Event("input", {bubbles: true}));
		s.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})()`, jsString(sel), jsString(value), jsString(value)), &ok)
	if !ok {
		b.t.Fatalf("there is no %s with an option %q on %s", sel, value, b.location())
	}
}

// blur moves the focus off any field, so that key presses reach the page's shortcuts.
func (b *browser) blur() {
	b.t.Helper()
	var ok bool
	b.mustEval(`document.activeElement && document.activeElement.blur(), true`, &ok)
}

// activeID is the id of the focused element.
func (b *browser) activeID() string {
	b.t.Helper()
	var id string
	b.mustEval(`document.activeElement ? document.activeElement.id : ""`, &id)
	return id
}

// setup starts a demo server and a browser on it.
func setup(t *testing.T) *browser {
	t.Helper()
	findChromium(t) // skip before starting a server
	return newBrowser(t, startServer(t))
}

// Open "/", click a product, click one of its stacks, and see the stack's services.
func TestBrowserClickThrough(t *testing.T) {
	b := setup(t)
	b.run("open /", chromedp.Navigate(b.base+"/"))
	b.waitPath("/api/products")
	b.waitLive()
	b.waitRows("the overview", "tr[data-product]", "data-product", demoProducts)

	b.run("click the product kodo", chromedp.Click(`tr[data-product="kodo"] a[href="/api/products/kodo"]`, chromedp.ByQuery))
	b.waitPath("/api/products/kodo")
	b.waitLive()
	if h1 := b.text("h1"); !strings.HasPrefix(h1, "kodo") || !strings.Contains(h1, "stable") {
		t.Errorf("the product page's heading is %q, want kodo with its stability", h1)
	}
	b.waitRows("the product's layer bands", "[data-layer]", "data-layer", []string{"1", "2"})
	b.waitRows("layer 1", `[data-layer="1"] [data-stack]`, "data-stack", []string{"memcached"})
	b.waitRows("layer 2", `[data-layer="2"] [data-stack]`, "data-stack", []string{"kodo"})
	if gate := b.text(".gate"); !strings.Contains(gate, "layer 2 waits on layer 1") || !strings.Contains(gate, "1 of 1 stack running") {
		t.Errorf("the gate between the layers says %q, want it to say layer 2 waits on layer 1 with 1 of 1 stack running", gate)
	}
	if card := b.text(`[data-stack="kodo"]`); !strings.Contains(card, "RUNNING") || !strings.Contains(card, "DEPLOYMENT_COMPLETE") {
		t.Errorf("the kodo stack card says %q, want RUNNING and DEPLOYMENT_COMPLETE", card)
	}

	b.run("click the stack card kodo", chromedp.Click(`[data-stack="kodo"] a[href]`, chromedp.ByQuery))
	b.waitPath("/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks/kodo")
	b.waitLive()
	b.waitRows("the services table", "tr[data-service]", "data-service", []string{"io"})
	row := b.text(`tr[data-service="io"]`)
	for _, want := range []string{"io", "RUNNING", "DEPLOYED", "spocktest/io:test", "fulichao.io.kodo.spocktest.qiniu.io"} {
		if !strings.Contains(row, want) {
			t.Errorf("the service row io says %q, want it to contain %q", row, want)
		}
	}
	var href string
	b.mustEval(`document.querySelector('tr[data-service="io"] a').getAttribute("href")`, &href)
	if href != "https://fulichao.io.kodo.spocktest.qiniu.io" {
		t.Errorf("the domain links to %q, want https://fulichao.io.kodo.spocktest.qiniu.io", href)
	}
	if facts := b.text(".facts"); !strings.Contains(facts, "01af7206-bd56-46c6-904f-1296d56af072") {
		t.Errorf("the stack's details say %q, want its stack id 01af7206-bd56-46c6-904f-1296d56af072", facts)
	}
}

// Filters update the list in place and push the URL; Back restores the previous view, controls included.
func TestBrowserFiltersAndHistory(t *testing.T) {
	b := setup(t)
	b.open("/api/products")
	b.waitRows("the overview", "tr[data-product]", "data-product", demoProducts)

	b.setSelect("select[name=stable]", "false")
	b.waitPath("/api/products?stable=false")
	b.waitRows("the unstable products", "tr[data-product]", "data-product", demoUnstable)
	badges, err := b.stringList(`Array.from(document.querySelectorAll("tr[data-product] td:nth-child(2)")).map(td => td.textContent.trim())`)
	if err != nil {
		t.Fatal(err)
	}
	for i, badge := range badges {
		if !strings.HasSuffix(badge, "unstable") {
			t.Errorf("row %d (%s) of the unstable filter shows %q, want unstable", i, demoUnstable[i], badge)
		}
	}

	b.run("type auto into the search box", chromedp.SendKeys("#q", "auto", chromedp.ByQuery))
	b.until(pageTimeout, "the URL to get q=auto and keep stable=false", func() (bool, string) {
		q := b.query()
		return q.Get("q") == "auto" && q.Get("stable") == "false" && len(q) == 2, "the URL " + b.location()
	})
	b.waitRows("the search result", "tr[data-product]", "data-product", []string{"autocomplete"})
	if id := b.activeID(); id != "q" {
		t.Errorf("after the list updated the focus is on #%s, want it still in the search box #q", id)
	}

	var ok bool
	b.mustEval("history.back(), true", &ok)
	b.waitPath("/api/products?stable=false")
	b.waitRows("the list after Back", "tr[data-product]", "data-product", demoUnstable)
	b.waitLive()
	b.checkControls(map[string]string{"#q": "", "select[name=stable]": "false", "select[name=project]": "", "select[name=status]": ""})

	b.mustEval("history.back(), true", &ok)
	b.waitPath("/api/products")
	b.waitRows("the list after a second Back", "tr[data-product]", "data-product", demoProducts)
	b.waitLive()
	b.checkControls(map[string]string{"#q": "", "select[name=stable]": "", "select[name=project]": "", "select[name=status]": ""})

	b.mustEval("history.forward(), true", &ok)
	b.waitPath("/api/products?stable=false")
	b.waitRows("the list after Forward", "tr[data-product]", "data-product", demoUnstable)
	b.waitLive()
	b.checkControls(map[string]string{"select[name=stable]": "false"})

	// A project's stack list: filter by run status, then by name, then go Back.
	b.open("/v1/search-staging/stacks")
	all := []string{"legacy-solr", "elasticsearch", "query-api", "ranking-model", "crawler", "synonyms-loader",
		"zookeeper", "search-ui", "indexer", "autocomplete"}
	b.waitRows("the stacks of search-staging, broken first", "tr[data-stack]", "data-stack", all)
	b.setSelect("select[name=status]", "PARTIALLY-RUNNING")
	b.waitPath("/v1/search-staging/stacks?status=PARTIALLY-RUNNING")
	b.waitRows("the PARTIALLY-RUNNING stacks", "tr[data-stack]", "data-stack", []string{"query-api", "ranking-model", "crawler"})

	b.setSelect("select[name=status]", "DEPLOYMENT_FAILED")
	b.waitPath("/v1/search-staging/stacks?status=DEPLOYMENT_FAILED")
	b.waitRows("the DEPLOYMENT_FAILED stacks", "tr[data-stack]", "data-stack", []string{"elasticsearch"})
	if row := b.text(`tr[data-stack="elasticsearch"]`); !strings.Contains(row, "OOMKilled") || !strings.Contains(row, "DEPLOYMENT_FAILED for") {
		t.Errorf("the elasticsearch row says %q, want its status message (OOMKilled) and the time in its state", row)
	}

	b.setSelect("select[name=status]", "")
	b.waitPath("/v1/search-staging/stacks")
	b.waitRows("every stack again", "tr[data-stack]", "data-stack", all)
	b.run("type rank into the name filter", chromedp.SendKeys("#stack-q", "rank", chromedp.ByQuery))
	b.waitPath("/v1/search-staging/stacks?q=rank")
	b.waitRows("the stacks named like rank", "tr[data-stack]", "data-stack", []string{"ranking-model"})

	b.mustEval("history.back(), true", &ok)
	b.waitPath("/v1/search-staging/stacks")
	b.waitRows("the list after Back", "tr[data-stack]", "data-stack", all)
	b.mustEval("history.back(), true", &ok)
	b.waitPath("/v1/search-staging/stacks?status=DEPLOYMENT_FAILED")
	b.waitRows("the list after a second Back", "tr[data-stack]", "data-stack", []string{"elasticsearch"})
	b.waitLive()
	b.checkControls(map[string]string{"#stack-q": "", "select[name=status]": "DEPLOYMENT_FAILED"})
}

// checkControls checks the values of form controls.
func (b *browser) checkControls(want map[string]string) {
	b.t.Helper()
	for sel, value := range want {
		var got string
		b.mustEval(fmt.Sprintf(`(document.querySelector(%s) || {value: "(missing)"}).value`, jsString(sel)), &got)
		if got != value {
			b.t.Errorf("on %s the control %s holds %q, want %q", b.location(), sel, got, value)
		}
	}
}

// importManifest runs `stackboard import` as another process on the server's database.
func importManifest(t *testing.T, srv *testServer, manifest string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, stackboardBinary(t), "import", "--db", srv.db, path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "imported") {
		t.Fatalf("stackboard import --db %s %s: %v\n%s", srv.db, path, err, out)
	}
}

// elasticsearchFixed sets the demo's failed elasticsearch stack to DEPLOYMENT_COMPLETE with both services running.
const elasticsearchFixed = `projects:
  - id: search-staging
    stacks:
      - name: elasticsearch
        status: DEPLOYMENT_COMPLETE
        services:
          - name: es-master
            state: DEPLOYED
            status: RUNNING
            domains: []
            image: {name: elasticsearch, tag: "8.13.4"}
          - name: es-data
            state: DEPLOYED
            status: RUNNING
            domains: []
            image: {name: elasticsearch, tag: "8.13.4"}
`

// A change made by `stackboard import` in another process shows on open pages within 2 s, without a reload, and
// without losing focus, typed text or scroll position.
func TestBrowserLiveUpdate(t *testing.T) {
	findChromium(t)
	stackboardBinary(t) // build before the clocks start

	t.Run("stack page", func(t *testing.T) {
		srv := startServer(t)
		b := newBrowser(t, srv)
		b.open("/v1/search-staging/stacks/elasticsearch")
		if badges := b.text("#stack .badges-row"); !strings.Contains(badges, "DEPLOYMENT_FAILED") || !strings.Contains(badges, "FAULT") {
			t.Fatalf("before the import the stack's badges say %q, want DEPLOYMENT_FAILED and FAULT", badges)
		}
		if alert := b.text("#stack .alert"); !strings.Contains(alert, "OOMKilled") {
			t.Errorf("before the import the alert says %q, want the status message about OOMKilled", alert)
		}
		var marked int
		b.mustEval("window.__noReload = 1", &marked)

		importManifest(t, srv, elasticsearchFixed)
		took := b.untilJS(liveDeadline, "the stack page to show DEPLOYMENT_COMPLETE without a reload",
			`document.querySelector("#stack .badges-row").textContent.includes("DEPLOYMENT_COMPLETE")`,
			`document.querySelector("#stack .badges-row").textContent.replace(/\s+/g, " ").trim()`)
		t.Logf("the stack page showed the import after %v", took.Round(time.Millisecond))

		var still any
		b.mustEval("window.__noReload === undefined ? null : window.__noReload", &still)
		if still != float64(1) {
			t.Errorf("window.__noReload is %v after the update, want 1: the page reloaded instead of updating in place", still)
		}
		if badges := b.text("#stack .badges-row"); !strings.Contains(badges, "RUNNING") || strings.Contains(badges, "FAULT") || !strings.Contains(badges, "deployed") || strings.Contains(badges, "not deployed") {
			t.Errorf("after the import the badges say %q, want RUNNING, DEPLOYMENT_COMPLETE and deployed", badges)
		}
		if alert := b.text("#stack .alert"); alert != "" {
			t.Errorf("after the import the page still shows the alert %q", alert)
		}
		for _, svc := range []string{"es-master", "es-data"} {
			if row := b.text(`tr[data-service="` + svc + `"]`); !strings.Contains(row, "RUNNING") || !strings.Contains(row, "DEPLOYED") {
				t.Errorf("after the import the service row %s says %q, want RUNNING and DEPLOYED", svc, row)
			}
		}
		var state string
		b.mustEval(`document.getElementById("live").dataset.state`, &state)
		if state != "live" {
			t.Errorf(`the live indicator #live has data-state=%q, want "live"`, state)
		}
		// The age sits beside the live region (#live), so that its ticking is never announced.
		b.untilJS(pageTimeout, `the live indicator to say when the page was updated`,
			`document.getElementById("live-age").textContent.includes("updated")`,
			`document.getElementById("live-age").textContent`)
	})

	t.Run("HTTP write", func(t *testing.T) {
		srv := startServer(t)
		b := newBrowser(t, srv)
		b.open("/v1/search-staging/stacks")
		var marked int
		b.mustEval("window.__noReload = 1", &marked)
		req, err := http.NewRequest(http.MethodPatch, srv.base+"/v1/search-staging/stacks/crawler",
			strings.NewReader(`{"status":"DELETION_FAILED","status_message":"volume still attached"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Client-Request-Id", "5f0c9a8e-1d2b-4c3d-9e8f-7a6b5c4d3e2f")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("PATCH answered %d, want 204", resp.StatusCode)
		}
		took := b.untilJS(liveDeadline, "the stack list to show the status reported over HTTP without a reload",
			`document.querySelector('tr[data-stack="crawler"]').textContent.includes("volume still attached")`,
			`document.querySelector('tr[data-stack="crawler"]').textContent.replace(/\s+/g, " ").trim()`)
		t.Logf("the stack list showed the HTTP write after %v", took.Round(time.Millisecond))
		var still any
		b.mustEval("window.__noReload === undefined ? null : window.__noReload", &still)
		if still != float64(1) {
			t.Errorf("window.__noReload is %v after the update, want 1: the page reloaded", still)
		}
	})

	t.Run("overview keeps focus, typed text and scroll", func(t *testing.T) {
		srv := startServer(t)
		b := newBrowser(t, srv)
		// A short window, so that the page scrolls.
		b.run("set a short viewport", chromedp.EmulateViewport(1280, 420))
		b.open("/api/products")
		b.run("type elastic into the search box", chromedp.SendKeys("#q", "elastic", chromedp.ByQuery))
		b.waitPath("/api/products?q=elastic")
		b.waitRows("the products with an elastic stack", "tr[data-product]", "data-product", []string{"search", "autocomplete"})
		if badge := b.text(`tr[data-product="autocomplete"] td:nth-child(2)`); !strings.HasSuffix(badge, "unstable") {
			t.Fatalf("before the import autocomplete shows %q, want unstable", badge)
		}
		var scrollY float64
		// Not far down: the filtered cards count the elastic products' stacks, and the fix takes a line off their
		// legends, so the page gets shorter and a position near its end could not be kept by any swap.
		b.mustEval(`window.scrollTo(0, 60), window.scrollY`, &scrollY)
		if scrollY <= 0 {
			var height float64
			b.mustEval(`document.documentElement.scrollHeight`, &height)
			t.Fatalf("could not scroll the overview (page height %v at a 420 px viewport)", height)
		}
		var marked int
		b.mustEval("window.__noReload = 1", &marked)
		if id := b.activeID(); id != "q" {
			t.Fatalf("the focus is on #%s, want the search box #q", id)
		}

		importManifest(t, srv, elasticsearchFixed)
		took := b.untilJS(liveDeadline, "autocomplete to turn stable on the overview",
			`document.querySelector('tr[data-product="autocomplete"] td:nth-child(2)').textContent.trim().replace(/^\W+/, "") === "stable"`,
			`Array.from(document.querySelectorAll("tr[data-product]")).map(r => r.dataset.product + ": " + r.children[1].textContent.trim())`)
		t.Logf("the overview showed the import after %v", took.Round(time.Millisecond))

		b.waitRows("the filtered list after the update", "tr[data-product]", "data-product", []string{"search", "autocomplete"})
		if loc := b.location(); loc != "/api/products?q=elastic" {
			t.Errorf("after the update the URL is %s, want /api/products?q=elastic", loc)
		}
		var state struct {
			NoReload any     `json:"noReload"`
			Active   string  `json:"active"`
			Value    string  `json:"value"`
			Caret    int     `json:"caret"`
			ScrollY  float64 `json:"scrollY"`
			Live     string  `json:"live"`
			Summary  string  `json:"summary"`
		}
		b.mustEval(`({
			noReload: window.__noReload === undefined ? null : window.__noReload,
			active: document.activeElement.id,
			value: document.getElementById("q").value,
			caret: document.getElementById("q").selectionStart,
			scrollY: window.scrollY,
			live: document.getElementById("live").dataset.state,
			summary: document.querySelector(".summary").textContent.replace(/\s+/g, " "),
		})`, &state)
		if state.NoReload != float64(1) {
			t.Errorf("window.__noReload is %v after the update, want 1: the page reloaded", state.NoReload)
		}
		if state.Active != "q" || state.Value != "elastic" || state.Caret != len("elastic") {
			t.Errorf("after the update the focus is on #%s and the search box holds %q (caret at %d), want #q holding \"elastic\" with the caret at its end",
				state.Active, state.Value, state.Caret)
		}
		if state.ScrollY != scrollY {
			t.Errorf("after the update the page is scrolled to %v, want it to stay at %v", state.ScrollY, scrollY)
		}
		if state.Live != "live" {
			t.Errorf(`the live indicator #live has data-state=%q, want "live"`, state.Live)
		}
		if !strings.Contains(state.Summary, "1 stable") || !strings.Contains(state.Summary, "1 unstable") {
			t.Errorf("after the update the health summary says %q, want 1 stable and 1 unstable", state.Summary)
		}
	})
}

// Keyboard shortcuts and the theme toggle.
func TestBrowserKeyboardAndTheme(t *testing.T) {
	b := setup(t)
	b.open("/api/products")
	key := func(keys string) { b.t.Helper(); b.run("press "+jsString(keys), chromedp.KeyEvent(keys)) }

	b.blur()
	key("/")
	if id := b.activeID(); id != "q" {
		t.Errorf(`on the overview "/" focused #%s, want the search box #q`, id)
	}
	b.blur()
	key("?")
	b.untilJS(actionTimeout, `"?" to open the dialog #shortcuts`, `document.getElementById("shortcuts").hasAttribute("open")`,
		`document.getElementById("shortcuts").outerHTML.slice(0, 80)`)
	if text := b.text("#shortcuts"); !strings.Contains(text, "Go to the products overview") {
		t.Errorf("the shortcuts dialog says %q, want the list of shortcuts", text)
	}
	key(kb.Escape)
	b.untilJS(actionTimeout, `Escape to close the dialog #shortcuts`, `!document.getElementById("shortcuts").hasAttribute("open")`,
		`document.getElementById("shortcuts").outerHTML.slice(0, 80)`)

	// "g s" on a page without a project goes to the first project of the header's menu.
	var first string
	b.mustEval(`document.querySelector("#nav-projects a[data-project]").getAttribute("href")`, &first)
	if !regexp.MustCompile(`^/v1/[A-Za-z0-9_-]{3,64}/stacks$`).MatchString(first) {
		t.Errorf("the first project of the header's menu links to %q, want a /v1/{project_id}/stacks page", first)
	}
	b.blur()
	key("g")
	key("s")
	b.waitPath(first)
	b.waitLive()
	b.blur()
	key("/")
	if id := b.activeID(); id != "stack-q" {
		t.Errorf(`on a stack list "/" focused #%s, want the page's own search field #stack-q ([data-search])`, id)
	}

	// On a stack page, "g s" goes to that stack's project, and "g p" to the overview.
	b.open("/v1/search-staging/stacks/elasticsearch")
	b.blur()
	key("g")
	key("s")
	b.waitPath("/v1/search-staging/stacks")
	b.waitLive()
	b.blur()
	key("g")
	key("p")
	b.waitPath("/api/products")
	b.waitLive()

	// The theme toggle cycles system → light → dark, and the choice outlives a reload.
	type theme struct {
		Attr   string `json:"attr"`
		Stored string `json:"stored"`
		Label  string `json:"label"`
		Bg     string `json:"bg"`
	}
	readTheme := func() theme {
		var th theme
		b.mustEval(`({
			attr: document.documentElement.getAttribute("data-theme") || "",
			stored: localStorage.getItem("stackboard-theme") || "",
			label: document.querySelector("#theme-toggle .theme-label").textContent,
			bg: getComputedStyle(document.body).backgroundColor,
		})`, &th)
		return th
	}
	const lightBg, darkBg = "rgb(245, 246, 248)", "rgb(16, 19, 24)"
	if th := readTheme(); th.Attr != "" || th.Stored != "" || th.Label != "Theme: system" || th.Bg != lightBg {
		t.Errorf("at first the theme is %+v, want the system's (light here: background %s)", th, lightBg)
	}
	b.run("click the theme toggle", chromedp.Click("#theme-toggle", chromedp.ByQuery))
	if th := readTheme(); th.Attr != "light" || th.Stored != "light" || th.Label != "Theme: light" || th.Bg != lightBg {
		t.Errorf("after one click the theme is %+v, want light", th)
	}
	b.run("click the theme toggle", chromedp.Click("#theme-toggle", chromedp.ByQuery))
	b.untilJS(actionTimeout, "the page to turn dark", `getComputedStyle(document.body).backgroundColor === "`+darkBg+`"`,
		`getComputedStyle(document.body).backgroundColor`)
	if th := readTheme(); th.Attr != "dark" || th.Stored != "dark" || th.Label != "Theme: dark" || th.Bg != darkBg {
		t.Errorf("after two clicks the theme is %+v, want dark (background %s)", th, darkBg)
	}
	b.run("reload", chromedp.Reload())
	b.waitLive()
	if th := readTheme(); th.Attr != "dark" || th.Stored != "dark" || th.Label != "Theme: dark" || th.Bg != darkBg {
		t.Errorf("after a reload the theme is %+v, want it still dark", th)
	}
	b.run("click the theme toggle", chromedp.Click("#theme-toggle", chromedp.ByQuery))
	if th := readTheme(); th.Attr != "" || th.Stored != "system" || th.Label != "Theme: system" {
		t.Errorf("after a third click the theme is %+v, want the system's again", th)
	}
}

// A person clicks through many pages in one tab, and Back: every page loads, and only the page on screen holds an
// event stream. (Browsers allow six connections per host over HTTP/1.1; a page that keeps its stream open after
// it is left, as one kept in the back/forward cache does, takes one of them for good, so the seventh page would
// never load.)
func TestBrowserManyPagesInOneTab(t *testing.T) {
	b := setup(t)
	b.open("/api/products")
	b.checkOneStream("the overview", 0)
	steps := []struct{ click, path string }{
		{`tr[data-product="search"] a.product-name`, "/api/products/search"},
		{`[data-stack="elasticsearch"] h3 a`, "/v1/search-staging/stacks/elasticsearch"},
		{`.crumbs a`, "/v1/search-staging/stacks"},
		{`tr[data-stack="query-api"] a.product-name`, "/v1/search-staging/stacks/query-api"},
		{`.site-nav > a[href="/api/products"]`, "/api/products"},
		{`tr[data-product="billing"] a.product-name`, "/api/products/billing"},
		{`[data-stack="invoice-renderer"] h3 a`, "/v1/payments-prod/stacks/invoice-renderer"},
		{`.crumbs a`, "/v1/payments-prod/stacks"},
		{`a.brand`, "/api/products"},
	}
	for i, step := range steps {
		b.run(fmt.Sprintf("page %d: click %s", i+1, step.click), chromedp.Click(step.click, chromedp.ByQuery))
		b.waitPath(step.path)
		b.waitLive()
		b.checkOneStream(step.path, i+1)
	}
	var ok bool
	for i := len(steps) - 2; i >= len(steps)-4; i-- {
		b.mustEval("history.back(), true", &ok)
		b.waitPath(steps[i].path)
		b.waitLive()
		b.checkOneStream(steps[i].path+" (after Back)", i+1)
	}
}

// checkOneStream fails the test unless the tab holds exactly one event stream open: the current page's.
func (b *browser) checkOneStream(page string, left int) {
	b.t.Helper()
	start := time.Now()
	for {
		open := b.openStreams()
		if open == 1 {
			return
		}
		if time.Since(start) > liveDeadline {
			if logs := b.srv.logs.String(); !strings.Contains(logs, "msg=request ") || !strings.Contains(logs, " path=/api/products ") {
				b.t.Fatalf("on %s, cannot count the open event streams: the server no longer logs requests as lines with "+
					"msg=request and path=..., which streamsEnded counts; update it", page)
			}
			b.t.Fatalf("on %s, after leaving %d pages in this tab, the tab holds %d event streams (/events) open, want 1: the page's own. "+
				"Pages left behind keep their stream open (Chrome keeps them, live, in its back/forward cache), and with "+
				"six connections per host over HTTP/1.1 the seventh page of a tab never loads.",
				page, left, open)
		}
		time.Sleep(pollInterval)
	}
}

// Full-page screenshots of every page in light and dark mode, wide and (for two pages) 375 px narrow.
func TestBrowserScreenshots(t *testing.T) {
	b := setup(t)
	dirs := []string{t.TempDir()}
	if extra := os.Getenv("STACKBOARD_SCREENSHOTS"); extra != "" {
		if err := os.MkdirAll(extra, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, extra)
	}
	pages := []struct {
		name, path string
		narrow     bool
	}{
		{"overview", "/api/products", true},
		{"product", "/api/products/search", false},
		{"stacks", "/v1/search-staging/stacks", false},
		{"stack", "/v1/search-staging/stacks/elasticsearch", true},
	}
	for _, scheme := range []string{"light", "dark"} {
		for _, width := range []int64{1280, 375} {
			height := int64(900)
			if width == 375 {
				height = 800
			}
			// A fresh tab for each colour scheme and size, so that no tab sees more than four pages
			// (TestBrowserManyPagesInOneTab is the test of a long walk through one tab).
			b.newTab()
			b.run("emulate prefers-color-scheme: "+scheme, emulation.SetEmulatedMedia().
				WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}))
			b.run(fmt.Sprintf("set the viewport to %dx%d", width, height), chromedp.EmulateViewport(width, height))
			for _, p := range pages {
				if width == 375 && !p.narrow {
					continue
				}
				name := fmt.Sprintf("%s-%d-%s.png", p.name, width, scheme)
				b.open(p.path)
				var dark bool
				b.mustEval(`matchMedia("(prefers-color-scheme: dark)").matches`, &dark)
				if dark != (scheme == "dark") {
					t.Fatalf("%s: prefers-color-scheme dark is %v, want %v", name, dark, scheme == "dark")
				}
				if width == 375 {
					b.checkNoHorizontalScroll(p.name)
				}
				b.screenshot(name, dirs)
				if width == 375 && p.name == "overview" {
					// The header's project menu, open, must fit too.
					b.run("open the header's Stacks menu", chromedp.Click("#nav-projects summary", chromedp.ByQuery))
					b.checkNoHorizontalScroll(p.name + " with the header's Stacks menu open")
					b.screenshot(fmt.Sprintf("%s-%d-%s-menu.png", p.name, width, scheme), dirs)
					b.run("close the header's Stacks menu", chromedp.Click("#nav-projects summary", chromedp.ByQuery))
				}
			}
		}
	}
	t.Logf("screenshots in %s", strings.Join(dirs, " and "))
}

// screenshot saves a full-page PNG of the page into each of dirs.
func (b *browser) screenshot(name string, dirs []string) {
	b.t.Helper()
	var png []byte
	b.run("screenshot "+name, chromedp.FullScreenshot(&png, 100))
	if len(png) < 10_000 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		b.t.Errorf("%s: the screenshot is %d bytes, want a PNG over 10 kB", name, len(png))
	}
	for _, dir := range dirs {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// overflowScript lists the elements that stick out past the right edge of the window and are not inside a
// scrolling or clipping box (those are what makes the page scroll sideways), innermost first.
const overflowScript = `(() => {
	const limit = window.innerWidth + 1;
	const clipped = e => {
		for (let p = e.parentElement; p && p !== document.documentElement; p = p.parentElement) {
			const o = getComputedStyle(p).overflowX;
			if (o !== "visible") return true;
		}
		return false;
	};
	const wide = Array.from(document.body.querySelectorAll("*")).filter(e => {
		const r = e.getBoundingClientRect();
		return r.width > 0 && r.right > limit && e.checkVisibility() && !clipped(e);
	});
	const innermost = wide.filter(e => !wide.some(o => o !== e && e.contains(o)));
	return innermost.slice(0, 8).map(e => {
		const r = e.getBoundingClientRect();
		let name = e.tagName.toLowerCase();
		if (e.id) name += "#" + e.id;
		if (e.classList.length) name += "." + Array.from(e.classList).join(".");
		const owner = e.parentElement && e.parentElement.closest("[id]");
		if (owner) name += " in #" + owner.id;
		return name + " (left " + Math.round(r.left) + ", width " + Math.round(r.width) + ", right " + Math.round(r.right) +
			"): " + JSON.stringify(e.textContent.replace(/\s+/g, " ").trim().slice(0, 60));
	});
})()`

// checkNoHorizontalScroll fails the test if the page is wider than the window, naming what sticks out.
func (b *browser) checkNoHorizontalScroll(page string) {
	b.t.Helper()
	var m struct {
		ScrollWidth float64 `json:"scrollWidth"`
		InnerWidth  float64 `json:"innerWidth"`
	}
	b.mustEval(`({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth})`, &m)
	if m.InnerWidth != 375 {
		b.t.Errorf("%s: the window is %v px wide, want 375", page, m.InnerWidth)
	}
	if m.ScrollWidth <= m.InnerWidth+1 {
		return
	}
	culprits, err := b.stringList(overflowScript)
	if err != nil {
		b.t.Errorf("finding the wide elements: %v", err)
	}
	b.t.Errorf("%s at %v px scrolls sideways: the page is %v px wide; too wide:\n  %s",
		page, m.InnerWidth, m.ScrollWidth, strings.Join(culprits, "\n  "))
}

// A long stack list shows its first 100 rows and loads the next 100 as the last row scrolls into view, keeping
// the order, until the list ends; the ages of the loaded rows are kept current too.
func TestBrowserLoadsMoreOnScroll(t *testing.T) {
	b := setup(t)
	var manifest strings.Builder
	manifest.WriteString("projects:\n  - id: bulk-project\n    stacks:\n")
	for i := range 230 {
		fmt.Fprintf(&manifest, "      - {name: bulk-%03d, status: DEPLOYMENT_COMPLETE}\n", i)
	}
	importManifest(t, b.srv, manifest.String())
	// Created in one import, in one second, all of one severity: the page opens broken-first, then the longest in
	// its state first, then the first created, so in the order of the manifest.
	var want []string
	for i := range 230 {
		want = append(want, fmt.Sprintf("bulk-%03d", i))
	}

	b.open("/v1/bulk-project/stacks")
	b.waitRows("the first page", "tr[data-stack]", "data-stack", want[:100])
	for _, upTo := range []int{200, 230} {
		b.run("scroll to the end of the list", chromedp.Evaluate(`window.scrollTo(0, document.body.scrollHeight)`, nil))
		b.waitRows(fmt.Sprintf("the list after scrolling (%d rows)", upTo), "tr[data-stack]", "data-stack", want[:upTo])
	}
	var more int
	b.mustEval(`document.querySelectorAll("tr.load-more").length`, &more)
	if more != 0 {
		t.Errorf("%d rows still offer more after the last page", more)
	}
	var ages []string
	ages, err := b.stringList(`Array.from(document.querySelectorAll("tr[data-stack] time[data-since]")).map(e => e.textContent)`)
	if err != nil || len(ages) != 230 {
		t.Fatalf("%d ages in the list (%v), want one per stack", len(ages), err)
	}
	for _, age := range ages {
		if !strings.HasSuffix(age, " s") && !strings.HasSuffix(age, " min") {
			t.Errorf("a stack imported just now shows the age %q", age)
			break
		}
	}
}
