package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// soakDuration is how long the soak runs: 8 s in make test, longer with STACKBOARD_SOAK=2m (a Go duration).
func soakDuration(t *testing.T) time.Duration {
	if value := os.Getenv("STACKBOARD_SOAK"); value != "" {
		d, err := time.ParseDuration(value)
		if err != nil {
			t.Fatalf("STACKBOARD_SOAK=%q: %v", value, err)
		}
		return d
	}
	return 8 * time.Second
}

// Mixed reads, writes and event streams against a real server on a real SQLite file give no 5xx.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak is not short")
	}
	var logs lockedLog
	server := NewServer(openTestDB(t, "spec/list-products.yaml"), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan error, 1)
	go func() { running <- server.Run(ctx) }()
	httpServer := httptest.NewServer(server)
	defer func() {
		cancel()
		httpServer.CloseClientConnections()
		httpServer.Close()
		<-running
	}()
	base := httpServer.URL
	const p = "/v1/" + rfsProject
	var requests, fivexx, events atomic.Int64
	deadline := time.Now().Add(soakDuration(t))
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, body string, html bool) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set(HeaderClientRequestID, fmt.Sprintf("soak-%d-%s", time.Now().UnixNano(), strings.Repeat("0", 30)))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if html {
			req.Header.Set(HeaderAccept, "text/html")
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				t.Errorf("%s %s: %v", method, path, err)
			}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		requests.Add(1)
		if resp.StatusCode >= 500 {
			fivexx.Add(1)
			t.Errorf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
	var wg sync.WaitGroup
	loop := func(fn func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				fn(i)
			}
		}()
	}
	statuses := []string{"RUNNING", "FAULT", "PARTIALLY-RUNNING", "NOT-RUNNING"}
	for w := 0; w < 2; w++ {
		loop(func(i int) {
			body := fmt.Sprintf(`{"state":"DEPLOYED","status":%q,"domains":["d%d.example.com"],"image":{"name":"img","tag":"v%d"}}`, statuses[i%4], i%7, i%3)
			do("PUT", fmt.Sprintf("%s/stacks/kodo/services/soak%d", p, i%5), body, false)
			if i%10 == 0 {
				do("PATCH", p+"/stacks/memcached", fmt.Sprintf(`{"description":"soak %d"}`, i), false)
			}
		})
	}
	reads := []struct {
		path string
		html bool
	}{
		{"/api/products", false}, {"/api/products", true}, {p + "/stacks", false}, {p + "/stacks/kodo", true},
		{p + "/stacks/kodo/events?limit=20", false}, {"/api/products/kodo", true}, {"/healthz", false},
	}
	for r := 0; r < 3; r++ {
		loop(func(i int) {
			read := reads[(i+r)%len(reads)]
			do("GET", read.path, "", read.html)
		})
	}
	for s := 0; s < 2; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				streamCtx, stop := context.WithDeadline(ctx, deadline)
				req, _ := http.NewRequestWithContext(streamCtx, "GET", base+"/events?topics=project-"+rfsProject+",products", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					stop()
					continue
				}
				requests.Add(1)
				if resp.StatusCode >= 500 {
					fivexx.Add(1)
					t.Errorf("GET /events: %d", resp.StatusCode)
				}
				lines := bufio.NewScanner(resp.Body)
				for n := 0; n < 20 && lines.Scan(); n++ {
					if strings.HasPrefix(lines.Text(), "event:") {
						events.Add(1)
					}
				}
				resp.Body.Close()
				stop()
			}
		}()
	}
	wg.Wait()
	t.Logf("soak: %d requests, %d 5xx, %d live events in %v", requests.Load(), fivexx.Load(), events.Load(), soakDuration(t))
	if strings.Contains(logs.String(), "panic") {
		t.Errorf("the server log holds a panic:\n%s", logs.String())
	}
}
