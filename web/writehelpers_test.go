package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"stackboard/models"
)

// rfsProject is the project of the spec examples (testdata/spec/*.yaml).
const rfsProject = "ba2b9930c977f71edaeaa3a5e96a8ff1"

// uuidPattern matches a stack_id.
var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// send sends a request with a body ("" for none) through the real router; headers are name/value pairs.
func send(t *testing.T, h http.Handler, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, reader)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// call sends a request the way a deploy tool does: JSON, with a fresh Client-Request-Id (so that it is never
// taken for a retry) unless headers set one.
func call(t *testing.T, h http.Handler, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	return send(t, h, method, target, body, append([]string{HeaderClientRequestID, uuid.NewString()}, headers...)...)
}

// jsonText encodes v as the server does (no HTML escaping), compact.
func jsonText(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	encoder := json.NewEncoder(&buf)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(buf.String())
}

// rfJSON is the exact body of an RF error.
func rfJSON(t *testing.T, code, message string) string {
	t.Helper()
	return jsonText(t, rfError{ErrorCode: code, ErrorMsg: message})
}

// spockJSON is the exact body of a spock error; detail is left out when empty.
func spockJSON(t *testing.T, message, code, detail string) string {
	t.Helper()
	return jsonText(t, spockError{Message: message, Code: code, Detail: detail})
}

// expect fails unless the response has the status and exactly the body (compact JSON; "" for no body). RF
// error bodies are also checked for their shape (an 11-character error_code).
func expect(t *testing.T, rec *httptest.ResponseRecorder, status int, body string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status %d, want %d; body %s", rec.Code, status, rec.Body)
		return
	}
	if body == "" {
		if rec.Body.Len() != 0 {
			t.Errorf("body %q, want none", rec.Body)
		}
		return
	}
	if got := compactJSON(t, rec.Body.Bytes()); got != body {
		t.Errorf("body\n got: %s\nwant: %s", got, body)
	}
	if strings.HasPrefix(body, `{"error_code"`) {
		decodeRF(t, rec.Body.Bytes())
	}
}

// stackPK returns the row id of a stack, or 0 when it does not exist.
func stackPK(t *testing.T, db *gorm.DB, projectID, name string) int64 {
	t.Helper()
	var pks []int64
	if err := db.Model(&models.Stack{}).Where("project_id = ? AND name = ?", projectID, name).Pluck("pk", &pks).Error; err != nil {
		t.Fatal(err)
	}
	if len(pks) == 0 {
		return 0
	}
	return pks[0]
}

// eventRows counts the stack_events rows of a stack's row id.
func eventRows(t *testing.T, db *gorm.DB, pk int64) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.StackEvent{}).Where("stack_pk = ?", pk).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// eventJSON is one element of stack_events.
type eventJSON struct {
	ResourceType   string `json:"resource_type"`
	ResourceName   string `json:"resource_name"`
	Time           string `json:"time"`
	EventType      string `json:"event_type"`
	EventMessage   string `json:"event_message"`
	ElapsedSeconds int64  `json:"elapsed_seconds"`
}

// eventPageJSON is the body of GET .../events.
type eventPageJSON struct {
	StackEvents []eventJSON  `json:"stack_events"`
	NextMarker  *string      `json:"next_marker"`
	PageInfo    pageInfoJSON `json:"page_info"`
}

// pageInfoJSON is RFS's page_info of a paged body.
type pageInfoJSON struct {
	NextMarker   *string `json:"next_marker"`
	CurrentCount *int    `json:"current_count"`
}

// checkPageInfo fails unless page_info repeats the top-level next_marker and counts the items of the page.
func checkPageInfo(t *testing.T, target string, info pageInfoJSON, nextMarker *string, count int) {
	t.Helper()
	if (info.NextMarker == nil) != (nextMarker == nil) || (nextMarker != nil && *info.NextMarker != *nextMarker) {
		t.Errorf("GET %s: page_info.next_marker %q (set: %t), want the top-level next_marker %q (set: %t)", target,
			deref(info.NextMarker), info.NextMarker != nil, deref(nextMarker), nextMarker != nil)
	}
	if info.CurrentCount == nil || *info.CurrentCount != count {
		t.Errorf("GET %s: page_info.current_count %d (set: %t), want %d", target, deref(info.CurrentCount), info.CurrentCount != nil, count)
	}
}

// deref returns a pointer's value, or the zero value for nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// eventPage fetches one page of events and fails unless it is a 200 with exactly the documented fields.
func eventPage(t *testing.T, h http.Handler, target string) eventPageJSON {
	t.Helper()
	rec := get(t, h, target, HeaderClientRequestID, clientRequestID)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
	}
	decoder := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	decoder.DisallowUnknownFields()
	var page eventPageJSON
	if err := decoder.Decode(&page); err != nil {
		t.Fatalf("GET %s: %v\n%s", target, err, rec.Body)
	}
	if page.StackEvents == nil {
		t.Fatalf("GET %s: stack_events is not an array: %s", target, rec.Body)
	}
	checkPageInfo(t, target, page.PageInfo, page.NextMarker, len(page.StackEvents))
	return page
}

// allEvents walks every page of target (which has no query yet, or ends in "?..."/"&") with the given limit.
func allEvents(t *testing.T, h http.Handler, target string, limit int) (events []eventJSON, pages int) {
	t.Helper()
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	marker := ""
	for {
		url := target + sep + "limit=" + strconv.Itoa(limit)
		if marker != "" {
			url += "&marker=" + marker
		}
		page := eventPage(t, h, url)
		pages++
		if len(page.StackEvents) > limit {
			t.Fatalf("%s: %d events on a page of %d", url, len(page.StackEvents), limit)
		}
		events = append(events, page.StackEvents...)
		if page.NextMarker == nil {
			return events, pages
		}
		if len(page.StackEvents) != limit {
			t.Fatalf("%s: a page of %d events before the last, want %d", url, len(page.StackEvents), limit)
		}
		if pages > 10_000 {
			t.Fatal("paging does not end")
		}
		marker = *page.NextMarker
	}
}
