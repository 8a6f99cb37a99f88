package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"stackboard/handlers"
	"stackboard/models"
)

type rfBody struct {
	ErrorCode                   *string `json:"error_code"`
	ErrorMsg                    *string `json:"error_msg"`
	EncodedAuthorizationMessage *string `json:"encoded_authorization_message"`
}

func decodeRF(t *testing.T, body []byte) rfBody {
	t.Helper()
	var b rfBody
	if err := json.Unmarshal(body, &b); err != nil || b.ErrorCode == nil || b.ErrorMsg == nil || b.EncodedAuthorizationMessage == nil {
		t.Fatalf("not an RF error body (%v): %s", err, body)
	}
	if len(*b.ErrorCode) != 11 || !strings.HasPrefix(*b.ErrorCode, "RF.") {
		t.Errorf("error_code %q is not RF. and 8 digits", *b.ErrorCode)
	}
	return b
}

// The rules of every /v1 JSON request: the project id's length and the Client-Request-Id header.
func TestV1RequestRules(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-stacks.yaml"))
	const project = "ba2b9930c977f71edaeaa3a5e96a8ff1"
	tests := []struct {
		name      string
		project   string
		requestID *string
		wantCode  int
		wantRF    string // "" for any RF code
		wantInMsg string
	}{
		{"valid", project, ptr(clientRequestID), 200, "", ""},
		{"request id of 36", project, ptr(strings.Repeat("a", 36)), 200, "", ""},
		{"request id of 128", project, ptr(strings.Repeat("a", 128)), 200, "", ""},
		{"request id missing", project, nil, 400, "RF.10011001", "Client-Request-Id"},
		{"request id empty", project, ptr(""), 400, "RF.10011001", "Client-Request-Id"},
		{"request id of 129", project, ptr(strings.Repeat("a", 129)), 400, "RF.10011005", "Client-Request-Id"},
		{"request id of 35", project, ptr(strings.Repeat("a", 35)), 400, "", "Client-Request-Id"},
		{"project id of 2", "ab", ptr(clientRequestID), 400, "", "project_id"},
		{"project id of 3", "abc", ptr(clientRequestID), 200, "", ""},
		{"project id of 64", strings.Repeat("p", 64), ptr(clientRequestID), 200, "", ""},
		{"project id of 65", strings.Repeat("p", 65), ptr(clientRequestID), 400, "RF.10011005", "project_id"},
		{"project id with a dot", "abc.def", ptr(clientRequestID), 400, "", "project_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.requestID != nil {
				headers = append(headers, HeaderClientRequestID, *tt.requestID)
			}
			rec := get(t, server, "/v1/"+tt.project+"/stacks", headers...)
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantCode, rec.Body)
			}
			if rec.Header().Get(HeaderRequestID) == "" {
				t.Error("no X-Request-Id")
			}
			if tt.wantCode == 200 {
				return
			}
			b := decodeRF(t, rec.Body.Bytes())
			if tt.wantRF != "" && *b.ErrorCode != tt.wantRF {
				t.Errorf("error_code %s, want %s", *b.ErrorCode, tt.wantRF)
			}
			if !strings.Contains(*b.ErrorMsg, tt.wantInMsg) {
				t.Errorf("error_msg %q does not name %s", *b.ErrorMsg, tt.wantInMsg)
			}
			if *b.EncodedAuthorizationMessage != "" {
				t.Errorf("encoded_authorization_message %q", *b.EncodedAuthorizationMessage)
			}
		})
	}
}

func TestClientRequestIDIsEchoed(t *testing.T) {
	server := newTestServer(openTestDB(t))
	rec := get(t, server, "/v1/proj-1/stacks", HeaderClientRequestID, clientRequestID)
	if got := rec.Header().Get(HeaderClientRequestID); got != clientRequestID {
		t.Errorf("Client-Request-Id %q, want it echoed", got)
	}
	if got := rec.Header().Get(HeaderRequestID); got != clientRequestID {
		t.Errorf("X-Request-Id %q, want the client's id", got)
	}
	rec = get(t, server, "/api/products")
	if got := rec.Header().Get(HeaderRequestID); len(got) != 36 {
		t.Errorf("X-Request-Id %q, want a generated UUID", got)
	}
}

// Browsers and htmx do not send Client-Request-Id; only the JSON variant needs it.
func TestV1PagesNeedNoClientRequestID(t *testing.T) {
	server := newTestServer(openTestDB(t))
	for _, headers := range [][]string{{HeaderAccept, browserAccept}, {HeaderHXRequest, "true"}} {
		if rec := get(t, server, "/v1/proj-1/stacks", headers...); rec.Code != http.StatusOK {
			t.Errorf("%v: status %d", headers, rec.Code)
		}
	}
	rec := get(t, server, "/v1/ab/stacks", HeaderAccept, browserAccept)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "project_id") || !strings.Contains(rec.Body.String(), "<!doctype html>") {
		t.Errorf("a bad project id in a browser: %d %.200s", rec.Code, rec.Body)
	}
}

// Unknown URLs and methods answer in the error shape of their family.
func TestErrorShapesByFamily(t *testing.T) {
	server := newTestServer(openTestDB(t))
	tests := []struct {
		method, target string
		wantStatus     int
		wantBody       string
	}{
		{"GET", "/api/nothing-here", 404, `{"message":"Not Found: no page or API at /api/nothing-here","code":"404"}`},
		{"DELETE", "/api/products", 405, `{"message":"Method Not Allowed: DELETE /api/products","code":"405"}`},
		{"GET", "/v1/proj-1/nothing-here", 404, `{"error_code":"RF.10014001","error_msg":"Not Found: no page or API at /v1/proj-1/nothing-here","encoded_authorization_message":""}`},
		{"DELETE", "/v1/proj-1/stacks", 405, `{"error_code":"RF.10014005","error_msg":"Method Not Allowed: DELETE /v1/proj-1/stacks","encoded_authorization_message":""}`},
	}
	for _, tt := range tests {
		rec := do(t, server, tt.method, tt.target, HeaderClientRequestID, clientRequestID)
		if rec.Code != tt.wantStatus || strings.TrimSpace(rec.Body.String()) != tt.wantBody {
			t.Errorf("%s %s = %d %s\nwant %d %s", tt.method, tt.target, rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
		}
	}
	rec := get(t, server, "/nothing-here", HeaderAccept, browserAccept)
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "Not found") {
		t.Errorf("a browser should get a 404 page: %d %.200s", rec.Code, rec.Body)
	}
	rec = get(t, server, "/nothing-here", HeaderHXRequest, "true")
	if rec.Code != 404 || strings.Contains(rec.Body.String(), "<html") || !strings.Contains(rec.Body.String(), `role="alert"`) {
		t.Errorf("htmx should get an error partial: %d %.200s", rec.Code, rec.Body)
	}
}

// When the database cannot answer, /api/products says so with the documented 622.
func TestListProductsFailureIs622(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	server := newTestServer(db)
	if err := models.Close(db); err != nil {
		t.Fatal(err)
	}
	rec := get(t, server, "/api/products")
	if rec.Code != 622 {
		t.Fatalf("status %d, want 622", rec.Code)
	}
	if got, want := strings.TrimSpace(rec.Body.String()), `{"message":"List Products Error","code":"622"}`; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	rec = get(t, server, "/v1/proj-1/stacks", HeaderClientRequestID, clientRequestID)
	if b := decodeRF(t, rec.Body.Bytes()); rec.Code != 500 || *b.ErrorCode != "RF.10010001" {
		t.Errorf("stacks with a closed database: %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "sql") {
		t.Errorf("the internal error leaks: %s", rec.Body)
	}
}

// A panicking handler answers 500 in its route's shape, whether it ran on the request's goroutine (a write) or in
// a cached read's detached render; the process lives on, and the failure is not cached.
func TestPanicBecomesA500InTheFamilyShape(t *testing.T) {
	server := newTestServer(openTestDB(t))
	boom := func(http.ResponseWriter, *http.Request) error { panic("boom") }
	for _, rt := range []route{
		{family: handlers.FamilyRF, write: true},
		{family: handlers.FamilyRF, cached: true},
		{family: handlers.FamilySpock, cached: true},
	} {
		panicking := server.common(server.pipeline(rt, boom))
		for range 2 {
			method := http.MethodGet
			if rt.write {
				method = http.MethodPost
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(method, "/anything", nil)
			req.Header.Set(HeaderClientRequestID, clientRequestID)
			panicking.ServeHTTP(rec, req)
			switch rt.family {
			case handlers.FamilyRF:
				if b := decodeRF(t, rec.Body.Bytes()); rec.Code != 500 || *b.ErrorCode != "RF.10010001" {
					t.Errorf("%+v: got %d %s", rt, rec.Code, rec.Body)
				}
			default:
				if rec.Code != 500 || strings.TrimSpace(rec.Body.String()) != `{"message":"Internal Server Error","code":"500"}` {
					t.Errorf("%+v: got %d %s", rt, rec.Code, rec.Body)
				}
			}
		}
	}
	page := server.common(server.pipeline(route{family: handlers.FamilySpock, cached: true}, boom))
	rec := get(t, page, "/api/products", HeaderAccept, browserAccept)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "<!doctype html>") || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("got %d %.200s", rec.Code, rec.Body)
	}
}

func ptr[T any](v T) *T { return &v }
