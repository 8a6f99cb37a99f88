package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"stackboard/models/testdb"
)

// fleetManifest describes n products in one project, each of two layers of two stacks with two services, and
// n more stacks in no product.
func fleetManifest(n int) string {
	var b strings.Builder
	b.WriteString("projects:\n  - id: fleet\n    stacks:\n")
	stack := func(name string) {
		fmt.Fprintf(&b, "      - name: %s\n        status: DEPLOYMENT_COMPLETE\n        services:\n", name)
		for _, svc := range []string{"api", "worker"} {
			fmt.Fprintf(&b, "          - {name: %s, state: DEPLOYED, status: RUNNING, domains: [%s.%s.example.com], image: {name: example/%s, tag: v1}}\n", svc, svc, name, svc)
		}
	}
	for i := range n {
		for _, part := range []string{"db", "cache", "core", "web"} {
			stack(fmt.Sprintf("%s-%d", part, i))
		}
		stack(fmt.Sprintf("loose-%d", i))
	}
	b.WriteString("products:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: product-%d\n    layers:\n      - [db-%d, cache-%d]\n      - [core-%d, web-%d]\n", i, i, i, i, i)
	}
	return b.String()
}

// Every page and its JSON run a fixed number of SQL statements whatever the data size: no N+1. (JSON may run fewer
// than the page of the same URL: it has no health summary to count.)
func TestStatementsPerRequestDoNotGrowWithData(t *testing.T) {
	const most = 5
	targets := []string{"/api/products", "/api/products/product-0", "/v1/fleet/stacks", "/v1/fleet/stacks/db-0",
		"/api/products?stable=true&q=product", "/v1/fleet/stacks?status=RUNNING&q=db",
		"/api/products?limit=10&marker=1", "/v1/fleet/stacks?limit=10"}
	formats := [][]string{
		{HeaderClientRequestID, clientRequestID},
		{HeaderAccept, browserAccept},
		{HeaderHXRequest, "true"},
	}
	counts := make(map[string]int64)
	for _, size := range []int{1, 200} {
		db := openTestDB(t)
		importYAML(t, db, fleetManifest(size))
		counted, counter := testdb.CountStatements(db)
		server := newTestServer(counted)
		for _, target := range targets {
			for _, headers := range formats {
				counter.Reset()
				rec := get(t, server, target, headers...)
				if rec.Code != http.StatusOK {
					t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
				}
				if size == 200 && strings.HasSuffix(target, "s") && headers[0] == HeaderClientRequestID && !strings.Contains(rec.Body.String(), "199") {
					t.Fatalf("GET %s did not list the whole fleet", target)
				}
				key := fmt.Sprintf("%s %v", target, headers)
				n := counter.Count()
				if n == 0 || n > most {
					t.Errorf("%s with %d products: %d statements, want 1 to %d", key, size, n, most)
				}
				if previous, ok := counts[key]; ok && previous != n {
					t.Errorf("%s: %d statements for 1 product but %d for %d", key, previous, n, size)
				}
				counts[key] = n
			}
		}
	}
}

// The counter sees writes as well as reads: a PUT of a product is counted statement by statement, its writes (which
// SQLite runs on the group committer's transaction) included.
func TestStatementCounterCountsAProductReplace(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, fleetManifest(1))
	counted, counter := testdb.CountStatements(db)
	server := newTestServer(counted)
	counter.Reset()
	rec := call(t, server, http.MethodPut, "/api/products/product-0",
		`{"stack_deps":[[{"stack_name":"db-0"}],[{"stack_name":"web-0"},{"stack_name":"core-0"}]]}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	statements := counter.Statements()
	if int64(len(statements)) != counter.Count() {
		t.Fatalf("Count() = %d for %d statements", counter.Count(), len(statements))
	}
	// The writes of a layer replace, in the order they run, among the reads around them.
	writes := []string{"UPDATE products", "DELETE FROM product_stacks", "INSERT INTO product_stacks",
		"INSERT INTO changes", "INSERT INTO requests"}
	next := 0
	for _, s := range statements {
		if next < len(writes) && strings.HasPrefix(strings.NewReplacer("`", "", `"`, "").Replace(s), writes[next]) {
			next++
		}
	}
	if next < len(writes) || len(statements) < len(writes)+5 {
		t.Errorf("counted %d statements, without %q:\n%s", len(statements), writes[min(next, len(writes)-1)], strings.Join(statements, "\n"))
	}
}
