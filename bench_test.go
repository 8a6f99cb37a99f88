package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/models/testdb"
	"stackboard/web"
)

// benchSizes are the data sets `stackboard generate` makes, smallest first.
var benchSizes = []string{"S", "M", "L"}

// benchFixture is a generated database and the URLs worth measuring on it.
type benchFixture struct {
	size string
	path string
	// project, product and stack are real names in the data, for the URLs below.
	project, product, stack string
	// stacks names every stack of project, in pk order: the stacks the writers of the load runs walk.
	stacks []string
}

// benchRequest is one URL in one format.
type benchRequest struct {
	// id names the request in benchmark names (no slashes); name shows its route.
	id     string
	name   string
	format string
	target string
	header http.Header
}

// Formats a URL answers in, and the headers that pick them.
var benchFormats = []struct {
	name   string
	header http.Header
}{
	{"json", http.Header{"Client-Request-Id": {"0e6f3a38-6a35-4bd5-9a0b-6c1d2e3f4a5b"}}},
	{"page", http.Header{"Accept": {"text/html,application/xhtml+xml,*/*;q=0.8"}}},
	{"partial", http.Header{"Hx-Request": {"true"}}},
}

// requests lists every page and JSON endpoint of the fixture, in every format.
func (f benchFixture) requests() []benchRequest {
	stacks := "/v1/" + f.project + "/stacks"
	urls := []struct{ id, name, target string }{
		{"products", "/api/products", "/api/products"},
		{"unstable-products", "/api/products?stable=false", "/api/products?stable=false"},
		{"product", "/api/products/{name}", "/api/products/" + f.product},
		{"product-names", "/api/products/names", "/api/products/names"},
		{"stacks", "/v1/{p}/stacks", stacks},
		{"stacks-page", "/v1/{p}/stacks?limit=100", stacks + "?limit=100"},
		{"stack", "/v1/{p}/stacks/{name}", stacks + "/" + f.stack},
		{"stack-metadata", "/v1/{p}/stacks/{name}/metadata", stacks + "/" + f.stack + "/metadata"},
		{"stack-events", "/v1/{p}/stacks/{name}/events", stacks + "/" + f.stack + "/events"},
	}
	var out []benchRequest
	for _, u := range urls {
		for _, format := range benchFormats {
			if format.name != "json" && (u.name == "/api/products/names" || u.name == "/v1/{p}/stacks/{name}/metadata") {
				continue // JSON only
			}
			out = append(out, benchRequest{id: u.id, name: u.name, format: format.name, target: u.target, header: format.header})
		}
	}
	return out
}

// fixtures are generated once per test binary run, in a directory TestMain removes.
var fixtures struct {
	sync.Mutex
	dir    string
	bySize map[string]benchFixture
}

// fixture generates (once) the database of a size with `stackboard generate` and finds names to ask for.
func fixture(tb testing.TB, size string) benchFixture {
	tb.Helper()
	fixtures.Lock()
	defer fixtures.Unlock()
	if f, ok := fixtures.bySize[size]; ok {
		return f
	}
	if fixtures.dir == "" {
		dir, err := os.MkdirTemp("", "stackboard-bench-")
		if err != nil {
			tb.Fatal(err)
		}
		fixtures.dir = dir
		fixtures.bySize = make(map[string]benchFixture)
	}
	path := filepath.Join(fixtures.dir, size+".db")
	err := run(context.Background(), []string{"generate", "--size", size, "--db", path}, func(string) string { return "" }, io.Discard, os.Stderr)
	if err != nil {
		tb.Fatalf("generate %s: %v", size, err)
	}
	f := benchFixture{size: size, path: path}
	pickNames(tb, &f)
	fixtures.bySize[size] = f
	return f
}

// pickNames finds the names a fixture's URLs ask for in its database.
func pickNames(tb testing.TB, f *benchFixture) {
	tb.Helper()
	db, err := models.Open(context.Background(), f.path)
	if err != nil {
		tb.Fatal(err)
	}
	defer models.Close(db)
	// The median product by key, its project, and a stack of its first layer: a typical, not a first, row.
	var pick struct {
		Product, Project, Stack string
	}
	err = db.Raw(`SELECT p.name AS product, p.project_id AS project, s.name AS stack
		FROM products p JOIN product_stacks ps ON ps.product_pk = p.pk JOIN stacks s ON s.pk = ps.stack_pk
		WHERE p.pk >= (SELECT (MIN(pk) + MAX(pk)) / 2 FROM products)
		ORDER BY p.pk, ps.layer, ps.ordinal LIMIT 1`).Scan(&pick).Error
	if err != nil || pick.Product == "" {
		tb.Fatalf("no product in the %s data set: %v", f.size, err)
	}
	f.project, f.product, f.stack = pick.Project, pick.Product, pick.Stack
	if err := db.Raw(`SELECT name FROM stacks WHERE project_id = ? ORDER BY pk`, f.project).Scan(&f.stacks).Error; err != nil {
		tb.Fatalf("the stacks of %s: %v", f.project, err)
	}
}

// walkStack is where the seq-th status report of its kind goes when reports walk every stack of stacks once a round
// (7919 is prime, so the stride reaches them all), and which of two values it reports: each round flips what the
// round before reported, so that every report is a real change.
func walkStack(stacks []string, seq int) (name string, round int) {
	return stacks[seq*7919%len(stacks)], seq / len(stacks) % 2
}

func removeFixtures() {
	fixtures.Lock()
	defer fixtures.Unlock()
	if fixtures.dir != "" {
		os.RemoveAll(fixtures.dir)
	}
}

// openBenchServer serves a fixture in this process; opts.CacheBytes < 0 turns the response cache off so that every
// request renders, and opts.WholeRenders renders the lists whole instead of from kept fragments. The returned
// counter counts SQL statements.
func openBenchServer(tb testing.TB, f benchFixture, opts web.Options) (*web.Server, *testdb.StatementCounter, *gorm.DB) {
	tb.Helper()
	db, err := models.Open(context.Background(), f.path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { models.Close(db) })
	counted, counter := testdb.CountStatements(db)
	server := web.NewServer(counted, slog.New(slog.DiscardHandler), opts)
	return server, counter, db
}

// serveOnce answers one request in memory and fails the benchmark on anything but a 200.
func serveOnce(tb testing.TB, h http.Handler, req benchRequest) int {
	r := httptest.NewRequest(http.MethodGet, req.target, nil)
	for name, values := range req.header {
		r.Header[name] = values
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		tb.Fatalf("GET %s (%s): %d %.300s", req.target, req.format, w.Code, w.Body)
	}
	return w.Body.Len()
}

// benchmarkRender measures one request rendered from the database each time (the cache off, the lists rendered
// whole rather than from fragments): the cost of a first read. It reports SQL statements and response bytes per
// request.
func benchmarkRender(f benchFixture, req benchRequest) func(b *testing.B) {
	return func(b *testing.B) {
		server, counter, _ := openBenchServer(b, f, web.Options{CacheBytes: -1, WholeRenders: true})
		serveOnce(b, server, req) // warm SQLite's page cache and prepared statements
		counter.Reset()
		size := 0
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			size = serveOnce(b, server, req)
		}
		b.StopTimer()
		b.ReportMetric(float64(counter.Count())/float64(b.N), "SQL/op")
		b.ReportMetric(float64(size), "bytes")
	}
}

// benchmarkCached measures the same request answered from the response cache.
func benchmarkCached(f benchFixture, req benchRequest) func(b *testing.B) {
	return func(b *testing.B) {
		server, counter, _ := openBenchServer(b, f, web.Options{})
		serveOnce(b, server, req)
		counter.Reset()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			serveOnce(b, server, req)
		}
		b.StopTimer()
		b.ReportMetric(float64(counter.Count())/float64(b.N), "SQL/op")
	}
}

// BenchmarkRender renders every page and JSON endpoint at every size, as after a change (no cache).
func BenchmarkRender(b *testing.B) {
	for _, size := range benchSizes {
		f := fixture(b, size)
		for _, req := range f.requests() {
			b.Run(size+"/"+req.id+"/"+req.format, benchmarkRender(f, req))
		}
	}
}

// BenchmarkCached answers every page and JSON endpoint at every size from the response cache.
func BenchmarkCached(b *testing.B) {
	for _, size := range benchSizes {
		f := fixture(b, size)
		for _, req := range f.requests() {
			b.Run(size+"/"+req.id+"/"+req.format, benchmarkCached(f, req))
		}
	}
}

// The generated data sets answer every endpoint in every format with at most five SQL statements, at every size.
func TestGeneratedFleetsStayWithinFiveStatements(t *testing.T) {
	sizes := benchSizes
	if testing.Short() || os.Getenv("STACKBOARD_BENCH") == "" {
		sizes = []string{"S", "M"} // L takes a while to generate; `make bench` checks it
	}
	for _, size := range sizes {
		f := fixture(t, size)
		for _, whole := range []bool{false, true} {
			server, counter, _ := openBenchServer(t, f, web.Options{CacheBytes: -1, WholeRenders: whole})
			for _, req := range f.requests() {
				counter.Reset()
				serveOnce(t, server, req)
				if n := counter.Count(); n < 1 || n > 5 {
					t.Errorf("%s %s (%s, whole renders %v): %d SQL statements, want 1 to 5", size, req.name, req.format, whole, n)
				}
			}
		}
	}
}
