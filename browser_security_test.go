package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// cspRecorder collects the page's Content-Security-Policy violations; it is added to every document before the
// page's own scripts run (the browser runs it outside the policy).
const cspRecorder = `window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber + " " + (e.sample || ""));
});`

// Every page, under the strict policy, loads and works without one violation: no inline script or style, no eval.
func TestBrowserNoCSPViolations(t *testing.T) {
	findChromium(t)
	secret := "browser-test-secret"
	sum := sha256.Sum256([]byte(secret))
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(tokens, []byte("- name: ci\n  sha256: "+hex.EncodeToString(sum[:])+"\n  projects: [\"*\"]\n  role: write\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, startServer(t, "--tokens", tokens))
	b.run("install the CSP recorder", chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(cspRecorder).Do(ctx)
		return err
	}))
	const project = "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1"
	pages := []string{
		"/api/products", "/api/products?stable=false", "/api/products/kodo", project + "/stacks",
		project + "/stacks/kodo", project + "/stacks/kodo/events",
	}
	violations := func(where string) {
		t.Helper()
		var got []string
		b.mustEval(`window.__csp || ["the CSP recorder did not run"]`, &got)
		for _, v := range got {
			t.Errorf("%s: CSP violation: %s", where, v)
		}
	}
	for _, p := range pages {
		b.open(p)
		// The theme toggle and the shortcuts dialog run app.js's handlers; the search box makes htmx swap.
		b.run("toggle the theme on "+p, chromedp.Click(`#theme-toggle`, chromedp.ByQuery))
		violations(p)
	}
	b.open("/api/products")
	b.run("type into the search box", chromedp.SendKeys(`#q`, "kodo", chromedp.ByQuery))
	b.waitPath("/api/products?q=kodo")
	violations("the overview after a search")

	b.run("open /login", chromedp.Navigate(b.base+"/login"))
	b.untilJS(pageTimeout, "the sign-in form", `document.readyState === "complete" && !!document.getElementById("token")`, `document.title`)
	violations("/login")

	// The rest logs errors on purpose: a 404, and a refusal.
	b.mu.Lock()
	b.listening = false
	b.mu.Unlock()
	b.run("open an error page", chromedp.Navigate(b.base+"/api/products/no-such-product"))
	b.untilJS(pageTimeout, "the error page", `document.readyState === "complete" && !!document.querySelector("h1")`, `document.title`)
	violations("the error page")

	// The recorder sees a violation when there is one: a style attribute set from outside is refused.
	var blocked []string
	b.mustEval(`document.body.setAttribute("style", "color: red"); true`, new(bool))
	b.untilJS(pageTimeout, "the refused style attribute to be reported", `window.__csp.length > 0`, `JSON.stringify(window.__csp)`)
	b.mustEval(`window.__csp`, &blocked)
	if !strings.Contains(strings.Join(blocked, " "), "style-src") {
		t.Errorf("a style attribute was not reported as a violation (%q): the policy is not in force", blocked)
	}
}
