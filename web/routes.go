package web

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"stackboard/handlers"
	"stackboard/static"
)

// listProductsFailed is spock's answer when the product list cannot be made.
var listProductsFailed = &handlers.Error{Status: 622, Code: "622", Message: "List Products Error"}

// familyPrefixes give URLs that match no route the error shape of the API they fall under; every route
// declares its own.
var familyPrefixes = []struct {
	prefix string
	family handlers.Family
}{
	{"/v1/", handlers.FamilyRF},
	{"/api/", handlers.FamilySpock},
}

// routes lists every URL the server answers, in one place, and what each declares: its error family, whether it
// writes, and where its project comes from.
func (s *Server) routes() http.Handler {
	out := s.out
	writes := handlers.Writes{DB: s.db, Out: out}
	products := handlers.Products{DB: s.db, Out: out, Writes: writes, Fragments: s.fragments}
	stacks := handlers.Stacks{DB: s.db, Out: out, Writes: writes, Fragments: s.fragments}
	services := handlers.Services{Writes: writes}
	badges := handlers.Badges{DB: s.db}
	// A badge is an image for README pages and wikis: no Client-Request-Id, never the cached JSON.
	badge := func(f handlers.Family, p handlers.ProjectSource) route {
		return route{family: f, project: p, image: true}
	}
	events := handlers.Events{DB: s.db, Out: out, Keep: s.keepEvents, Fragments: s.fragments}
	triage := handlers.Triage{DB: s.db, Out: out}
	search := handlers.Search{DB: s.db, Out: out, Fragments: s.fragments}
	inventory := handlers.Inventory{DB: s.db, Out: out, Fragments: s.fragments}
	health := s.readiness()

	var (
		page      = route{family: handlers.FamilyPage}
		openPage  = route{family: handlers.FamilyPage, open: true}
		signIn    = route{family: handlers.FamilyPage, open: true, write: true, unlimited: true}
		spockRead = route{family: handlers.FamilySpock, cached: true}
		// Fleet-wide lists: JSON in spock's snake_case and error shape, narrowed to the caller's projects.
		fleetRead  = route{family: handlers.FamilySpock, cached: true}
		spockList  = route{family: handlers.FamilySpock, cached: true, failure: listProductsFailed}
		spockWrite = route{family: handlers.FamilySpock, write: true, project: handlers.ProjectFromProduct}
		product    = route{family: handlers.FamilySpock, cached: true, project: handlers.ProjectFromProduct}
		rfRead     = route{family: handlers.FamilyRF, cached: true, project: handlers.ProjectFromPath}
		rfWrite    = route{family: handlers.FamilyRF, write: true, project: handlers.ProjectFromPath}
	)

	r := mux.NewRouter()
	// secure refuses paths with dot segments; mux's cleaning would answer them with a 301 instead.
	r.SkipClean(true)
	r.NotFoundHandler = s.unmatched(func(w http.ResponseWriter, r *http.Request) error {
		return &handlers.Error{Status: http.StatusNotFound, Message: "Not Found: no page or API at " + r.URL.Path}
	})
	r.MethodNotAllowedHandler = s.unmatched(func(w http.ResponseWriter, r *http.Request) error {
		return &handlers.Error{Status: http.StatusMethodNotAllowed, Message: "Method Not Allowed: " + r.Method + " " + r.URL.Path}
	})
	handle := func(path string, rt route, fn handlerFunc, methods ...string) {
		rt.pattern = path
		r.Handle(path, s.pipeline(rt, fn)).Methods(methods...)
	}
	const get, head, post, put, patch, del = http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete

	handle("/", openPage, redirectTo("/api/products"), get, head)
	handle("/healthz", openPage, health.Live, get, head)
	handle("/readyz", openPage, health.Ready, get, head)
	handle("/openapi.json", openPage, serveDocument(openAPIDocument), get, head)
	if !s.metricsElsewhere {
		handle(metricsPath, page, s.serveMetrics, get, head)
	}
	// Browsers ask for /favicon.ico on documents that name no icon, such as the JSON of a "View JSON" link.
	handle("/favicon.ico", openPage, redirectTo(static.URL("favicon.svg")), get, head)
	staticRoute := openPage
	staticRoute.pattern = "/static/"
	r.PathPrefix(staticRoute.pattern).Handler(s.pipeline(staticRoute, staticFiles(static.Files))).Methods(get, head)

	handle("/events", page, s.events, get)
	handle("/login", openPage, s.login, get, head)
	handle("/login", signIn, s.limitLogin(s.login), post)
	handle("/logout", signIn, s.logout, post)

	handle("/api/products", spockList, products.List, get, head)
	handle("/api/products", spockWrite, products.Create, post)
	handle("/api/products/names", spockRead, products.Names, get, head)
	handle("/api/products/{product_name}", product, products.Get, get, head)
	handle("/api/products/{product_name}"+handlers.BadgeSuffix, badge(handlers.FamilySpock, handlers.ProjectFromProduct), badges.Product, get, head)
	handle("/api/products/{product_name}", spockWrite, products.Replace, put)
	handle("/api/products/{product_name}", spockWrite, products.Delete, del)

	handle("/stacks", fleetRead, triage.List, get, head)
	handle("/search", fleetRead, search.Find, get, head)
	handle("/images", fleetRead, inventory.Images, get, head)
	handle("/domains/{domain}", fleetRead, inventory.Domain, get, head)

	const stack = "/v1/{project_id}/stacks/{stack_name}"
	handle("/v1/{project_id}/stacks", rfRead, stacks.List, get, head)
	handle("/v1/{project_id}/stacks", rfWrite, stacks.Create, post)
	handle(stack, rfRead, stacks.Get, get, head)
	handle(stack, rfWrite, stacks.Update, patch)
	handle(stack, rfWrite, stacks.Delete, del)
	handle(stack+"/metadata", rfRead, stacks.Metadata, get, head)
	handle(stack+handlers.BadgeSuffix, badge(handlers.FamilyRF, handlers.ProjectFromPath), badges.Stack, get, head)
	handle(stack+"/events", rfRead, events.List, get, head)
	handle(stack+"/services/{service_name}", rfWrite, services.Put, put)
	handle(stack+"/services/{service_name}", rfWrite, services.Delete, del)

	s.router = r
	// The dispatcher finds each request's route as r would; routes stay plain paths and methods (no Use, Headers
	// or MatcherFunc), which it reads.
	return s.common(s.secure(newDispatcher(r)))
}

// unmatched answers a URL or method no route takes, in the family of the API prefix it falls under.
func (s *Server) unmatched(fn handlerFunc) http.Handler {
	byFamily := map[handlers.Family]http.Handler{}
	for _, f := range []handlers.Family{handlers.FamilyPage, handlers.FamilySpock, handlers.FamilyRF} {
		byFamily[f] = s.pipeline(route{family: f}, fn)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		byFamily[prefixFamily(r.URL.Path)].ServeHTTP(w, r)
	})
}

// prefixFamily is the family of the API prefix a path falls under, for answers made before a route is known.
func prefixFamily(path string) handlers.Family {
	for _, p := range familyPrefixes {
		if strings.HasPrefix(path, p.prefix) {
			return p.family
		}
	}
	return handlers.FamilyPage
}

// redirectTo answers with a redirect to a fixed path.
func redirectTo(path string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		http.Redirect(w, r, path, http.StatusFound)
		return nil
	}
}

// readiness is the health handler over this server's database and change watcher.
func (s *Server) readiness() handlers.Health {
	return handlers.Health{DB: s.db, Out: s.out, Watcher: s.watch.readiness}
}
