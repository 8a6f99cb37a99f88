package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"stackboard/web"
)

// BenchmarkStatusReport is one deploy tool's status reports, one after another, in process: a PATCH of a stack's
// status and a PUT of one of its services in turn, each a real change with its own Client-Request-Id. Its time per
// report is what the group committer spends on one write when nothing else runs, the bound on the reports a
// second that writers flat out can get.
func BenchmarkStatusReport(b *testing.B) {
	for _, size := range []string{"M", "L"} {
		b.Run(size, benchmarkStatusReport(fixture(b, size)))
	}
}

// benchmarkStatusReport reports to one stack of f, alternating a PATCH and a PUT.
func benchmarkStatusReport(f benchFixture) func(b *testing.B) {
	return func(b *testing.B) {
		// The reports write: they get a copy, so that other benchmarks see the generated data.
		copied := f
		copied.path = filepath.Join(b.TempDir(), f.size+".db")
		copyFile(b, f.path, copied.path)
		server, counter, _ := openBenchServer(b, copied, web.Options{})
		statuses := []string{"DEPLOYMENT_IN_PROGRESS", "DEPLOYMENT_COMPLETE"}
		runs := []string{"RUNNING", "PARTIALLY-RUNNING"}
		stack := "/v1/" + f.project + "/stacks/" + f.stack
		n := 0
		b.ReportAllocs()
		counter.Reset()
		for b.Loop() {
			n++
			method, target, body := http.MethodPatch, stack, `{"status":"`+statuses[n/2%2]+`"}`
			if n%2 == 1 {
				method, target = http.MethodPut, stack+"/services/bench-report"
				body = `{"state":"DEPLOYED","status":"` + runs[n/2%2] + `","image":{"name":"bench/report","tag":"1"}}`
			}
			r := httptest.NewRequest(method, target, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Client-Request-Id", uuid.NewString())
			w := httptest.NewRecorder()
			server.ServeHTTP(w, r)
			if w.Code/100 != 2 || w.Header().Get("X-Replayed") != "" {
				b.Fatalf("%s %s: %d %.300s", method, target, w.Code, w.Body)
			}
		}
		b.ReportMetric(float64(counter.Count())/float64(b.N), "SQL/op")
	}
}
