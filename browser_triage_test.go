package main

// Browser tests of the bad day: a generated fleet opens broken-first, column headers sort, the overview's counts
// lead to the fleet-wide stack list, whose filters and counts agree with its JSON, and search finds every kind.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// setupFleet is setup with a generated S fleet imported beside the demo data.
func setupFleet(t *testing.T) *browser {
	t.Helper()
	b := setup(t)
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, []string{"generate", "--size", "S", "--out", path}, func(string) string { return "" }, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	importManifest(t, b.srv, string(manifest))
	return b
}

// getJSON fetches a URL of the test server as JSON into v.
func (b *browser) getJSON(path string, v any) {
	b.t.Helper()
	resp, err := http.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
}

// The overview of a generated fleet opens broken-first: no stable product above an unstable one, and the first
// row is the worst product; the headers sort by name both ways, and the stack list's headers sort too.
func TestBrowserBrokenFirstAndHeaderSort(t *testing.T) {
	b := setupFleet(t)
	b.open("/api/products")
	var worst []struct {
		ProductName string `json:"product_name"`
		IsStable    bool   `json:"is_stable"`
	}
	b.getJSON("/api/products?sort=severity&limit=100", &worst)
	var want []string
	for _, p := range worst {
		want = append(want, p.ProductName)
	}
	if len(want) < 20 || worst[0].IsStable {
		t.Fatalf("the generated fleet's worst products: %+v", worst)
	}
	b.waitRows("the overview, broken first", "tr[data-product]", "data-product", want)
	badges, err := b.stringList(`Array.from(document.querySelectorAll("tr[data-product] td:nth-child(2)")).map(td => td.textContent.trim())`)
	if err != nil {
		t.Fatal(err)
	}
	if first := slices.IndexFunc(badges, func(s string) bool {
		return strings.HasSuffix(s, "✓stable") || s == "stable" || strings.HasSuffix(s, " stable")
	}); first >= 0 {
		if later := slices.IndexFunc(badges[first:], func(s string) bool { return strings.HasSuffix(s, "unstable") }); later >= 0 {
			t.Errorf("row %d is unstable below the stable row %d: %q", first+later, first, badges)
		}
	}

	b.run("click the Product header", chromedp.Click(`th a.sort-link[href*="sort=name"]`, chromedp.ByQuery))
	b.waitPath("/api/products?sort=name")
	b.waitLive()
	byName := slices.Sorted(slices.Values(want))
	b.waitRows("the overview by name", "tr[data-product]", "data-product", byName)
	var sortState string
	b.mustEval(`document.querySelector("th[aria-sort]").getAttribute("aria-sort") + " " + document.querySelector("th[aria-sort]").textContent.trim()`, &sortState)
	if !strings.HasPrefix(sortState, "ascending Product") {
		t.Errorf("the sorted column says %q, want ascending Product", sortState)
	}
	b.run("click the Product header again", chromedp.Click(`th[aria-sort] a.sort-link`, chromedp.ByQuery))
	b.waitPath("/api/products?sort=-name")
	b.waitLive()
	slices.Reverse(byName)
	b.waitRows("the overview by name, descending", "tr[data-product]", "data-product", byName)
	// The live refresh keeps the sort.
	var refresh string
	b.mustEval(`document.querySelector("#overview").getAttribute("hx-get")`, &refresh)
	if refresh != "/api/products?sort=-name" {
		t.Errorf("the overview refreshes from %q, want its sort kept", refresh)
	}

	b.open("/v1/search-staging/stacks")
	b.run("click the Created header", chromedp.Click(`th a.sort-link[href*="sort=created"]`, chromedp.ByQuery))
	b.waitPath("/v1/search-staging/stacks?sort=created")
	b.waitLive()
	created, err := b.stringList(`Array.from(document.querySelectorAll("tr[data-stack] td:last-child time")).map(e => e.getAttribute("datetime"))`)
	if err != nil || len(created) < 5 || !slices.IsSorted(created) {
		t.Errorf("the stack list by creation: %q (%v)", created, err)
	}
}

// The overview's lifecycle count leads to the fleet-wide list of those stacks; there the filters narrow the list
// in place, push the URL, and the cards count what they select, as the JSON of the same URL does.
func TestBrowserTriageFiltersAndCounts(t *testing.T) {
	b := setupFleet(t)
	b.open("/api/products")
	b.run("click the DEPLOYMENT_FAILED count", chromedp.Click(`a[href="/stacks?status=DEPLOYMENT_FAILED"]`, chromedp.ByQuery))
	b.waitPath("/stacks?status=DEPLOYMENT_FAILED")
	b.waitLive()
	var failed struct {
		Stacks []struct {
			StackName string `json:"stack_name"`
			Status    string `json:"status"`
			RunStatus string `json:"run_status"`
		} `json:"stacks"`
		Total int `json:"total"`
	}
	b.getJSON("/stacks?status=DEPLOYMENT_FAILED", &failed)
	if failed.Total == 0 || failed.Total != len(failed.Stacks) {
		t.Fatalf("the fleet's DEPLOYMENT_FAILED stacks: %+v", failed)
	}
	var want []string
	for _, s := range failed.Stacks {
		want = append(want, s.StackName)
	}
	b.waitRows("the DEPLOYMENT_FAILED stacks", "tr[data-stack]", "data-stack", want)
	if total := b.text("#triage-total"); total != fmt.Sprint(failed.Total) {
		t.Errorf("the card says %s stacks, the list has %d", total, failed.Total)
	}
	var counted []string
	counted, _ = b.stringList(`Array.from(document.querySelectorAll("#triage [data-count]")).map(e => e.dataset.count)`)
	if !slices.Contains(counted, "DEPLOYMENT_FAILED") || slices.Contains(counted, "DEPLOYMENT_COMPLETE") {
		t.Errorf("the cards count %q, want only what the filter selects", counted)
	}

	b.setSelect("#triage-filters select[name=status]", "")
	b.waitPath("/stacks")
	b.setSelect("#triage-filters select[name=run_status]", "FAULT")
	b.waitPath("/stacks?run_status=FAULT")
	var fault struct {
		Stacks []struct {
			StackName string `json:"stack_name"`
			RunStatus string `json:"run_status"`
		} `json:"stacks"`
		Total int `json:"total"`
	}
	b.getJSON("/stacks?run_status=FAULT", &fault)
	want = want[:0]
	for _, s := range fault.Stacks {
		want = append(want, s.StackName)
	}
	b.waitRows("the FAULT stacks", "tr[data-stack]", "data-stack", want)
	b.until(pageTimeout, "the card to count the FAULT stacks", func() (bool, string) {
		total := b.text("#triage-total")
		return total == fmt.Sprint(fault.Total), "the card says " + total
	})
	runs, _ := b.stringList(`Array.from(document.querySelectorAll("tr[data-stack] td:nth-child(4)")).map(td => td.textContent.trim())`)
	for i, r := range runs {
		if !strings.HasSuffix(r, "FAULT") {
			t.Errorf("row %d of the FAULT filter shows %q", i, r)
		}
	}
	// A count on the page narrows further, keeping the filter it was made under.
	var first string
	b.mustEval(`document.querySelector("#triage a[data-count]").getAttribute("href")`, &first)
	if !strings.Contains(first, "run_status=FAULT") {
		t.Errorf("a count on the FAULT page leads to %q, which drops the filter", first)
	}
	b.run("narrow the window to a phone's", chromedp.EmulateViewport(375, 900))
	b.checkNoHorizontalScroll("/stacks?run_status=FAULT")
}

// The header's search box, on any page but the overview, searches every kind and shows the hits grouped by kind.
func TestBrowserSearchAcrossKinds(t *testing.T) {
	b := setup(t)
	b.open("/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks")
	b.run("search for memcached from the header", chromedp.SendKeys("#q", "memcached\n", chromedp.ByQuery))
	b.waitPath("/search?q=memcached")
	b.waitLive()
	kinds, err := b.stringList(`Array.from(document.querySelectorAll("[data-hit]")).map(e => e.dataset.hit)`)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"product", "stack", "service", "image"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("searching memcached found the kinds %q, want a %s among them", kinds, want)
		}
	}
	b.run("open the image hit", chromedp.Click(`[data-hit="image"] a`, chromedp.ByQuery))
	b.until(pageTimeout, "the image's inventory page", func() (bool, string) {
		loc := b.location()
		return strings.HasPrefix(loc, "/images?name=spocktest%2Fmemcached"), loc
	})
	b.open("/api/products/kodo")
	b.run("search for a domain", chromedp.SendKeys("#q", "qiniu.io\n", chromedp.ByQuery))
	b.waitPath("/search?q=qiniu.io")
	b.waitLive()
	if text := b.text(`[data-kind="domains"]`); !strings.Contains(text, "fulichao.io.kodo.spocktest.qiniu.io") {
		t.Errorf("the domains found say %q", text)
	}
}
