package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The load runs of `make bench`. They need wrk (Debian's package) and run only when STACKBOARD_BENCH is set.
const (
	loadDuration    = 5 * time.Second
	loadConnections = 16
	mixedDuration   = 10 * time.Second
	afterWriteReads = 200
)

// mixedReaders is how many readers the mixed run has (STACKBOARD_BENCH_READERS changes it, to see writes alone).
var mixedReaders = 16

// mixedWriters is how many deploy tools report at once in the mixed run (STACKBOARD_BENCH_WRITERS changes it).
var mixedWriters = 8

// loadTarget is one URL the load runs ask for, with the headers of its format.
type loadTarget struct {
	label  string
	path   string
	header http.Header
}

func (f benchFixture) loadTargets() []loadTarget {
	json := benchFormats[0].header
	page := benchFormats[1].header
	return []loadTarget{
		{"`/api/products` JSON", "/api/products", json},
		{"`/api/products` page", "/api/products", page},
		{"`/v1/{p}/stacks` JSON", "/v1/" + f.project + "/stacks", json},
		{"product page", "/api/products/" + f.product, page},
		{"stack page", "/v1/" + f.project + "/stacks/" + f.stack, page},
	}
}

// latencies summarises a load: requests a second and the 50th and 99th percentile.
type latencies struct {
	perSecond float64
	p50, p99  time.Duration
	errors    int64
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
	return latencies{perSecond: float64(len(samples)) / elapsed.Seconds(), p50: at(0.50), p99: at(0.99)}
}

// TestBenchReport is `make bench`'s load part and its one table: for M and L it starts `stackboard serve` as its
// own process, measures the documented endpoints and pages warm (wrk) next to a bare server of the same bytes,
// right after writes, and under a mix of status reports and readers, then prints everything with the Go
// benchmarks' figures as one Markdown table.
func TestBenchReport(t *testing.T) {
	if os.Getenv("STACKBOARD_BENCH") == "" {
		t.Skip("STACKBOARD_BENCH is not set; `make bench` runs this")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Fatal("wrk is needed for the load runs: apt-get install -y wrk")
	}
	var table [][]string
	header := []string{"size", "request", "render (no cache)", "allocs", "SQL", "bytes", "cached (in process)",
		"warm req/s", "warm p50 / p99", "bare req/s", "warm ÷ bare", "after a write p50 / p99", "first byte after a write p99"}

	// Go benchmarks of every endpoint at every size (STACKBOARD_BENCH=load skips them).
	for _, size := range benchSizes {
		if os.Getenv("STACKBOARD_BENCH") == "load" {
			break
		}
		f := fixture(t, size)
		for _, req := range f.requests() {
			render := testing.Benchmark(benchmarkRender(f, req))
			cached := testing.Benchmark(benchmarkCached(f, req))
			table = append(table, []string{size, "`" + req.name + "` " + req.format,
				duration(render.NsPerOp()), strconv.FormatInt(render.AllocsPerOp(), 10),
				strconv.FormatFloat(render.Extra["SQL/op"], 'f', 0, 64), strconv.FormatFloat(render.Extra["bytes"], 'f', 0, 64),
				duration(cached.NsPerOp()), "", "", "", "", "", ""})
			progress("%s %s %s: render %s, cached %s", size, req.name, req.format, duration(render.NsPerOp()), duration(cached.NsPerOp()))
		}
	}

	// Reads right after one write, rendered whole and from fragments, in process.
	var afterRows [][]string
	for _, size := range []string{"M", "L"} {
		if os.Getenv("STACKBOARD_BENCH") == "load" {
			break
		}
		afterRows = append(afterRows, readAfterWriteRows(fixture(t, size))...)
	}

	bin := stackboardBinary(t)
	var notes []string
	if n, err := strconv.Atoi(os.Getenv("STACKBOARD_BENCH_READERS")); err == nil {
		mixedReaders = n
	}
	if n, err := strconv.Atoi(os.Getenv("STACKBOARD_BENCH_WRITERS")); err == nil && n > 0 {
		mixedWriters = n
	}
	loadSizes := []string{"M", "L"}
	if only := os.Getenv("STACKBOARD_BENCH_SIZES"); only != "" {
		loadSizes = strings.Split(only, ",")
	}
	for _, size := range loadSizes {
		f := fixture(t, size)
		// The load runs write: they get a copy, so the benchmarks above and any rerun see the generated data.
		dbPath := filepath.Join(t.TempDir(), size+".db")
		copyFile(t, f.path, dbPath)
		server := startServeProcess(t, bin, dbPath)
		targets := f.loadTargets()
		bodies := make(map[string][]byte)
		for _, target := range targets {
			bodies[target.label] = fetch(t, server.base+target.path, target.header)
		}
		bare := startBare(t, targets, bodies)

		for _, target := range targets {
			warm := runWrk(t, wrk, server.base+target.path, target.header)
			upper := runWrk(t, wrk, bare+target.path, target.header)
			after, firstByte := readsAfterWrites(t, server.base, f, target)
			table = append(table, []string{size, target.label + " (load)", "", "", "", strconv.Itoa(len(bodies[target.label])), "",
				strconv.FormatFloat(warm.perSecond, 'f', 0, 64), warm.String(),
				strconv.FormatFloat(upper.perSecond, 'f', 0, 64), strconv.FormatFloat(warm.perSecond/upper.perSecond, 'f', 2, 64),
				after.String(), ms(firstByte.p99)})
			progress("%s %s: warm %.0f/s, bare %.0f/s, after writes %s", size, target.label, warm.perSecond, upper.perSecond, after)
		}
		reports, readers := mixedLoad(t, server.base, f)
		table = append(table, []string{size, fmt.Sprintf("status reports (PATCH/PUT, %d writers) with %d readers", mixedWriters, mixedReaders),
			"", "", "", "", "", strconv.FormatFloat(reports.perSecond, 'f', 0, 64) + " writes/s", reports.String(),
			"", "", fmt.Sprintf("%d errors; readers %.0f req/s, p99 %s", reports.errors+readers.errors, readers.perSecond, ms(readers.p99)), ""})
		rss := server.peakRSS(t)
		notes = append(notes, fmt.Sprintf("peak RSS of `stackboard serve` at %s: %d MB", size, rss>>20))
		server.stop(t)
	}

	fmt.Println()
	fmt.Println("Machine:", machine())
	fmt.Println()
	printTable(header, table)
	fmt.Println()
	if len(afterRows) > 0 {
		printTable(readAfterWriteHeader, afterRows)
		fmt.Println()
	}
	for _, note := range notes {
		fmt.Println("- " + note)
	}
}

// progress tells the person waiting what has been measured; the table alone goes to standard output.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func duration(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Millisecond:
		return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + " ms"
	case d >= time.Microsecond:
		return strconv.FormatFloat(float64(d.Nanoseconds())/1000, 'f', 1, 64) + " µs"
	}
	return strconv.FormatInt(ns, 10) + " ns"
}

func printTable(header []string, rows [][]string) {
	fmt.Println("| " + strings.Join(header, " | ") + " |")
	fmt.Println("|" + strings.Repeat("---|", len(header)))
	for _, row := range rows {
		for i := range row {
			if row[i] == "" {
				row[i] = "—"
			}
		}
		fmt.Println("| " + strings.Join(row, " | ") + " |")
	}
}

// machine describes the CPU and the Go version the run used.
func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s, %s/%s, %s", model, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		time.Now().UTC().Format("2006-01-02"))
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
	cmd := exec.Command(bin, "serve", "--db", dbPath, "--addr", addr, "--write-rate", "0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &servedProcess{cmd: cmd, base: "http://" + addr}
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

func fetch(t *testing.T, target string, header http.Header) []byte {
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
	return body
}

// bareResponse is what the bare server answers for one path: the very bytes stackboard answered.
type bareResponse struct {
	ContentType string `json:"content_type"`
	Body        []byte `json:"body"`
}

// startBare starts this test binary again as TestBareServer: a plain net/http server answering each path with the
// bytes stackboard gave for it, from memory. It is the upper bound of what any handler can do on this machine.
func startBare(t *testing.T, targets []loadTarget, bodies map[string][]byte) string {
	t.Helper()
	responses := make(map[string]bareResponse)
	for _, target := range targets {
		contentType := "application/json"
		if target.header.Get("Accept") != "" {
			contentType = "text/html; charset=utf-8"
		}
		responses[target.path+" "+contentType] = bareResponse{ContentType: contentType, Body: bodies[target.label]}
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
		contentType := "application/json"
		if r.Header.Get("Accept") != "" {
			contentType = "text/html; charset=utf-8"
		}
		response, ok := responses[r.URL.Path+" "+contentType]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", response.ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(response.Body)))
		w.Write(response.Body)
	})
	http.ListenAndServe(addr, handler)
}

var wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
var wrkRate = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
var wrkErrors = regexp.MustCompile(`(?m)Non-2xx or 3xx responses: (\d+)|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)

// runWrk loads one URL with wrk (one thread, 16 connections, kept alive) and reads its summary.
func runWrk(t *testing.T, wrk, target string, header http.Header) latencies {
	t.Helper()
	args := []string{"-t1", "-c" + strconv.Itoa(loadConnections), "-d" + strconv.Itoa(int(loadDuration.Seconds())) + "s",
		"--timeout", "10s", "--latency"}
	for name, values := range header {
		for _, value := range values {
			args = append(args, "-H", name+": "+value)
		}
	}
	out, err := exec.Command(wrk, append(args, target)...).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk %s: %v\n%s", target, err, out)
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
	if result.perSecond == 0 {
		t.Fatalf("wrk %s: nothing answered\n%s", target, out)
	}
	return result
}

// benchClient keeps connections alive for the Go-driven runs.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}, Timeout: 30 * time.Second}

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

// mixedLoad runs deploy tools' status reports (PATCH of a stack, PUT of a service) against readers of the
// documented endpoints and pages, and counts what each side got done.
func mixedLoad(t *testing.T, base string, f benchFixture) (writes, reads latencies) {
	t.Helper()
	var stackNames []string
	var listed struct {
		Stacks []struct {
			StackName string `json:"stack_name"`
		} `json:"stacks"`
	}
	if err := json.Unmarshal(fetch(t, base+"/v1/"+f.project+"/stacks", benchFormats[0].header), &listed); err != nil {
		t.Fatal(err)
	}
	for _, s := range listed.Stacks {
		stackNames = append(stackNames, s.StackName)
	}
	targets := f.loadTargets()
	deadline := time.Now().Add(mixedDuration)
	var mu sync.Mutex
	var writeTimes, readTimes []time.Duration
	var writeErrors, readErrors atomic.Int64
	var wg sync.WaitGroup
	for w := range mixedWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := 0; time.Now().Before(deadline); i++ {
				stack := stackNames[(w*7919+i)%len(stackNames)]
				start := time.Now()
				var code int
				var err error
				if i%2 == 0 {
					code, err = report(base, f, stack, i/2+w)
				} else {
					status := []string{"RUNNING", "PARTIALLY-RUNNING"}[(i/2)%2]
					body := `{"state":"DEPLOYED","status":"` + status + `","image":{"name":"registry.example.com/bench/probe","tag":"1.0.0"}}`
					code, _, err = send(http.MethodPut, base+"/v1/"+f.project+"/stacks/"+stack+"/services/probe",
						http.Header{"Client-Request-Id": {uuid.NewString()}}, body)
				}
				if err != nil || code >= 300 {
					writeErrors.Add(1)
					continue
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			writeTimes = append(writeTimes, mine...)
			mu.Unlock()
		}()
	}
	for r := range mixedReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := 0; time.Now().Before(deadline); i++ {
				target := targets[(r+i)%len(targets)]
				start := time.Now()
				code, _, err := send(http.MethodGet, base+target.path, target.header, "")
				if err != nil || code != http.StatusOK {
					readErrors.Add(1)
					continue
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			readTimes = append(readTimes, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	writes = summarise(writeTimes, mixedDuration)
	writes.errors = writeErrors.Load()
	reads = summarise(readTimes, mixedDuration)
	reads.errors = readErrors.Load()
	return writes, reads
}
