package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The demo data set: product "search" is unstable because its first layer holds a failed stack.
const demoProject = "search-staging"

// Every page answers in the three formats: JSON, the full page, and the partial htmx swaps.
func TestPagesInThreeFormats(t *testing.T) {
	server := newTestServer(openTestDB(t, "../models/demo.yaml"))
	tests := []struct {
		name          string
		target        string
		jsonPrefix    string
		pageContains  []string
		partialPrefix string
	}{
		{
			"overview", "/api/products",
			`[{"product_name":"memcached","stack_deps":[[{"stack_name":"memcached"`,
			[]string{"Stacks by run status", `id="q"`, `data-product="search"`},
			`<div id="overview"`,
		},
		{
			"product", "/api/products/search",
			`{"product_name":"search","stack_deps":[[{"stack_name":"elasticsearch","services":[`,
			[]string{"Why unstable", "layer 2 waits on layer 1: 1 of 2 stacks running — elasticsearch DEPLOYMENT_FAILED", `data-layer="4"`, "BLOCKED"},
			`<div id="product"`,
		},
		{
			"stack list", "/v1/search-staging/stacks",
			`{"stacks":[{"stack_name":"synonyms-loader"`,
			[]string{"Stacks of search-staging", "health check failed", "DEPLOYMENT_FAILED for"},
			`<section id="stacks"`,
		},
		{
			"stack", "/v1/search-staging/stacks/elasticsearch",
			`{"stack_name":"elasticsearch","description":"staging Elasticsearch cluster","stack_id":"`,
			[]string{"Blast radius", `data-service="es-data"`, "elasticsearch:8.13.4", "&#34;owner&#34;: &#34;search-team&#34;"},
			`<div id="stack"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, server, tt.target, HeaderClientRequestID, clientRequestID)
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), tt.jsonPrefix) {
				t.Errorf("JSON: %d %.200s", rec.Code, rec.Body)
			}
			rec = get(t, server, tt.target, HeaderAccept, browserAccept)
			page := rec.Body.String()
			if rec.Code != http.StatusOK || !strings.HasPrefix(page, "<!doctype html>") {
				t.Errorf("page: %d %.200s", rec.Code, page)
			}
			for _, want := range append(tt.pageContains, "View JSON", "Copy curl", `sse-connect="/events?topics=`) {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			rec = get(t, server, tt.target, HeaderHXRequest, "true")
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), tt.partialPrefix) || strings.Contains(rec.Body.String(), "<html") {
				t.Errorf("partial: %d %.200s", rec.Code, rec.Body)
			}
		})
	}
}

func TestProductJSONIsAnElementOfTheList(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	var list []json.RawMessage
	if err := json.Unmarshal(get(t, server, "/api/products").Body.Bytes(), &list); err != nil || len(list) != 2 {
		t.Fatalf("list: %v, %d products", err, len(list))
	}
	for i, name := range []string{"memcached", "kodo"} {
		rec := get(t, server, "/api/products/"+name)
		if got, want := compactJSON(t, rec.Body.Bytes()), compactJSON(t, list[i]); rec.Code != 200 || got != want {
			t.Errorf("GET /api/products/%s = %d %s\nwant %s", name, rec.Code, got, want)
		}
	}
	rec := get(t, server, "/api/products/nope")
	if got := strings.TrimSpace(rec.Body.String()); rec.Code != 404 || got != `{"message":"Product Not Found","code":"404"}` {
		t.Errorf("unknown product: %d %s", rec.Code, got)
	}
	rec = get(t, server, "/api/products/nope", HeaderAccept, browserAccept)
	// A page says what every page that finds nothing says (issue 12: one wording for every 404).
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), notFoundText) || !strings.Contains(rec.Body.String(), "<code class=\"break\">/api/products/nope</code>") {
		t.Errorf("unknown product page: %d %.200s", rec.Code, rec.Body)
	}
}

func TestStackJSON(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	importYAML(t, db, `
projects:
  - id: ba2b9930c977f71edaeaa3a5e96a8ff1
    stacks:
      - name: memcached
        description: cache tier
        status: DEPLOYMENT_FAILED
        status_message: image pull failed
        create_time: 2023-05-17T07:34:22Z
        update_time: 2023-05-17T07:34:44Z
        metadata: {owner: storage, tier: 1}
`)
	server := newTestServer(db)
	rec := get(t, server, "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks/memcached", HeaderClientRequestID, clientRequestID)
	var id struct {
		StackID string `json:"stack_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &id); err != nil || len(id.StackID) != 36 {
		t.Fatalf("stack_id: %v %q", err, id.StackID)
	}
	want := `{"stack_name":"memcached","description":"cache tier","stack_id":"` + id.StackID + `",` +
		`"status":"DEPLOYMENT_FAILED","create_time":"2023-05-17T07:34:22Z","update_time":"2023-05-17T07:34:44Z",` +
		`"status_message":"image pull failed","metadata":{"owner":"storage","tier":1},"run_status":"RUNNING","is_deployed":true,` +
		`"services":[{"service_name":"memcached","state":"DEPLOYED","status":"RUNNING","domains":[],"image":{"name":"spocktest/memcached","tag":"latest"}}],` +
		`"products":[{"product_name":"memcached","layer":1},{"product_name":"kodo","layer":1}]}`
	if got := strings.TrimSpace(rec.Body.String()); rec.Code != 200 || got != want {
		t.Errorf("got  %d %s\nwant %s", rec.Code, got, want)
	}
	rec = get(t, server, "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks/kodo", HeaderClientRequestID, clientRequestID)
	if body := rec.Body.String(); !strings.Contains(body, `"metadata":null,"run_status":"RUNNING"`) || strings.Contains(body, "status_message") ||
		!strings.HasSuffix(strings.TrimSpace(body), `"products":[{"product_name":"kodo","layer":2}]}`) {
		t.Errorf("kodo: %s", body)
	}
	rec = get(t, server, "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks/nope", HeaderClientRequestID, clientRequestID)
	if b := decodeRF(t, rec.Body.Bytes()); rec.Code != 404 || *b.ErrorCode != "RF.10014001" || !strings.Contains(*b.ErrorMsg, `"nope"`) {
		t.Errorf("unknown stack: %d %s", rec.Code, rec.Body)
	}
	rec = get(t, server, "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks/memcached")
	if rec.Code != 400 {
		t.Errorf("the stack's JSON without Client-Request-Id: %d", rec.Code)
	}
}

// Filters narrow the lists in every format; the JSON keeps the documented shape.
func TestFilters(t *testing.T) {
	server := newTestServer(openTestDB(t, "../models/demo.yaml"))
	names := func(body string, key string) string {
		var found []string
		for _, part := range strings.Split(body, `"`+key+`":"`)[1:] {
			found = append(found, part[:strings.Index(part, `"`)])
		}
		return strings.Join(found, ",")
	}
	tests := []struct {
		target, key, want string
	}{
		{"/api/products?stable=false", "product_name", "search,billing,payouts,autocomplete,tracing"},
		{"/api/products?stable=true&project=payments-prod", "product_name", "payments,merchant-portal"},
		{"/api/products?q=ELASTIC", "product_name", "search,autocomplete"},
		{"/api/products?q=kodo", "product_name", "kodo,kodo-console"},
		{"/api/products?status=FAULT&project=search-staging", "product_name", "search,autocomplete"},
		{"/api/products?q=no-such-thing", "product_name", ""},
		{"/v1/search-staging/stacks?status=DEPLOYMENT_FAILED", "stack_name", "elasticsearch"},
		{"/v1/search-staging/stacks?status=PARTIALLY-RUNNING", "stack_name", "crawler,ranking-model,query-api"},
		{"/v1/search-staging/stacks?q=SEARCH", "stack_name", "search-ui,elasticsearch"},
		{"/v1/search-staging/stacks?q=%25", "stack_name", ""},
	}
	for _, tt := range tests {
		rec := get(t, server, tt.target, HeaderClientRequestID, clientRequestID)
		if got := names(rec.Body.String(), tt.key); rec.Code != 200 || got != tt.want {
			t.Errorf("GET %s = %d [%s], want [%s]", tt.target, rec.Code, got, tt.want)
		}
	}
	bad := []struct {
		target, want string
	}{
		{"/api/products?stable=maybe", `{"message":"stable: \"maybe\" is neither true nor false","code":"400"}`},
		{"/api/products?status=RUNING", `"code":"400"}`},
		{"/api/products?project=a", `"code":"400"}`},
		{"/v1/search-staging/stacks?status=RUNING", `"error_code":"RF.10011003"`},
	}
	for _, tt := range bad {
		rec := get(t, server, tt.target, HeaderClientRequestID, clientRequestID)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("GET %s = %d %s, want 400 with %s", tt.target, rec.Code, rec.Body, tt.want)
		}
	}
	page := get(t, server, "/api/products?stable=false&q=auto", HeaderAccept, browserAccept).Body.String()
	for _, want := range []string{`value="auto"`, `<option value="false" selected>`, `hx-get="/api/products?q=auto&amp;stable=false"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the filtered page lacks %s", want)
		}
	}
}
