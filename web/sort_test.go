package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"stackboard/models"
	"stackboard/models/testdb"
)

// triageManifest is a small fleet whose creation order is healthy first, so that a broken-first list differs from
// every documented order. Stacks of project ops, oldest first: ok-a (DEPLOYMENT_COMPLETE, RUNNING), new-b
// (CREATION_COMPLETE, no services), prog-c (DEPLOYMENT_IN_PROGRESS), fail-d (DEPLOYMENT_FAILED, FAULT), part-e
// (PARTIALLY-RUNNING, in that state longer than prog-c); project dev holds dev-x (ROLLBACK_FAILED). Products, in
// creation order: calm (ok), waiting (blocked: new-b in its lower layer), broken (failed), busy (in progress).
const triageManifest = `
projects:
  - id: ops
    stacks:
      - name: ok-a
        status: DEPLOYMENT_COMPLETE
        create_time: 2024-01-01T10:00:00Z
        update_time: 2024-01-01T11:00:00Z
        services:
          - {name: web, state: DEPLOYED, status: RUNNING, domains: [shop.example.com], image: {name: library/redis, tag: "7.2"}}
      - name: new-b
        status: CREATION_COMPLETE
        create_time: 2024-01-01T10:01:00Z
        update_time: 2024-01-01T10:01:00Z
      - name: prog-c
        status: DEPLOYMENT_IN_PROGRESS
        create_time: 2024-01-01T10:02:00Z
        update_time: 2024-01-01T10:06:00Z
        services:
          - {name: api, state: DEPLOYED, status: RUNNING, domains: [], image: {name: library/redis, tag: "7.0"}}
      - name: fail-d
        status: DEPLOYMENT_FAILED
        status_message: image pull failed
        create_time: 2024-01-01T10:03:00Z
        update_time: 2024-01-01T10:07:00Z
        services:
          - {name: db, state: DEPLOYED, status: FAULT, domains: [db.internal.example.com], image: {name: library/postgres, tag: "16"}}
      - name: part-e
        status: DEPLOYMENT_COMPLETE
        create_time: 2024-01-01T10:04:00Z
        update_time: 2024-01-01T10:05:00Z
        services:
          - {name: zeta, state: DEPLOYED, status: RUNNING, domains: [], image: {name: library/redis, tag: "7.2"}}
          - {name: alpha, state: STOPPED, status: NOT-RUNNING, domains: [], image: {name: example/alpha, tag: v1}}
          - {name: mid, state: CREATING, status: RUNNING, domains: [], image: {name: example/mid, tag: v1}}
  - id: dev
    stacks:
      - name: dev-x
        status: ROLLBACK_FAILED
        status_message: rollback timed out
        create_time: 2024-01-02T10:00:00Z
        update_time: 2024-01-02T10:00:00Z
        services:
          - {name: web, state: DEPLOYED, status: RUNNING, domains: [dev.example.com], image: {name: library/redis, tag: "7.2"}}
products:
  - {name: calm, project: ops, layers: [[ok-a]]}
  - {name: waiting, project: ops, layers: [[new-b], [ok-a]]}
  - {name: broken, project: ops, layers: [[fail-d]]}
  - {name: busy, project: ops, layers: [[prog-c]]}
  - {name: devprod, project: dev, layers: [[dev-x]]}
`

// Every format names its rows differently: the page's rows carry data- attributes, JSON its fields.
var (
	productRowRE = regexp.MustCompile(`<tr data-product="([^"]+)"`)
	stackRowRE   = regexp.MustCompile(`<tr data-stack="([^"]+)"`)
	serviceRowRE = regexp.MustCompile(`<tr data-service="([^"]+)"`)
)

// namesIn returns the rows of a body: the first group of re in HTML, the named field of JSON.
func namesIn(t *testing.T, rec *http.Response, body []byte, re *regexp.Regexp, jsonNames func([]byte) []string) []string {
	t.Helper()
	if strings.HasPrefix(rec.Header.Get(HeaderContentType), contentTypeJSON) {
		return jsonNames(body)
	}
	var names []string
	for _, m := range re.FindAllSubmatch(body, -1) {
		names = append(names, string(m[1]))
	}
	return names
}

func productNamesOf(body []byte) []string {
	var products []struct {
		ProductName string `json:"product_name"`
	}
	_ = json.Unmarshal(body, &products)
	var names []string
	for _, p := range products {
		names = append(names, p.ProductName)
	}
	return names
}

func stackNamesOf(body []byte) []string {
	var list struct {
		Stacks []struct {
			StackName string `json:"stack_name"`
		} `json:"stacks"`
	}
	_ = json.Unmarshal(body, &list)
	var names []string
	for _, s := range list.Stacks {
		names = append(names, s.StackName)
	}
	return names
}

func serviceNamesOf(body []byte) []string {
	var stack struct {
		Services []struct {
			ServiceName string `json:"service_name"`
		} `json:"services"`
	}
	_ = json.Unmarshal(body, &stack)
	var names []string
	for _, s := range stack.Services {
		names = append(names, s.ServiceName)
	}
	return names
}

// The headers of the three formats.
var (
	asJSON    = []string{HeaderClientRequestID, clientRequestID}
	asPage    = []string{HeaderAccept, browserAccept}
	asPartial = []string{HeaderHXRequest, "true"}
)

// Lists sort by the one severity order and by every sort key, in every format; without parameters the JSON keeps
// its documented order and pages open broken-first.
func TestListsSortInEveryFormat(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, triageManifest)
	server := newTestServer(db)
	tests := []struct {
		name    string
		target  string
		headers []string
		re      *regexp.Regexp
		names   func([]byte) []string
		want    []string
	}{
		{"products JSON: creation order", "/api/products", asJSON, productRowRE, productNamesOf, []string{"calm", "waiting", "broken", "busy", "devprod"}},
		{"products JSON paged: creation order", "/api/products?limit=3", asJSON, productRowRE, productNamesOf, []string{"calm", "waiting", "broken"}},
		{"products page: broken first", "/api/products", asPage, productRowRE, productNamesOf, []string{"broken", "devprod", "waiting", "busy", "calm"}},
		{"products partial: broken first", "/api/products", asPartial, productRowRE, productNamesOf, []string{"broken", "devprod", "waiting", "busy", "calm"}},
		{"products JSON by severity", "/api/products?sort=severity", asJSON, productRowRE, productNamesOf, []string{"broken", "devprod", "waiting", "busy", "calm"}},
		{"products JSON healthy first", "/api/products?sort=-severity", asJSON, productRowRE, productNamesOf, []string{"calm", "busy", "waiting", "devprod", "broken"}},
		{"products page by name", "/api/products?sort=name", asPage, productRowRE, productNamesOf, []string{"broken", "busy", "calm", "devprod", "waiting"}},
		{"products partial by name descending", "/api/products?sort=-name", asPartial, productRowRE, productNamesOf, []string{"waiting", "devprod", "calm", "busy", "broken"}},
		{"products JSON newest first", "/api/products?sort=-created", asJSON, productRowRE, productNamesOf, []string{"devprod", "busy", "broken", "waiting", "calm"}},
		{"products JSON by name, filtered", "/api/products?sort=name&project=ops&stable=false", asJSON, productRowRE, productNamesOf, []string{"broken", "waiting"}},

		{"stacks JSON: newest first", "/v1/ops/stacks", asJSON, stackRowRE, stackNamesOf, []string{"part-e", "fail-d", "prog-c", "new-b", "ok-a"}},
		{"stacks JSON paged: newest first", "/v1/ops/stacks?limit=2", asJSON, stackRowRE, stackNamesOf, []string{"part-e", "fail-d"}},
		{"stacks page: broken first, then longest in state", "/v1/ops/stacks", asPage, stackRowRE, stackNamesOf, []string{"fail-d", "part-e", "prog-c", "new-b", "ok-a"}},
		{"stacks partial: broken first", "/v1/ops/stacks", asPartial, stackRowRE, stackNamesOf, []string{"fail-d", "part-e", "prog-c", "new-b", "ok-a"}},
		{"stacks JSON by severity", "/v1/ops/stacks?sort=severity", asJSON, stackRowRE, stackNamesOf, []string{"fail-d", "part-e", "prog-c", "new-b", "ok-a"}},
		{"stacks JSON by name", "/v1/ops/stacks?sort=name", asJSON, stackRowRE, stackNamesOf, []string{"fail-d", "new-b", "ok-a", "part-e", "prog-c"}},
		{"stacks page oldest first", "/v1/ops/stacks?sort=created", asPage, stackRowRE, stackNamesOf, []string{"ok-a", "new-b", "prog-c", "fail-d", "part-e"}},
		{"stacks partial by update", "/v1/ops/stacks?sort=-updated", asPartial, stackRowRE, stackNamesOf, []string{"ok-a", "fail-d", "prog-c", "part-e", "new-b"}},
		{"stacks JSON shortest in state first", "/v1/ops/stacks?sort=in_state", asJSON, stackRowRE, stackNamesOf, []string{"ok-a", "fail-d", "prog-c", "part-e", "new-b"}},
		{"stacks JSON longest in state first", "/v1/ops/stacks?sort=-in_state", asJSON, stackRowRE, stackNamesOf, []string{"new-b", "part-e", "prog-c", "fail-d", "ok-a"}},
		{"stacks JSON by severity, filtered", "/v1/ops/stacks?sort=severity&q=-", asJSON, stackRowRE, stackNamesOf, []string{"fail-d", "part-e", "prog-c", "new-b", "ok-a"}},

		{"services JSON: declared order", "/v1/ops/stacks/part-e", asJSON, serviceRowRE, serviceNamesOf, []string{"zeta", "alpha", "mid"}},
		{"services page: broken first", "/v1/ops/stacks/part-e", asPage, serviceRowRE, serviceNamesOf, []string{"mid", "alpha", "zeta"}},
		{"services partial by name", "/v1/ops/stacks/part-e?sort=name", asPartial, serviceRowRE, serviceNamesOf, []string{"alpha", "mid", "zeta"}},
		{"services JSON by severity", "/v1/ops/stacks/part-e?sort=severity", asJSON, serviceRowRE, serviceNamesOf, []string{"mid", "alpha", "zeta"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, server, tt.target, tt.headers...)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", tt.target, rec.Code, rec.Body)
			}
			got := namesIn(t, rec.Result(), rec.Body.Bytes(), tt.re, tt.names)
			if !slices.Equal(got, tt.want) {
				t.Errorf("GET %s: rows %q, want %q", tt.target, got, tt.want)
			}
		})
	}
}

// The severity SQL sorts as the Go rule colours: for every product and stack of the fixture, the order of the
// database is the order of models.ProductSeverity and models.StackSeverity.
func TestSeveritySQLAgreesWithGo(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, triageManifest)
	server := newTestServer(db)
	rec := get(t, server, "/api/products?sort=severity", asJSON...)
	var products []models.ProductStatus
	if err := json.Unmarshal(rec.Body.Bytes(), &products); err != nil {
		t.Fatal(err)
	}
	for i := range products {
		// The JSON has no lifecycle: read it from the stack's own JSON.
		for l := range products[i].StackDeps {
			for s := range products[i].StackDeps[l] {
				var stack models.StackSummary
				body := get(t, server, "/v1/"+projectOf(products[i].ProductName)+"/stacks/"+products[i].StackDeps[l][s].StackName, asJSON...).Body.Bytes()
				if err := json.Unmarshal(body, &stack); err != nil {
					t.Fatal(err)
				}
				products[i].StackDeps[l][s].Lifecycle = stack.Status
			}
		}
	}
	got := make([]models.Severity, len(products))
	for i, p := range products {
		got[i] = models.ProductSeverity(p)
	}
	want := []models.Severity{models.SeverityFailed, models.SeverityFailed, models.SeverityBlocked, models.SeverityProgress, models.SeverityOK}
	if !slices.Equal(got, want) {
		t.Errorf("severities in the database's order: %v, want %v", got, want)
	}
}

func projectOf(product string) string {
	if product == "devprod" {
		return "dev"
	}
	return "ops"
}

// A sort the list does not take is a 400 in the error shape of the endpoint's family, in every format.
func TestInvalidSortIsRefused(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, triageManifest)
	server := newTestServer(db)
	tests := []struct {
		target, wantCode string
	}{
		{"/api/products?sort=colour", `"code":"400"`},
		{"/api/products?sort=--name", `"code":"400"`},
		{"/v1/ops/stacks?sort=size", `"error_code":"RF.10011003"`},
		{"/v1/ops/stacks/part-e?sort=created", `"error_code":"RF.10011003"`},
		{"/v1/ops/stacks?sort=name&marker=1700000000-3", `"error_code":"RF.10011003"`},
	}
	for _, tt := range tests {
		for _, headers := range [][]string{asJSON, asPage, asPartial} {
			rec := get(t, server, tt.target, headers...)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("GET %s %v: %d, want 400", tt.target, headers, rec.Code)
				continue
			}
			if headers[0] == HeaderClientRequestID && !strings.Contains(rec.Body.String(), tt.wantCode) {
				t.Errorf("GET %s: %s, want %s", tt.target, rec.Body, tt.wantCode)
			}
			if headers[0] != HeaderClientRequestID && !strings.Contains(rec.Body.String(), "sort") && !strings.Contains(rec.Body.String(), "marker") {
				t.Errorf("GET %s %v: the error does not name the parameter: %s", tt.target, headers, rec.Body)
			}
		}
	}
}

// A sorted page keeps its sort in every link that reloads or continues it: the live refresh, "load more", the
// column headers (which reverse the sort of their own column), and a sorted page continues where it ended.
func TestSortStaysInTheURL(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, triageManifest)
	server := newTestServer(db)
	page := get(t, server, "/v1/ops/stacks?sort=name&limit=2", asPage...).Body.String()
	for _, want := range []string{
		`hx-get="/v1/ops/stacks?sort=name"`,
		`href="/v1/ops/stacks?limit=2&amp;marker=p2&amp;sort=name"`,
		`aria-sort="ascending"`,
		`href="/v1/ops/stacks?sort=-name"`,
		`href="/v1/ops/stacks?sort=created"`,
		`href="/v1/ops/stacks"`, // the severity header: broken first is the page's own order
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the sorted page lacks %s", want)
		}
	}
	var seen []string
	for _, target := range []string{"/v1/ops/stacks?sort=name&limit=2", "/v1/ops/stacks?limit=2&marker=p2&sort=name", "/v1/ops/stacks?limit=2&marker=p4&sort=name"} {
		for _, headers := range [][]string{asJSON, asPartial} {
			rec := get(t, server, target, headers...)
			names := namesIn(t, rec.Result(), rec.Body.Bytes(), stackRowRE, stackNamesOf)
			if headers[0] == HeaderClientRequestID {
				seen = append(seen, names...)
			} else if len(names) == 0 {
				t.Errorf("GET %s as htmx: no rows", target)
			}
		}
	}
	if want := []string{"fail-d", "new-b", "ok-a", "part-e", "prog-c"}; !slices.Equal(seen, want) {
		t.Errorf("the pages by name hold %q, want %q", seen, want)
	}
	var paged models.StackPage
	if err := json.Unmarshal(get(t, server, "/v1/ops/stacks?sort=name&limit=2", asJSON...).Body.Bytes(), &paged); err != nil {
		t.Fatal(err)
	}
	if paged.NextMarker == nil || *paged.NextMarker != "p2" {
		t.Errorf("next_marker of a sorted page: %v, want p2", paged.NextMarker)
	}
	overview := get(t, server, "/api/products?sort=-name&stable=false&limit=1", asPage...).Body.String()
	for _, want := range []string{`hx-get="/api/products?sort=-name&amp;stable=false"`, `marker=p1`, `href="/api/products?sort=name&amp;stable=false"`} {
		if !strings.Contains(overview, want) {
			t.Errorf("the sorted overview lacks %s", want)
		}
	}
}

// checkFixedStatements fails unless every target, in every format, runs the same number of SQL statements (at most
// most) for a fleet of 1 and of 200 products.
func checkFixedStatements(t *testing.T, most int64, targets ...string) {
	t.Helper()
	counts := make(map[string]int64)
	for _, size := range []int{1, 200} {
		db := openTestDB(t)
		importYAML(t, db, fleetManifest(size))
		counted, counter := testdb.CountStatements(db)
		server := newTestServer(counted)
		for _, target := range targets {
			for _, headers := range [][]string{asJSON, asPage, asPartial} {
				counter.Reset()
				rec := get(t, server, target, headers...)
				if rec.Code != http.StatusOK {
					t.Fatalf("GET %s %v: %d %s", target, headers, rec.Code, rec.Body)
				}
				key := target + " " + headers[0]
				n := counter.Count()
				if n == 0 || n > most {
					t.Errorf("%s with %d products: %d statements, want 1 to %d", key, size, n, most)
				}
				if previous, ok := counts[key]; ok && previous != n {
					t.Errorf("%s: %d statements for 1 product but %d for %d", key, previous, n, size)
				}
				counts[key] = n
				if size == 200 {
					t.Logf("%-60s %-17s %d statements", target, headers[0], n)
				}
			}
		}
	}
}

// Sorted lists run as many statements as unsorted ones, whatever the data size.
func TestSortedListsRunFixedStatements(t *testing.T) {
	checkFixedStatements(t, 5, "/api/products?sort=severity", "/api/products?sort=-updated&stable=false&limit=10",
		"/api/products?sort=in_state&limit=10&marker=p10", "/v1/fleet/stacks?sort=severity", "/v1/fleet/stacks?sort=-name&limit=10&marker=p10",
		"/v1/fleet/stacks/db-0?sort=name")
}
