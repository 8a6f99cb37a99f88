package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"stackboard/models"
)

// Search finds every kind (products, stacks, services, images as name:tag, domains), ignoring case, grouped by
// kind, in every format; with kind it pages through one kind.
func TestSearchFindsEveryKind(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, triageManifest)
	server := newTestServer(db)
	hits := func(t *testing.T, target string) models.SearchResults {
		t.Helper()
		rec := get(t, server, target)
		var r models.SearchResults
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &r) != nil {
			t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
		}
		return r
	}
	r := hits(t, "/search?q=BROKEN")
	if r.Products.Total != 1 || r.Products.Items[0].ProductName != "broken" || r.Products.Items[0].Severity != "failed" || r.Stacks.Total != 0 {
		t.Errorf("q=BROKEN: %+v", r)
	}
	r = hits(t, "/search?q=redis:7.2")
	if r.Images.Total != 1 || r.Images.Items[0].Image != (models.Image{Name: "library/redis", Tag: "7.2"}) || r.Images.Items[0].Stacks != 3 || r.Images.Items[0].Services != 3 {
		t.Errorf("q=redis:7.2 images: %+v", r.Images)
	}
	r = hits(t, "/search?q=example.com")
	var domains []string
	for _, d := range r.Domains.Items {
		domains = append(domains, d.Domain+" "+d.ServiceName+" "+d.StackName)
	}
	if want := []string{"dev.example.com web dev-x", "db.internal.example.com db fail-d", "shop.example.com web ok-a"}; !slices.Equal(domains, want) {
		t.Errorf("q=example.com domains: %q, want %q", domains, want)
	}
	r = hits(t, "/search?q=a")
	if r.Stacks.Total != 3 || r.Services.Total != 3 || r.Stacks.Items[0].StackName != "fail-d" {
		t.Errorf("q=a: stacks %+v services %+v", r.Stacks, r.Services)
	}
	// One kind, a page at a time.
	first := hits(t, "/search?q=-&kind=stacks&limit=4")
	if first.Stacks.Total != 6 || len(first.Stacks.Items) != 4 || first.Stacks.NextMarker == nil || first.Products.Total != 0 {
		t.Fatalf("the first page of stacks: %+v", first)
	}
	rest := hits(t, "/search?q=-&kind=stacks&limit=4&marker="+*first.Stacks.NextMarker)
	if len(rest.Stacks.Items) != 2 || rest.Stacks.NextMarker != nil {
		t.Errorf("the second page of stacks: %+v", rest.Stacks)
	}

	page := get(t, server, "/search?q=redis", asPage...).Body.String()
	kinds := regexp.MustCompile(`data-kind="([a-z]+)"`).FindAllStringSubmatch(page, -1)
	if len(kinds) != 5 {
		t.Errorf("the page shows %d kinds, want 5 sections", len(kinds))
	}
	for _, want := range []string{`data-hit="image"`, `href="/images?name=library%2Fredis&amp;tag=7.2"`, `value="redis"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the search page lacks %s", want)
		}
	}
	partial := get(t, server, "/search?q=redis", asPartial...).Body.String()
	if !strings.Contains(partial, `id="search-results"`) || strings.Contains(partial, "<html") {
		t.Errorf("the partial is not the results fragment")
	}
	if empty := get(t, server, "/search", asPage...); empty.Code != http.StatusOK || !strings.Contains(empty.Body.String(), "Type into the search box") {
		t.Errorf("the empty search page: %d", empty.Code)
	}
	header := get(t, server, "/v1/ops/stacks", asPage...).Body.String()
	if !strings.Contains(header, `action="/search"`) {
		t.Errorf("the header's search box does not search everything")
	}
}

// Bad searches are a 400 in spock's shape; a scoped token finds only what its projects hold.
func TestSearchRefusalsAndScope(t *testing.T) {
	db := openTestDB(t)
	server := newTestServer(db)
	for target, field := range map[string]string{
		"/search":                               "q",
		"/search?q=x&kind=people":               "kind",
		"/search?q=x&kind=stacks&marker=9":      "marker",
		"/search?q=" + strings.Repeat("x", 201): "q",
	} {
		rec := get(t, server, target)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"code":"400"`) || !strings.Contains(rec.Body.String(), field) {
			t.Errorf("GET %s: %d %s, want a 400 about %s", target, rec.Code, rec.Body, field)
		}
	}
	scoped := newAuthServer(t, authDB(t), true)
	var r models.SearchResults
	if err := json.Unmarshal(get(t, scoped, "/search?q=shop", HeaderAuthToken, team1ReaderSecret).Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Products.Total != 1 || r.Products.Items[0].ProductName != "shop1" {
		t.Errorf("team1's reader finds %+v", r.Products)
	}
	if err := json.Unmarshal(get(t, scoped, "/search?q=web", HeaderAuthToken, team1ReaderSecret).Body.Bytes(), &r); err != nil || r.Stacks.Total != 1 {
		t.Errorf("team1's reader finds stacks %+v (%v)", r.Stacks, err)
	}
}

// Search runs one statement per kind (and the header's), whatever the data size.
func TestSearchRunsFixedStatements(t *testing.T) {
	checkFixedStatements(t, 6, "/search?q=db", "/search?q=example&kind=domains&limit=5&marker=p5", "/search?q=api:v1&kind=images")
}
