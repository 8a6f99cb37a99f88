package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"stackboard/models"
)

// A manifest entry is refused by the very rule that refuses the same value over HTTP: each case is sent as a
// PATCH of a stack or a PUT of a service, and imported as a manifest (JSON, which the manifest reader takes
// too); both are refused, and the import names the file, the entry and the same problem the HTTP answer gives.
func TestHTTPWritesAndImportRefuseByOneRule(t *testing.T) {
	const (
		stackURL   = "/v1/" + rfsProject + "/stacks/kodo"
		serviceURL = stackURL + "/services/io"
	)
	long := func(n int) string { return strings.Repeat("m", n) }
	domains := make([]string, models.MaxDomainsPerService+1)
	for i := range domains {
		domains[i] = fmt.Sprintf("d%d.example.com", i)
	}
	service := func(field string, value any) map[string]any {
		s := map[string]any{"state": "DEPLOYED", "status": "RUNNING", "domains": []string{}, "image": map[string]string{"name": "x"}}
		s[field] = value
		return s
	}
	tests := []struct {
		name string
		// stack is a PATCH body, service a PUT body; the manifest's entry carries the same fields.
		stack, service map[string]any
		entry          string // the manifest entry the import names
	}{
		{"a 5,000-character status message", map[string]any{"status_message": long(5000)}, nil, "stacks[0].status_message"},
		{"a status message one too long", map[string]any{"status_message": long(models.MaxStatusMessageLength + 1)}, nil, "stacks[0].status_message"},
		{"a NUL in a status message", map[string]any{"status_message": "a\u0000b"}, nil, "stacks[0].status_message"},
		{"a description one too long", map[string]any{"description": long(models.MaxDescriptionLength + 1)}, nil, "stacks[0].description"},
		{"a NUL in a description", map[string]any{"description": "a\u0000"}, nil, "stacks[0].description"},
		{"an unknown lifecycle status", map[string]any{"status": "EXPLODED"}, nil, "stacks[0].status"},
		{"a stack id that is no UUID", map[string]any{"stack_id": "not-a-uuid"}, nil, "stacks[0].id"},
		{"an unknown service state", nil, service("state", "SLEEPING"), "stacks[0].services[0].state"},
		{"no run status", nil, service("status", ""), "stacks[0].services[0].status"},
		{"too many domains", nil, service("domains", domains), "stacks[0].services[0].domains"},
		{"a domain with a space", nil, service("domains", []string{"a b"}), "stacks[0].services[0].domains[0]"},
		{"a domain too long", nil, service("domains", []string{long(models.MaxDomainLength + 1)}), "stacks[0].services[0].domains[0]"},
		{"no image name", nil, service("image", map[string]string{"tag": "v1"}), "stacks[0].services[0].image.name"},
		{"an image tag with a colon", nil, service("image", map[string]string{"name": "x", "tag": "a:b"}), "stacks[0].services[0].image.tag"},
		{"a NUL in an image tag", nil, service("image", map[string]string{"name": "x", "tag": "a\u0000"}), "stacks[0].services[0].image.tag"},
	}
	db := openTestDB(t, "spec/list-products.yaml")
	server := newTestServer(db)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, url, body := http.MethodPatch, stackURL, tt.stack
			entry := map[string]any{"name": "kodo"}
			for k, v := range tt.stack {
				if k == "stack_id" {
					k = "id" // the manifest's name of the field
				}
				entry[k] = v
			}
			if tt.service != nil {
				method, url, body = http.MethodPut, serviceURL, tt.service
				listed := map[string]any{"name": "io"}
				for k, v := range tt.service {
					listed[k] = v
				}
				entry["services"] = []any{listed}
			}
			rec := call(t, server, method, url, mustJSON(t, body))
			var answer struct {
				ErrorMsg string `json:"error_msg"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &answer); rec.Code != http.StatusBadRequest || err != nil {
				t.Fatalf("%s %s: %d %s, want 400", method, url, rec.Code, rec.Body)
			}

			manifest := mustJSON(t, map[string]any{"projects": []any{map[string]any{"id": rfsProject, "stacks": []any{entry}}}})
			file, err := models.DecodeManifest("rules.json", strings.NewReader(manifest))
			if err != nil {
				t.Fatalf("DecodeManifest: %v", err)
			}
			_, err = models.Import(context.Background(), db, file)
			var me *models.ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("Import: %v, want a ManifestError", err)
			}
			if wantEntry := "projects[0]." + tt.entry; me.File != "rules.json" || me.Entry != wantEntry {
				t.Errorf("Import names %s: %s, want rules.json: %s", me.File, me.Entry, wantEntry)
			}
			problem := me.Err.Error()
			if !strings.HasSuffix(answer.ErrorMsg, ": "+problem) {
				t.Errorf("HTTP says %q, import %q: not the same rule", answer.ErrorMsg, problem)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	encoded, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(encoded)
}
