package web

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"stackboard/handlers"
)

// The dispatcher takes every request to the very route the router would match, with the same variables, and
// leaves the rest (404s, 405s) to the router: for every route, with values of every kind and paths that just miss.
func TestDispatcherMatchesTheRouter(t *testing.T) {
	server := newTestServer(openTestDB(t))
	d := newDispatcher(server.router)
	if d.byFirst == nil {
		t.Fatal("the dispatcher could not read the routes: every request would try them all")
	}
	values := []string{"kodo", "a.b", "x", "with space", "ümlaut", "%41", "-", "badge.svg", "stacks", "{x}"}
	var paths []string
	err := server.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		template, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		for i := range values {
			path, rest := "", template
			for {
				start := strings.Index(rest, "{")
				if start < 0 {
					path += rest
					break
				}
				end := strings.Index(rest, "}")
				path += rest[:start] + values[(i+len(path))%len(values)]
				rest = rest[end+1:]
			}
			paths = append(paths, path, path+"/", path+"/more", strings.TrimSuffix(path, "/")+"x", path+"//", "/x"+path)
		}
		if strings.Contains(template, "{") {
			paths = append(paths, strings.ReplaceAll(template, "{project_id}", ""), strings.NewReplacer("{", "", "}", "").Replace(template))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, "/", "", "/nowhere", "/v1", "/v1/", "/v1//stacks", "/api", "/api/", "/static", "/static/",
		"/static/app.css", "/static/a/b", "/staticx", "/healthz/", "/HEALTHZ")
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, "get", "PROPFIND"}
	matched := 0
	for _, path := range paths {
		for _, method := range methods {
			r := httptest.NewRequest(method, "/", nil)
			r.URL.Path = path
			var m mux.RouteMatch
			want := ""
			if server.router.Match(r, &m) && m.MatchErr == nil && m.Route != nil {
				template, _ := m.Route.GetPathTemplate()
				routeMethods, _ := m.Route.GetMethods()
				want = template + " " + strings.Join(routeMethods, ",")
			}
			got := ""
			route, ok := d.match(r)
			if ok {
				got = route.template + " " + strings.Join(route.methods, ",")
			}
			if got != want {
				t.Errorf("%s %q: the dispatcher takes %q, the router %q", method, path, got, want)
				continue
			}
			if !ok {
				continue
			}
			matched++
			vars := map[string]string{}
			if route.vars > 0 {
				vars = route.varsOf(path)
			}
			if !maps.Equal(vars, m.Vars) {
				t.Errorf("%s %q: variables %v, the router's %v", method, path, vars, m.Vars)
			}
			// The handlers read them through handlers.PathVar, from the request's handlers.Request.
			noted := r.WithContext(handlers.WithRequest(r.Context(), &handlers.Request{}))
			if !route.noteVars(noted) {
				t.Errorf("%s %q: the request could not hold the route's variables", method, path)
			}
			for name, value := range m.Vars {
				if got := handlers.PathVar(noted, name); got != value {
					t.Errorf("%s %q: PathVar(%q) = %q, the router's %q", method, path, name, got, value)
				}
			}
		}
	}
	if matched < 100 {
		t.Errorf("only %d requests matched a route: the test tried too little", matched)
	}
}

// The warm path looks request headers up by these names as they are, which holds only while they are canonical.
func TestHeaderNamesAreCanonical(t *testing.T) {
	for _, name := range []string{HeaderAccept, HeaderAcceptEncoding, HeaderIfNoneMatch, HeaderClientRequestID, HeaderRequestID,
		HeaderVary, HeaderCacheControl, HeaderContentEncoding, HeaderContentLength, HeaderContentType, HeaderContentSecurityPolicy,
		HeaderReferrerPolicy, HeaderContentTypeOptions, HeaderFrameOptions} {
		if canonical := http.CanonicalHeaderKey(name); canonical != name {
			t.Errorf("header %q is kept by net/http as %q", name, canonical)
		}
	}
}
