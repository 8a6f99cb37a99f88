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

// BenchmarkStatusReport is deploy tools' status reports, one after another, in process: a PATCH of a stack's
// status and a PUT of one of its services in turn, each a real change with its own Client-Request-Id. Its time per
// report is what the group committer spends on one write when nothing else runs, the bound on the reports a
// second that writers flat out can get. "L" reports to one stack, whose pages stay in SQLite's cache; "L-project"
// walks every stack of the project as the load runs' writers do (a prime stride), so that most of what a report
// reads and writes is a page the report before did not touch.
func BenchmarkStatusReport(b *testing.B) {
	for _, size := range []string{"M", "L"} {
		f := fixture(b, size)
		b.Run(size, benchmarkStatusReport(f, []string{f.stack}))
		b.Run(size+"-project", benchmarkStatusReport(f, f.stacks))
	}
}

// benchmarkStatusReport reports to the named stacks of f's project, a PATCH and a PUT in turn, each kind walking
// them (walkStack).
func benchmarkStatusReport(f benchFixture, stacks []string) func(b *testing.B) {
	return func(b *testing.B) {
		// The reports write: they get a copy, so that other benchmarks see the generated data.
		copied := f
		copied.path = filepath.Join(b.TempDir(), f.size+".db")
		copyFile(b, f.path, copied.path)
		server, counter, _ := openBenchServer(b, copied, web.Options{})
		statuses := []string{"DEPLOYMENT_IN_PROGRESS", "DEPLOYMENT_COMPLETE"}
		runs := []string{"RUNNING", "PARTIALLY-RUNNING"}
		n := 0
		b.ReportAllocs()
		counter.Reset()
		for b.Loop() {
			n++
			name, round := walkStack(stacks, n/2)
			stack := "/v1/" + f.project + "/stacks/" + name
			method, target, body := http.MethodPatch, stack, `{"status":"`+statuses[round]+`"}`
			if n%2 == 1 {
				method, target = http.MethodPut, stack+"/services/bench-report"
				body = `{"state":"DEPLOYED","status":"` + runs[round] + `","image":{"name":"bench/report","tag":"1"}}`
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
