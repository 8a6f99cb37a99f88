package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"stackboard/web"
)

// BenchmarkMetricsScrape measures a Prometheus scrape of /metrics at every size: "steady" while the data stays
// the same (the fleet is read once per data version), "changed" after a status report each time (the fleet is
// read again). The target is at most 10 ms a scrape at L.
func BenchmarkMetricsScrape(b *testing.B) {
	for _, size := range benchSizes {
		f := fixture(b, size)
		for _, changed := range []bool{false, true} {
			name := size + "/steady"
			if changed {
				name = size + "/changed"
			}
			b.Run(name, func(b *testing.B) {
				server, _, _ := openBenchServer(b, f, web.Options{})
				service := "/v1/" + f.project + "/stacks/" + f.stack + "/services/bench"
				statuses := []string{"RUNNING", "FAULT"}
				scrape := func() {
					w := httptest.NewRecorder()
					server.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
					if w.Code != http.StatusOK {
						b.Fatalf("GET /metrics: %d %.300s", w.Code, w.Body)
					}
					// A scrape without the fleet would measure nothing of what the target is about.
					if !bytes.Contains(w.Body.Bytes(), []byte(`stackboard_product_stable{product="`+f.product+`"}`)) {
						b.Fatalf("GET /metrics lacks the fleet metrics of product %s", f.product)
					}
				}
				scrape()
				b.ReportAllocs()
				b.ResetTimer()
				i := 0
				for b.Loop() {
					if changed {
						b.StopTimer()
						i++
						body := `{"state":"DEPLOYED","status":"` + statuses[i%2] + `","image":{"name":"bench"}}`
						r := httptest.NewRequest(http.MethodPut, service, strings.NewReader(body))
						r.Header.Set("Content-Type", "application/json")
						r.Header.Set("Client-Request-Id", uuid.NewString())
						w := httptest.NewRecorder()
						server.ServeHTTP(w, r)
						if w.Code != http.StatusOK && w.Code != http.StatusCreated {
							b.Fatalf("PUT %s: %d %.300s", service, w.Code, w.Body)
						}
						b.StartTimer()
					}
					scrape()
				}
			})
		}
	}
}
