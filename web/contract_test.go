package web

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The spec examples, as manifests, must come back byte for byte (whitespace aside) from the documented endpoints.
func TestSpecExamplesAreServedExactly(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		target   string
		golden   string
	}{
		{"list products", "spec/list-products.yaml", "/api/products", "spec/list-products.json"},
		{"list stacks", "spec/list-stacks.yaml", "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks", "spec/list-stacks.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := newTestServer(openTestDB(t, tt.manifest))
			rec := get(t, server, tt.target, HeaderClientRequestID, clientRequestID)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, body %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q, want application/json", got)
			}
			want, err := os.ReadFile(filepath.Join("..", "testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := compactJSON(t, rec.Body.Bytes()), compactJSON(t, want); got != want {
				t.Errorf("body differs from the spec example\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestEmptyListsAreEmptyArrays(t *testing.T) {
	server := newTestServer(openTestDB(t))
	tests := []struct {
		target string
		want   string
	}{
		{"/api/products", `[]`},
		{"/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks", `{"stacks":[]}`},
		{"/v1/unknown-project/stacks", `{"stacks":[]}`},
	}
	for _, tt := range tests {
		rec := get(t, server, tt.target, HeaderClientRequestID, clientRequestID)
		if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != tt.want {
			t.Errorf("GET %s = %d %s, want 200 %s", tt.target, rec.Code, rec.Body, tt.want)
		}
	}
}

func TestStatusMessageOnlyForFailedStacks(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, `
projects:
  - id: proj-1
    stacks:
      - {name: ok, status: DEPLOYMENT_COMPLETE, status_message: "stale note", create_time: 2024-01-01T00:00:00Z}
      - {name: broken, status: DEPLOYMENT_FAILED, status_message: "image pull failed", create_time: 2024-01-02T00:00:00Z}
      - {name: silent, status: ROLLBACK_FAILED, create_time: 2024-01-03T00:00:00Z}
`)
	rec := get(t, newTestServer(db), "/v1/proj-1/stacks", HeaderClientRequestID, clientRequestID)
	body := rec.Body.String()
	for _, want := range []string{
		`"stack_name":"silent","description":"","stack_id":`,
		`"status":"ROLLBACK_FAILED","create_time":"2024-01-03T00:00:00Z","update_time":"2024-01-03T00:00:00Z","status_message":""}`,
		`"status":"DEPLOYMENT_FAILED","create_time":"2024-01-02T00:00:00Z","update_time":"2024-01-02T00:00:00Z","status_message":"image pull failed"}`,
		`"status":"DEPLOYMENT_COMPLETE","create_time":"2024-01-01T00:00:00Z","update_time":"2024-01-01T00:00:00Z"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s\n%s", want, body)
		}
	}
	if strings.Contains(body, "stale note") {
		t.Errorf("status_message shown for a stack that has not failed: %s", body)
	}
}

func TestStacksNewestFirstTiesLaterCreatedFirst(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, `
projects:
  - id: proj-1
    stacks:
      - {name: old, create_time: 2024-01-01T00:00:00Z}
      - {name: twin-a, create_time: 2024-06-01T00:00:00Z}
      - {name: twin-b, create_time: 2024-06-01T00:00:00Z}
      - {name: middle, create_time: 2024-03-01T00:00:00Z}
`)
	rec := get(t, newTestServer(db), "/v1/proj-1/stacks", HeaderClientRequestID, clientRequestID)
	var order []string
	for _, part := range strings.Split(rec.Body.String(), `"stack_name":"`)[1:] {
		order = append(order, part[:strings.Index(part, `"`)])
	}
	if got, want := strings.Join(order, ","), "twin-b,twin-a,middle,old"; got != want {
		t.Errorf("order %s, want %s", got, want)
	}
}
