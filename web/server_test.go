package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Shutting down lets a request in flight finish and then returns without error.
func TestGracefulShutdownFinishesRequestsInFlight(t *testing.T) {
	started := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() {
		served <- ListenAndServe(ctx, "127.0.0.1:0", slow, slog.New(slog.DiscardHandler), func(a net.Addr) { addrs <- a })
	}()
	addr := <-addrs
	type result struct {
		body string
		err  error
	}
	results := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr.String() + "/")
		if err != nil {
			results <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		results <- result{string(body), err}
	}()
	<-started
	cancel()
	r := <-results
	if r.err != nil || r.body != "finished" {
		t.Errorf("request in flight: %q, %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("ListenAndServe returned %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

func TestStaticAssetsAreEmbedded(t *testing.T) {
	server := newTestServer(openTestDB(t))
	tests := []struct {
		path, contentType, contains string
	}{
		{"/static/htmx-2.0.11.min.js", "text/javascript", "htmx"},
		{"/static/app.css", "text/css", "light-dark("},
		{"/static/app.js", "text/javascript", "htmx:sseOpen"},
		{"/static/htmx-ext-sse-2.2.4.js", "text/javascript", "sse-connect"},
		{"/static/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tt := range tests {
		rec := get(t, server, tt.path)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.contentType) || !strings.Contains(rec.Body.String(), tt.contains) {
			t.Errorf("GET %s: %d %s", tt.path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	if rec := get(t, server, "/static/"); rec.Code != 404 {
		t.Errorf("the static folder is listed: %d", rec.Code)
	}
	if rec := get(t, server, "/"); rec.Code != http.StatusFound || rec.Header().Get("Location") != "/api/products" {
		t.Errorf("GET / = %d to %q", rec.Code, rec.Header().Get("Location"))
	}
}
