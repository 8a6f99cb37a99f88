package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// The secrets of the test tokens; the tokens file holds only their SHA-256.
const (
	team1WriterSecret = "s3cret-team1-writer"
	readerSecret      = "s3cret-everyone-reader"
	adminSecret       = "s3cret-admin"
	team1ReaderSecret = "s3cret-team1-reader"
	unknownSecret     = "s3cret-nobody"
)

func sha256Hex(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// writeFile writes a file in the test's temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testTokens loads a tokens file: a write token for team1, a read token and a write token for every project, and
// a read token for team1.
func testTokens(t *testing.T) []TokenConfig {
	t.Helper()
	path := writeFile(t, "tokens.yaml", fmt.Sprintf(`
- name: team1-writer
  sha256: %s
  projects: [team1]
  role: write
- name: everyone-reader
  sha256: %s
  projects: ["*"]
  role: read
- name: admin
  sha256: %s
  projects: ["*"]
  role: write
- name: team1-reader
  sha256: %s
  projects: [team1]
  role: read
`, sha256Hex(team1WriterSecret), strings.ToUpper(sha256Hex(readerSecret)), sha256Hex(adminSecret), sha256Hex(team1ReaderSecret)))
	tokens, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

// authDB holds two projects, team1 and team2, each with a stack web and a product.
func authDB(t *testing.T) *gorm.DB {
	t.Helper()
	db := openTestDB(t)
	importYAML(t, db, `
projects:
  - id: team1
    stacks:
      - name: web
        services: [{name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx}}]
  - id: team2
    stacks:
      - name: web
        services: [{name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx}}]
products:
  - {name: shop1, project: team1, layers: [[web]]}
  - {name: shop2, project: team2, layers: [[web]]}
`)
	return db
}

func newAuthServer(t *testing.T, db *gorm.DB, authReads bool) *Server {
	t.Helper()
	return NewServer(db, slog.New(slog.DiscardHandler), Options{Tokens: testTokens(t), AuthReads: authReads})
}

// credentials are the headers a client authenticates with.
type credentials struct {
	name    string
	headers []string
}

var (
	noToken       = credentials{"no token", nil}
	unknownToken  = credentials{"unknown token", []string{HeaderAuthToken, unknownSecret}}
	unknownBearer = credentials{"unknown bearer token", []string{HeaderAuthorization, "Bearer " + unknownSecret}}
	basicAuth     = credentials{"basic auth is no token", []string{HeaderAuthorization, "Basic dXNlcjpwYXNz"}}
	readToken     = credentials{"read token", []string{HeaderAuthToken, readerSecret}}
	team1Read     = credentials{"team1 read token", []string{HeaderAuthToken, team1ReaderSecret}}
	team1Write    = credentials{"team1 write token", []string{HeaderAuthToken, team1WriterSecret}}
	team1Bearer   = credentials{"team1 write token as bearer", []string{HeaderAuthorization, "Bearer " + team1WriterSecret}}
	team1BearerLC = credentials{"team1 write token as lower-case bearer", []string{HeaderAuthorization, "bearer " + team1WriterSecret}}
	adminToken    = credentials{"admin token", []string{HeaderAuthToken, adminSecret}}
)

const (
	msgNoToken      = "Unauthorized: send a token in X-Auth-Token or Authorization: Bearer"
	msgUnknownToken = "Unauthorized: the token is not known"
)

func TestWritesNeedAWriteTokenForTheProject(t *testing.T) {
	server := newAuthServer(t, authDB(t), false)
	tests := []struct {
		creds   credentials
		project string
		status  int
		message string // of the refusal
	}{
		{noToken, "team1", 401, msgNoToken},
		{basicAuth, "team1", 401, msgNoToken},
		{unknownToken, "team1", 401, msgUnknownToken},
		{unknownBearer, "team1", 401, msgUnknownToken},
		{readToken, "team1", 403, "Forbidden: token everyone-reader may only read"},
		{team1Read, "team1", 403, "Forbidden: token team1-reader may only read"},
		{team1Write, "team2", 403, "Forbidden: token team1-writer has no access to project team2"},
		{team1Bearer, "team2", 403, "Forbidden: token team1-writer has no access to project team2"},
		{team1Write, "team1", 201, ""},
		{team1Bearer, "team1", 201, ""},
		{team1BearerLC, "team1", 201, ""},
		{adminToken, "team2", 201, ""},
		{adminToken, "new-team", 201, ""},
	}
	for i, tt := range tests {
		t.Run(tt.creds.name+" in "+tt.project, func(t *testing.T) {
			stack := fmt.Sprintf("stack%d", i)
			product := fmt.Sprintf("product%d", i)
			rfWant, spockWant := "", ""
			if tt.status != 201 {
				code := map[int]string{401: "RF.10012001", 403: "RF.10013001"}[tt.status]
				rfWant = rfJSON(t, code, tt.message)
				spockWant = spockJSON(t, tt.message, fmt.Sprint(tt.status), "")
			}

			rec := call(t, server, http.MethodPost, "/v1/"+tt.project+"/stacks", `{"stack_name":"`+stack+`"}`, tt.creds.headers...)
			if tt.status == 201 {
				if rec.Code != 201 || !strings.HasPrefix(rec.Body.String(), `{"stack_id":"`) {
					t.Errorf("POST /v1/%s/stacks: %d %s", tt.project, rec.Code, rec.Body)
				}
			} else {
				expect(t, rec, tt.status, rfWant)
			}

			if tt.project == "new-team" {
				return // no stack to make a product of
			}
			body := `{"product_name":"` + product + `","project_id":"` + tt.project + `","stack_deps":[[{"stack_name":"web"}]]}`
			rec = send(t, server, http.MethodPost, "/api/products", body, tt.creds.headers...)
			if tt.status == 201 {
				if rec.Code != 201 || !strings.HasPrefix(rec.Body.String(), `{"product_name":"`+product+`"`) {
					t.Errorf("POST /api/products: %d %s", rec.Code, rec.Body)
				}
			} else {
				expect(t, rec, tt.status, spockWant)
			}
		})
	}

	// Every other write is guarded the same way.
	// (In an order in which they all succeed with the right token.)
	writes := []struct{ method, target, body string }{
		{http.MethodPut, "/v1/team1/stacks/web/services/nginx", `{"state":"DEPLOYED","status":"FAULT","image":{"name":"nginx"}}`},
		{http.MethodDelete, "/v1/team1/stacks/web/services/nginx", ``},
		{http.MethodPut, "/api/products/shop1", `{"stack_deps":[[{"stack_name":"stack8"}]]}`},
		{http.MethodDelete, "/api/products/shop1", ``},
		{http.MethodPatch, "/v1/team1/stacks/web", `{"status":"DEPLOYMENT_COMPLETE"}`},
		{http.MethodDelete, "/v1/team1/stacks/stack8", ``},
	}
	for _, w := range writes {
		rf := strings.HasPrefix(w.target, "/v1/")
		for _, tt := range []struct {
			creds   credentials
			status  int
			message string
		}{
			{noToken, 401, msgNoToken},
			{unknownToken, 401, msgUnknownToken},
			{readToken, 403, "Forbidden: token everyone-reader may only read"},
		} {
			want := spockJSON(t, tt.message, fmt.Sprint(tt.status), "")
			if rf {
				want = rfJSON(t, map[int]string{401: "RF.10012001", 403: "RF.10013001"}[tt.status], tt.message)
			}
			rec := call(t, server, w.method, w.target, w.body, tt.creds.headers...)
			t.Run(w.method+" "+w.target+" with "+tt.creds.name, func(t *testing.T) { expect(t, rec, tt.status, want) })
		}
	}
	// A team1 token cannot touch team2's product, even by replacing its layers with team1's stacks.
	expect(t, send(t, server, http.MethodDelete, "/api/products/shop2", "", team1Write.headers...),
		403, spockJSON(t, "Forbidden: token team1-writer has no access to project team2", "403", ""))
	expect(t, send(t, server, http.MethodPut, "/api/products/shop2", `{"stack_deps":[[{"stack_name":"web"}]]}`, team1Write.headers...),
		403, spockJSON(t, "Forbidden: token team1-writer has no access to project team2", "403", ""))
	// Nothing refused was applied.
	expect(t, get(t, server, "/api/products/names"), 200, `["shop1","shop2","product8","product9","product10","product11"]`)
	rec := get(t, server, "/v1/team1/stacks/web", HeaderClientRequestID, clientRequestID)
	if body := rec.Body.String(); !strings.Contains(body, `"status":"CREATION_COMPLETE"`) || !strings.Contains(body, `"status":"RUNNING","domains"`) {
		t.Errorf("refused writes changed team1's web: %s", body)
	}
	// The right tokens do the other writes.
	for _, w := range writes {
		if rec := call(t, server, w.method, w.target, w.body, team1Write.headers...); rec.Code >= 300 {
			t.Errorf("%s %s with the team1 write token: %d %s", w.method, w.target, rec.Code, rec.Body)
		}
	}
}

func TestReadsAreOpenWithoutAuthReads(t *testing.T) {
	server := newAuthServer(t, authDB(t), false)
	for _, target := range []string{"/api/products", "/api/products/names", "/api/products/shop2", "/v1/team2/stacks", "/v1/team2/stacks/web",
		"/v1/team2/stacks/web/metadata", "/v1/team2/stacks/web/events"} {
		for _, creds := range []credentials{noToken, team1Read, team1Write} {
			rec := get(t, server, target, append([]string{HeaderClientRequestID, clientRequestID}, creds.headers...)...)
			if rec.Code != 200 {
				t.Errorf("GET %s with %s: %d %s", target, creds.name, rec.Code, rec.Body)
			}
		}
		if rec := get(t, server, target, HeaderAccept, browserAccept); rec.Code != 200 {
			t.Errorf("browser GET %s: %d", target, rec.Code)
		}
	}
	// A token that is sent must be a known one, even on a read.
	expect(t, get(t, server, "/v1/team1/stacks", HeaderClientRequestID, clientRequestID, HeaderAuthToken, unknownSecret),
		401, rfJSON(t, "RF.10012001", msgUnknownToken))
	// Without AuthReads, a scoped read token does not narrow what is shown.
	expect(t, get(t, server, "/api/products/names", team1Read.headers...), 200, `["shop1","shop2"]`)
}

func TestProtectedReads(t *testing.T) {
	server := newAuthServer(t, authDB(t), true)

	// JSON reads without a token: 401 in the family's shape.
	expect(t, get(t, server, "/v1/team1/stacks", HeaderClientRequestID, clientRequestID), 401, rfJSON(t, "RF.10012001", msgNoToken))
	expect(t, get(t, server, "/v1/team1/stacks/web/events", HeaderClientRequestID, clientRequestID), 401, rfJSON(t, "RF.10012001", msgNoToken))
	expect(t, get(t, server, "/api/products"), 401, spockJSON(t, msgNoToken, "401", ""))
	expect(t, get(t, server, "/api/products/names"), 401, spockJSON(t, msgNoToken, "401", ""))
	expect(t, get(t, server, "/api/products/shop1"), 401, spockJSON(t, msgNoToken, "401", ""))
	expect(t, get(t, server, "/api/products", HeaderAuthToken, unknownSecret), 401, spockJSON(t, msgUnknownToken, "401", ""))
	// The live stream is a read too.
	if rec := get(t, server, "/events?topics=all"); rec.Code != 401 {
		t.Errorf("/events without a token: %d", rec.Code)
	}
	// The sign-in page, health check and static files stay open.
	for _, target := range []string{"/healthz", "/static/app.css", "/login"} {
		if rec := get(t, server, target, HeaderAccept, browserAccept); rec.Code != 200 {
			t.Errorf("GET %s without a token: %d", target, rec.Code)
		}
	}

	// A browser is sent to the sign-in page, which knows where to come back to.
	for _, target := range []string{"/api/products", "/v1/team1/stacks?status=RUNNING&q=we", "/api/products/shop1"} {
		rec := get(t, server, target, HeaderAccept, browserAccept)
		if want := "/login?next=" + url.QueryEscape(target); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
			t.Errorf("browser GET %s: %d Location %q, want 303 %q", target, rec.Code, rec.Header().Get("Location"), want)
		}
	}
	rec := get(t, server, "/login?next="+url.QueryEscape("/v1/team1/stacks"), HeaderAccept, browserAccept)
	if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, `<form method="post" action="/login">`) ||
		!strings.Contains(body, `name="next" value="/v1/team1/stacks"`) {
		t.Errorf("sign-in page: %d %s", rec.Code, body)
	}

	// A wrong token: the form again, 401, and no cookie.
	rec = postForm(t, server, url.Values{"token": {unknownSecret}, "next": {"/v1/team1/stacks"}})
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "That token is not known") ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || rec.Header().Get("Set-Cookie") != "" {
		t.Errorf("wrong token: %d %q %s", rec.Code, rec.Header().Get("Set-Cookie"), rec.Body)
	}

	// The right token: an HttpOnly, SameSite=Strict session cookie, and back to next.
	rec = postForm(t, server, url.Values{"token": {readerSecret}, "next": {"/v1/team1/stacks"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/v1/team1/stacks" {
		t.Fatalf("sign in: %d Location %q", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/" ||
		cookies[0].MaxAge <= 0 || len(cookies[0].Value) < 32 || strings.Contains(cookies[0].Value, readerSecret) {
		t.Fatalf("session cookie: %+v (Set-Cookie %q)", cookies, rec.Header().Get("Set-Cookie"))
	}
	session := []string{"Cookie", cookies[0].Name + "=" + cookies[0].Value}
	rec = get(t, server, "/v1/team1/stacks", append([]string{HeaderAccept, browserAccept}, session...)...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<html") {
		t.Errorf("the page with the session: %d", rec.Code)
	}
	// The page says who is signed in, and offers to sign out.
	if body := rec.Body.String(); !strings.Contains(body, "Signed in as <strong>everyone-reader</strong>") ||
		!strings.Contains(body, `<form id="signed-in" class="signed-in" method="post" action="/logout">`) {
		t.Errorf("the page with the session does not name everyone-reader with a sign-out form: %.300s", body[strings.Index(body, "header-tools"):])
	}
	// A token sent in a header is no session: nothing to sign out of.
	if body := get(t, server, "/v1/team1/stacks", append([]string{HeaderAccept, browserAccept}, readToken.headers...)...).Body.String(); strings.Contains(body, "Signed in as") {
		t.Errorf("a page for a header token says who is signed in")
	}
	if rec = get(t, server, "/api/products", session...); rec.Code != 200 {
		t.Errorf("JSON with the session: %d", rec.Code)
	}
	// The session is a read token's: it cannot write.
	expect(t, call(t, server, http.MethodPost, "/v1/team1/stacks", `{"stack_name":"x"}`, session...),
		403, rfJSON(t, "RF.10013001", "Forbidden: token everyone-reader may only read"))
	// An unknown session cookie is no session.
	if rec = get(t, server, "/api/products", HeaderAccept, browserAccept, "Cookie", cookies[0].Name+"=forged"); rec.Code != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", rec.Code)
	}
	// Signing out ends the session.
	rec = send(t, server, http.MethodPost, "/logout", "", session...)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Errorf("logout: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec = get(t, server, "/api/products", append([]string{HeaderAccept, browserAccept}, session...)...); rec.Code != http.StatusSeeOther {
		t.Errorf("after logout: %d", rec.Code)
	}

	// next never leads to another site.
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", ""} {
		rec = postForm(t, server, url.Values{"token": {readerSecret}, "next": {next}})
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/api/products" {
			t.Errorf("next %q: %d Location %q", next, rec.Code, rec.Header().Get("Location"))
		}
	}

	// Tokens in headers work for JSON reads.
	for _, creds := range []credentials{readToken, team1Write, adminToken} {
		if rec := get(t, server, "/v1/team1/stacks", append([]string{HeaderClientRequestID, clientRequestID}, creds.headers...)...); rec.Code != 200 {
			t.Errorf("%s: %d %s", creds.name, rec.Code, rec.Body)
		}
	}
}

// postForm signs in the way the sign-in form does.
func postForm(t *testing.T, h http.Handler, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	return send(t, h, http.MethodPost, "/login", form.Encode(), HeaderAccept, browserAccept, "Content-Type", "application/x-www-form-urlencoded")
}

// A read token scoped to team1 reads team1 and nothing of team2.
func TestScopedReadToken(t *testing.T) {
	server := newAuthServer(t, authDB(t), true)
	scoped := append([]string{HeaderClientRequestID, clientRequestID}, team1Read.headers...)
	forbidden := "Forbidden: token team1-reader has no access to project team2"
	tests := []struct {
		target string
		status int
		want   string // exact body, or a prefix ending in "…"
	}{
		{"/v1/team1/stacks", 200, `{"stacks":[{"stack_name":"web",…`},
		{"/v1/team1/stacks/web/events", 200, `{"stack_events":[…`},
		{"/v1/team2/stacks", 403, rfJSON(t, "RF.10013001", forbidden)},
		{"/v1/team2/stacks/web", 403, rfJSON(t, "RF.10013001", forbidden)},
		{"/v1/team2/stacks/web/metadata", 403, rfJSON(t, "RF.10013001", forbidden)},
		{"/v1/team2/stacks/web/events", 403, rfJSON(t, "RF.10013001", forbidden)},
		{"/api/products/names", 200, `["shop1"]`},
		{"/api/products", 200, `[{"product_name":"shop1",…`},
		{"/api/products/shop1", 200, `{"product_name":"shop1",…`},
		{"/api/products/shop2", 403, spockJSON(t, forbidden, "403", "")},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := get(t, server, tt.target, scoped...)
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
				if rec.Code != tt.status || !strings.HasPrefix(compactJSON(t, rec.Body.Bytes()), prefix) {
					t.Errorf("%d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.want)
				}
			} else {
				expect(t, rec, tt.status, tt.want)
			}
			if strings.Contains(rec.Body.String(), "shop2") || strings.Contains(rec.Body.String(), "team2") && rec.Code == 200 {
				t.Errorf("team2 shows through: %s", rec.Body)
			}
		})
	}
	// The overview page does not show team2's product either.
	rec := get(t, server, "/api/products", append([]string{HeaderAccept, browserAccept}, team1Read.headers...)...)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "shop2") {
		t.Errorf("overview page for team1's reader: %d, shows shop2: %v", rec.Code, strings.Contains(rec.Body.String(), "shop2"))
	}
}

func TestLoadTokens(t *testing.T) {
	good := sha256Hex("secret")
	tests := []struct {
		name    string
		content string
		wantErr string // "" for success
	}{
		{"good", "- {name: ci, sha256: " + good + ", projects: [team1, team2], role: write}\n- {name: viewer, sha256: " + strings.ToUpper(good[:32]) + good[32:] + ", projects: [\"*\"], role: read}", ""},
		{"sha256 too short", "- {name: ci, sha256: " + good[:63] + ", projects: [team1], role: write}", "[0].sha256: must be the 64 hex digits"},
		{"sha256 not hex", "- {name: ci, sha256: " + strings.Repeat("g", 64) + ", projects: [team1], role: write}", "[0].sha256: must be the 64 hex digits"},
		{"sha256 missing", "- {name: ci, projects: [team1], role: write}", "[0].sha256: must be the 64 hex digits"},
		{"role unknown", "- {name: ci, sha256: " + good + ", projects: [team1], role: admin}", `[0].role: "admin" is neither read nor write`},
		{"role missing", "- {name: ci, sha256: " + good + ", projects: [team1]}", `[0].role: "" is neither read nor write`},
		{"no projects", "- {name: ci, sha256: " + good + ", role: write}", `[0].projects: list project ids, or ["*"] for all`},
		{"empty projects", "- {name: ci, sha256: " + good + ", projects: [], role: write}", `[0].projects: list project ids, or ["*"] for all`},
		{"bad project id", "- {name: ci, sha256: " + good + ", projects: [team1, p1], role: write}", `[0].projects[1]: projects: "p1" is 2 characters long`},
		{"duplicate name", "- {name: ci, sha256: " + good + ", projects: [team1], role: write}\n- {name: ci, sha256: " + good + ", projects: [team2], role: read}", `[1].name: "ci" appears twice`},
		{"no name", "- {sha256: " + good + ", projects: [team1], role: write}", "[0].name: is required"},
		{"unknown key", "- {name: ci, secret: hunter2, sha256: " + good + ", projects: [team1], role: write}", "field secret not found"},
		{"no tokens", "[]", "lists no tokens"},
		{"not a list", "name: ci", "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "tokens.yaml", tt.content)
			tokens, err := LoadTokens(path)
			if tt.wantErr == "" {
				if err != nil || len(tokens) != 2 || tokens[0].Name != "ci" || tokens[0].Role != "write" || len(tokens[0].Projects) != 2 || tokens[1].Projects[0] != "*" {
					t.Errorf("LoadTokens = %+v, %v", tokens, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want one naming %s and %q", err, path, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
	if _, err := LoadTokens(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing tokens file loads")
	}
}

func TestCheckListenAddress(t *testing.T) {
	tests := []struct {
		addr                     string
		withTokens, insecureOpen bool
		ok                       bool
	}{
		{"127.0.0.1:8080", false, false, true},
		{"127.0.0.2:8080", false, false, true},
		{"localhost:8080", false, false, true},
		{"[::1]:8080", false, false, true},
		{"0.0.0.0:8080", false, false, false},
		{"0.0.0.0:8080", true, false, true},
		{"0.0.0.0:8080", false, true, true},
		{":8080", false, false, false},
		{":8080", true, false, true},
		{"[::]:8080", false, false, false},
		{"192.168.1.10:8080", false, false, false},
		{"example.com:8080", false, false, false},
		{"127.0.0.1", false, false, false}, // no port: not an address it can judge
	}
	for _, tt := range tests {
		err := CheckListenAddress(tt.addr, tt.withTokens, tt.insecureOpen)
		if (err == nil) != tt.ok {
			t.Errorf("CheckListenAddress(%q, tokens %v, insecure %v) = %v, want ok %v", tt.addr, tt.withTokens, tt.insecureOpen, err, tt.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), tt.addr) || !strings.Contains(err.Error(), "--tokens") || !strings.Contains(err.Error(), "--insecure-open")) {
			t.Errorf("the refusal does not say what to do: %v", err)
		}
	}
}
