package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/models/testdb"
)

// clientRequestID is a valid Client-Request-Id (a UUID).
const clientRequestID = "6a1f0c3e-2b7d-4f7e-9a53-0c1d2e3f4a5b"

// openTestDB opens a fresh database of the test's own (SQLite, or PostgreSQL when the run is on it: see testdb)
// and applies the named testdata manifests.
func openTestDB(t *testing.T, manifests ...string) *gorm.DB {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, testdb.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { models.Close(db) })
	for _, name := range manifests {
		importFile(t, db, filepath.Join("..", "testdata", name))
	}
	return db
}

// openTwoPools opens one database twice: the pool a server reads, and another that writes as a second process
// (`stackboard import`) would.
func openTwoPools(t *testing.T) (served, writer *gorm.DB) {
	t.Helper()
	path := testdb.DSN(t)
	for _, pool := range []**gorm.DB{&served, &writer} {
		db, err := models.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { models.Close(db) })
		*pool = db
	}
	return served, writer
}

func importFile(t *testing.T, db *gorm.DB, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	file, err := models.DecodeManifest(filepath.Base(path), f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.Import(context.Background(), db, file); err != nil {
		t.Fatal(err)
	}
}

func importYAML(t *testing.T, db *gorm.DB, manifest string) {
	t.Helper()
	file, err := models.DecodeManifest("test.yaml", strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.Import(context.Background(), db, file); err != nil {
		t.Fatal(err)
	}
}

func newTestServer(db *gorm.DB) *Server {
	return NewServer(db, slog.New(slog.DiscardHandler), Options{})
}

// get sends a GET through the real router; headers are name/value pairs.
func get(t *testing.T, h http.Handler, target string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, h, http.MethodGet, target, headers...)
}

func do(t *testing.T, h http.Handler, method, target string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// compactJSON returns the JSON in its compact form, keeping the order of fields.
func compactJSON(t *testing.T, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	return buf.String()
}
