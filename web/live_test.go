package web

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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
			before, _ := strconv.ParseInt(hello.data, 10, 64)
			after, _ := strconv.ParseInt(ev.data, 10, 64)
			if after <= before {
				t.Errorf("version %d after the change, %d before", after, before)
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
