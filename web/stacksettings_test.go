package web

import (
	"encoding/json"
	"net/http"
	"testing"
)

// RFS's enable_deletion_protection and enable_auto_rollback travel over HTTP as JSON booleans: CreateStack and
// UpdateStack take them, GetStackMetadata shows them, and a protected stack refuses DeleteStack with 403 in the
// RF shape.
func TestStackSettingsOverHTTP(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-stacks.yaml"))
	guarded := stacksURL + "/guarded"
	rec := call(t, server, http.MethodPost, stacksURL, `{"stack_name":"guarded","enable_deletion_protection":true,"enable_auto_rollback":false}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	settings := func() string {
		t.Helper()
		rec := get(t, server, guarded+"/metadata", HeaderClientRequestID, clientRequestID)
		var metadata map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &metadata); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("metadata: %d %s", rec.Code, rec.Body)
		}
		return jsonText(t, map[string]any{
			"enable_deletion_protection": metadata["enable_deletion_protection"],
			"enable_auto_rollback":       metadata["enable_auto_rollback"],
		})
	}
	if got, want := settings(), `{"enable_auto_rollback":false,"enable_deletion_protection":true}`; got != want {
		t.Errorf("after create: %s, want %s", got, want)
	}

	refusals := []struct {
		name    string
		method  string
		target  string
		body    string
		status  int
		code    string
		message string
	}{
		{"create with a string for a boolean", http.MethodPost, stacksURL, `{"stack_name":"other","enable_deletion_protection":"yes"}`,
			400, "RF.10011003", "enable_deletion_protection: must be a JSON boolean"},
		{"update with a number for a boolean", http.MethodPatch, guarded, `{"enable_auto_rollback":1}`,
			400, "RF.10011003", "enable_auto_rollback: must be a JSON boolean"},
		{"delete while protected", http.MethodDelete, guarded, "",
			403, "RF.10013001", `stack "guarded" has deletion protection enabled; update it with enable_deletion_protection false first`},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, call(t, server, tt.method, tt.target, tt.body), tt.status, rfJSON(t, tt.code, tt.message))
		})
	}
	if got, want := settings(), `{"enable_auto_rollback":false,"enable_deletion_protection":true}`; got != want {
		t.Errorf("after the refusals: %s, want %s", got, want)
	}

	expect(t, call(t, server, http.MethodPatch, guarded, `{"enable_deletion_protection":false,"enable_auto_rollback":true}`), http.StatusNoContent, "")
	if got, want := settings(), `{"enable_auto_rollback":true,"enable_deletion_protection":false}`; got != want {
		t.Errorf("after the update: %s, want %s", got, want)
	}
	expect(t, call(t, server, http.MethodDelete, guarded, ""), http.StatusNoContent, "")
}
