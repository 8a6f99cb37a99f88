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
func (s *Server) routes() http.Handler {
	out := responder{log: s.log}
	products := handlers.Products{DB: s.db, Out: out}
	stacks := handlers.Stacks{DB: s.db, Out: out}
	health := handlers.Health{DB: s.db, Out: out}

	r := mux.NewRouter()
	r.NotFoundHandler = s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return &handlers.Error{Status: http.StatusNotFound, Message: "Not Found: no page or API at " + r.URL.Path}
	})
	r.MethodNotAllowedHandler = s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return &handlers.Error{Status: http.StatusMethodNotAllowed, Message: "Method Not Allowed: " + r.Method + " " + r.URL.Path}
	})

	r.Handle("/", http.RedirectHandler("/api/products", http.StatusFound)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/healthz", s.handle(health.Check)).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix("/static/").Handler(staticFiles(static.Files)).Methods(http.MethodGet, http.MethodHead)

	r.Handle("/events", s.handle(s.events)).Methods(http.MethodGet)

	r.Handle("/api/products", s.handle(products.List)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/products/{product_name}", s.handle(products.Get)).Methods(http.MethodGet, http.MethodHead)

	// Every /v1 route goes through checkV1. (A mux subrouter would answer 404 instead of 405 to a wrong method.)
	v1 := func(fn handlerFunc) http.Handler { return s.checkV1(s.handle(fn)) }
	r.Handle("/v1/{project_id}/stacks", v1(stacks.List)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/v1/{project_id}/stacks/{stack_name}", v1(stacks.Get)).Methods(http.MethodGet, http.MethodHead)

	return s.common(r)
}
