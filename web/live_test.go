package web

import (
	"bufio"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stackboard/models"
)

// sseEvent is one event read off a stream.
type sseEvent struct {
	name, data string
}

// readEvents sends the events of an SSE response to a channel until the body ends.
func readEvents(body *bufio.Reader) <-chan sseEvent {
	events := make(chan sseEvent, 64)
	go func() {
		defer close(events)
		var ev sseEvent
		for {
			line, err := body.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if ev.name != "" {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return events
}

func waitForEvent(t *testing.T, events <-chan sseEvent, name string, within time.Duration) sseEvent {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended before %q", name)
			}
			if ev.name == name {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %q event within %s", name, within)
		}
	}
}

// A write by another connection pool (as by `stackboard import` in another process) reaches an open stream as
// events named after the changed topics; other topics stay quiet.
func TestEventStreamCarriesChangesFromOtherProcesses(t *testing.T) {
	served, writer := openTwoPools(t)
	importFile(t, writer, filepath.Join("..", "testdata", "spec", "list-products.yaml"))

	server := newTestServer(served)
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan error, 1)
	go func() { running <- server.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-running; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitWatching(t, server)
	httpServer := httptest.NewServer(server)
	defer httpServer.Close()

	resp, err := http.Get(httpServer.URL + "/events?topics=project-ba2b9930c977f71edaeaa3a5e96a8ff1,project-elsewhere,product-kodo")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := readEvents(bufio.NewReader(resp.Body))
	hello := waitForEvent(t, events, "hello", time.Second)

	importYAML(t, writer, "projects:\n  - id: ba2b9930c977f71edaeaa3a5e96a8ff1\n    stacks:\n      - {name: kodo, status: DEPLOYMENT_IN_PROGRESS}\n")
	start := time.Now()
	var got []string
	for ev := range events {
		if ev.name == "changed" {
			// Versions name the data: another version after a change (on PostgreSQL not always a greater number).
			if ev.data == hello.data || ev.data == "" {
				t.Errorf("version %q after the change, %q before", ev.data, hello.data)
			}
			break
		}
		got = append(got, ev.name)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("the change took %s to arrive; pages must show it within 1 s", elapsed)
	}
	joined := strings.Join(got, ",")
	if !strings.Contains(joined, "project-ba2b9930c977f71edaeaa3a5e96a8ff1") || !strings.Contains(joined, "product-kodo") || strings.Contains(joined, "elsewhere") {
		t.Errorf("events %v, want the project and product topics only", got)
	}
}

func TestEventStreamRefusesBadTopics(t *testing.T) {
	server := newTestServer(openTestDB(t))
	for _, target := range []string{"/events", "/events?topics=a,,b", "/events?topics=" + strings.Repeat("x", 201), "/events?topics=%3Cscript%3E"} {
		if rec := get(t, server, target); rec.Code != http.StatusBadRequest {
			t.Errorf("GET %s = %d, want 400", target, rec.Code)
		}
	}
}

// Stopping the server ends open streams, so that shutdown does not wait for them.
func TestRunEndsStreamsWhenStopped(t *testing.T) {
	server := newTestServer(openTestDB(t))
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan error, 1)
	go func() { running <- server.Run(ctx) }()
	httpServer := httptest.NewServer(server)
	defer httpServer.Close()
	resp, err := http.Get(httpServer.URL + "/events?topics=products")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := readEvents(bufio.NewReader(resp.Body))
	waitForEvent(t, events, "hello", time.Second)
	cancel()
	<-running
	select {
	case _, open := <-events:
		for open {
			_, open = <-events
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the stream stayed open after the server stopped")
	}
}

// pageStream renders a page through the real server and opens the event stream the page names, as its htmx does.
func pageStream(t *testing.T, server *httptest.Server, page string) <-chan sseEvent {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, server.URL+page, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(HeaderAccept, browserAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %v", page, resp.StatusCode, err)
	}
	_, rest, ok := strings.Cut(string(body), `sse-connect="`)
	events, _, _ := strings.Cut(rest, `"`)
	if !ok || !strings.Contains(events, "since=") {
		t.Fatalf("%s names no event stream with its data version: %q", page, events)
	}
	stream, err := http.Get(server.URL + html.UnescapeString(events))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stream.Body.Close() })
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", events, stream.StatusCode)
	}
	return readEvents(bufio.NewReader(stream.Body))
}

// A change that the server learns of after a page rendered but before the page's stream opened is not lost: the
// stream starts with the page's topics. A stream opened with nothing changed since its page stays quiet.
func TestPageStreamCatchesUpFromItsRender(t *testing.T) {
	served, writer := openTwoPools(t)
	importFile(t, writer, filepath.Join("..", "testdata", "spec", "list-products.yaml"))
	server := newTestServer(served)
	httpServer := startServer(t, server)
	before, _ := server.hub.current()

	quiet := pageStream(t, httpServer, "/")
	waitForEvent(t, quiet, "hello", 5*time.Second)

	// The page renders; another replica writes, and this server learns of it, before the page subscribes.
	req, _ := http.NewRequest(http.MethodGet, httpServer.URL+"/", nil)
	req.Header.Set(HeaderAccept, browserAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	importYAML(t, writer, "projects:\n  - id: ba2b9930c977f71edaeaa3a5e96a8ff1\n    stacks:\n      - {name: kodo, description: changed meanwhile}\n")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if version, _ := server.hub.current(); version != before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not learn of the change within 5 s")
		}
	}
	_, rest, _ := strings.Cut(string(page), `sse-connect="`)
	link, _, _ := strings.Cut(rest, `"`)
	stream, err := http.Get(httpServer.URL + html.UnescapeString(link))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	late := readEvents(bufio.NewReader(stream.Body))
	waitForEvent(t, late, "hello", 5*time.Second)
	waitForEvent(t, late, models.TopicAll, 2*time.Second)

	// The stream opened before the change heard of it as a change; one opened now, from a page rendered now, hears
	// nothing.
	waitForEvent(t, quiet, models.TopicAll, 2*time.Second)
	current := pageStream(t, httpServer, "/")
	waitForEvent(t, current, "hello", 5*time.Second)
	select {
	case ev := <-current:
		t.Errorf("a stream from a page rendered after the change got %q", ev.name)
	case <-time.After(300 * time.Millisecond):
	}
}
