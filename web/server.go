// Package web is the HTTP server: routes, middleware, content negotiation, the responder and error rendering.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"gorm.io/gorm"

	"stackboard/models"
)

// Server holds what the HTTP side needs: the database, the logger, the access policy and the live-update hub.
type Server struct {
	db      *gorm.DB
	log     *slog.Logger
	hub     *hub
	auth    *auth
	limiter *rateLimiter
	cache   *responseCache
	// fragments keep each product's and each stack's JSON between renders of the lists; nil renders them whole
	// every time.
	fragments *models.Fragments
	watch     *watchHealth
	metrics   *metrics
	// metricsElsewhere leaves /metrics off the router (Options.MetricsElsewhere).
	metricsElsewhere bool
	keepEvents       time.Duration
	// publicURL is Options.PublicURL without a trailing slash.
	publicURL string
	origins   *http.CrossOriginProtection
	out       responder
	hosts     hostList
	logins    *rateLimiter
	handler   http.Handler
	// router is the routes alone, which tests walk to find every URL the server answers.
	router *mux.Router
}

// Options configure a Server; the zero value serves openly without a rate limit.
type Options struct {
	// Tokens, when set, guard every write (and with AuthReads every read too).
	Tokens    []TokenConfig
	AuthReads bool
	// WriteRate is how many writes a second each client (token, or address) may make, with bursts of WriteBurst;
	// zero means no limit.
	WriteRate  float64
	WriteBurst int
	// CacheBytes is the memory budget of rendered answers kept for the current data version; zero means
	// DefaultCacheBytes, and a negative budget turns the cache off.
	CacheBytes int64
	// AllowedHosts are the host names the server answers to (AllowedHosts makes the usual list); empty means
	// any, which only tests that send made-up hosts want.
	AllowedHosts []string
	// PublicURL is where people reach the server (--public-url): absolute links on pages use it instead of the
	// host a request came to. Empty means the request's host.
	PublicURL string
	// KeepEvents is how long events are kept (pages say so); zero means for ever.
	KeepEvents time.Duration
	// MetricsElsewhere leaves /metrics off the main address: MetricsHandler serves them on one of their own.
	MetricsElsewhere bool
	// WholeRenders renders the product list, the overview and the stack lists whole after every change instead of
	// from kept fragments: the reference the fragments are tested and measured against.
	WholeRenders bool
}

// NewServer builds the server and its routes. Run tells its pages about changes.
func NewServer(db *gorm.DB, log *slog.Logger, opts Options) *Server {
	s := &Server{
		db: db, log: log, hub: newHub(), cache: newResponseCache(opts.CacheBytes), watch: newWatchHealth(),
		origins: http.NewCrossOriginProtection(), out: newResponder(log),
		hosts: newHostList(opts.AllowedHosts), logins: newRateLimiter(loginRate, loginBurst),
	}
	if !opts.WholeRenders {
		s.fragments = models.NewFragments()
	}
	s.out.meta = s.pageMeta
	s.metrics = s.newMetrics()
	s.metricsElsewhere, s.keepEvents = opts.MetricsElsewhere, opts.KeepEvents
	s.publicURL = strings.TrimRight(opts.PublicURL, "/")
	if opts.Tokens != nil {
		s.auth = newAuth(opts.Tokens, opts.AuthReads)
	}
	if opts.WriteRate > 0 {
		s.limiter = newRateLimiter(opts.WriteRate, opts.WriteBurst)
	}
	s.handler = s.routes()
	return s
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Timeouts of the HTTP server; a slow or stuck client cannot hold a connection for ever.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownTimeout   = 15 * time.Second
)

// ListenAndServe serves on addr until ctx is cancelled, then shuts down gracefully: it stops accepting
// connections and lets requests in flight finish. ready, when not nil, receives the address once listening.
func ListenAndServe(ctx context.Context, addr string, handler http.Handler, log *slog.Logger, ready func(net.Addr)) error {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	server := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	if ready != nil {
		ready(listener.Addr())
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down; letting requests in flight finish", "timeout", shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
