package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"stackboard/static"
)

// Every answer, whatever its kind, carries the browser security headers.
func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	h := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	const project = "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1"
	for _, target := range []string{
		"/", "/api/products", "/api/products?format=html", "/api/products/kodo", "/nowhere", "/healthz", "/login",
		static.URL("app.css"), "/static/app.js", "/static/missing.js", project + "/stacks?format=html",
		"/v1/%2e%2e/stacks", "/static/..%2f..%2fetc%2fpasswd",
	} {
		rec := get(t, h, target, "Accept", "text/html")
		want := map[string]string{
			HeaderContentSecurityPolicy: contentSecurityPolicy,
			HeaderReferrerPolicy:        "same-origin",
			HeaderContentTypeOptions:    "nosniff",
			HeaderFrameOptions:          "DENY",
		}
		for name, value := range want {
			if got := rec.Header().Get(name); got != value {
				t.Errorf("GET %s (%d): %s is %q, want %q", target, rec.Code, name, got, value)
			}
		}
	}
	for _, directive := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(contentSecurityPolicy, directive) {
			t.Errorf("the policy %q lacks %q", contentSecurityPolicy, directive)
		}
	}
	if strings.Contains(contentSecurityPolicy, "unsafe-") {
		t.Errorf("the policy %q allows something unsafe", contentSecurityPolicy)
	}
}

// Pages hold no inline script, no style attribute and no hx-on handler, which the policy would block.
func TestPagesHaveNothingInline(t *testing.T) {
	h := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	const stack = "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks/kodo"
	for _, target := range []string{"/api/products", "/api/products/kodo", "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks", stack, stack + "/events", "/nowhere"} {
		for _, headers := range [][]string{{"Accept", "text/html"}, {"HX-Request", "true"}} {
			body := get(t, h, target, headers...).Body.String()
			for _, bad := range []string{"<script>", "style=", "hx-on", "javascript:"} {
				if strings.Contains(body, bad) {
					t.Errorf("GET %s %v holds %q", target, headers, bad)
				}
			}
			if strings.Contains(body, "<script") && !strings.Contains(body, `<script src="/static/`) {
				t.Errorf("GET %s %v has a script that is not a /static/ file", target, headers)
			}
		}
	}
}

// Only the listed hosts are answered, before routing and in the family's error shape.
func TestHostAllowlist(t *testing.T) {
	hosts, err := AllowedHosts("127.0.0.1:8080", "https://board.example.com/", []string{"extra.example"})
	if err != nil {
		t.Fatal(err)
	}
	h := NewServer(openTestDB(t, "spec/list-products.yaml"), slog.New(slog.DiscardHandler), Options{AllowedHosts: hosts})
	cases := []struct {
		host   string
		path   string
		status int
	}{
		{"127.0.0.1:8080", "/api/products", 200},
		{"localhost:8080", "/api/products", 200},
		{"LOCALHOST.", "/api/products", 200},
		{"[::1]:8080", "/api/products", 200},
		{"board.example.com", "/api/products", 200},
		{"extra.example:443", "/api/products", 200},
		{"evil.example:8080", "/api/products", 400},
		{"evil.example", "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks", 400},
		{"127.0.0.1.evil.example", "/healthz", 400},
		{"", "/api/products", 400},
	}
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodGet, c.path, nil)
		req.Host = c.host
		req.Header.Set(HeaderClientRequestID, clientRequestID)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Errorf("Host %q %s: %d, want %d: %s", c.host, c.path, rec.Code, c.status, rec.Body)
			continue
		}
		if c.status == 400 {
			assertFamilyShape(t, "Host "+c.host+" "+c.path, c.path, rec)
		}
	}
	// The DNS-rebinding write of the issue: Host and Origin both the attacker's name.
	req := httptest.NewRequest(http.MethodPatch, "/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks/kodo", strings.NewReader(`{"description":"x"}`))
	req.Host, req.RemoteAddr = "evil.example:8080", "127.0.0.1:5555"
	req.Header.Set("Origin", "http://evil.example:8080")
	req.Header.Set(HeaderClientRequestID, clientRequestID)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Errorf("a rebound PATCH got %d, want 400: %s", rec.Code, rec.Body)
	}
}

func TestAllowedHostsDefaults(t *testing.T) {
	for _, c := range []struct {
		addr string
		want []string
	}{
		{"127.0.0.1:8080", []string{"127.0.0.1", "localhost", "::1"}},
		{"localhost:0", []string{"127.0.0.1", "localhost", "::1"}},
		{"[::1]:8080", []string{"127.0.0.1", "localhost", "::1"}},
		{"10.1.2.3:80", []string{"10.1.2.3"}},
		{"board.internal:80", []string{"board.internal"}},
	} {
		got, err := AllowedHosts(c.addr, "", nil)
		if err != nil || strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("AllowedHosts(%q) = %q, %v; want %q", c.addr, got, err, c.want)
		}
	}
	all, err := AllowedHosts(":8080", "", nil)
	if err != nil || !newHostList(all)["localhost"] || !newHostList(all)["127.0.0.1"] {
		t.Errorf("AllowedHosts(:8080) = %q, %v; want the loopback names among them", all, err)
	}
	for _, bad := range []string{"ftp://x", "board.example.com", "https://"} {
		if _, err := AllowedHosts("127.0.0.1:80", bad, nil); err == nil {
			t.Errorf("--public-url %q was accepted", bad)
		}
	}
}

// Paths a cleaning router would redirect are a 400 in the family's shape; static misses are 404s in it.
func TestNoPathCleaningRedirects(t *testing.T) {
	h := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	cases := []struct {
		path   string
		status int
	}{
		{"/static/..%2f..%2fetc%2fpasswd", 400},
		{"/static/../../etc/passwd", 400},
		{"/v1/%2e%2e/stacks", 400},
		{"/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks/./kodo", 400},
		{"//api/products", 400},
		{"/api//products", 400},
		{"/api/products/%5c", 400},
		{"/static/", 404},
		{"/static/missing.css", 404},
		{"/static/app.0000000000.css", 404},
		{"/static/sub/app.css", 404},
		{"/api/products/", 404},
	}
	for _, c := range cases {
		for _, accept := range []string{"", "text/html"} {
			rec := get(t, h, c.path, "Accept", accept, HeaderClientRequestID, clientRequestID)
			if rec.Code != c.status {
				t.Errorf("GET %s (Accept %q): %d, want %d (Location %q)", c.path, accept, rec.Code, c.status, rec.Header().Get("Location"))
				continue
			}
			if accept == "" {
				assertFamilyShape(t, "GET "+c.path, c.path, rec)
			} else if ct := rec.Header().Get("Content-Type"); ct != contentTypeHTML {
				t.Errorf("GET %s as a browser: Content-Type %q, want the HTML error page", c.path, ct)
			}
		}
	}
	if rec := get(t, h, static.URL("app.css")); rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("GET %s: %d %q, want the stylesheet", static.URL("app.css"), rec.Code, rec.Header().Get("Content-Type"))
	}
}

// assertFamilyShape checks that a JSON error answer has exactly the fields of the family of path.
func assertFamilyShape(t *testing.T, what, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != contentTypeJSON {
		t.Errorf("%s: Content-Type %q, want %q: %s", what, ct, contentTypeJSON, rec.Body)
		return
	}
	var fields map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &fields); err != nil {
		t.Errorf("%s: not a JSON object: %v: %s", what, err, rec.Body)
		return
	}
	if u, err := url.Parse(path); err == nil {
		path = u.Path
	}
	if strings.HasPrefix(path, "/v1/") {
		code, _ := fields["error_code"].(string)
		msg, _ := fields["error_msg"].(string)
		_, hasAuth := fields["encoded_authorization_message"]
		if len(fields) != 3 || len(code) != 11 || !strings.HasPrefix(code, "RF.") || msg == "" || !hasAuth {
			t.Errorf("%s: %s is not an RF error", what, rec.Body)
		}
		return
	}
	code, _ := fields["code"].(string)
	msg, _ := fields["message"].(string)
	_, hasDetail := fields["detail"]
	if len(fields) > 3 || len(fields) == 3 && !hasDetail || msg == "" || code != strconv.Itoa(rec.Code) && code != "622" {
		t.Errorf("%s: %s is not a spock error of status %d", what, rec.Body, rec.Code)
	}
}

// The sign-in redirect goes only to paths on this server.
func TestSafeRedirect(t *testing.T) {
	cases := map[string]string{
		"":                              "/api/products",
		"/api/products/kodo":            "/api/products/kodo",
		"/api/products?q=a%2Fb&x=1":     "/api/products?q=a%2Fb&x=1",
		"/v1/p1x/stacks":                "/v1/p1x/stacks",
		"/\t/evil.example/":             "/api/products",
		"/%09/evil.example/":            "/api/products",
		"//evil.example":                "/api/products",
		"/%2F/evil.example":             "/api/products",
		"/%252F/evil.example":           "/api/products",
		"/\\evil.example":               "/api/products",
		"/%5Cevil.example":              "/api/products",
		"/%255Cevil.example":            "/api/products",
		"https://evil.example/":         "/api/products",
		"javascript:alert(1)":           "/api/products",
		"evil.example":                  "/api/products",
		"/\r\nSet-Cookie:x":             "/api/products",
		"/%0d%0aSet-Cookie:x":           "/api/products",
		"/\x00":                         "/api/products",
		"/%00":                          "/api/products",
		"/%zz":                          "/api/products",
		"/" + strings.Repeat("a", 3000): "/api/products",
	}
	for next, want := range cases {
		if got := safeRedirect(next); got != want {
			t.Errorf("safeRedirect(%q) = %q, want %q", next, got, want)
		}
	}
	// The case through the router, with no tokens file.
	h := newTestServer(openTestDB(t))
	rec := get(t, h, "/login?next=/%09/evil.example/")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/api/products" {
		t.Errorf("GET /login?next=/%%09/evil.example/: %d Location %q, want 303 to /api/products", rec.Code, rec.Header().Get("Location"))
	}
}

// Sign-in attempts are limited per address, with 429 and Retry-After.
func TestLoginRateLimit(t *testing.T) {
	h := NewServer(openTestDB(t), slog.New(slog.DiscardHandler), Options{Tokens: testTokens(t)})
	post := func(addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {"wrong"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := 0; i < loginBurst; i++ {
		if rec := post("192.0.2.1:1000"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, rec.Code)
		}
	}
	rec := post("192.0.2.1:1001")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get(HeaderRetryAfter) == "" {
		t.Fatalf("attempt %d: %d Retry-After %q, want 429 with Retry-After", loginBurst+1, rec.Code, rec.Header().Get(HeaderRetryAfter))
	}
	assertFamilyShape(t, "the 429", "/login", rec)
	if rec := post("192.0.2.2:1000"); rec.Code != http.StatusUnauthorized {
		t.Errorf("another address: %d, want 401", rec.Code)
	}
}
