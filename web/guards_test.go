package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// A write retried with the same Client-Request-Id is applied once and answered as the first time.
func TestRetriedWriteIsAppliedOnce(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	server := newTestServer(db)
	id := uuid.NewString()
	withID := []string{HeaderClientRequestID, id}

	first := send(t, server, http.MethodPost, stacksURL, `{"stack_name":"once"}`, withID...)
	if first.Code != http.StatusCreated || first.Header().Get("X-Replayed") != "" {
		t.Fatalf("first: %d %q %s", first.Code, first.Header().Get("X-Replayed"), first.Body)
	}
	again := send(t, server, http.MethodPost, stacksURL, `{"stack_name":"once"}`, withID...)
	if again.Code != first.Code || again.Body.String() != first.Body.String() || again.Header().Get("X-Replayed") != "true" ||
		again.Header().Get("Content-Type") != "application/json" {
		t.Errorf("retry: %d %q %s, want %d X-Replayed true %s", again.Code, again.Header().Get("X-Replayed"), again.Body, first.Code, first.Body)
	}
	if got, want := again.Header().Get("Location"), first.Header().Get("Location"); want != stacksURL+"/once" || got != want {
		t.Errorf("the retry's Location %q, the first's %q", got, want)
	}
	if got := again.Header().Get(HeaderClientRequestID); got != id {
		t.Errorf("the retry echoes Client-Request-Id %q", got)
	}
	if n := strings.Count(get(t, server, stacksURL, HeaderClientRequestID, clientRequestID).Body.String(), `"stack_name":"once"`); n != 1 {
		t.Errorf("%d stacks named once", n)
	}
	if n := eventRows(t, db, stackPK(t, db, rfsProject, "once")); n != 1 {
		t.Errorf("%d events of once, want 1", n)
	}

	// The same id for another request is a conflict, and does nothing.
	conflict := rfJSON(t, "RF.10019001", "Client-Request-Id "+id+" was already used for a different request")
	expect(t, send(t, server, http.MethodPost, stacksURL, `{"stack_name":"twice"}`, withID...), 409, conflict)
	expect(t, send(t, server, http.MethodPost, stacksURL, `{"stack_name":"once","description":""}`, withID...), 409, conflict)
	expect(t, send(t, server, http.MethodPatch, stacksURL+"/once", `{"stack_name":"once"}`, withID...), 400,
		rfJSON(t, "RF.10011002", "stack_name: is not a known field"))
	expect(t, send(t, server, http.MethodPatch, stacksURL+"/once", `{"description":"x"}`, withID...), 409, conflict)
	expect(t, send(t, server, http.MethodPost, "/v1/other-project/stacks", `{"stack_name":"once"}`, withID...), 409, conflict)
	expect(t, send(t, server, http.MethodPost, "/api/products", `{"product_name":"p","stack_deps":[[{"stack_name":"once"}]]}`, withID...),
		409, spockJSON(t, "Client-Request-Id "+id+" was already used for a different request", "409", ""))
	if rec := get(t, server, stacksURL+"/twice/metadata", HeaderClientRequestID, clientRequestID); rec.Code != 404 {
		t.Errorf("the conflicting create was applied: %d", rec.Code)
	}
	if rec := get(t, server, stacksURL+"/once/metadata", HeaderClientRequestID, clientRequestID); strings.Contains(rec.Body.String(), `"description":"x"`) {
		t.Errorf("the conflicting patch was applied: %s", rec.Body)
	}

	// A failed write is not remembered: once its cause is fixed, the retry succeeds.
	patchID := []string{HeaderClientRequestID, uuid.NewString()}
	expect(t, send(t, server, http.MethodPatch, stacksURL+"/later", `{"description":"later"}`, patchID...), 404,
		rfJSON(t, "RF.10014001", `stack "later" not found`))
	if rec := call(t, server, http.MethodPost, stacksURL, `{"stack_name":"later"}`); rec.Code != 201 {
		t.Fatalf("create later: %d %s", rec.Code, rec.Body)
	}
	rec := send(t, server, http.MethodPatch, stacksURL+"/later", `{"description":"later"}`, patchID...)
	if rec.Code != http.StatusNoContent || rec.Header().Get("X-Replayed") != "" {
		t.Errorf("retry after the fix: %d %q %s", rec.Code, rec.Header().Get("X-Replayed"), rec.Body)
	}
	rec = send(t, server, http.MethodPatch, stacksURL+"/later", `{"description":"later"}`, patchID...)
	if rec.Code != http.StatusNoContent || rec.Header().Get("X-Replayed") != "true" || rec.Body.Len() != 0 {
		t.Errorf("the retry of the success: %d %q %s", rec.Code, rec.Header().Get("X-Replayed"), rec.Body)
	}
	if n := eventRows(t, db, stackPK(t, db, rfsProject, "later")); n != 2 {
		t.Errorf("%d events of later, want its creation and one description change", n)
	}

	// Deletes and service reports replay too: the second answer is the first one, even though the stack is gone.
	deleteID := []string{HeaderClientRequestID, uuid.NewString()}
	expect(t, send(t, server, http.MethodDelete, stacksURL+"/later", "", deleteID...), 204, "")
	rec = send(t, server, http.MethodDelete, stacksURL+"/later", "", deleteID...)
	if rec.Code != 204 || rec.Header().Get("X-Replayed") != "true" {
		t.Errorf("the retried delete: %d %q %s", rec.Code, rec.Header().Get("X-Replayed"), rec.Body)
	}
	serviceID := []string{HeaderClientRequestID, uuid.NewString()}
	body := `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"nginx"}}`
	first = send(t, server, http.MethodPut, stacksURL+"/once/services/web", body, serviceID...)
	again = send(t, server, http.MethodPut, stacksURL+"/once/services/web", body, serviceID...)
	if first.Code != 201 || again.Code != 201 || again.Body.String() != first.Body.String() || again.Header().Get("X-Replayed") != "true" {
		t.Errorf("service report and its retry: %d %s / %d %s", first.Code, first.Body, again.Code, again.Body)
	}
	// Without the retry's id it is a new report: 200, the service exists.
	if rec := call(t, server, http.MethodPut, stacksURL+"/once/services/web", body); rec.Code != 200 || rec.Header().Get("X-Replayed") != "" {
		t.Errorf("a new report: %d %q", rec.Code, rec.Header().Get("X-Replayed"))
	}

	// Products too.
	productID := []string{HeaderClientRequestID, uuid.NewString()}
	body = `{"product_name":"again","stack_deps":[[{"stack_name":"once"}]]}`
	first = send(t, server, http.MethodPost, "/api/products", body, productID...)
	again = send(t, server, http.MethodPost, "/api/products", body, productID...)
	if first.Code != 201 || again.Code != 201 || again.Body.String() != first.Body.String() || again.Header().Get("X-Replayed") != "true" {
		t.Errorf("product create and its retry: %d %s / %d %s", first.Code, first.Body, again.Code, again.Body)
	}
	if got := again.Header().Get("Location"); got != "/api/products/again" {
		t.Errorf("the retried product create's Location %q", got)
	}
	expect(t, get(t, server, "/api/products/names"), 200, `["memcached","kodo","again"]`)
	if rec := send(t, server, http.MethodPost, "/api/products", body); rec.Code != 409 {
		t.Errorf("the same create without the id: %d", rec.Code)
	}
}

// Each token has its own Client-Request-Ids.
func TestRequestIDsArePerToken(t *testing.T) {
	db := authDB(t)
	server := newAuthServer(t, db, false)
	id := uuid.NewString()
	a := send(t, server, http.MethodPost, "/v1/team1/stacks", `{"stack_name":"by_writer"}`, append([]string{HeaderClientRequestID, id}, team1Write.headers...)...)
	b := send(t, server, http.MethodPost, "/v1/team1/stacks", `{"stack_name":"by_admin"}`, append([]string{HeaderClientRequestID, id}, adminToken.headers...)...)
	if a.Code != 201 || b.Code != 201 || b.Header().Get("X-Replayed") != "" || a.Body.String() == b.Body.String() {
		t.Fatalf("two tokens, one id: %d %s / %d %q %s", a.Code, a.Body, b.Code, b.Header().Get("X-Replayed"), b.Body)
	}
	// The same token's retry, by either header, is still a retry.
	c := send(t, server, http.MethodPost, "/v1/team1/stacks", `{"stack_name":"by_writer"}`, append([]string{HeaderClientRequestID, id}, team1Bearer.headers...)...)
	if c.Code != 201 || c.Header().Get("X-Replayed") != "true" || c.Body.String() != a.Body.String() {
		t.Errorf("retry with the bearer header: %d %q %s", c.Code, c.Header().Get("X-Replayed"), c.Body)
	}
	// An id used by one token is a conflict only for that token.
	expect(t, send(t, server, http.MethodPost, "/v1/team1/stacks", `{"stack_name":"other"}`, append([]string{HeaderClientRequestID, id}, adminToken.headers...)...),
		409, rfJSON(t, "RF.10019001", "Client-Request-Id "+id+" was already used for a different request"))
	for _, name := range []string{"by_writer", "by_admin"} {
		if n := eventRows(t, db, stackPK(t, db, "team1", name)); n != 1 {
			t.Errorf("%s: %d events", name, n)
		}
	}
}

// Browser writes from other sites are refused in the family's error shape; same-origin and non-browser writes pass.
func TestCrossOriginWritesAreRefused(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	const refused = "Forbidden: cross-origin writes are refused"
	rf := rfJSON(t, "RF.10013001", refused)
	spock := spockJSON(t, refused, "403", "")
	n := 0
	stackBody := func() string { n++; return `{"stack_name":"s` + strconv.Itoa(n) + `"}` }
	productBody := func() string {
		n++
		return `{"product_name":"p` + strconv.Itoa(n) + `","stack_deps":[[{"stack_name":"kodo"}]]}`
	}
	tests := []struct {
		name    string
		method  string
		target  string
		body    func() string
		headers []string
		status  int
		want    string
	}{
		{"cross-site fetch", http.MethodPost, stacksURL, stackBody, []string{"Sec-Fetch-Site", "cross-site"}, 403, rf},
		{"same-site but other origin", http.MethodPost, stacksURL, stackBody, []string{"Sec-Fetch-Site", "same-site"}, 403, rf},
		{"other Origin", http.MethodPost, stacksURL, stackBody, []string{"Origin", "https://evil.example"}, 403, rf},
		{"other Origin patches", http.MethodPatch, stacksURL + "/kodo", func() string { return `{"description":"pwned"}` }, []string{"Origin", "https://evil.example"}, 403, rf},
		{"other Origin deletes", http.MethodDelete, stacksURL + "/kodo/services/io", func() string { return "" }, []string{"Sec-Fetch-Site", "cross-site"}, 403, rf},
		{"cross-site product", http.MethodPost, "/api/products", productBody, []string{"Sec-Fetch-Site", "cross-site"}, 403, spock},
		{"other Origin product", http.MethodPost, "/api/products", productBody, []string{"Origin", "https://evil.example"}, 403, spock},
		{"other Origin deletes a product", http.MethodDelete, "/api/products/kodo", func() string { return "" }, []string{"Origin", "http://evil.example"}, 403, spock},
		{"same-origin fetch", http.MethodPost, stacksURL, stackBody, []string{"Sec-Fetch-Site", "same-origin"}, 201, ""},
		{"user-initiated", http.MethodPost, stacksURL, stackBody, []string{"Sec-Fetch-Site", "none"}, 201, ""},
		{"same Origin", http.MethodPost, stacksURL, stackBody, []string{"Origin", "http://example.com"}, 201, ""},
		{"no browser headers (curl)", http.MethodPost, stacksURL, stackBody, nil, 201, ""},
		{"same-origin product", http.MethodPost, "/api/products", productBody, []string{"Sec-Fetch-Site", "same-origin"}, 201, ""},
		{"curl product", http.MethodPost, "/api/products", productBody, nil, 201, ""},
		{"cross-site read", http.MethodGet, stacksURL, func() string { return "" }, []string{"Sec-Fetch-Site", "cross-site"}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := call(t, server, tt.method, tt.target, tt.body(), tt.headers...)
			if tt.want == "" {
				if rec.Code != tt.status {
					t.Errorf("%d %s, want %d", rec.Code, rec.Body, tt.status)
				}
				return
			}
			expect(t, rec, tt.status, tt.want)
		})
	}
	// Nothing refused was applied.
	rec := get(t, server, stacksURL+"/kodo", HeaderClientRequestID, clientRequestID)
	if body := rec.Body.String(); strings.Contains(body, "pwned") || !strings.Contains(body, `"service_name":"io"`) {
		t.Errorf("a refused write was applied: %s", body)
	}
}

// Each client gets a steady rate of writes with bursts; beyond it, 429 with Retry-After. Reads are not limited.
func TestWritesAreRateLimited(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	server := NewServer(db, slog.New(slog.DiscardHandler), Options{WriteRate: 1, WriteBurst: 2})
	write := func(addr, target, body string) (int, string, string) {
		t.Helper()
		rec := serveFrom(t, server, addr, http.MethodPost, target, body)
		return rec.Code, rec.Header().Get("Retry-After"), compactJSON(t, rec.Body.Bytes())
	}
	for i := range 2 {
		if code, _, body := write("192.0.2.1:1000", stacksURL, `{"stack_name":"burst`+strconv.Itoa(i)+`"}`); code != 201 {
			t.Fatalf("write %d of the burst: %d %s", i+1, code, body)
		}
	}
	code, retryAfter, body := write("192.0.2.1:1001", stacksURL, `{"stack_name":"third"}`)
	seconds, err := strconv.Atoi(retryAfter)
	if code != 429 || err != nil || seconds < 1 {
		t.Errorf("third write: %d Retry-After %q", code, retryAfter)
	}
	if want := rfJSON(t, "RF.10012901", "Too Many Requests: retry in "+retryAfter+" s"); body != want {
		t.Errorf("body %s, want %s", body, want)
	}
	if rec := get(t, server, stacksURL+"/third/metadata", HeaderClientRequestID, clientRequestID); rec.Code != 404 {
		t.Errorf("the refused write was applied: %d", rec.Code)
	}
	// Reads are not limited.
	for i := range 20 {
		if rec := serveFrom(t, server, "192.0.2.1:1002", http.MethodGet, stacksURL, ""); rec.Code != 200 {
			t.Fatalf("read %d: %d", i, rec.Code)
		}
	}
	// Another client has its own budget; the spock family answers in its shape.
	for i := range 2 {
		if code, _, body := write("192.0.2.2:1000", "/api/products", `{"product_name":"p`+strconv.Itoa(i)+`","stack_deps":[[{"stack_name":"kodo"}]]}`); code != 201 {
			t.Fatalf("product write %d: %d %s", i+1, code, body)
		}
	}
	code, retryAfter, body = write("192.0.2.2:1000", "/api/products", `{"product_name":"p3","stack_deps":[[{"stack_name":"kodo"}]]}`)
	if want := spockJSON(t, "Too Many Requests: retry in "+retryAfter+" s", "429", ""); code != 429 || retryAfter == "" || body != want {
		t.Errorf("third product write: %d Retry-After %q %s", code, retryAfter, body)
	}
}

// With tokens, each token has its own budget wherever it comes from.
func TestRateLimitIsPerToken(t *testing.T) {
	server := NewServer(authDB(t), slog.New(slog.DiscardHandler), Options{Tokens: testTokens(t), WriteRate: 1, WriteBurst: 2})
	for i := range 3 {
		rec := call(t, server, http.MethodPost, "/v1/team1/stacks", `{"stack_name":"w`+strconv.Itoa(i)+`"}`, team1Write.headers...)
		if want := map[bool]int{true: 201, false: 429}[i < 2]; rec.Code != want {
			t.Errorf("team1 writer's write %d: %d, want %d", i+1, rec.Code, want)
		}
	}
	if rec := call(t, server, http.MethodPost, "/v1/team1/stacks", `{"stack_name":"a0"}`, adminToken.headers...); rec.Code != 201 {
		t.Errorf("admin's first write from the same address: %d %s", rec.Code, rec.Body)
	}
}

// serveFrom sends a JSON request with a fresh Client-Request-Id from a client address.
func serveFrom(t *testing.T, h http.Handler, addr, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.RemoteAddr = addr
	req.Header.Set(HeaderClientRequestID, uuid.NewString())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
