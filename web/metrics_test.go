package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"stackboard/models/testdb"
)

// scrape reads /metrics through the real router and parses it with Prometheus's own text parser.
func scrape(t *testing.T, h http.Handler, headers ...string) map[string]*dto.MetricFamily {
	t.Helper()
	rec := get(t, h, metricsPath, headers...)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d\n%s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// scrapeCurrent scrapes until the fleet metrics are of the current data version (they are read in the
// background after a change).
func scrapeCurrent(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		families := scrape(t, h)
		if value(t, families, "stackboard_fleet_data_version") == value(t, families, "stackboard_data_version") {
			return families
		}
		if time.Now().After(deadline) {
			t.Fatal("the fleet metrics never caught up with the data version")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// series lists a family's samples as "label=value,... value" (labels in name order, as exposed), sorted, so a test can compare them whole.
func series(families map[string]*dto.MetricFamily, name string) []string {
	family := families[name]
	if family == nil {
		return nil
	}
	var out []string
	for _, m := range family.GetMetric() {
		var labels []string
		for _, l := range m.GetLabel() {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		var value float64
		switch {
		case m.Gauge != nil:
			value = m.GetGauge().GetValue()
		case m.Counter != nil:
			value = m.GetCounter().GetValue()
		case m.Histogram != nil:
			value = float64(m.GetHistogram().GetSampleCount())
		}
		out = append(out, strings.Join(labels, ",")+" "+model.SampleValue(value).String())
	}
	sort.Strings(out)
	return out
}

// value returns the one sample of name whose labels include every given name=value pair.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	family := families[name]
	if family == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range family.GetMetric() {
		have := make(map[string]string)
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no sample of %s with %v", name, labels)
	return 0
}

func equalLists(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

func TestMetricsFollowTheFleetAfterWrites(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	s := newTestServer(db)
	p := "project=" + rfsProject

	families := scrape(t, s)
	if got, want := series(families, "stackboard_stacks"), []string{"lifecycle=DEPLOYMENT_COMPLETE," + p + ",run_status=RUNNING 2"}; !equalLists(got, want) {
		t.Errorf("stackboard_stacks = %q, want %q", got, want)
	}
	if got, want := series(families, "stackboard_product_stable"), []string{"product=kodo 1", "product=memcached 1"}; !equalLists(got, want) {
		t.Errorf("stackboard_product_stable = %q, want %q", got, want)
	}
	if got, want := series(families, "stackboard_products"), []string{"stable=false 0", "stable=true 2"}; !equalLists(got, want) {
		t.Errorf("stackboard_products = %q, want %q", got, want)
	}
	if got := series(families, "stackboard_stack_failed_since_timestamp_seconds"); got != nil {
		t.Errorf("no stack has failed, yet stackboard_stack_failed_since_timestamp_seconds = %q", got)
	}

	// The kodo stack's service faults and its lifecycle fails: kodo becomes unstable, memcached stays stable.
	stacks := "/v1/" + rfsProject + "/stacks"
	expectStatus(t, call(t, s, http.MethodPut, stacks+"/kodo/services/io", `{"state":"DEPLOYED","status":"FAULT","image":{"name":"spocktest/io","tag":"test"}}`), http.StatusOK)
	expectStatus(t, call(t, s, http.MethodPatch, stacks+"/kodo", `{"status":"DEPLOYMENT_FAILED","status_message":"image pull failed"}`), http.StatusNoContent)
	expectStatus(t, call(t, s, http.MethodPost, stacks, `{"stack_name":"fresh"}`), http.StatusCreated)

	families = scrapeCurrent(t, s)
	want := []string{
		"lifecycle=CREATION_COMPLETE," + p + ",run_status=NOT-RUNNING 1",
		"lifecycle=DEPLOYMENT_COMPLETE," + p + ",run_status=RUNNING 1",
		"lifecycle=DEPLOYMENT_FAILED," + p + ",run_status=FAULT 1",
	}
	if got := series(families, "stackboard_stacks"); !equalLists(got, want) {
		t.Errorf("after writes stackboard_stacks = %q, want %q", got, want)
	}
	if got, want := series(families, "stackboard_product_stable"), []string{"product=kodo 0", "product=memcached 1"}; !equalLists(got, want) {
		t.Errorf("after writes stackboard_product_stable = %q, want %q", got, want)
	}
	if got, want := series(families, "stackboard_products"), []string{"stable=false 1", "stable=true 1"}; !equalLists(got, want) {
		t.Errorf("after writes stackboard_products = %q, want %q", got, want)
	}
	for _, status := range []string{"DEPLOYMENT_FAILED", "FAULT"} {
		since := value(t, families, "stackboard_stack_failed_since_timestamp_seconds", "stack", "kodo", "status", status)
		if ago := float64(time.Now().Unix()) - since; ago < 0 || ago > 60 {
			t.Errorf("kodo failed (%s) %v s ago, want just now", status, ago)
		}
	}

	// The server's own metrics: requests by route pattern (never the raw path), write batches, the cache.
	route := "/v1/{project_id}/stacks/{stack_name}/services/{service_name}"
	if v := value(t, families, "stackboard_http_requests_total", "route", route, "method", "PUT", "status", "200"); v != 1 {
		t.Errorf("PUT %s counted %v times, want 1", route, v)
	}
	if v := value(t, families, "stackboard_http_request_duration_seconds", "route", "/v1/{project_id}/stacks", "method", "POST"); v != 1 {
		t.Errorf("POST stacks timed %v times, want 1", v)
	}
	if testdb.Postgres() {
		// PostgreSQL commits each write on its own: there are no batches to count.
		if families["stackboard_write_batch_size"] != nil {
			t.Error("stackboard_write_batch_size on PostgreSQL, which has no group commits")
		}
	} else if v := value(t, families, "stackboard_write_batch_size"); v < 3 {
		t.Errorf("stackboard_write_batch_size counted %v commits, want at least the 3 writes", v)
	}
	if v := value(t, families, "stackboard_http_requests_total", "route", metricsPath, "method", "GET", "status", "200"); v < 1 {
		t.Errorf("the earlier scrapes counted %v times, want them counted", v)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "go_sql_max_open_connections", "stackboard_watcher_lag_seconds", "stackboard_sse_subscribers", "stackboard_renders_in_flight"} {
		if families[name] == nil {
			t.Errorf("no metric %s", name)
		}
	}

	get(t, s, "/nowhere/at/all")
	hitsBefore := value(t, families, "stackboard_cache_hits_total")
	missesBefore := value(t, families, "stackboard_cache_misses_total")
	get(t, s, "/api/products")
	get(t, s, "/api/products")
	families = scrape(t, s)
	if v := value(t, families, "stackboard_cache_misses_total"); v != missesBefore+1 {
		t.Errorf("cache misses %v, want %v", v, missesBefore+1)
	}
	if v := value(t, families, "stackboard_cache_hits_total"); v != hitsBefore+1 {
		t.Errorf("cache hits %v, want %v", v, hitsBefore+1)
	}
	if v := value(t, families, "stackboard_cache_bytes"); v <= 0 {
		t.Errorf("cache bytes %v, want some", v)
	}
	if v := value(t, families, "stackboard_http_requests_total", "route", unmatchedRoute, "status", "404"); v != 1 {
		t.Errorf("unmatched 404s %v, want 1", v)
	}
	for _, f := range families["stackboard_http_requests_total"].GetMetric() {
		for _, l := range f.GetLabel() {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), "nowhere") {
				t.Errorf("a raw path became a route label: %q", l.GetValue())
			}
		}
	}
}

func TestMetricsAreReadLikeEveryProject(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	tokens := []TokenConfig{
		{Name: "ops", SHA256: sha256Hex("ops-secret"), Projects: []string{"*"}, Role: "read"},
		{Name: "team", SHA256: sha256Hex("team-secret"), Projects: []string{rfsProject}, Role: "read"},
	}
	protected := NewServer(db, slog.New(slog.DiscardHandler), Options{Tokens: tokens, AuthReads: true})
	if rec := get(t, protected, metricsPath); rec.Code != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", rec.Code)
	}
	if rec := get(t, protected, metricsPath, HeaderAuthToken, "team-secret"); rec.Code != http.StatusForbidden {
		t.Errorf("with a token of one project: %d, want 403", rec.Code)
	}
	scrape(t, protected, HeaderAuthToken, "ops-secret")

	open := NewServer(db, slog.New(slog.DiscardHandler), Options{Tokens: tokens})
	scrape(t, open)

	elsewhere := NewServer(db, slog.New(slog.DiscardHandler), Options{MetricsElsewhere: true})
	if rec := get(t, elsewhere, metricsPath); rec.Code != http.StatusNotFound {
		t.Errorf("with metrics on their own address, the main one answers %d, want 404", rec.Code)
	}
	scrape(t, elsewhere.MetricsHandler())
}

func expectStatus(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d\n%s", rec.Code, status, rec.Body)
	}
}

// Drain waits for a fleet read a scrape started in the background, so that serve closes the database after it
// ("metrics: read the fleet: sql: database is closed" was logged at every stop under load).
func TestDrainWaitsForTheMetricsFleetRead(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	s := newTestServer(db)
	scrape(t, s)
	stacks := "/v1/" + rfsProject + "/stacks"
	expectStatus(t, call(t, s, http.MethodPatch, stacks+"/kodo", `{"status":"DEPLOYMENT_FAILED","status_message":"image pull failed"}`), http.StatusNoContent)
	scrape(t, s) // finds the version moved: the fleet is read in the background
	s.Drain()
	fleet := s.metrics.fleet
	fleet.mu.Lock()
	reading, at := fleet.reading, fleet.at
	fleet.mu.Unlock()
	if reading || at != s.cache.version.Load() {
		t.Errorf("after Drain: the fleet read is still running (%v), or the metrics are of version %d, not %d", reading, at, s.cache.version.Load())
	}
}
