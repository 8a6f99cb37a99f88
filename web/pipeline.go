package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"stackboard/handlers"
	"stackboard/models"
	"stackboard/views"
)

// route is what a route declares about its requests; routes.go gives one to every URL and method.
type route struct {
	// pattern is the route's path template, which its metrics and access log lines name; empty for the answers
	// of URLs no route matches.
	pattern string
	family  handlers.Family
	// write marks routes that change data: they need a write token, pass the cross-origin guard and count
	// against the rate limit.
	write bool
	// project says where the route finds the project whose access is checked.
	project handlers.ProjectSource
	// open routes need no token even when reads are protected (signing in, health, static files).
	open bool
	// cached reads are answered from the response cache while the data version stays the same.
	cached bool
	// unlimited writes do not count against the rate limit (signing in and out).
	unlimited bool
	// failure, when set, is the answer to an error that is none of the model's refusals: spock's 622 for a list
	// that could not be made.
	failure *handlers.Error
	// image routes answer an image whatever the format asks, so /v1's rule for its JSON (Client-Request-Id) is not theirs.
	image bool
}

// pipeline is every route's way in: with the format common negotiated, it decides, once, the family, the
// caller's access and the project, puts them in the request's handlers.Request, enforces the access rule, and
// then answers from the cache or the handler. Nothing after it negotiates or infers again.
func (s *Server) pipeline(rt route, fn handlerFunc) http.Handler {
	var next http.Handler = s.pageVersion(s.handle(fn))
	if rt.cached && !rt.write {
		next = s.cached(next)
	}
	vary := []string{s.vary(rt)}
	var metrics *routeMetrics
	if rt.pattern != "" {
		metrics = s.metrics.route(rt.pattern)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if recorder, ok := w.(*statusRecorder); ok && metrics != nil {
			recorder.route = metrics
		}
		req := handlers.RequestFrom(r.Context())
		req.Family, req.Write, req.Project, req.Failure = rt.family, rt.write, rt.project, rt.failure
		req.Unkept = !s.watch.current()
		if req.HTML() || rt.image {
			// Only pages (and badges' Markdown) hold absolute links; JSON answers need no base URL made.
			req.BaseURL = s.baseURL(r)
		}
		w.Header()[HeaderVary] = vary
		if req.FormatErr != nil {
			s.renderError(w, r, &handlers.Error{Status: http.StatusBadRequest, Message: req.FormatErr.Error()})
			return
		}
		if rt.write {
			if err := s.origins.Check(r); err != nil {
				s.renderError(w, r, &handlers.Error{Status: http.StatusForbidden, Message: "Forbidden: cross-origin writes are refused", Err: err})
				return
			}
		}
		access, err := s.access(w, r)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		req.Access, req.AccessKnown = access, true
		if access.ReadsRequired && access.Token == nil && !rt.open {
			if req.Format == handlers.FormatPage && !rt.write {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.renderError(w, r, access.RequireToken(false))
			return
		}
		if rt.write && !rt.unlimited {
			if err := s.allowWrite(w, r, access); err != nil {
				s.renderError(w, r, err)
				return
			}
		}
		if err := s.authorize(r, rt, req); err != nil {
			s.renderError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// pageVersion tells a page the data version it shows, read just before its handler's queries (inside the cache,
// so that an answer the cache holds costs no read): the page holds every change up to this version, and its event
// stream replays what changed after it, between the render and the subscription.
func (s *Server) pageVersion(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if handlers.RequestFrom(r.Context()).Format == handlers.FormatPage {
			version, _ := s.hub.current()
			r = r.WithContext(views.WithDataVersion(r.Context(), version))
		}
		next.ServeHTTP(w, r)
	})
}

// authorize checks what the route needs before its handler runs: on /v1 the Client-Request-Id of the JSON
// variant and a valid project id, and the one access rule for the project the path names. Routes whose project
// only the handler can find (a product's) check it there, with the same rule.
func (s *Server) authorize(r *http.Request, rt route, req *handlers.Request) error {
	if rt.family == handlers.FamilyRF && req.Format == handlers.FormatJSON && !rt.image {
		id := firstValue(r.Header[HeaderClientRequestID])
		if id == "" && browserNavigation(r.Header) {
			// A person following "View JSON" is no API client, and a browser cannot send the header: the JSON is
			// shown inside a page (text/html), so a client that only pretends to be a browser still gets no JSON.
			req.Format = handlers.FormatJSONView
		} else if err := checkClientRequestID(id); err != nil {
			return err
		}
	}
	if rt.open {
		return nil
	}
	if rt.project == handlers.ProjectFromPath {
		projectID := handlers.PathVar(r, "project_id")
		if err := models.ValidateProjectID("project_id", projectID); err != nil {
			return err
		}
		req.ProjectID = projectID
		return req.Authorize(projectID)
	}
	return req.Access.RequireToken(rt.write)
}

// vary lists the request headers that change a route's answer: those negotiation reads, the encoding, and where
// the answer depends on them, the credentials and the request id.
func (s *Server) vary(rt route) string {
	headers := []string{HeaderAccept, HeaderHXRequest, HeaderHXHistoryRestore, HeaderHXBoosted, HeaderAcceptEncoding}
	if rt.family == handlers.FamilyRF {
		headers = append(headers, HeaderClientRequestID, HeaderSecFetchSite, HeaderSecFetchMode, HeaderSecFetchDest)
	}
	if s.auth != nil {
		headers = append(headers, HeaderAuthToken, HeaderAuthorization, HeaderCookie)
	}
	return strings.Join(headers, ", ")
}

// allowWrite takes one write from the caller's rate budget (its token, or its address): a 429 when it is spent.
func (s *Server) allowWrite(w http.ResponseWriter, r *http.Request, access handlers.Access) error {
	if s.limiter == nil {
		return nil
	}
	client := access.Principal()
	if client == "" {
		client = "addr:" + remoteHost(r)
	}
	if ok, wait := s.limiter.allow(client, time.Now()); !ok {
		return s.tooMany(w, wait)
	}
	return nil
}

// browserNavigation reports whether a request is a browser's own top-level navigation from this site (a link
// followed, or an address typed in): Sec-Fetch-* headers, which no page's script can set.
func browserNavigation(h http.Header) bool {
	site := h.Get(HeaderSecFetchSite)
	return h.Get(HeaderSecFetchMode) == "navigate" && h.Get(HeaderSecFetchDest) == "document" &&
		(site == "same-origin" || site == "none")
}
