package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/gorilla/mux"

	"stackboard/models"
)

// Format is one of the three ways a URL answers.
type Format int

// The formats, as DESIGN.md's "One URL, three formats" decides between them.
const (
	FormatJSON Format = iota
	FormatPage
	FormatPartial
	// FormatJSONView is the JSON of a URL shown inside a page, for a person who followed "View JSON" to an API
	// whose JSON asks for a header a browser cannot send; API clients never get it instead of JSON.
	FormatJSONView
)

// String names the format as logs and cache keys show it.
func (f Format) String() string {
	return [...]string{"json", "page", "partial", "jsonview"}[f]
}

// Family is a group of URLs that share an error shape.
type Family int

// The families: pages and their helpers (/login, /events, /healthz, /static/), spock's /api/..., RFS's /v1/....
const (
	FamilyPage Family = iota
	FamilySpock
	FamilyRF
)

// String names the family as logs show it.
func (f Family) String() string {
	return [...]string{"page", "spock", "rf"}[f]
}

// ProjectSource says where a route finds the project a request is about, and so whose access it checks.
type ProjectSource int

// The project sources a route can declare.
const (
	// ProjectNone: the route is about no one project; lists narrow themselves to the projects the caller sees.
	ProjectNone ProjectSource = iota
	// ProjectFromPath: the {project_id} of the URL, checked before the handler runs.
	ProjectFromPath
	// ProjectFromProduct: the project of the product the URL or body names, which only the handler can look up;
	// it checks it with Request.Authorize.
	ProjectFromProduct
)

// Request is what the server decides about a request once, before its handler runs: the handler, the responder,
// the error adapter, the response cache and the live stream read it and never decide again.
type Request struct {
	// ID is the request id: the client's Client-Request-Id when usable, else a new UUID.
	ID string
	// Format is how the request is answered; FormatErr is set when ?format= names none (a 400, answered in
	// the format the rest of the request asks for).
	Format    Format
	FormatErr error
	// Family is the error shape of the route.
	Family Family
	// Write is set on routes that change data.
	Write bool
	// Project is where the route finds its project; ProjectID is that project when it comes from the path.
	Project   ProjectSource
	ProjectID string
	// Access is who is asking and what the server requires of them.
	Access Access
	// AccessKnown is set once Access is decided: an answer made before that (a refused Host, a cross-origin
	// write) shows nothing of the data, not even the header's project menu.
	AccessKnown bool
	// Failure, when set, is the route's answer to an error that is none of the model's refusals (spock's 622).
	Failure *Error
	// BaseURL is where people reach the server, scheme and host without a trailing slash: --public-url when
	// set, else the host the request came to. Absolute links on pages (a badge's Markdown) start with it; it is
	// set only for the answers that hold them, pages and badges.
	BaseURL string
	// vars are the route's path variables, when the server's dispatcher matched the route (PathVar reads them).
	vars [maxPathVars]pathVar
	// Unkept is set while the change watcher is down: nothing kept may answer, neither the response cache nor
	// the lists' fragments, since writes that bypass the feed (or a feed that cannot be read) go unseen.
	Unkept bool
}

// maxPathVars is the most path variables a route has ("/v1/{project_id}/stacks/{stack_name}/services/{service_name}").
const maxPathVars = 4

// pathVar is one path variable of a matched route.
type pathVar struct {
	name, value string
}

// SetPathVar records a path variable of the matched route; it reports false when the request holds no more.
func (r *Request) SetPathVar(name, value string) bool {
	for i := range r.vars {
		if r.vars[i].name == "" {
			r.vars[i] = pathVar{name, value}
			return true
		}
	}
	return false
}

// PathVar returns a path variable of the route that took the request: the one the server's dispatcher noted,
// else the router's (mux.Vars).
func PathVar(r *http.Request, name string) string {
	if req, ok := r.Context().Value(requestKey{}).(*Request); ok {
		for _, v := range req.vars {
			if v.name == name {
				return v.value
			}
		}
	}
	return mux.Vars(r)[name]
}

// HTML reports whether the answer is a page or a partial, which show long lists a page at a time where the
// documented JSON stays complete. The JSON view shows that JSON, so it is not HTML in this sense.
func (r *Request) HTML() bool {
	return r.Format == FormatPage || r.Format == FormatPartial
}

// Authorize is the one access rule: it fails with 401 or 403 unless the caller may read (or, on a write route,
// change) the project.
func (r *Request) Authorize(projectID string) error {
	return r.Access.Check(projectID, r.Write)
}

// requestKey is the context key of a request's Request.
type requestKey struct{}

// WithRequest returns a context carrying the decisions about a request.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestIn returns the decisions made about a request, if a context carries them.
func RequestIn(ctx context.Context) (*Request, bool) {
	r, ok := ctx.Value(requestKey{}).(*Request)
	return r, ok
}

// RequestFrom returns the decisions made about a request; a context without any gets the defaults (JSON, the
// page family, nothing required).
func RequestFrom(ctx context.Context) *Request {
	if r, ok := ctx.Value(requestKey{}).(*Request); ok {
		return r
	}
	return &Request{}
}

// requestOf is RequestFrom for an *http.Request.
func requestOf(r *http.Request) *Request {
	return RequestFrom(r.Context())
}

// listSort reads a list's sort parameter: absent, the list keeps its documented order, except on pages, which open
// broken-first (their "load more" links name their sort, so a marker without one continues the documented order).
// This is the one place that default is decided.
func listSort(r *http.Request, keys []models.SortKey) (models.Sort, error) {
	query := r.URL.Query()
	sort, err := models.ParseSort(query.Get("sort"), keys)
	if err == nil && sort.IsZero() && requestOf(r).HTML() && !query.Has("marker") {
		sort = models.BrokenFirst
	}
	return sort, err
}

// defaultView reports whether a list is asked for as it is by default: no query parameter but the format. Only
// those answers come from kept fragments; a parameter added later is then never answered from them by mistake.
func defaultView(query url.Values) bool {
	return onlyParams(query)
}

// onlyParams reports whether a request's query has no parameter but the format and those named.
func onlyParams(query url.Values, names ...string) bool {
	for name := range query {
		if name != "format" && !slices.Contains(names, name) {
			return false
		}
	}
	return true
}

// routeVars reads a request's path variables by name (PathVar).
type routeVars struct {
	r *http.Request
}

func (v routeVars) get(name string) string {
	return PathVar(v.r, name)
}
