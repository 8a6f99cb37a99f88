package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The load runs of `make bench`. They need wrk (Debian's package) and run only when STACKBOARD_BENCH is set; nginx
// (Debian's nginx-light), when installed, serves the same bytes as a reference.
const (
	loadDuration    = 4 * time.Second
	loadConnections = 16
	mixedDuration   = 10 * time.Second
	afterWriteReads = 200
	// warmRounds is how many times stackboard and the bare server each answer a warm request, in turn: one 4 s run
	// of either moves by ±15% on two cores shared with wrk, and the median of the rounds' ratios is the figure.
	warmRounds = 5
	// pacedReports is the rate of status reports the paced mixed run asks of its writers, all together.
	pacedReports = 2000
)

// The targets the load runs hold the server to (issue 14).
const (
	targetProductsP99   = 50 * time.Millisecond
	targetOverviewP99   = 20 * time.Millisecond
	targetStackListP99  = 10 * time.Millisecond
	targetFirstByteP99  = 50 * time.Millisecond
	targetWarmRatio     = 0.9
	targetReportsPerSec = 3000
	targetPeakRSS       = 150 << 20
)

// mixedReaders is how many readers the mixed runs have (STACKBOARD_BENCH_READERS changes it, to see writes alone).
var mixedReaders = 16

// mixedWriters is how many deploy tools report at once in the mixed runs (STACKBOARD_BENCH_WRITERS changes it).
var mixedWriters = 8

// benchParts says which parts of `make bench` run: STACKBOARD_BENCH_ONLY lists some of go, after, warm, paced,
// flat (all by default; STACKBOARD_BENCH=load skips the Go benchmarks, as before).
func benchParts() map[string]bool {
	parts := map[string]bool{"go": true, "after": true, "warm": true, "paced": true, "flat": true}
	if only := os.Getenv("STACKBOARD_BENCH_ONLY"); only != "" {
		parts = map[string]bool{}
		for part := range strings.SplitSeq(only, ",") {
			parts[strings.TrimSpace(part)] = true
		}
	}
	if os.Getenv("STACKBOARD_BENCH") == "load" {
		parts["go"], parts["after"] = false, false
	}
	return parts
}

// partCommand is the command that runs one part of `make bench` alone, at one size: what a figure cites.
func partCommand(part, size string) string {
	return "`STACKBOARD_BENCH_ONLY=" + part + " STACKBOARD_BENCH_SIZES=" + size + " make bench`"
}

// loadTarget is one URL the load runs ask for, with the headers of its format.
type loadTarget struct {
	label  string
	path   string
	header http.Header
}

// variant names the answer a request with these headers gets, for the bare server (which has no negotiation).
func variant(path string, header http.Header) string {
	return path + " " + header.Get("Accept") + " " + header.Get("Accept-Encoding") + " " + header.Get("Hx-Request")
}

// Labels of the load targets the mixed runs and the targets table name.
const (
	labelProducts     = "`/api/products` JSON"
	labelProductsGzip = "`/api/products` JSON, gzip"
	labelOverview     = "overview page (`/api/products`)"
	labelStackList    = "`/v1/{p}/stacks` JSON"
	labelStackPage    = "stack list page (`/v1/{p}/stacks`)"
)

// loadTargets are the documented endpoints and the pages, warm, in the formats people and scripts use.
func (f benchFixture) loadTargets() []loadTarget {
	json := benchFormats[0].header
	page := benchFormats[1].header
	gzip := json.Clone()
	gzip.Set("Accept-Encoding", "gzip")
	stacks := "/v1/" + f.project + "/stacks"
	stack := stacks + "/" + f.stack
	return []loadTarget{
		{labelProducts, "/api/products", json},
		{labelProductsGzip, "/api/products", gzip},
		{labelOverview, "/api/products", page},
		{"`/api/products/{name}` JSON", "/api/products/" + f.product, json},
		{"product page", "/api/products/" + f.product, page},
		{labelStackList, stacks, json},
		{labelStackPage, stacks, page},
		{"`/v1/{p}/stacks/{name}` JSON", stack, json},
		{"stack page", stack, page},
		{"`/v1/{p}/stacks/{name}/events` JSON", stack + "/events", json},
	}
}

// mixedTargets are what the readers of the mixed runs ask for, in turn.
func mixedTargets(all []loadTarget) []loadTarget {
	var out []loadTarget
	for _, t := range all {
		switch t.label {
		case labelProducts, labelProductsGzip, labelOverview, labelStackList, labelStackPage, "stack page":
			out = append(out, t)
		}
	}
	return out
}

// latencies summarises a load: requests a second and the 50th and 99th percentile.
type latencies struct {
	perSecond float64
	p50, p99  time.Duration
	errors    int64
	count     int
}

// allReads sums the readers of a mixed run: their requests a second and errors, and the slowest reader's p50 and
// p99.
func allReads(reads map[string]latencies) latencies {
	var all latencies
	for _, l := range reads {
		all.perSecond += l.perSecond
		all.errors += l.errors
		all.count += l.count
		all.p50, all.p99 = max(all.p50, l.p50), max(all.p99, l.p99)
	}
	return all
}

func (l latencies) String() string {
	return fmt.Sprintf("%s / %s", ms(l.p50), ms(l.p99))
}

func ms(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + " ms"
}

func summarise(samples []time.Duration, elapsed time.Duration) latencies {
	if len(samples) == 0 {
		return latencies{}
	}
	slices.Sort(samples)
	at := func(q float64) time.Duration { return samples[min(len(samples)-1, int(q*float64(len(samples))))] }
	return latencies{perSecond: float64(len(samples)) / elapsed.Seconds(), p50: at(0.50), p99: at(0.99), count: len(samples)}
}

// loadReport collects the load runs' tables and their verdicts.
type loadReport struct {
	warm      [][]string
	mixedRows [][]string
	targets   [][]string
	notes     []string
	// failures are the runs that saw errors: the report prints, then the test fails.
	failures []string
}

// check adds one figure to the targets table: what it measures, where, what it reached against what it should.
func (r *loadReport) check(size, name, measured, target string, met bool, command string) {
	verdict := "yes"
	if !met {
		verdict = "**no**"
	}
	r.targets = append(r.targets, []string{size, name, measured, target, verdict, command})
}

var warmHeader = []string{"size", "request (warm)", "bytes", "stackboard req/s", "p50 / p99", "bare req/s", "÷ bare", "nginx req/s", "÷ nginx", "after a write p50 / p99", "first byte after a write p99", "command"}
var mixedHeader = []string{"size", "run", "writes/s", "write p50 / p99", "reader", "reads/s", "read p50 / p99", "errors", "command"}
var targetsHeader = []string{"size", "figure", "measured", "target", "met", "command"}

// runLoad measures one size: warm reads against the bare server and nginx, reads right after writes, and the
// mixed runs of status reports and readers.
func (r *loadReport) runLoad(t *testing.T, wrk, bin string, f benchFixture, parts map[string]bool) {
	// The load runs write: they get a copy, so the benchmarks and any rerun see the generated data.
	dbPath := filepath.Join(t.TempDir(), f.size+".db")
	copyFile(t, f.path, dbPath)
	server := startServeProcess(t, bin, dbPath)
	defer server.stop(t)
	targets := f.loadTargets()

	if parts["warm"] {
		answers := make(map[string]bareResponse)
		for _, target := range targets {
			answers[target.label] = fetch(t, server.base+target.path, target.header)
		}
		bare := startBare(t, targets, answers)
		nginx, nginxPaths := startNginx(t, targets, answers)
		worst, worstLabel := 0.0, ""
		worstFirst, worstFirstLabel := time.Duration(0), ""
		// Every warm run comes before any write: the bare server and nginx send the answers as they were at the
		// start, and the reads after writes below change some of them (a stack's events grow with every report).
		rows := make([][]string, len(targets))
		for i, target := range targets {
			warm, upper, ratio, cmd := interleavedWrk(t, wrk, server.base+target.path, bare+target.path, target.header)
			row := []string{f.size, target.label, strconv.Itoa(len(answers[target.label].Body)),
				strconv.FormatFloat(warm.perSecond, 'f', 0, 64), warm.String(),
				strconv.FormatFloat(upper.perSecond, 'f', 0, 64), strconv.FormatFloat(ratio, 'f', 2, 64), "", ""}
			if nginx != "" {
				ref, _ := runWrk(t, wrk, nginx+nginxPaths[target.label], nil)
				row[7], row[8] = strconv.FormatFloat(ref.perSecond, 'f', 0, 64), strconv.FormatFloat(warm.perSecond/ref.perSecond, 'f', 2, 64)
			}
			rows[i] = append(row, "", "", cmd)
			if worstLabel == "" || ratio < worst {
				worst, worstLabel = ratio, target.label
			}
			progress("%s %s: warm %.0f/s, bare %.0f/s", f.size, target.label, warm.perSecond, upper.perSecond)
		}
		for i, target := range targets {
			after, firstByte := readsAfterWrites(t, server.base, f, target)
			rows[i][9], rows[i][10] = after.String(), ms(firstByte.p99)
			r.warm = append(r.warm, rows[i])
			if firstByte.p99 >= worstFirst {
				worstFirst, worstFirstLabel = firstByte.p99, target.label
			}
			progress("%s %s: after writes %s, first byte p99 %s", f.size, target.label, after, ms(firstByte.p99))
		}
		r.check(f.size, "warm ÷ bare `net/http`, the lowest of "+strconv.Itoa(len(targets))+" requests ("+worstLabel+")",
			strconv.FormatFloat(worst, 'f', 2, 64)+"×", "≥ "+strconv.FormatFloat(targetWarmRatio, 'f', 1, 64)+"×", worst >= targetWarmRatio, partCommand("warm", f.size))
		r.check(f.size, "first byte after one write p99, the slowest request ("+worstFirstLabel+")", ms(worstFirst),
			"≤ "+ms(targetFirstByteP99), worstFirst <= targetFirstByteP99, partCommand("warm", f.size))
	}

	// Each mixed run has its 16 readers on one target, as the issue measured ("8 writers + 16 readers of
	// /api/products"): readers of several targets at once would measure how the targets share the cores.
	byLabel := make(map[string]loadTarget)
	for _, target := range targets {
		byLabel[target.label] = target
	}
	if parts["paced"] && f.size == "L" {
		limits := []struct {
			label string
			p99   time.Duration
		}{{labelProducts, targetProductsP99}, {labelProductsGzip, targetProductsP99}, {labelOverview, targetOverviewP99},
			{labelStackList, targetStackListP99}, {labelStackPage, targetStackListP99}}
		cmd := partCommand("paced", f.size)
		slowest := math.MaxFloat64
		for i, limit := range limits {
			writes, reads := r.mixed(t, wrk, server, f, []loadTarget{byLabel[limit.label]}, pacedReports, "paced", i)
			slowest = min(slowest, writes.perSecond)
			got := reads[limit.label]
			r.check(f.size, limit.label+" p99 under those writes", ms(got.p99), "≤ "+ms(limit.p99), got.perSecond > 0 && got.p99 <= limit.p99, cmd)
		}
		r.check(f.size, fmt.Sprintf("status reports/s the %d paced writers got done (asked: %d/s), the lowest of %d runs", mixedWriters, pacedReports, len(limits)),
			strconv.FormatFloat(slowest, 'f', 0, 64), "≥ 2000", slowest >= 2000, cmd)
	}
	if parts["flat"] {
		writes, reads := r.mixed(t, wrk, server, f, []loadTarget{byLabel[labelProductsGzip]}, 0, "flat", 0)
		errors := writes.errors
		for _, l := range reads {
			errors += l.errors
		}
		r.check(f.size, fmt.Sprintf("status reports/s, %d writers flat out, %d readers of %s, errors", mixedWriters, mixedReaders, labelProductsGzip),
			fmt.Sprintf("%.0f, %d errors", writes.perSecond, errors), fmt.Sprintf("≥ %d, 0 errors", targetReportsPerSec),
			writes.perSecond >= targetReportsPerSec && errors == 0, partCommand("flat", f.size))
	}
	rss := server.peakRSS(t)
	r.notes = append(r.notes, fmt.Sprintf("peak RSS of `stackboard serve` at %s: %d MB (its VmHWM after the runs above)", f.size, rss>>20))
	if f.size == "L" && (parts["paced"] || parts["flat"]) {
		r.check(f.size, "peak RSS of `stackboard serve` under the mixed runs", strconv.FormatInt(rss>>20, 10)+" MB",
			"≤ "+strconv.Itoa(targetPeakRSS>>20)+" MB", rss <= targetPeakRSS, partCommand("paced,flat", f.size))
	}
}

// mixed runs the writers (paced to perSecond in all, or flat out when zero) against the readers, adds its rows and
// records any error as a failure.
func (r *loadReport) mixed(t *testing.T, wrk string, server *servedProcess, f benchFixture, readers []loadTarget, perSecond float64, part string, run int) (latencies, map[string]latencies) {
	profiled := server.profile(t, fmt.Sprintf("%s-%s-%d", f.size, part, run))
	before := server.commits(t)
	writes, reads := mixedLoad(t, wrk, server.base, f, readers, perSecond)
	profiled()
	if after := server.commits(t); after.count > before.count {
		n := after.count - before.count
		r.notes = append(r.notes, fmt.Sprintf("%s %s run %d: %.0f commits, %.1f writes per commit, %s per commit on average (`stackboard_write_batch_size`, `stackboard_write_commit_duration_seconds`)",
			f.size, part, run, n, (after.writes-before.writes)/n, ms(time.Duration((after.seconds-before.seconds)/n*float64(time.Second)))))
	}
	name := fmt.Sprintf("%d writers flat out, %d readers", mixedWriters, mixedReaders)
	if perSecond > 0 {
		name = fmt.Sprintf("%d writers paced to %.0f reports/s, %d readers", mixedWriters, perSecond, mixedReaders)
	}
	cmd := partCommand(part, f.size)
	r.mixedRows = append(r.mixedRows, []string{f.size, name, strconv.FormatFloat(writes.perSecond, 'f', 0, 64), writes.String(),
		"(status reports: PATCH of a stack, PUT of a service)", "", "", strconv.FormatInt(writes.errors, 10), cmd})
	if writes.errors > 0 {
		r.failures = append(r.failures, fmt.Sprintf("%s %s: %d status reports failed", f.size, name, writes.errors))
	}
	for _, target := range readers {
		l := reads[target.label]
		r.mixedRows = append(r.mixedRows, []string{f.size, name, "", "", target.label, strconv.FormatFloat(l.perSecond, 'f', 0, 64), l.String(),
			strconv.FormatInt(l.errors, 10), cmd})
		if l.errors > 0 {
			r.failures = append(r.failures, fmt.Sprintf("%s %s: %d reads of %s failed", f.size, name, l.errors, target.label))
		}
	}
	progress("%s %s: %.0f writes/s, p99 %s", f.size, name, writes.perSecond, ms(writes.p99))
	return writes, reads
}

func (r *loadReport) print() {
	if len(r.targets) > 0 {
		fmt.Println("Against the targets:")
		fmt.Println()
		printTable(targetsHeader, r.targets)
		fmt.Println()
	}
	if len(r.mixedRows) > 0 {
		printTable(mixedHeader, r.mixedRows)
		fmt.Println()
	}
	if len(r.warm) > 0 {
		printTable(warmHeader, r.warm)
		fmt.Println()
	}
	for _, note := range r.notes {
		fmt.Println("- " + note)
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// servedProcess is `stackboard serve` running as its own process.
type servedProcess struct {
	cmd  *exec.Cmd
	base string
	// debug is the base URL of its pprof endpoints, when STACKBOARD_BENCH_PROFILE asks for profiles.
	debug string
}

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startServeProcess(t *testing.T, bin, dbPath string) *servedProcess {
	t.Helper()
	addr := freeAddress(t)
	args := []string{"serve", "--db", dbPath, "--addr", addr, "--write-rate", "0", "--log-level", "warn"}
	var debug string
	if os.Getenv("STACKBOARD_BENCH_PROFILE") != "" {
		debugAddr := freeAddress(t)
		args = append(args, "--debug-addr", debugAddr)
		debug = "http://" + debugAddr
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &servedProcess{cmd: cmd, base: "http://" + addr, debug: debug}
	t.Cleanup(func() { p.stop(t) })
	waitHealthy(t, p.base)
	return p
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not become healthy within 30 s", base)
}

// profile starts a CPU profile of the server for the mixed run's duration when STACKBOARD_BENCH_PROFILE names a
// directory, into name.pprof there (`go tool pprof -top FILE` reads it); the returned func waits for
// it.
func (p *servedProcess) profile(t *testing.T, name string) (wait func()) {
	dir := os.Getenv("STACKBOARD_BENCH_PROFILE")
	if dir == "" || p.debug == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		seconds := int((mixedDuration - time.Second) / time.Second)
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", p.debug, seconds))
		if err != nil {
			t.Errorf("profile %s: %v", name, err)
			return
		}
		defer resp.Body.Close()
		out, err := os.Create(filepath.Join(dir, name+".pprof"))
		if err != nil {
			t.Errorf("profile %s: %v", name, err)
			return
		}
		defer out.Close()
		if _, err := io.Copy(out, resp.Body); err != nil {
			t.Errorf("profile %s: %v", name, err)
		}
	}()
	return func() { <-done }
}

// commitTotals are the group committer's running totals, from the server's /metrics.
type commitTotals struct{ count, writes, seconds float64 }

// commits reads the group committer's totals (zero on PostgreSQL, which has no committer).
func (p *servedProcess) commits(t *testing.T) commitTotals {
	t.Helper()
	resp, err := http.Get(p.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var totals commitTotals
	if batch := families["stackboard_write_batch_size"]; batch != nil {
		h := batch.GetMetric()[0].GetHistogram()
		totals.count, totals.writes = float64(h.GetSampleCount()), h.GetSampleSum()
	}
	if took := families["stackboard_write_commit_duration_seconds"]; took != nil {
		totals.seconds = took.GetMetric()[0].GetHistogram().GetSampleSum()
	}
	return totals
}

// peakRSS is the process's high-water mark of resident memory (VmHWM).
func (p *servedProcess) peakRSS(t *testing.T) int64 {
	t.Helper()
	file, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		if value, ok := strings.CutPrefix(scanner.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

func (p *servedProcess) stop(t *testing.T) {
	if p.cmd.ProcessState != nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// bareResponse is what the bare server and nginx answer for one request: the very bytes stackboard answered.
type bareResponse struct {
	ContentType     string `json:"content_type"`
	ContentEncoding string `json:"content_encoding"`
	// Header is every header stackboard sent but Date (which net/http writes itself): the bare server sends the
	// same answer, headers and body, so that the ratio measures how stackboard makes it, not what it must say.
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

// fetch reads one answer as it came (a gzip body stays compressed) and fails on anything but a 200.
func fetch(t *testing.T, target string, header http.Header) bareResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	req.Header = header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %.200s", target, resp.StatusCode, err, body)
	}
	sent := resp.Header.Clone()
	sent.Del("Date")
	return bareResponse{ContentType: resp.Header.Get("Content-Type"), ContentEncoding: resp.Header.Get("Content-Encoding"), Header: sent, Body: body}
}

// startBare starts this test binary again as TestBareServer: a plain net/http server answering each request with
// the answer stackboard gave for it (its headers and body), from memory. It is the upper bound of what any handler can do on this machine.
func startBare(t *testing.T, targets []loadTarget, answers map[string]bareResponse) string {
	t.Helper()
	responses := make(map[string]bareResponse)
	for _, target := range targets {
		responses[variant(target.path, target.header)] = answers[target.label]
	}
	file := filepath.Join(t.TempDir(), "bare.json")
	data, err := json.Marshal(responses)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddress(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestBareServer$")
	cmd.Env = append(os.Environ(), "STACKBOARD_BARE_FILE="+file, "STACKBOARD_BARE_ADDR="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitHealthy(t, "http://"+addr)
	return "http://" + addr
}

// TestBareServer is the bare server of the load runs, started by startBare; on its own it does nothing.
func TestBareServer(t *testing.T) {
	file, addr := os.Getenv("STACKBOARD_BARE_FILE"), os.Getenv("STACKBOARD_BARE_ADDR")
	if file == "" || addr == "" {
		t.Skip("started by the load runs only")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var responses map[string]bareResponse
	if err := json.Unmarshal(data, &responses); err != nil {
		t.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte("ok"))
			return
		}
		response, ok := responses[variant(r.URL.Path, r.Header)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		header := w.Header()
		for name, values := range response.Header {
			header[name] = values
		}
		header.Set("Content-Length", strconv.Itoa(len(response.Body)))
		w.Write(response.Body)
	})
	http.ListenAndServe(addr, handler)
}

// startNginx serves the same bytes with nginx, one file per request under /tN, when nginx is installed; it returns
// the base URL ("" without nginx) and each target's path.
func startNginx(t *testing.T, targets []loadTarget, answers map[string]bareResponse) (string, map[string]string) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/nginx"); statErr != nil {
			progress("no nginx: the reference rows are left out (apt-get install -y nginx-light)")
			return "", nil
		}
		bin = "/usr/sbin/nginx"
	}
	// nginx's workers may run as another user: the files must be readable by all.
	dir, err := os.MkdirTemp("", "stackboard-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := freeAddress(t)
	var conf strings.Builder
	fmt.Fprintf(&conf, "worker_processes 2;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\ndaemon off;\n", dir, dir)
	fmt.Fprintf(&conf, "events { worker_connections 1024; }\nhttp {\n  access_log off;\n  sendfile on;\n  keepalive_requests 1000000;\n")
	for _, temp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&conf, "  %s_temp_path %s/%s;\n", temp, dir, temp)
	}
	fmt.Fprintf(&conf, "  server {\n    listen %s;\n    root %s;\n    location = /healthz { return 200 ok; }\n", addr, dir)
	paths := make(map[string]string)
	for i, target := range targets {
		answer := answers[target.label]
		name := "t" + strconv.Itoa(i)
		if err := os.WriteFile(filepath.Join(dir, name), answer.Body, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "    location = /%s { types { } default_type %q;", name, answer.ContentType)
		if answer.ContentEncoding != "" {
			fmt.Fprintf(&conf, " add_header Content-Encoding %s;", answer.ContentEncoding)
		}
		conf.WriteString(" }\n")
		paths[target.label] = "/" + name
	}
	conf.WriteString("  }\n}\n")
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	waitHealthy(t, "http://"+addr)
	return "http://" + addr, paths
}

var wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
var wrkRate = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
var wrkErrors = regexp.MustCompile(`(?m)Non-2xx or 3xx responses: (\d+)|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)

// runWrk loads one URL with wrk (one thread, 16 connections, kept alive) and reads its summary; any non-2xx answer
// or socket error fails the run. It returns the command it ran, for the report.
func runWrk(t *testing.T, wrk, target string, header http.Header) (latencies, string) {
	t.Helper()
	result, command, err := wrkRun(wrk, target, header, loadConnections, loadDuration)
	if err != nil {
		t.Fatal(err)
	}
	return result, command
}

// interleavedWrk loads a URL of stackboard and the same URL of the bare server warmRounds times each, in turn
// (which goes first alternates, so that a drift of the machine weighs on both alike), and returns each one's run
// of median throughput and the median of the rounds' ratios (stackboard's run ÷ the bare server's next to it): the
// machine's speed drifts over tens of seconds, and runs next to each other share the same drift.
func interleavedWrk(t *testing.T, wrk, served, bare string, header http.Header) (warm, upper latencies, ratio float64, command string) {
	t.Helper()
	var warmRuns, bareRuns []latencies
	var ratios []float64
	for round := range warmRounds {
		runServed := func() {
			run, cmd := runWrk(t, wrk, served, header)
			warmRuns, command = append(warmRuns, run), cmd
		}
		runBare := func() {
			run, _ := runWrk(t, wrk, bare, header)
			bareRuns = append(bareRuns, run)
		}
		if round%2 == 0 {
			runServed()
			runBare()
		} else {
			runBare()
			runServed()
		}
		ratios = append(ratios, warmRuns[round].perSecond/bareRuns[round].perSecond)
	}
	slices.Sort(ratios)
	return medianRun(warmRuns), medianRun(bareRuns), ratios[len(ratios)/2], command
}

// medianRun is the run of median throughput.
func medianRun(runs []latencies) latencies {
	sorted := slices.SortedFunc(slices.Values(runs), func(a, b latencies) int { return cmp.Compare(a.perSecond, b.perSecond) })
	return sorted[len(sorted)/2]
}

// wrkRun loads one URL with wrk (one thread, connections kept alive, for duration) and reads its summary; any
// non-2xx answer or socket error is an error. It returns the command it ran, for the report.
func wrkRun(wrk, target string, header http.Header, connections int, duration time.Duration, script ...string) (latencies, string, error) {
	args := []string{"-t1", "-c" + strconv.Itoa(connections), "-d" + strconv.Itoa(int(duration.Seconds())) + "s",
		"--timeout", "10s", "--latency"}
	for _, path := range script {
		args = append(args, "-s", path)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range header {
			if !yield(name) {
				return
			}
		}
	})
	for _, name := range names {
		for _, value := range header[name] {
			args = append(args, "-H", name+": "+value)
		}
	}
	args = append(args, target)
	command := "`wrk"
	for _, arg := range args {
		if strings.ContainsAny(arg, " ;*") {
			arg = "'" + arg + "'"
		}
		command += " " + arg
	}
	command += "`"
	out, err := exec.Command(wrk, args...).CombinedOutput()
	if err != nil {
		return latencies{}, command, fmt.Errorf("%s: %v\n%s", command, err, out)
	}
	var result latencies
	if m := wrkRate.FindSubmatch(out); m != nil {
		result.perSecond, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	for _, m := range wrkLatency.FindAllSubmatch(out, -1) {
		value, _ := strconv.ParseFloat(string(m[2]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[3])]
		d := time.Duration(value * float64(unit))
		if string(m[1]) == "50" {
			result.p50 = d
		} else {
			result.p99 = d
		}
	}
	for _, m := range wrkErrors.FindAllSubmatch(out, -1) {
		for _, group := range m[1:] {
			n, _ := strconv.ParseInt(string(group), 10, 64)
			result.errors += n
		}
	}
	if result.errors > 0 {
		return result, command, fmt.Errorf("%s saw %d errors (non-2xx answers or socket errors): a run with errors has failed\n%s", command, result.errors, out)
	}
	if result.perSecond == 0 {
		return result, command, fmt.Errorf("%s: nothing answered\n%s", command, out)
	}
	return result, command, nil
}

// benchClient keeps connections alive for the Go-driven runs; it takes gzip bodies as they come.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64, DisableCompression: true}, Timeout: 30 * time.Second}

// send makes one request and reads the whole answer; it returns the status and the time to the first byte.
func send(method, target string, header http.Header, body string) (int, time.Duration, error) {
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, reader)
	if err != nil {
		return 0, 0, err
	}
	req.Header = header.Clone()
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	var firstByte time.Duration
	req = req.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotFirstResponseByte: func() { firstByte = time.Since(start) },
	}))
	resp, err := benchClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, 0, err
	}
	return resp.StatusCode, firstByte, nil
}

// reportsScript is a wrk script of deploy tools' status reports to the stacks of project, as the Go writers send
// them: a PATCH of a stack's status and a PUT of its probe service in turn, each a real change with a
// Client-Request-Id of its own.
func reportsScript(project string, stacks []string) string {
	var names strings.Builder
	for i, name := range stacks {
		if i > 0 {
			names.WriteString(", ")
		}
		names.WriteString(strconv.Quote(name))
	}
	return `local stacks = {` + names.String() + `}
local n, patches, puts = 0, 0, 0
math.randomseed(os.time() + os.clock() * 1e6)
local function id()
  return string.format("%08x-%04x-4%03x-%04x-%06x%06x", math.random(0, 0x7fffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), 0x8000 + math.random(0, 0x3fff), math.random(0, 0xffffff), math.random(0, 0xffffff))
end
-- walkStack's walk (bench_test.go): each kind of report visits every stack once a round, flipping what the round before reported.
local function pick(seq)
  return "/v1/` + project + `/stacks/" .. stacks[(seq * 7919) % #stacks + 1], math.floor(seq / #stacks) % 2
end
request = function()
  n = n + 1
  local headers = {["Content-Type"] = "application/json", ["Client-Request-Id"] = id()}
  if n % 2 == 0 then
    patches = patches + 1
    local stack, round = pick(patches)
    local status = (round == 0) and "DEPLOYMENT_IN_PROGRESS" or "DEPLOYMENT_COMPLETE"
    return wrk.format("PATCH", stack, headers, '{"status":"' .. status .. '"}')
  end
  puts = puts + 1
  local stack, round = pick(puts)
  local run = (round == 0) and "RUNNING" or "PARTIALLY-RUNNING"
  return wrk.format("PUT", stack .. "/services/probe", headers,
    '{"state":"DEPLOYED","status":"' .. run .. '","image":{"name":"registry.example.com/bench/probe","tag":"1.0.0"}}')
end
`
}

// report is a deploy tool's status report: the stack's lifecycle status, flipped each time so that every write is
// a real change.
func report(base string, f benchFixture, stack string, i int) (int, error) {
	status := []string{"DEPLOYMENT_IN_PROGRESS", "DEPLOYMENT_COMPLETE"}[i%2]
	header := http.Header{"Client-Request-Id": {uuid.NewString()}}
	code, _, err := send(http.MethodPatch, base+"/v1/"+f.project+"/stacks/"+stack, header, `{"status":"`+status+`"}`)
	return code, err
}

// readsAfterWrites times reads that each follow a write, so that each misses the cache and renders.
func readsAfterWrites(t *testing.T, base string, f benchFixture, target loadTarget) (latencies, latencies) {
	t.Helper()
	var total, firstBytes []time.Duration
	var elapsed time.Duration
	for i := range afterWriteReads {
		if code, err := report(base, f, f.stack, i); err != nil || code >= 300 {
			t.Fatalf("PATCH: %d %v", code, err)
		}
		start := time.Now()
		code, firstByte, err := send(http.MethodGet, base+target.path, target.header, "")
		took := time.Since(start)
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET %s after a write: %d %v", target.path, code, err)
		}
		elapsed += took
		total = append(total, took)
		firstBytes = append(firstBytes, firstByte)
	}
	return summarise(total, elapsed), summarise(firstBytes, elapsed)
}

// mixedLoad runs deploy tools' status reports (PATCH of a stack, PUT of a service) against readers of targets, in
// turn, and counts what each side got done. perSecond, when not zero, paces the writers to that many reports a
// second in all (a writer that falls behind sends at once until it catches up).
func mixedLoad(t *testing.T, wrk, base string, f benchFixture, targets []loadTarget, perSecond float64) (writes latencies, reads map[string]latencies) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(mixedDuration)
	var mu sync.Mutex
	var writeTimes []time.Duration
	var writeErrors, patches, puts atomic.Int64
	var wg sync.WaitGroup
	var flatWrites latencies
	var flatFailure error
	if perSecond == 0 {
		// Flat out, the writers are a wrk process too: Go writers took a core of their own at 3,000 reports a
		// second, and measured themselves.
		script := filepath.Join(t.TempDir(), "reports.lua")
		if err := os.WriteFile(script, []byte(reportsScript(f.project, f.stacks)), 0o644); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			flatWrites, _, flatFailure = wrkRun(wrk, base, nil, mixedWriters, mixedDuration, script)
		}()
	}
	for w := range mixedWriters {
		if perSecond == 0 {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := 0; time.Now().Before(deadline); i++ {
				if perSecond > 0 {
					due := start.Add(time.Duration(float64(i*mixedWriters+w) / perSecond * float64(time.Second)))
					if wait := time.Until(due); wait > 0 {
						time.Sleep(wait)
					}
				}
				seq := int(patches.Add(1))
				if i%2 == 1 {
					seq = int(puts.Add(1))
				}
				stack, round := walkStack(f.stacks, seq)
				began := time.Now()
				var code int
				var err error
				if i%2 == 0 {
					code, err = report(base, f, stack, round)
				} else {
					status := []string{"RUNNING", "PARTIALLY-RUNNING"}[round]
					body := `{"state":"DEPLOYED","status":"` + status + `","image":{"name":"registry.example.com/bench/probe","tag":"1.0.0"}}`
					code, _, err = send(http.MethodPut, base+"/v1/"+f.project+"/stacks/"+stack+"/services/probe",
						http.Header{"Client-Request-Id": {uuid.NewString()}}, body)
				}
				if err != nil || code >= 300 {
					writeErrors.Add(1)
					continue
				}
				mine = append(mine, time.Since(began))
			}
			mu.Lock()
			writeTimes = append(writeTimes, mine...)
			mu.Unlock()
		}()
	}
	// The readers are wrk processes, one per target, sharing the connections out: a Go client reading 9.5 MB
	// answers took as much of the two cores as the server did, and measured itself more than the server.
	readResults := make(map[string]latencies)
	var readFailures []error
	for i, target := range targets {
		connections := mixedReaders / len(targets)
		if i < mixedReaders%len(targets) {
			connections++
		}
		if connections == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			result, _, err := wrkRun(wrk, base+target.path, target.header, connections, mixedDuration)
			mu.Lock()
			defer mu.Unlock()
			readResults[target.label] = result
			if err != nil {
				readFailures = append(readFailures, err)
			}
		}()
	}
	wg.Wait()
	writes = summarise(writeTimes, mixedDuration)
	writes.errors = writeErrors.Load()
	if perSecond == 0 {
		writes = flatWrites
		if flatFailure != nil {
			t.Error(flatFailure)
			writes.errors = max(writes.errors, 1)
		}
	}
	for _, err := range readFailures {
		t.Error(err)
	}
	return writes, readResults
}
