package web

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"stackboard/handlers"
)

// startServer runs server (its change watcher too) behind a real HTTP listener until the test ends.
func startServer(t *testing.T, server *Server) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan error, 1)
	go func() { running <- server.Run(ctx) }()
	waitWatching(t, server)
	httpServer := httptest.NewServer(server)
	t.Cleanup(func() {
		httpServer.Close()
		cancel()
		if err := <-running; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return httpServer
}

// waitWatching waits until the server's change watcher has made its first look, so that a write made after it
// is one the watcher will see as a change.
func waitWatching(t *testing.T, server *Server) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		server.watch.mu.Lock()
		watching := !server.watch.checked.IsZero()
		server.watch.mu.Unlock()
		if watching {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the change watcher did not start within 10 s")
		}
	}
}

// openStream subscribes to topics with the given headers and returns the status and, on 200, the events.
func openStream(t *testing.T, url, topics string, headers ...string) (int, <-chan sseEvent) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+"/events?topics="+topics, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, readEvents(bufio.NewReader(resp.Body))
}

// A client that gives up on a read while its answer renders leaves nothing wrong behind: the render goes on
// detached from it, and the next client gets the whole answer, from the cache.
func TestCancelledReadDoesNotPoisonTheCache(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	server := newTestServer(db)
	full := get(t, server, "/api/products").Body.String()
	if len(full) < 100 {
		t.Fatalf("the product list is only %d bytes", len(full))
	}
	for _, format := range [][]string{nil, {HeaderAccept, browserAccept}, {HeaderHXRequest, "true"}} {
		// A write makes every cached answer old, so the next read renders.
		send(t, server, http.MethodPatch, "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks/kodo", `{"description":"changed"}`,
			HeaderClientRequestID, clientRequestID+"-"+strings.Join(format, ""))
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the client is gone before the render even starts
		req := httptest.NewRequest(http.MethodGet, "/api/products", nil).WithContext(ctx)
		for i := 0; i+1 < len(format); i += 2 {
			req.Header.Set(format[i], format[i+1])
		}
		server.ServeHTTP(httptest.NewRecorder(), req)

		deadline := time.Now().Add(5 * time.Second)
		for {
			rec := get(t, server, "/api/products", format...)
			if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
				t.Fatalf("%v: after a cancelled read: %d, %d bytes", format, rec.Code, rec.Body.Len())
			}
			if format == nil && !strings.Contains(rec.Body.String(), `"product_name":"kodo"`) {
				t.Fatalf("the JSON after a cancelled read is not the product list: %.200s", rec.Body)
			}
			if entries, _ := server.cache.stats(); entries > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// A render shared by several clients runs on none of their contexts: the impatient first one does not fail the
// others that wait for the same render.
func TestSharedRenderOutlivesItsFirstClient(t *testing.T) {
	server := newTestServer(openTestDB(t))
	started, release := make(chan struct{}), make(chan struct{})
	var renders atomic.Int32
	slow := server.common(server.pipeline(route{family: handlers.FamilySpock, cached: true}, func(w http.ResponseWriter, r *http.Request) error {
		if renders.Add(1) == 1 {
			close(started)
		}
		<-release
		if err := r.Context().Err(); err != nil {
			return err
		}
		w.Header().Set(HeaderContentType, contentTypeJSON)
		_, err := w.Write([]byte(`{"ok":true}`))
		return err
	}))

	firstCtx, cancelFirst := context.WithCancel(context.Background())
	firstDone := make(chan struct{})
	go func() {
		defer close(firstDone)
		slow.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/slow", nil).WithContext(firstCtx))
	}()
	<-started
	second := make(chan *httptest.ResponseRecorder)
	go func() { second <- get(t, slow, "/slow") }()
	time.Sleep(20 * time.Millisecond) // the second client joins the running render
	cancelFirst()
	select {
	case <-firstDone:
	case <-time.After(2 * time.Second):
		t.Fatal("the cancelled client kept waiting for the render")
	}
	close(release)
	rec := <-second
	if rec.Code != http.StatusOK || rec.Body.String() != `{"ok":true}` {
		t.Errorf("the waiting client got %d %q", rec.Code, rec.Body)
	}
	if n := renders.Load(); n != 1 {
		t.Errorf("%d renders, want the one both clients shared", n)
	}
	if rec := get(t, slow, "/slow"); rec.Body.String() != `{"ok":true}` || renders.Load() != 1 {
		t.Errorf("the next client was not answered from the cache: %q after %d renders", rec.Body, renders.Load())
	}
}

// If-None-Match follows RFC 9110: a current tag (strong or weak) is a 304, "*" is a 304 only for a resource that
// exists, and a missing resource is a 404 whatever the precondition.
func TestIfNoneMatchFollowsRFC9110(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	etag := get(t, server, "/api/products/kodo").Header().Get(HeaderETag)
	if etag == "" {
		t.Fatal("no ETag on a product")
	}
	tests := []struct {
		name, target, ifNoneMatch string
		want                      int
	}{
		{"current tag", "/api/products/kodo", etag, http.StatusNotModified},
		{"current tag, weak", "/api/products/kodo", "W/" + etag, http.StatusNotModified},
		{"current tag in a list", "/api/products/kodo", `"other", ` + etag, http.StatusNotModified},
		{"another tag", "/api/products/kodo", `"other"`, http.StatusOK},
		{"any tag, resource exists", "/api/products/kodo", "*", http.StatusNotModified},
		{"any tag, missing product", "/api/products/does-not-exist", "*", http.StatusNotFound},
		{"any tag, missing stack", "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks/nope", "*", http.StatusNotFound},
		{"any tag, no such URL", "/api/nothing-here", "*", http.StatusNotFound},
		{"a product's tag on a missing one", "/api/products/does-not-exist", etag, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, server, tt.target, HeaderIfNoneMatch, tt.ifNoneMatch, HeaderClientRequestID, clientRequestID)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == http.StatusNotModified && (rec.Body.Len() != 0 || rec.Header().Get(HeaderETag) == "") {
				t.Errorf("a 304 with %d bytes and ETag %q", rec.Body.Len(), rec.Header().Get(HeaderETag))
			}
		})
	}
}

// A reader whose token sees one project hears only of that project's changes, and may not subscribe to another
// project's topics.
func TestScopedStreamCarriesOnlyVisibleProjects(t *testing.T) {
	served, writer := openTwoPools(t)
	importYAML(t, writer, `
projects:
  - id: team1
    stacks: [{name: web}]
  - id: team2
    stacks: [{name: web}]
products:
  - {name: shop1, project: team1, layers: [[web]]}
  - {name: shop2, project: team2, layers: [[web]]}
`)
	var team2StackID string
	if err := writer.Raw(`SELECT stack_id FROM stacks WHERE project_id = 'team2'`).Scan(&team2StackID).Error; err != nil {
		t.Fatal(err)
	}
	server := NewServer(served, slog.New(slog.DiscardHandler), Options{Tokens: testTokens(t), AuthReads: true})
	url := startServer(t, server).URL

	for _, topics := range []string{"project-team2", "products,product-shop2", "stack-" + team2StackID, "stack-no-such-id", "anything-else"} {
		if status, _ := openStream(t, url, topics, HeaderAuthToken, team1ReaderSecret); status != http.StatusForbidden {
			t.Errorf("team1's reader subscribing to %s: %d, want 403", topics, status)
		}
	}
	if status, _ := openStream(t, url, "products", HeaderAuthToken, unknownSecret); status != http.StatusUnauthorized {
		t.Errorf("an unknown token subscribing: %d, want 401", status)
	}

	status, scoped := openStream(t, url, "products,project-team1,product-shop1", HeaderAuthToken, team1ReaderSecret)
	if status != http.StatusOK {
		t.Fatalf("team1's reader subscribing to its own topics: %d", status)
	}
	_, everyone := openStream(t, url, "products,project-team2", HeaderAuthToken, readerSecret)
	waitForEvent(t, scoped, "hello", time.Second)
	waitForEvent(t, everyone, "hello", time.Second)

	importYAML(t, writer, "projects:\n  - id: team2\n    stacks:\n      - {name: web, description: changed in team2}\n")
	waitForEvent(t, everyone, "project-team2", 2*time.Second)
	importYAML(t, writer, "projects:\n  - id: team1\n    stacks:\n      - {name: web, description: changed in team1}\n")
	var got []string
	for ev := range scoped {
		if ev.name == "changed" {
			break
		}
		got = append(got, ev.name)
	}
	joined := strings.Join(got, ",")
	if !strings.Contains(joined, "project-team1") || strings.Contains(joined, "team2") {
		t.Errorf("team1's reader heard %v, want team1's change only", got)
	}
	// The first change after hello is team1's: team2's earlier one never reached the scoped stream.
	if strings.Count(joined, "products") != 1 {
		t.Errorf("team1's reader heard the overview topic %d times, want once (team1's change only): %v", strings.Count(joined, "products"), got)
	}
}

// When the change watcher fails, the server says so instead of going quiet: /readyz is a 503 (/healthz, liveness, stays 200), streams stay open
// and say "stale", reads stop trusting the cache, and when the watcher is back streams say "live".
func TestWatcherFailureIsReportedAndRetried(t *testing.T) {
	served, writer := openTwoPools(t)
	importFile(t, writer, filepath.Join("..", "testdata", "spec", "list-products.yaml"))
	server := newTestServer(served)
	url := startServer(t, server).URL
	_, events := openStream(t, url, "products")
	waitForEvent(t, events, "hello", time.Second)
	healthz := func() int {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Ready once the watcher has looked (on a loaded machine its first look can take a moment).
	for deadline := time.Now().Add(5 * time.Second); healthz() != http.StatusOK; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not ready while watching: %d", healthz())
		}
	}
	get(t, server, "/api/products") // cached now

	if err := writer.Exec(`ALTER TABLE changes RENAME TO changes_away`).Error; err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, events, "stale", 3*time.Second)
	if status := healthz(); status != http.StatusServiceUnavailable {
		t.Errorf("readyz with the watcher down: %d, want 503", status)
	}
	if rec := get(t, server, "/healthz"); rec.Code != http.StatusOK {
		t.Errorf("healthz (liveness) with the watcher down: %d, want 200", rec.Code)
	}
	// Another process's write is seen at once although the watcher cannot tell: the cache is not trusted.
	if err := writer.Exec(`UPDATE stacks SET description = 'seen while stale' WHERE name = 'kodo'`).Error; err != nil {
		t.Fatal(err)
	}
	if body := get(t, server, "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks", HeaderClientRequestID, clientRequestID).Body.String(); !strings.Contains(body, "seen while stale") {
		t.Errorf("a read while the watcher is down came from the old cache: %.300s", body)
	}
	// A new page's stream opens and stays open, saying stale from the start.
	_, late := openStream(t, url, "products")
	waitForEvent(t, late, "hello", time.Second)
	waitForEvent(t, late, "stale", time.Second)

	if err := writer.Exec(`ALTER TABLE changes_away RENAME TO changes`).Error; err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, events, "live", 5*time.Second)
	waitForEvent(t, late, "live", time.Second)
	for deadline := time.Now().Add(5 * time.Second); healthz() != http.StatusOK; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("not ready after the watcher is back: %d", healthz())
			break
		}
	}
}

// Every kind of failure answers in the route's family shape and the request's format: JSON in the family's
// error shape, a full page, or the partial.
func TestErrorMatrix(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	const p = "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1"
	type request struct {
		method, target, body string
		status               int
		family               handlers.Family
	}
	requests := []request{
		{http.MethodGet, "/api/products/nope", "", 404, handlers.FamilySpock},
		{http.MethodGet, "/api/products?stable=maybe", "", 400, handlers.FamilySpock},
		{http.MethodGet, "/api/products?format=xml", "", 400, handlers.FamilySpock},
		{http.MethodPatch, "/api/products", "", 405, handlers.FamilySpock},
		{http.MethodGet, "/api/nothing", "", 404, handlers.FamilySpock},
		{http.MethodPut, "/api/products/kodo", `{"stack_deps":[[{"stack_name":"nope"}]]}`, 400, handlers.FamilySpock},
		{http.MethodPost, "/api/products", `{"product_name":"kodo","stack_deps":[[{"stack_name":"kodo"}]]}`, 409, handlers.FamilySpock},
		{http.MethodDelete, "/api/products/nope", "", 404, handlers.FamilySpock},
		{http.MethodGet, p + "/stacks/nope", "", 404, handlers.FamilyRF},
		{http.MethodGet, p + "/stacks/nope/events", "", 404, handlers.FamilyRF},
		{http.MethodGet, "/v1/ab/stacks", "", 400, handlers.FamilyRF},
		{http.MethodPost, p + "/stacks", `{"stack_name":"kodo"}`, 409, handlers.FamilyRF},
		{http.MethodPost, p + "/stacks", `{"stack_name":"1bad"}`, 400, handlers.FamilyRF},
		{http.MethodPatch, p + "/stacks/nope", `{"description":"x"}`, 404, handlers.FamilyRF},
		{http.MethodDelete, p + "/stacks/kodo/services/nope", "", 404, handlers.FamilyRF},
		{http.MethodPost, p + "/stacks/kodo", "", 405, handlers.FamilyRF},
		{http.MethodGet, "/v1/nothing", "", 404, handlers.FamilyRF},
		{http.MethodGet, "/nothing", "", 404, handlers.FamilyPage},
		{http.MethodGet, "/events", "", 400, handlers.FamilyPage},
	}
	formats := []struct {
		name    string
		headers []string
		format  handlers.Format
	}{
		{"json", nil, handlers.FormatJSON},
		{"page", []string{HeaderAccept, browserAccept}, handlers.FormatPage},
		{"partial", []string{HeaderHXRequest, "true"}, handlers.FormatPartial},
	}
	for i, rq := range requests {
		for _, f := range formats {
			t.Run(rq.method+" "+rq.target+" "+f.name, func(t *testing.T) {
				headers := append([]string{HeaderClientRequestID, clientRequestID + strings.Repeat("x", i%50)}, f.headers...)
				rec := send(t, server, rq.method, rq.target, rq.body, headers...)
				if rec.Code != rq.status {
					t.Fatalf("status %d, want %d: %.300s", rec.Code, rq.status, rec.Body)
				}
				contentType, body := rec.Header().Get(HeaderContentType), rec.Body.String()
				switch f.format {
				case handlers.FormatJSON:
					if contentType != contentTypeJSON {
						t.Fatalf("content type %q", contentType)
					}
					var shape map[string]any
					if err := json.Unmarshal(rec.Body.Bytes(), &shape); err != nil {
						t.Fatalf("not JSON: %s", body)
					}
					want := []string{"message", "code"}
					if rq.family == handlers.FamilyRF {
						want = []string{"error_code", "error_msg", "encoded_authorization_message"}
						decodeRF(t, rec.Body.Bytes())
					} else if shape["code"] != strconv.Itoa(rq.status) {
						t.Errorf("code %v, want %d", shape["code"], rq.status)
					}
					for _, key := range want {
						if _, ok := shape[key]; !ok {
							t.Errorf("no %q in %s", key, body)
						}
					}
				case handlers.FormatPage:
					if contentType != contentTypeHTML || !strings.HasPrefix(body, "<!doctype html>") {
						t.Errorf("want an error page, got %s: %.100s", contentType, body)
					}
				case handlers.FormatPartial:
					if contentType != contentTypeHTML || strings.Contains(body, "<html") || !strings.Contains(body, "error") {
						t.Errorf("want an error partial, got %s: %.100s", contentType, body)
					}
				}
			})
		}
	}
}

// Pages say which header their JSON form requires, from the route's family, so that "Copy curl" needs no guess.
func TestPagesNameTheHeaderTheirJSONNeeds(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	for target, want := range map[string]string{
		"/api/products":      `data-json-header=""`,
		"/api/products/kodo": `data-json-header=""`,
		"/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks":      `data-json-header="Client-Request-Id"`,
		"/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks/kodo": `data-json-header="Client-Request-Id"`,
	} {
		if body := get(t, server, target, HeaderAccept, browserAccept).Body.String(); !strings.Contains(body, want) {
			t.Errorf("%s: no %s", target, want)
		}
	}
}
