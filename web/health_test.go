package web

import (
	"context"
	"encoding/json"
	"net/http"
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
		body.Checks.Migrations != "ok" || body.Checks.Watcher != "down: the change watcher is not running" {
		t.Fatalf("before the watcher runs: %d %+v %+v", code, body, *body.Checks)
	}
	if got := header.Get(HeaderCacheControl); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	watching := make(chan error, 1)
	go func() { watching <- s.Run(ctx) }()
	waitReady(t, s)
	code, body, _ = readHealth(t, s, "/readyz")
	if code != http.StatusOK || body.Status != "ok" || *body.Checks != struct {
		Database   string `json:"database"`
		Migrations string `json:"migrations"`
		Watcher    string `json:"watcher"`
	}{"ok", "ok", "ok"} {
		t.Fatalf("while watching: %d %+v", code, *body.Checks)
	}

	cancel()
	if err := <-watching; err != nil {
		t.Fatal(err)
	}
	code, body, _ = readHealth(t, s, "/readyz")
	if code != http.StatusServiceUnavailable || body.Checks.Watcher != "down: the change watcher is not running" {
		t.Fatalf("after the watcher stopped: %d %+v", code, *body.Checks)
	}

	// The process is alive all along: liveness never asks the database.
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

func TestReadinessNoticesAStaleWatcher(t *testing.T) {
	s := newTestServer(openTestDB(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	waitReady(t, s)
	// A watcher stuck in one poll (a database that hangs) stops reading; readiness notices by the age of its last read.
	health := s.readiness()
	health.Stale = time.Nanosecond
	rec := get(t, s.handle(health.Ready), "/readyz")
	var body healthBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusServiceUnavailable || body.Checks.Watcher[:len("down: the change watcher last read")] != "down: the change watcher last read" {
		t.Fatalf("stale watcher: %d %+v", rec.Code, *body.Checks)
	}
}
