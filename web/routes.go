package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"stackboard/handlers"
	"stackboard/static"
)

// varsOf returns the route variables of a matched request.
func varsOf(r *http.Request) map[string]string {
	return mux.Vars(r)
}

// routes lists every URL the server answers, in one place.
func (s *Server) routes(opts Options) http.Handler {
	out := newResponder(s.log)
	writes := handlers.Writes{DB: s.db, Out: out}
	products := handlers.Products{DB: s.db, Out: out, Writes: writes}
	stacks := handlers.Stacks{DB: s.db, Out: out, Writes: writes}
	services := handlers.Services{Writes: writes}
	events := handlers.Events{DB: s.db, Out: out}
	health := s.readiness()

	r := mux.NewRouter()
	r.Use(recordRoute)
	// secure refuses paths with dot segments; mux's cleaning would answer them with a 301 instead.
	r.SkipClean(true)
	r.NotFoundHandler = s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return &handlers.Error{Status: http.StatusNotFound, Message: "Not Found: no page or API at " + r.URL.Path}
	})
	r.MethodNotAllowedHandler = s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return &handlers.Error{Status: http.StatusMethodNotAllowed, Message: "Method Not Allowed: " + r.Method + " " + r.URL.Path}
	})

	r.Handle("/", http.RedirectHandler("/api/products", http.StatusFound)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/healthz", s.handle(health.Live)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/readyz", s.handle(health.Ready)).Methods(http.MethodGet, http.MethodHead)
	if !opts.MetricsElsewhere {
		r.Handle(metricsPath, s.handle(s.serveMetrics)).Methods(http.MethodGet, http.MethodHead)
	}
	r.PathPrefix("/static/").Handler(s.handle(staticFiles(static.Files))).Methods(http.MethodGet, http.MethodHead)

	r.Handle("/events", s.handle(s.events)).Methods(http.MethodGet)
	r.Handle("/login", s.limitLogin(s.handle(s.login))).Methods(http.MethodGet, http.MethodHead, http.MethodPost)
	r.Handle("/logout", s.handle(s.logout)).Methods(http.MethodPost)

	// Reads are answered from the response cache while the data version stays the same.
	read := func(fn handlerFunc) http.Handler { return s.cached(s.handle(fn)) }
	r.Handle("/api/products", read(products.List)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/products", s.handle(products.Create)).Methods(http.MethodPost)
	r.Handle("/api/products/names", read(products.Names)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/products/{product_name}", read(products.Get)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/products/{product_name}", s.handle(products.Replace)).Methods(http.MethodPut)
	r.Handle("/api/products/{product_name}", s.handle(products.Delete)).Methods(http.MethodDelete)

	// Every /v1 route goes through checkV1, every /v1 write through requireWrite. (A mux subrouter would answer
	// 404 instead of 405 to a wrong method.)
	v1 := func(fn handlerFunc) http.Handler { return s.checkV1(read(fn)) }
	v1Write := func(fn handlerFunc) http.Handler { return s.requireWrite(s.checkV1(s.handle(fn))) }
	const stack = "/v1/{project_id}/stacks/{stack_name}"
	r.Handle("/v1/{project_id}/stacks", v1(stacks.List)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/v1/{project_id}/stacks", v1Write(stacks.Create)).Methods(http.MethodPost)
	r.Handle(stack, v1(stacks.Get)).Methods(http.MethodGet, http.MethodHead)
	r.Handle(stack, v1Write(stacks.Update)).Methods(http.MethodPatch)
	r.Handle(stack, v1Write(stacks.Delete)).Methods(http.MethodDelete)
	r.Handle(stack+"/metadata", v1(stacks.Metadata)).Methods(http.MethodGet, http.MethodHead)
	r.Handle(stack+"/events", v1(events.List)).Methods(http.MethodGet, http.MethodHead)
	r.Handle(stack+"/services/{service_name}", v1Write(services.Put)).Methods(http.MethodPut)
	r.Handle(stack+"/services/{service_name}", v1Write(services.Delete)).Methods(http.MethodDelete)

	return s.common(s.secure(s.crossOriginGuard(s.authenticate(s.limitWrites(r)))))
}

// readiness is the health handler over this server's database and change watcher.
func (s *Server) readiness() handlers.Health {
	return handlers.Health{DB: s.db, Out: newResponder(s.log), Watcher: s.watcher.State, Stale: watcherStale}
}
