package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"stackboard/models"
)

type stackPageJSON struct {
	Stacks []struct {
		StackName string `json:"stack_name"`
	} `json:"stacks"`
	NextMarker *string      `json:"next_marker"`
	PageInfo   pageInfoJSON `json:"page_info"`
}

func decodeStackPage(t *testing.T, body []byte) (stackPageJSON, map[string]json.RawMessage) {
	t.Helper()
	var page stackPageJSON
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("not a page: %v\n%s", err, body)
	}
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatal(err)
	}
	return page, fields
}

func stackNames(t *testing.T, h http.Handler, target string) []string {
	t.Helper()
	rec := get(t, h, target, HeaderClientRequestID, clientRequestID)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
	}
	page, _ := decodeStackPage(t, rec.Body.Bytes())
	names := make([]string, len(page.Stacks))
	for i, s := range page.Stacks {
		names[i] = s.StackName
	}
	return names
}

// Following next_marker from ?limit= walks the whole list in its documented order, once each, and the last page
// says so with next_marker: null. Without paging parameters the JSON stays the documented, complete one.
func TestStackListPagesWalkTheWholeList(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, fleetManifest(7)) // 35 stacks created in the same second: ties broken by creation order
	server := newTestServer(db)
	complete := stackNames(t, server, "/v1/fleet/stacks")
	if len(complete) != 35 {
		t.Fatalf("%d stacks in the complete list, want 35", len(complete))
	}
	_, fields := decodeStackPage(t, get(t, server, "/v1/fleet/stacks", HeaderClientRequestID, clientRequestID).Body.Bytes())
	if _, ok := fields["next_marker"]; ok || len(fields) != 1 {
		t.Errorf("the unpaged list has fields %v; the spec has stacks only", fields)
	}

	for _, limit := range []string{"1", "4", "35", "100"} {
		var walked []string
		target := "/v1/fleet/stacks?limit=" + limit
		for pages := 0; ; pages++ {
			if pages > 40 {
				t.Fatalf("limit %s: the pages do not end", limit)
			}
			rec := get(t, server, target, HeaderClientRequestID, clientRequestID)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
			}
			page, fields := decodeStackPage(t, rec.Body.Bytes())
			if _, ok := fields["next_marker"]; !ok {
				t.Fatalf("GET %s: a paged answer has no next_marker field: %s", target, rec.Body)
			}
			if _, ok := fields["page_info"]; !ok || len(fields) != 3 {
				t.Fatalf("GET %s: a paged answer has fields %v, want stacks, next_marker and page_info", target, fields)
			}
			checkPageInfo(t, target, page.PageInfo, page.NextMarker, len(page.Stacks))
			for _, s := range page.Stacks {
				walked = append(walked, s.StackName)
			}
			if page.NextMarker == nil {
				break
			}
			target = "/v1/fleet/stacks?limit=" + limit + "&marker=" + *page.NextMarker
		}
		if strings.Join(walked, ",") != strings.Join(complete, ",") {
			t.Errorf("limit %s walked\n%v\nwant\n%v", limit, walked, complete)
		}
	}
}

// Paging combines with the filters, and a marker still works after the stack it ended on is deleted.
func TestStackMarkersSurviveDeletesAndKeepFilters(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, fleetManifest(5))
	server := newTestServer(db)
	complete := stackNames(t, server, "/v1/fleet/stacks?q=loose")
	if len(complete) != 5 {
		t.Fatalf("%d loose stacks, want 5", len(complete))
	}

	rec := get(t, server, "/v1/fleet/stacks?q=loose&limit=3", HeaderClientRequestID, clientRequestID)
	first, _ := decodeStackPage(t, rec.Body.Bytes())
	last := first.Stacks[2].StackName
	if del := call(t, server, http.MethodDelete, "/v1/fleet/stacks/"+last, ""); del.Code >= 300 {
		t.Fatalf("DELETE %s: %d %s", last, del.Code, del.Body)
	}
	rest := stackNames(t, server, "/v1/fleet/stacks?q=loose&limit=3&marker="+*first.NextMarker)
	if strings.Join(rest, ",") != strings.Join(complete[3:], ",") {
		t.Errorf("after deleting the marker's stack the next page is %v, want %v", rest, complete[3:])
	}
}

// Bad paging parameters are 400s in the RF error format, never a 500 or an empty page.
func TestStackPagingRefusals(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-stacks.yaml"))
	for _, query := range []string{"limit=0", "limit=-1", "limit=1001", "limit=ten", "marker=abc", "marker=12", "marker=-5-3", "marker=1700000000-0"} {
		rec := get(t, server, "/v1/"+rfsProject+"/stacks?"+query, HeaderClientRequestID, clientRequestID)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("?%s: %d %s, want 400", query, rec.Code, rec.Body)
			continue
		}
		body := decodeRF(t, rec.Body.Bytes())
		if body.ErrorCode == nil || body.ErrorMsg == nil || !strings.HasPrefix(*body.ErrorCode, "RF.") || !strings.Contains(*body.ErrorMsg, strings.SplitN(query, "=", 2)[0]) {
			t.Errorf("?%s: %s, want an RF error naming the parameter", query, rec.Body)
		}
	}
}

var rowPattern = regexp.MustCompile(`<tr data-(?:stack|product)=`)
var moreLink = regexp.MustCompile(`<tr class="load-more" hx-get="([^"]+)" hx-trigger="revealed"`)

// In the browser, long lists show one page and load the next as its last row scrolls into view: the first page
// of 250 has 100 rows, htmx's request for more gets the next rows alone, and the last page has no more-row.
func TestPagesLoadMoreRowsOnScroll(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, fleetManifest(250)) // 250 products, 1,250 stacks
	server := newTestServer(db)
	for _, tc := range []struct {
		first string
		rows  []int
	}{
		{"/api/products", []int{100, 100, 50}},
		{"/v1/fleet/stacks?q=loose", []int{100, 100, 50}},
	} {
		page := get(t, server, tc.first, HeaderAccept, browserAccept).Body.String()
		if n := len(rowPattern.FindAllString(page, -1)); n != tc.rows[0] {
			t.Fatalf("%s: the first page has %d rows, want %d", tc.first, n, tc.rows[0])
		}
		body := page
		for i, want := range tc.rows[1:] {
			more := moreLink.FindStringSubmatch(body)
			if more == nil {
				t.Fatalf("%s: page %d has no row that loads more", tc.first, i+1)
			}
			target := strings.ReplaceAll(more[1], "&amp;", "&")
			if !strings.Contains(target, "marker=") || !strings.Contains(target, "limit=100") {
				t.Errorf("the more-row loads %s", target)
			}
			// A browser opening the more-row's link (a new tab, say) gets a whole page, not the rows or JSON.
			opened := get(t, server, target, HeaderAccept, browserAccept)
			if ct := opened.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(opened.Body.String(), "<table") {
				t.Errorf("%s opened in a browser: %s, want the whole page", target, ct)
			}
			body = get(t, server, target, HeaderHXRequest, "true").Body.String()
			if strings.Contains(body, "<section") || strings.Contains(body, "<table") {
				t.Errorf("%s: the rows come wrapped in their table or section", target)
			}
			if n := len(rowPattern.FindAllString(body, -1)); n != want {
				t.Errorf("%s: %d rows, want %d", target, n, want)
			}
		}
		if moreLink.MatchString(body) {
			t.Errorf("%s: the last page still offers more", tc.first)
		}
	}
	// The summary counts every product, not the page's.
	page := get(t, server, "/api/products", HeaderAccept, browserAccept).Body.String()
	if !strings.Contains(page, `<div class="big">250</div>`) {
		t.Error("the health summary does not count all 250 products")
	}
}

// The product list's JSON is complete without parameters; with limit it is a page of the same array, and a Link
// header names the next.
func TestProductListPagesByLink(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, fleetManifest(5))
	server := newTestServer(db)
	var complete []models.ProductStatus
	if err := json.Unmarshal(get(t, server, "/api/products").Body.Bytes(), &complete); err != nil || len(complete) != 5 {
		t.Fatalf("complete list: %v, %d products", err, len(complete))
	}
	var walked []string
	target := "/api/products?limit=2"
	for range 5 {
		rec := get(t, server, target)
		var page []models.ProductStatus
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
		for _, p := range page {
			walked = append(walked, p.ProductName)
		}
		link := rec.Header().Get("Link")
		if link == "" {
			break
		}
		next := regexp.MustCompile(`^<([^>]+)>; rel="next"$`).FindStringSubmatch(link)
		if next == nil {
			t.Fatalf("Link %q", link)
		}
		target = next[1]
	}
	if strings.Join(walked, ",") != "product-0,product-1,product-2,product-3,product-4" {
		t.Errorf("walked %v", walked)
	}
	for _, query := range []string{"limit=0", "limit=x", "marker=abc", "marker=0"} {
		if rec := get(t, server, "/api/products?"+query); rec.Code != http.StatusBadRequest {
			t.Errorf("?%s: %d, want 400", query, rec.Code)
		}
	}
}
