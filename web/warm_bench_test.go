package web

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gorm.io/gorm"

	"stackboard/models"
)

// warmTargets are the documented endpoints and pages the load runs ask for warm, in the formats they use there
// (bench_load_test.go's loadTargets), over the spec examples.
var warmTargets = []struct {
	name    string
	target  string
	headers []string
}{
	{"products-json", "/api/products", []string{HeaderClientRequestID, clientRequestID}},
	{"products-gzip", "/api/products", []string{HeaderClientRequestID, clientRequestID, HeaderAcceptEncoding, "gzip"}},
	{"overview-page", "/api/products", []string{HeaderAccept, benchPageAccept}},
	{"product-json", "/api/products/kodo", []string{HeaderClientRequestID, clientRequestID}},
	{"product-page", "/api/products/kodo", []string{HeaderAccept, benchPageAccept}},
	{"stacks-json", "/v1/" + rfsProject + "/stacks", []string{HeaderClientRequestID, clientRequestID}},
	{"stacks-page", "/v1/" + rfsProject + "/stacks", []string{HeaderAccept, benchPageAccept}},
	{"stack-json", "/v1/" + rfsProject + "/stacks/kodo", []string{HeaderClientRequestID, clientRequestID}},
	{"stack-page", "/v1/" + rfsProject + "/stacks/kodo", []string{HeaderAccept, benchPageAccept}},
	{"events-json", "/v1/" + rfsProject + "/stacks/kodo/events", []string{HeaderClientRequestID, clientRequestID}},
}

// benchPageAccept is the Accept of the load runs' page requests.
const benchPageAccept = "text/html,application/xhtml+xml,*/*;q=0.8"

// wireWriter stands in for net/http's response writer, doing what it does per request with the headers: a fresh
// map for the handler, a copy of it taken when the status is written, and every header written out sorted, the
// body after them. A handler's cost in headers shows as it would on the wire.
type wireWriter struct {
	header http.Header
	status int
	out    bytes.Buffer
}

func (w *wireWriter) reset() {
	w.header, w.status = make(http.Header), 0
	w.out.Reset()
}

func (w *wireWriter) Header() http.Header { return w.header }

func (w *wireWriter) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status = status
	w.out.WriteString("HTTP/1.1 ")
	w.out.WriteString(strconv.Itoa(status))
	w.out.WriteString("\r\nDate: Wed, 02 Dec 2026 06:00:00 GMT\r\n")
	sent := w.header.Clone()
	sent.Write(&w.out)
	w.out.WriteString("\r\n")
}

func (w *wireWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.out.Write(b)
}

// bareHandler is the load runs' bare server (TestBareServer) for one answer: it finds the answer by the request's
// variant and writes its Content-Type, Content-Encoding and Content-Length, then its bytes.
func bareHandler(answers map[string]*httptest.ResponseRecorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer, ok := answers[r.URL.Path+" "+r.Header.Get("Accept")+" "+r.Header.Get("Accept-Encoding")+" "+r.Header.Get("Hx-Request")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", answer.Header().Get("Content-Type"))
		if coding := answer.Header().Get("Content-Encoding"); coding != "" {
			w.Header().Set("Content-Encoding", coding)
		}
		w.Header().Set("Content-Length", strconv.Itoa(answer.Body.Len()))
		w.Write(answer.Body.Bytes())
	})
}

// sameHeadersHandler is bareHandler writing every header stackboard wrote too (security headers, Vary, ETag,
// request ids), from values made once: what any handler that keeps those headers costs at the least.
func sameHeadersHandler(answers map[string]*httptest.ResponseRecorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer, ok := answers[r.URL.Path+" "+r.Header.Get("Accept")+" "+r.Header.Get("Accept-Encoding")+" "+r.Header.Get("Hx-Request")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		for name, values := range answer.Header() {
			h[name] = values
		}
		w.WriteHeader(http.StatusOK)
		w.Write(answer.Body.Bytes())
	})
}

// BenchmarkWarmAnswer serves each documented endpoint and page from the warm cache, through the whole server
// (Host check, security headers, negotiation, routing, access, metrics, access log), beside a bare handler that
// writes the same bytes: the target is ≥ 0.9× the bare handler's rate. "same-headers" is the bare handler
// writing all of stackboard's headers too, the floor of any handler that keeps them.
//
//	go test -run '^$' -bench BenchmarkWarmAnswer -benchmem ./web/
func BenchmarkWarmAnswer(b *testing.B) {
	db := openBenchDB(b)
	server := newTestServer(db)
	answers := make(map[string]*httptest.ResponseRecorder)
	requests := make(map[string]*http.Request)
	for _, tc := range warmTargets {
		r := httptest.NewRequest(http.MethodGet, tc.target, nil)
		for i := 0; i+1 < len(tc.headers); i += 2 {
			r.Header.Set(tc.headers[i], tc.headers[i+1])
		}
		rec := httptest.NewRecorder()
		server.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: status %d: %.300s", tc.name, rec.Code, rec.Body)
		}
		answers[r.URL.Path+" "+r.Header.Get("Accept")+" "+r.Header.Get("Accept-Encoding")+" "+r.Header.Get("Hx-Request")] = rec
		requests[tc.name] = r
	}
	bare, same := bareHandler(answers), sameHeadersHandler(answers)
	for _, tc := range warmTargets {
		r := requests[tc.name]
		for _, side := range []struct {
			name string
			h    http.Handler
		}{{"stackboard", server}, {"bare", bare}, {"same-headers", same}} {
			b.Run(tc.name+"/"+side.name, func(b *testing.B) {
				w := &wireWriter{}
				b.ReportAllocs()
				for b.Loop() {
					w.reset()
					side.h.ServeHTTP(w, r)
					if w.status != http.StatusOK {
						b.Fatalf("%s %s: status %d: %.300s", side.name, tc.name, w.status, w.out.Bytes())
					}
				}
			})
		}
	}
}

// openBenchDB opens the spec examples in a SQLite database of the benchmark's own.
func openBenchDB(b *testing.B) *gorm.DB {
	b.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, filepath.Join(b.TempDir(), "warm.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { models.Close(db) })
	f, err := os.Open(filepath.Join("..", "testdata", "spec", "list-products.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	file, err := models.DecodeManifest("list-products.yaml", f)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := models.Import(ctx, db, file); err != nil {
		b.Fatal(err)
	}
	return db
}
