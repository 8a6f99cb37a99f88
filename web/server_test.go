package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
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

// Pages link to assets by content-hashed names, which browsers may keep for a year.
func TestPagesLinkImmutableHashedAssets(t *testing.T) {
	server := newTestServer(openTestDB(t))
	page := get(t, server, "/api/products", HeaderAccept, browserAccept).Body.String()
	links := regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(links) < 4 {
		t.Fatalf("the page links %d assets, want the stylesheet, the scripts and the icon", len(links))
	}
	hashed := regexp.MustCompile(`^/static/[a-z0-9.-]+\.[0-9a-f]{10}\.(css|js|svg)$`)
	for _, link := range links {
		target := link[1]
		if !hashed.MatchString(target) {
			t.Errorf("%s is not a content-hashed name", target)
			continue
		}
		rec := get(t, server, target)
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("GET %s: %d", target, rec.Code)
		}
		if got := rec.Header().Get(HeaderCacheControl); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", target, got)
		}
	}
	if rec := get(t, server, "/static/app.0000000000.css"); rec.Code != http.StatusNotFound {
		t.Errorf("a hashed name of no asset: %d, want 404", rec.Code)
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
	for _, tt := range tests {
		if got := get(t, server, tt.path).Header().Get(HeaderCacheControl); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q; a name that does not change with the content must be revalidated", tt.path, got)
		}
	}
	if rec := get(t, server, "/static/"); rec.Code != 404 {
		t.Errorf("the static folder is listed: %d", rec.Code)
	}
	if rec := get(t, server, "/"); rec.Code != http.StatusFound || rec.Header().Get("Location") != "/api/products" {
		t.Errorf("GET / = %d to %q", rec.Code, rec.Header().Get("Location"))
	}
}
