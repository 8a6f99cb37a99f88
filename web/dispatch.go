package web

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"stackboard/handlers"
)

// dispatcher finds a request's route among the router's, as the router itself would, without running a regular
// expression per route tried: routes are indexed by their first path segment and matched segment by segment.
// What it finds is exactly the router's match (TestDispatcherMatchesTheRouter compares them for every route);
// what it does not find (a 404, a 405, a route it cannot read) the router answers.
type dispatcher struct {
	router *mux.Router
	// byFirst holds the routes whose template starts with a literal segment, by that segment, in the router's
	// order; nil when some route's template is one the index cannot read, and then the router matches everything.
	byFirst map[string][]indexedRoute
}

// indexedRoute is one route as the dispatcher matches it.
type indexedRoute struct {
	// segments are the template's path segments after the leading "/": a literal, or a variable's name in braces.
	segments []string
	// prefix routes (PathPrefix) match any path that starts with their template.
	prefix   bool
	template string
	methods  []string
	handler  http.Handler
	vars     int
}

// newDispatcher indexes the router's routes; a router with a route it cannot read (a variable with its own
// pattern, a host or query matcher, a subrouter) is left to match every request itself.
func newDispatcher(router *mux.Router) *dispatcher {
	d := &dispatcher{router: router}
	index := make(map[string][]indexedRoute)
	readable := true
	err := router.Walk(func(route *mux.Route, _ *mux.Router, ancestors []*mux.Route) error {
		template, err := route.GetPathTemplate()
		if err != nil || len(ancestors) > 0 || route.GetHandler() == nil || !strings.HasPrefix(template, "/") {
			readable = false
			return nil
		}
		pathRegexp, err := route.GetPathRegexp()
		if err != nil {
			readable = false
			return nil
		}
		if _, err := route.GetHostTemplate(); err == nil {
			readable = false
			return nil
		}
		if queries, err := route.GetQueriesTemplates(); err == nil && len(queries) > 0 {
			readable = false
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil || len(methods) == 0 {
			readable = false
			return nil
		}
		ir := indexedRoute{template: template, methods: methods, handler: route.GetHandler(), prefix: !strings.HasSuffix(pathRegexp, "$")}
		if ir.prefix && strings.Contains(template, "{") {
			readable = false
			return nil
		}
		if !ir.prefix {
			ir.segments = strings.Split(template[1:], "/")
			for _, segment := range ir.segments {
				if !strings.ContainsAny(segment, "{}") {
					continue
				}
				// Only a variable that is a whole segment, with the router's default pattern ([^/]+).
				if len(segment) < 3 || segment[0] != '{' || segment[len(segment)-1] != '}' ||
					strings.ContainsAny(segment[1:len(segment)-1], "{}:") {
					readable = false
					return nil
				}
				ir.vars++
			}
		}
		first, _, _ := strings.Cut(template[1:], "/")
		if ir.prefix {
			// "/static/" is found under "static"; a prefix ending inside a segment could match others.
			if !strings.HasSuffix(template, "/") || first == "" {
				readable = false
				return nil
			}
		} else if strings.HasPrefix(first, "{") {
			readable = false
			return nil
		}
		index[first] = append(index[first], ir)
		return nil
	})
	if err == nil && readable {
		d.byFirst = index
	}
	return d
}

// ServeHTTP serves a request with the route the router would match, or lets the router answer.
func (d *dispatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if route, ok := d.match(r); ok {
		if route.vars > 0 && !route.noteVars(r) {
			r = mux.SetURLVars(r, route.varsOf(r.URL.Path))
		}
		route.handler.ServeHTTP(w, r)
		return
	}
	d.router.ServeHTTP(w, r)
}

// match finds the first route, in the router's order, whose path and method match.
func (d *dispatcher) match(r *http.Request) (*indexedRoute, bool) {
	if d.byFirst == nil {
		return nil, false
	}
	path := r.URL.Path
	if len(path) == 0 || path[0] != '/' {
		return nil, false
	}
	first, _, _ := strings.Cut(path[1:], "/")
	routes := d.byFirst[first]
	for i := range routes {
		route := &routes[i]
		if route.matchesPath(path) && route.allows(r.Method) {
			return route, true
		}
	}
	return nil, false
}

// matchesPath reports whether the route's template matches the whole path (a prefix route: its start).
func (ir *indexedRoute) matchesPath(path string) bool {
	if ir.prefix {
		return strings.HasPrefix(path, ir.template)
	}
	rest := path[1:]
	for i, segment := range ir.segments {
		value, after, more := strings.Cut(rest, "/")
		last := i == len(ir.segments)-1
		if more == last {
			// The path has more segments than the template, or fewer.
			return false
		}
		if isVariable(segment) {
			if value == "" {
				return false
			}
		} else if value != segment {
			return false
		}
		rest = after
	}
	return true
}

func (ir *indexedRoute) allows(method string) bool {
	for _, m := range ir.methods {
		if m == method {
			return true
		}
	}
	return false
}

// noteVars puts the route's variables in the request's handlers.Request, where handlers.PathVar finds them
// without a map or a context of their own; it reports false when there is none to take them all.
func (ir *indexedRoute) noteVars(r *http.Request) bool {
	req, ok := handlers.RequestIn(r.Context())
	if !ok {
		return false
	}
	rest := r.URL.Path[1:]
	for _, segment := range ir.segments {
		value, after, _ := strings.Cut(rest, "/")
		if isVariable(segment) && !req.SetPathVar(segment[1:len(segment)-1], value) {
			return false
		}
		rest = after
	}
	return true
}

// varsOf is the route's variables in a path it matches, as mux.Vars gives them.
func (ir *indexedRoute) varsOf(path string) map[string]string {
	vars := make(map[string]string, ir.vars)
	rest := path[1:]
	for _, segment := range ir.segments {
		value, after, _ := strings.Cut(rest, "/")
		if isVariable(segment) {
			vars[segment[1:len(segment)-1]] = value
		}
		rest = after
	}
	return vars
}

// isVariable reports whether a template segment is a variable ("{name}").
func isVariable(segment string) bool {
	return len(segment) > 0 && segment[0] == '{'
}
