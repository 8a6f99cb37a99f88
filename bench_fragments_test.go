package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"stackboard/models"
	"stackboard/web"
)

// afterWriteCase is a read measured right after one status report, rendered whole or assembled from fragments.
type afterWriteCase struct {
	id, label string
	// path is the URL on a fixture; header picks the format and encoding.
	path   func(f benchFixture) string
	header http.Header
}

var afterWriteCases = []afterWriteCase{
	{"products/json", "`/api/products` json", func(benchFixture) string { return "/api/products" }, http.Header{}},
	{"products/gzip", "`/api/products` json, gzip", func(benchFixture) string { return "/api/products" }, http.Header{"Accept-Encoding": {"gzip"}}},
	{"overview/page", "overview page", func(benchFixture) string { return "/api/products" }, benchFormats[1].header},
	{"stacks/json", "`/v1/{p}/stacks` json", func(f benchFixture) string { return "/v1/" + f.project + "/stacks" }, benchFormats[0].header},
	{"stacks/page", "stack list page", func(f benchFixture) string { return "/v1/" + f.project + "/stacks" }, benchFormats[1].header},
}

// benchmarkReadAfterWrite measures a read right after a status report to one stack of a product, with the
// response cache on (as `serve` runs): the report itself is not timed. whole renders the list afresh, as before
// fragments.
func benchmarkReadAfterWrite(f benchFixture, c afterWriteCase, whole bool) func(b *testing.B) {
	return func(b *testing.B) {
		// The reports write: they get a copy, so that other benchmarks see the generated data.
		path := filepath.Join(b.TempDir(), f.size+".db")
		copyFile(b, f.path, path)
		db, err := models.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { models.Close(db) })
		server := web.NewServer(db, slog.New(slog.DiscardHandler), web.Options{WholeRenders: whole})
		target := c.path(f)
		read := func() int {
			r := httptest.NewRequest(http.MethodGet, target, nil)
			for name, values := range c.header {
				r.Header[name] = values
			}
			w := httptest.NewRecorder()
			server.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("GET %s: %d %.300s", target, w.Code, w.Body)
			}
			return w.Body.Len()
		}
		statuses := []string{"RUNNING", "FAULT"}
		n := 0
		report := func() {
			n++
			target := "/v1/" + f.project + "/stacks/" + f.stack + "/services/bench-probe"
			body := `{"state":"DEPLOYED","status":"` + statuses[n%2] + `","domains":[],"image":{"name":"bench/probe","tag":"v1"}}`
			r := httptest.NewRequest(http.MethodPut, target, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Client-Request-Id", fmt.Sprintf("00000000-0000-4000-8000-%012d", n))
			w := httptest.NewRecorder()
			server.ServeHTTP(w, r)
			if w.Code/100 != 2 {
				b.Fatalf("PUT %s: %d %.300s", target, w.Code, w.Body)
			}
		}
		report()
		// The overview, a dashboard's landing page, loads the fragments' mirror of the fleet that page headers count.
		overview := httptest.NewRequest(http.MethodGet, "/api/products", nil)
		overview.Header = benchFormats[1].header.Clone()
		server.ServeHTTP(httptest.NewRecorder(), overview)
		read() // the first render of the fleet, and SQLite's page cache
		size := 0
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			b.StopTimer()
			report()
			b.StartTimer()
			size = read()
		}
		b.StopTimer()
		b.ReportMetric(float64(size), "bytes")
	}
}

// BenchmarkReadAfterWrite reads the product list, the overview and a stack list right after one status report at
// M and L, rendered whole and assembled from fragments.
func BenchmarkReadAfterWrite(b *testing.B) {
	for _, size := range []string{"M", "L"} {
		f := fixture(b, size)
		for _, c := range afterWriteCases {
			for _, whole := range []bool{true, false} {
				name := "fragments"
				if whole {
					name = "whole"
				}
				b.Run(size+"/"+c.id+"/"+name, benchmarkReadAfterWrite(f, c, whole))
			}
		}
	}
}

// readAfterWriteHeader heads the report's table of reads right after one write, whole against fragments.
var readAfterWriteHeader = []string{"size", "read right after one status report (in process, cache on)", "whole render", "from fragments", "whole ÷ fragments", "allocs whole / fragments", "bytes", "command"}

// readAfterWriteRows measures every case at one size.
func readAfterWriteRows(f benchFixture) [][]string {
	var rows [][]string
	for _, c := range afterWriteCases {
		whole := testing.Benchmark(benchmarkReadAfterWrite(f, c, true))
		parts := testing.Benchmark(benchmarkReadAfterWrite(f, c, false))
		rows = append(rows, []string{f.size, c.label, duration(whole.NsPerOp()), duration(parts.NsPerOp()),
			strconv.FormatFloat(float64(whole.NsPerOp())/float64(parts.NsPerOp()), 'f', 1, 64) + "×",
			strconv.FormatInt(whole.AllocsPerOp(), 10) + " / " + strconv.FormatInt(parts.AllocsPerOp(), 10),
			strconv.FormatFloat(parts.Extra["bytes"], 'f', 0, 64),
			"`go test -run '^$' -bench '^BenchmarkReadAfterWrite/" + f.size + "/" + c.id + "/' .`"})
		progress("%s %s after one write: whole %s, fragments %s", f.size, c.label, duration(whole.NsPerOp()), duration(parts.NsPerOp()))
	}
	return rows
}
