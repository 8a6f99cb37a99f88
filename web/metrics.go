package web

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
	"gorm.io/gorm"

	"stackboard/handlers"
	"stackboard/models"
)

// metricsPath is where the Prometheus metrics are served.
const metricsPath = "/metrics"

// unmatchedRoute labels the requests that matched no route (404s and 405s), so that scanners cannot grow the
// label set with paths of their choosing.
const unmatchedRoute = "unmatched"

// metrics are the server's Prometheus collectors, in a registry of their own.
type metrics struct {
	registry *prometheus.Registry
	// fleet is kept apart from the registry: its text is encoded once per read, not per scrape.
	fleet     *fleetCollector
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	// routes are each route pattern's resolved metrics; unmatched is the requests' no route took.
	mu        sync.Mutex
	routes    map[string]*routeMetrics
	unmatched *routeMetrics
}

func (s *Server) newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stackboard_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stackboard_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	m.routes = make(map[string]*routeMetrics)
	m.unmatched = m.route(unmatchedRoute)
	writeBatch := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "stackboard_write_batch_size",
		Help:    "Writes committed together in one SQLite transaction by the group committer.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 8),
	})
	commitTime := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "stackboard_write_commit_duration_seconds",
		Help:    "Time of one group commit's transaction, from its first write to its commit.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
	})
	if models.ObserveCommits(s.db, func(writes int, took time.Duration) {
		writeBatch.Observe(float64(writes))
		commitTime.Observe(took.Seconds())
	}) {
		m.registry.MustRegister(writeBatch, commitTime)
	}
	cache := s.cache
	gauge := func(name, help string, value func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, value)
	}
	counter := func(name, help string, value func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, value)
	}
	m.registry.MustRegister(
		m.requests, m.durations,
		counter("stackboard_cache_hits_total", "Reads answered from the response cache, 304s included.",
			func() float64 { return float64(cache.hits.Load()) }),
		counter("stackboard_cache_misses_total", "Reads the response cache did not hold for the current data version.",
			func() float64 { return float64(cache.misses.Load()) }),
		counter("stackboard_cache_evictions_total", "Entries the response cache dropped to stay within its budget.",
			func() float64 { return float64(cache.evictions.Load()) }),
		gauge("stackboard_cache_bytes", "Bytes the response cache holds.", func() float64 {
			_, bytes := cache.stats()
			return float64(bytes)
		}),
		gauge("stackboard_cache_entries", "Answers the response cache holds.", func() float64 {
			entries, _ := cache.stats()
			return float64(entries)
		}),
		gauge("stackboard_renders_in_flight", "Renders of read answers running now.",
			func() float64 { return float64(len(cache.renders)) }),
		gauge("stackboard_sse_subscribers", "Open live-update streams.",
			func() float64 { return float64(s.hub.subscribers()) }),
		gauge("stackboard_data_version", "The data version this process serves; it grows with every change.",
			func() float64 { return float64(cache.version.Load()) }),
		gauge("stackboard_watcher_up", "1 while the change watcher is current, 0 while it is down or stale.", func() float64 {
			if s.watch.current() {
				return 1
			}
			return 0
		}),
		gauge("stackboard_watcher_lag_seconds", "Seconds since the change watcher last looked at the database; changes by other processes reach pages this late at most.", func() float64 {
			last := s.watch.lastLook()
			if last.IsZero() {
				return 0
			}
			return time.Since(last).Seconds()
		}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.fleet = newFleetCollector(s.db, s.log, func() uint64 { return cache.version.Load() })
	if sqlDB, err := s.db.DB(); err == nil {
		m.registry.MustRegister(collectors.NewDBStatsCollector(sqlDB, "stackboard"))
	}
	return m
}

// routeMetrics are one route pattern's request metrics, resolved once: looking labels up in the vectors costs more
// than the rest of a cached answer. Each method's observers are made on its first request, then read without a
// lock.
type routeMetrics struct {
	pattern   string
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	mu        sync.Mutex
	methods   atomic.Pointer[[]*methodMetrics]
}

// methodMetrics are a route's metrics for one method: its duration and its counter of each status seen.
type methodMetrics struct {
	method   string
	duration prometheus.Observer
	requests *prometheus.CounterVec
	mu       sync.Mutex
	statuses atomic.Pointer[[]statusCounter]
}

type statusCounter struct {
	status  int
	counter prometheus.Counter
}

// mostResolved bounds the methods and statuses kept resolved per route; beyond them (a scanner's made-up
// methods) requests are counted through the vectors.
const mostResolved = 16

// route returns the metrics of a route pattern, the same for every route of that pattern.
func (m *metrics) route(pattern string) *routeMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rm, ok := m.routes[pattern]; ok {
		return rm
	}
	rm := &routeMetrics{pattern: pattern, requests: m.requests, durations: m.durations}
	m.routes[pattern] = rm
	return rm
}

// observe counts one answered request.
func (rm *routeMetrics) observe(method string, status int, took time.Duration) {
	mm := rm.method(method)
	if mm == nil {
		rm.requests.WithLabelValues(rm.pattern, method, strconv.Itoa(status)).Inc()
		rm.durations.WithLabelValues(rm.pattern, method).Observe(took.Seconds())
		return
	}
	mm.counter(status).Inc()
	mm.duration.Observe(took.Seconds())
}

func (rm *routeMetrics) method(method string) *methodMetrics {
	if list := rm.methods.Load(); list != nil {
		for _, mm := range *list {
			if mm.method == method {
				return mm
			}
		}
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	var list []*methodMetrics
	if current := rm.methods.Load(); current != nil {
		list = *current
	}
	for _, mm := range list {
		if mm.method == method {
			return mm
		}
	}
	if len(list) >= mostResolved {
		return nil
	}
	mm := &methodMetrics{method: method, duration: rm.durations.WithLabelValues(rm.pattern, method),
		requests: rm.requests.MustCurryWith(prometheus.Labels{"route": rm.pattern, "method": method})}
	grown := append(slices.Clip(list), mm)
	rm.methods.Store(&grown)
	return mm
}

func (mm *methodMetrics) counter(status int) prometheus.Counter {
	if list := mm.statuses.Load(); list != nil {
		for _, sc := range *list {
			if sc.status == status {
				return sc.counter
			}
		}
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	var list []statusCounter
	if current := mm.statuses.Load(); current != nil {
		list = *current
	}
	for _, sc := range list {
		if sc.status == status {
			return sc.counter
		}
	}
	counter := mm.requests.WithLabelValues(strconv.Itoa(status))
	if len(list) < mostResolved {
		grown := append(slices.Clip(list), statusCounter{status, counter})
		mm.statuses.Store(&grown)
	}
	return counter
}

// metricsFormat is the exposition format /metrics answers in: Prometheus text, which every scraper reads.
var metricsFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// MetricsHandler serves the Prometheus metrics without any access check, for a listener of its own
// (--metrics-addr): the server's, gathered per scrape, then the fleet's, encoded once per read of the fleet.
func (s *Server) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		families, err := s.metrics.registry.Gather()
		if err != nil {
			s.log.WarnContext(r.Context(), "metrics: gather", "error", err)
		}
		var body bytes.Buffer
		encoder := expfmt.NewEncoder(&body, metricsFormat)
		for _, family := range families {
			if err := encoder.Encode(family); err != nil {
				s.renderError(w, r, err)
				return
			}
		}
		body.Write(s.metrics.fleet.text())
		w.Header().Set(HeaderContentType, string(metricsFormat))
		w.Header().Set(HeaderContentLength, strconv.Itoa(body.Len()))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(body.Bytes())
		}
	})
}

// serveMetrics answers GET /metrics on the main address. The fleet metrics name every project's stacks, so with
// reads protected they need a token that reads every project.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	access := handlers.AccessFrom(r.Context())
	if err := access.RequireToken(false); err != nil {
		return err
	}
	if access.VisibleProjects() != nil {
		return &handlers.Error{Status: http.StatusForbidden, Message: "Forbidden: the metrics cover every project; token " + access.Token.Name + " does not read them all"}
	}
	w.Header().Set(HeaderCacheControl, "no-store")
	s.MetricsHandler().ServeHTTP(w, r)
	return nil
}

// lastLook is the time of the watcher's last successful look at the database; zero before the first.
func (h *watchHealth) lastLook() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.checked
}

// readiness says why the server is not ready to take traffic as far as the watcher goes, or nil: unlike err,
// a watcher that has not looked at the database yet (not started) is not ready.
func (h *watchHealth) readiness() error {
	if h.lastLook().IsZero() {
		return errors.New("the change watcher has not looked at the database yet")
	}
	return h.err()
}

// subscribers counts the open streams.
func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// fleetCollector exports the fleet's state. It reads the database at most once per data version and never while
// a scrape waits (but the first), so that however often Prometheus scrapes, a scrape costs no query.
type fleetCollector struct {
	db      *gorm.DB
	log     *slog.Logger
	version func() uint64

	stacks, products, productStable, failedSince, readErrors, dataVersion *prometheus.Desc

	// loading counts the background reads of the fleet, which Drain waits for.
	loading sync.WaitGroup

	mu       sync.Mutex
	reading  bool
	at       uint64
	built    []prometheus.Metric
	failures int
	// encoded is the text of the metrics at encodedAt with encodedFailures.
	encoded         []byte
	encodedAt       uint64
	encodedFailures int
}

// fleetReadTimeout bounds one read of the fleet.
const fleetReadTimeout = 5 * time.Second

func newFleetCollector(db *gorm.DB, log *slog.Logger, version func() uint64) *fleetCollector {
	return &fleetCollector{
		db: db, log: log, version: version,
		stacks: prometheus.NewDesc("stackboard_stacks", "Stacks by project, lifecycle status and run status.",
			[]string{"project", "lifecycle", "run_status"}, nil),
		products: prometheus.NewDesc("stackboard_products", "Products by stability (is_stable: every stack RUNNING).",
			[]string{"stable"}, nil),
		productStable: prometheus.NewDesc("stackboard_product_stable", "1 when every stack of the product is RUNNING, else 0.",
			[]string{"product"}, nil),
		failedSince: prometheus.NewDesc("stackboard_stack_failed_since_timestamp_seconds",
			"When a stack entered its failed state (a *_FAILED lifecycle status, or the FAULT run status), in Unix seconds: time() minus it is the time in that state.",
			[]string{"project", "stack", "status"}, nil),
		readErrors: prometheus.NewDesc("stackboard_fleet_read_errors_total", "Failed reads of the fleet for the metrics; the last good read is exported meanwhile.",
			nil, nil),
		dataVersion: prometheus.NewDesc("stackboard_fleet_data_version", "The data version the fleet metrics were read at; behind stackboard_data_version while a read runs.",
			nil, nil),
	}
}

// Describe sends the descriptions of the fleet metrics.
func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.stacks, c.products, c.productStable, c.failedSince, c.readErrors, c.dataVersion} {
		ch <- d
	}
}

// Collect sends the fleet metrics of the last read.
func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	built, version, failures := c.current()
	for _, m := range built {
		ch <- m
	}
	ch <- prometheus.MustNewConstMetric(c.dataVersion, prometheus.GaugeValue, float64(version))
	ch <- prometheus.MustNewConstMetric(c.readErrors, prometheus.CounterValue, float64(failures))
}

// text is the fleet metrics in the exposition format, encoded again only when a read or a failure changed them.
func (c *fleetCollector) text() []byte {
	_, version, failures := c.current()
	c.mu.Lock()
	if c.encoded != nil && c.encodedAt == version && c.encodedFailures == failures {
		defer c.mu.Unlock()
		return c.encoded
	}
	c.mu.Unlock()
	registry := prometheus.NewPedanticRegistry()
	registry.MustRegister(c)
	families, err := registry.Gather()
	var body bytes.Buffer
	encoder := expfmt.NewEncoder(&body, metricsFormat)
	for _, family := range families {
		if err == nil {
			err = encoder.Encode(family)
		}
	}
	if err != nil {
		c.log.Warn("metrics: encode the fleet", "error", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.encoded, c.encodedAt, c.encodedFailures = body.Bytes(), version, failures
	return c.encoded
}

// build turns a fleet read into its metrics, once per read rather than once per scrape.
func (c *fleetCollector) build(snapshot models.FleetMetrics) []prometheus.Metric {
	out := make([]prometheus.Metric, 0, len(snapshot.Stacks)+len(snapshot.Products)+len(snapshot.Failed)+2)
	for _, s := range snapshot.Stacks {
		out = append(out, prometheus.MustNewConstMetric(c.stacks, prometheus.GaugeValue, float64(s.Stacks), s.ProjectID, s.Lifecycle, s.RunStatus))
	}
	var stable, unstable float64
	for _, p := range snapshot.Products {
		value := 0.0
		if p.Stable {
			value = 1
			stable++
		} else {
			unstable++
		}
		out = append(out, prometheus.MustNewConstMetric(c.productStable, prometheus.GaugeValue, value, p.Name))
	}
	out = append(out, prometheus.MustNewConstMetric(c.products, prometheus.GaugeValue, stable, "true"),
		prometheus.MustNewConstMetric(c.products, prometheus.GaugeValue, unstable, "false"))
	for _, f := range snapshot.Failed {
		out = append(out, prometheus.MustNewConstMetric(c.failedSince, prometheus.GaugeValue, float64(f.Since.Unix()), f.ProjectID, f.Name, f.Status))
	}
	return out
}

// current returns the metrics of the last fleet read. The first scrape reads the fleet; later ones that find the
// data version moved start one read in the background and answer from the last one meanwhile, so that a scrape
// never waits for SQL however fast the data changes (stackboard_fleet_data_version says which version the fleet
// is of).
func (c *fleetCollector) current() ([]prometheus.Metric, uint64, int) {
	// The version is read before the fleet: a change during the read leaves the metrics at the older version, to
	// be read again.
	version := c.version()
	c.mu.Lock()
	loaded := c.built != nil
	if loaded && c.at != version && !c.reading {
		c.reading = true
		c.loading.Add(1)
		go func() {
			defer c.loading.Done()
			c.load(version)
		}()
	}
	c.mu.Unlock()
	if !loaded {
		c.load(version)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.built, c.at, c.failures
}

// load reads the fleet at version and keeps its metrics.
func (c *fleetCollector) load(version uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), fleetReadTimeout)
	defer cancel()
	snapshot, err := models.LoadFleetMetrics(ctx, c.db)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reading = false
	if err != nil {
		c.failures++
		c.log.Warn("metrics: read the fleet", "error", err)
		return
	}
	if c.built == nil || version >= c.at {
		c.built, c.at = c.build(snapshot), version
	}
}
