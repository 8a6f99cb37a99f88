package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"stackboard/models"
)

type healthBody struct {
	Status string `json:"status"`
	Checks *struct {
		Database   string `json:"database"`
		Migrations string `json:"migrations"`
		Watcher    string `json:"watcher"`
	} `json:"checks"`
}

func readHealth(t *testing.T, s *Server, target string) (int, healthBody, http.Header) {
	t.Helper()
	rec := get(t, s, target)
	var body healthBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", target, err, rec.Body)
	}
	return rec.Code, body, rec.Header()
}

// waitReady polls /readyz until it answers 200, as a load balancer would.
func waitReady(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body, _ := readHealth(t, s, "/readyz")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never became ready: %d %+v", code, *body.Checks)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReadinessFollowsTheDatabaseAndTheWatcher(t *testing.T) {
	db := openTestDB(t)
	s := newTestServer(db)

	code, body, header := readHealth(t, s, "/readyz")
	if code != http.StatusServiceUnavailable || body.Status != "down" || body.Checks.Database != "ok" ||
		body.Checks.Migrations != "ok" || body.Checks.Watcher != "down: the change watcher has not looked at the database yet" {
		t.Fatalf("before the watcher runs: %d %+v %+v", code, body, *body.Checks)
	}
	if got := header.Get(HeaderCacheControl); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	waitReady(t, s)
	code, body, _ = readHealth(t, s, "/readyz")
	if code != http.StatusOK || body.Status != "ok" || body.Checks.Database != "ok" || body.Checks.Migrations != "ok" || body.Checks.Watcher != "ok" {
		t.Fatalf("while watching: %d %+v", code, *body.Checks)
	}

	// A watcher that stops looking (stuck on a hung database) goes stale. The running watcher may look again
	// between the back-dating and the request, so a few tries are allowed; a readiness that never says stale fails.
	for try := 1; ; try++ {
		s.watch.mu.Lock()
		s.watch.checked = time.Now().Add(-time.Minute)
		s.watch.mu.Unlock()
		code, body, _ = readHealth(t, s, "/readyz")
		if code == http.StatusServiceUnavailable && strings.HasPrefix(body.Checks.Watcher, "down: last looked at the database 1m0") {
			break
		}
		if try == 20 {
			t.Fatalf("with a stale watcher: %d %+v", code, *body.Checks)
		}
	}
	waitReady(t, s)

	// The database closed: not ready; liveness never asks it. (A failing watcher: TestWatcherFailureIsReportedAndRetried.)
	if err := models.Close(db); err != nil {
		t.Fatal(err)
	}
	code, body, _ = readHealth(t, s, "/readyz")
	if code != http.StatusServiceUnavailable || body.Checks.Database != "down: the database does not answer" ||
		body.Checks.Migrations != "down: unknown while the database does not answer" {
		t.Fatalf("with the database closed: %d %+v", code, *body.Checks)
	}
	code, body, header = readHealth(t, s, "/healthz")
	if code != http.StatusOK || body.Status != "ok" || body.Checks != nil {
		t.Fatalf("/healthz with the database closed: %d %+v", code, body)
	}
	if got := header.Get(HeaderCacheControl); got != "no-store" {
		t.Errorf("/healthz Cache-Control = %q, want no-store", got)
	}
}

// The events page says how far its history goes.
func TestEventsPageSaysHowFarHistoryGoes(t *testing.T) {
	db := openTestDB(t, "spec/list-stacks.yaml")
	target := "/v1/" + rfsProject + "/stacks/my_first_stack/events"
	for _, tt := range []struct {
		keep time.Duration
		want string
	}{
		{0, "History: every event is kept."},
		{90 * 24 * time.Hour, "History: events are kept for 90 d; older ones (before " + time.Now().UTC().Add(-90*24*time.Hour).Format("2006-01-02")},
	} {
		s := NewServer(db, slog.New(slog.DiscardHandler), Options{KeepEvents: tt.keep})
		rec := get(t, s, target, HeaderAccept, "text/html")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("keep %v: %d, page lacks %q", tt.keep, rec.Code, tt.want)
		}
	}
}
