package web

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// badInput is one request a careless or hostile client might send, and the status it must get.
type badInput struct {
	method, path, body string
	headers            []string
	status             int
}

// badInputs are requests over every route: wrong methods, ids, headers, bodies, queries and paths.
func badInputs() []badInput {
	const (
		p       = "/v1/" + rfsProject
		stack   = p + "/stacks/kodo"
		service = stack + "/services/io"
	)
	var cases []badInput
	add := func(status int, method, path, body string, headers ...string) {
		cases = append(cases, badInput{method: method, path: path, body: body, headers: headers, status: status})
	}
	// Methods a route does not take.
	for route, methods := range map[string][]string{
		"/":                        {"POST", "PUT", "DELETE", "PATCH"},
		"/healthz":                 {"POST", "DELETE"},
		"/events":                  {"POST", "PUT"},
		"/login":                   {"PUT", "DELETE"},
		"/logout":                  {"GET", "PUT"},
		"/api/products":            {"PUT", "DELETE", "PATCH"},
		"/api/products/names":      {"POST"},
		"/api/products/kodo":       {"POST", "PATCH"},
		p + "/stacks":              {"PUT", "DELETE", "PATCH"},
		stack:                      {"POST", "PUT"},
		stack + "/metadata":        {"POST", "PUT", "PATCH", "DELETE"},
		stack + "/events":          {"POST", "PUT", "PATCH", "DELETE"},
		service:                    {"GET", "POST", "PATCH"},
		"/static/" + "app.css":     {"POST", "DELETE"},
		"/api/products/kodo/other": {"GET"},
	} {
		for _, m := range methods {
			status := http.StatusMethodNotAllowed
			if strings.HasSuffix(route, "/other") {
				status = http.StatusNotFound
			}
			add(status, m, route, "")
		}
	}
	// Ids.
	for _, id := range []string{"ab", strings.Repeat("a", 65), "a.b", "a%20b", "%00abc", "abc%C3%A9", "-_-x<"} {
		add(400, "GET", "/v1/"+id+"/stacks", "")
		add(400, "POST", "/v1/"+id+"/stacks", `{"stack_name":"web"}`)
	}
	for _, name := range []string{"nope", "Kodo", "9lives"} {
		add(404, "GET", p+"/stacks/"+name, "")
		add(404, "GET", p+"/stacks/"+name+"/events", "")
		add(404, "PATCH", p+"/stacks/"+name, `{"description":"x"}`)
		add(404, "DELETE", p+"/stacks/"+name, "")
	}
	add(404, "GET", "/api/products/nope", "")
	add(404, "DELETE", "/api/products/names", "") // "names" is a reserved product name: no product has it
	add(404, "PUT", "/api/products/nope", `{"stack_deps":[[{"stack_name":"kodo"}]]}`)
	add(404, "DELETE", "/api/products/nope", "")
	add(400, "PUT", p+"/stacks/kodo/services/9bad", `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"x"}}`)
	add(400, "PUT", p+"/stacks/kodo/services/"+strings.Repeat("s", 129), `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"x"}}`)
	add(404, "DELETE", p+"/stacks/kodo/services/nope", "")
	// Headers.
	add(400, "GET", p+"/stacks", "", HeaderClientRequestID, "")
	add(400, "GET", p+"/stacks", "", HeaderClientRequestID, "short")
	add(400, "GET", p+"/stacks", "", HeaderClientRequestID, strings.Repeat("x", 129))
	add(400, "GET", p+"/stacks", "", HeaderClientRequestID, strings.Repeat("é", 20))
	add(400, "GET", "/api/products", "", "Host", "evil.example")
	add(400, "PATCH", stack, `{"description":"x"}`, "Host", "evil.example:8080", "Origin", "http://evil.example:8080")
	add(400, "GET", stack, "", "Host", "127.0.0.1.evil.example")
	add(400, "GET", "/api/products?format=xml", "")
	add(400, "GET", p+"/stacks?format=yaml", "")
	add(403, "POST", p+"/stacks", `{"stack_name":"web2"}`, "Sec-Fetch-Site", "cross-site")
	add(403, "DELETE", "/api/products/kodo", "", "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site")
	// Bodies, on every write that takes one.
	writes := []struct{ method, path, good string }{
		{"POST", p + "/stacks", `{"stack_name":"fresh"}`},
		{"PATCH", stack, `{"description":"d"}`},
		{"PUT", service, `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"x"}}`},
		{"POST", "/api/products", `{"product_name":"fresh","stack_deps":[[{"stack_name":"kodo"}]]}`},
		{"PUT", "/api/products/kodo", `{"stack_deps":[[{"stack_name":"kodo"}]]}`},
	}
	for _, w := range writes {
		for _, body := range []string{"null", "[]", `"x"`, "1", "true", "{", `{"a":1}`, "{} {}", "{}x", " ", `[{"stack_name":"x"}]`,
			"{\"description\":\"\xff\"}", `{"Stack_Name":"x","Description":"y","STATE":"z","Stack_Deps":[]}`} {
			add(400, w.method, w.path, body)
		}
		add(413, w.method, w.path, `{"description":"`+strings.Repeat("x", 1<<20)+`"}`)
	}
	long := strings.Repeat("x", 1025)
	add(400, "POST", p+"/stacks", `{"stack_name":"web","description":"`+long+`"}`)
	add(400, "POST", p+"/stacks", `{"stack_name":"web","description":"a\u0000b"}`)
	add(400, "POST", p+"/stacks", "{\"stack_name\":\"web\",\"description\":\"ok\xc3\x28\"}")
	add(400, "POST", p+"/stacks", `{"stack_name":"web\u0000"}`)
	add(400, "POST", p+"/stacks", `{"stack_name":1}`)
	add(400, "PATCH", stack, `{"status_message":"`+strings.Repeat("m", 4097)+`"}`)
	add(400, "PATCH", stack, `{"status_message":"a\u0000"}`)
	add(400, "PATCH", stack, `{"status":"EXPLODED"}`)
	add(400, "PATCH", stack, `{"stack_id":"not-a-uuid"}`)
	add(400, "PATCH", stack, `{"description":null,"status":7}`)
	add(400, "PUT", service, `{"state":"DEPLOYED","status":"RUNNING","domains":[`+strings.TrimSuffix(strings.Repeat(`"d.example.com",`, 65), ",")+`],"image":{"name":"x"}}`)
	add(400, "PUT", service, `{"state":"DEPLOYED","status":"RUNNING","domains":["a b"],"image":{"name":"x"}}`)
	add(400, "PUT", service, `{"state":"DEPLOYED","status":"RUNNING","domains":["a\u0000b"],"image":{"name":"x"}}`)
	add(400, "PUT", service, `{"state":"DEPLOYED","status":"RUNNING","domains":["`+strings.Repeat("d", 254)+`"],"image":{"name":"x"}}`)
	add(400, "PUT", service, `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"x","tag":"a\u0000"}}`)
	add(400, "PUT", service, `{"state":"DEPLOYED","status":"RUNNING","image":{"Name":"x"}}`)
	add(400, "PUT", service, `{"state":"DEPLOYED","status":"RUNNING"}`)
	add(400, "PUT", service, `{"state":"BROKEN","status":"RUNNING","image":{"name":"x"}}`)
	add(400, "PUT", service, `{"state":"DEPLOYED","status":"RUNNING","domains":null,"image":null,"extra":1}`)
	layers := make([]string, 33)
	for i := range layers {
		layers[i] = `[{"stack_name":"kodo"}]`
	}
	add(400, "POST", "/api/products", `{"product_name":"wide","stack_deps":[`+strings.Join(layers, ",")+`]}`)
	add(400, "POST", "/api/products", `{"product_name":"empty","stack_deps":[]}`)
	add(400, "POST", "/api/products", `{"product_name":"twice","stack_deps":[[{"stack_name":"kodo"},{"stack_name":"kodo"}]]}`)
	add(400, "POST", "/api/products", `{"product_name":"ghost","stack_deps":[[{"stack_name":"ghost"}]]}`)
	add(400, "POST", "/api/products", `{"product_name":"9x","stack_deps":[[{"stack_name":"kodo"}]]}`)
	add(409, "POST", "/api/products", `{"product_name":"kodo","stack_deps":[[{"stack_name":"kodo"}]]}`)
	add(409, "POST", p+"/stacks", `{"stack_name":"kodo"}`)
	// Queries.
	for _, q := range []string{"limit=-1", "limit=abc", "limit=100000", "limit=1.5", "marker=%%%", "marker=garbage", "status=BOGUS", "limit=0x10"} {
		add(400, "GET", p+"/stacks?"+q, "")
	}
	for _, q := range []string{"limit=-1", "limit=x", "marker=garbage", "filter=" + strings.Repeat("a", 513), "filter=event_type", "filter=event_type==NOPE", "filter=color==red", "filter=,,,"} {
		add(400, "GET", stack+"/events?"+q, "")
	}
	for _, q := range []string{"stable=maybe", "status=BOGUS", "limit=-5", "marker=zzz", "project=a"} {
		add(400, "GET", "/api/products?"+q, "")
	}
	add(400, "GET", stack+"/metadata?stack_id=nope", "")
	add(400, "GET", "/api/products?q=%zz", "")
	add(400, "GET", stack+"/events?filter=%", "")
	add(400, "DELETE", stack+"?stack_id=nope", "")
	// Paths.
	for _, path := range []string{"/static/..%2f..%2fetc%2fpasswd", "/v1/%2e%2e/stacks", "//api/products", "/api//products", "/api/products/.",
		"/api/products/..", "/v1/" + rfsProject + "/stacks/%2e", "/api/products/a%5cb", "/static/%2e%2e/static.go"} {
		add(400, "GET", path, "")
	}
	for _, path := range []string{"/static/", "/static/nope.js", "/static/app.0123456789.css", "/nowhere", "/api", "/v1", "/v1/" + rfsProject, "/api/products/"} {
		add(404, "GET", path, "")
	}
	return cases
}

// Every bad request gets its exact status, in its family's error shape, and nothing panics.
func TestBadInputTable(t *testing.T) {
	var logs lockedLog
	hosts, err := AllowedHosts("127.0.0.1:8080", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := NewServer(openTestDB(t, "spec/list-products.yaml"), slog.New(slog.NewTextHandler(&logs, nil)), Options{AllowedHosts: hosts})
	cases := badInputs()
	t.Logf("%d requests", len(cases))
	if len(cases) < 150 {
		t.Fatalf("the table has %d requests, want at least 150", len(cases))
	}
	for i, c := range cases {
		var body *strings.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		var req *http.Request
		if body != nil {
			req = httptest.NewRequest(c.method, "http://127.0.0.1:8080"+c.path, body)
			req.Header.Set("Content-Type", "application/json")
		} else {
			req = httptest.NewRequest(c.method, "http://127.0.0.1:8080"+c.path, nil)
		}
		req.Header.Set(HeaderClientRequestID, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
		for j := 0; j+1 < len(c.headers); j += 2 {
			if c.headers[j] == "Host" {
				req.Host = c.headers[j+1]
			} else {
				req.Header.Set(c.headers[j], c.headers[j+1])
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		what := fmt.Sprintf("#%d %s %s %q %q", i, c.method, clipText(c.path, 60), clipText(c.body, 60), c.headers)
		if rec.Code != c.status {
			t.Errorf("%s: %d, want %d: %s", what, rec.Code, c.status, clipText(rec.Body.String(), 200))
			continue
		}
		if c.method != http.MethodHead {
			assertFamilyShape(t, what, c.path, rec)
		}
	}
	if strings.Contains(logs.String(), "panic") {
		t.Errorf("the server log holds a panic:\n%s", logs.String())
	}
}

// lockedLog is a log buffer for one server.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
