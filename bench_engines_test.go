package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"stackboard/models/testdb"
	"stackboard/web"
)

// engineRequests are the reads whose warm and cold times the engine table compares.
var engineRequests = []struct{ id, format string }{
	{"products", "json"},
	{"products", "page"},
	{"stacks", "json"},
	{"product", "page"},
}

// replicaDelaySamples is how many changes the replica-to-replica delay is measured over.
const replicaDelaySamples = 50

// TestBenchEngines is the table of `make bench` that puts the engines side by side at M: reads cold (rendered from
// the database, cache off) and warm (from the response cache), status reports a second with readers, and the delay
// of a change from one replica to another (two `stackboard serve` processes on one database). SQLite always; a
// PostgreSQL column when STACKBOARD_TEST_POSTGRES names a server (.ci/with-postgres make bench sets it).
func TestBenchEngines(t *testing.T) {
	if os.Getenv("STACKBOARD_BENCH") == "" {
		t.Skip("STACKBOARD_BENCH is not set; `make bench` runs this")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Fatal("wrk is needed for the load runs: apt-get install -y wrk")
	}
	type engine struct{ name, dsn string }
	engines := []engine{{"SQLite", filepath.Join(t.TempDir(), "M.db")}}
	if testdb.Postgres() {
		engines = append(engines, engine{"PostgreSQL", testdb.DSN(t)})
	} else {
		progress("engines: PostgreSQL skipped (STACKBOARD_TEST_POSTGRES is not set; .ci/with-postgres make bench sets it)")
	}
	bin := stackboardBinary(t)
	var labels []string
	columns := make([][]string, len(engines))
	add := func(i int, label, value string) {
		if i == 0 {
			labels = append(labels, label)
		}
		columns[i] = append(columns[i], value)
	}
	for i, e := range engines {
		f := benchFixture{size: "M", path: e.dsn}
		if err := run(t.Context(), []string{"generate", "--size", "M", "--db", e.dsn}, func(string) string { return "" }, os.Stderr, os.Stderr); err != nil {
			t.Fatalf("generate M on %s: %v", e.name, err)
		}
		pickNames(t, &f)
		for _, want := range engineRequests {
			k := slices.IndexFunc(f.requests(), func(r benchRequest) bool { return r.id == want.id && r.format == want.format })
			req := f.requests()[k]
			cold := testing.Benchmark(benchmarkRender(f, req))
			warm := testing.Benchmark(benchmarkCached(f, req))
			add(i, "M `"+req.name+"` "+req.format+": cold (rendered, cache off) / warm (cached)",
				duration(cold.NsPerOp())+" / "+duration(warm.NsPerOp()))
			progress("engines: %s %s %s: cold %s, warm %s", e.name, req.name, req.format, duration(cold.NsPerOp()), duration(warm.NsPerOp()))
			if want.id == "products" && want.format == "json" {
				wall, cpu, statements := coldSplit(t, f, req)
				add(i, "M `"+req.name+"` json cold: wall / CPU in stackboard / SQL statements (the rest of wall waits for the database)",
					fmt.Sprintf("%s / %s / %.0f", duration(wall.Nanoseconds()), duration(cpu.Nanoseconds()), statements))
			}
		}

		a := startServeProcess(t, bin, e.dsn)
		b := startServeProcess(t, bin, e.dsn)
		delays := replicaDelays(t, a.base, b.base, f)
		add(i, fmt.Sprintf("replica-to-replica delay of a change, p50 / p99 of %d (write sent to one, event on the other's stream)", len(delays)),
			ms(delays[len(delays)/2])+" / "+ms(delays[len(delays)*99/100]))
		progress("engines: %s replica-to-replica delay p50 %s, max %s", e.name, ms(delays[len(delays)/2]), ms(delays[len(delays)-1]))
		b.stop(t)

		reports, reads := mixedLoad(t, wrk, a.base, f, mixedTargets(f.loadTargets()), 0)
		readers := allReads(reads)
		add(i, fmt.Sprintf("M status reports (%d writers) with %d readers: writes/s, p99; errors", mixedWriters, mixedReaders),
			fmt.Sprintf("%.0f/s, p99 %s; %d errors (readers %.0f req/s, p99 %s)", reports.perSecond, ms(reports.p99),
				reports.errors+readers.errors, readers.perSecond, ms(readers.p99)))
		progress("engines: %s status reports %.0f/s with readers at %.0f req/s, %d errors", e.name, reports.perSecond, readers.perSecond, reports.errors+readers.errors)
		a.stop(t)
		if reports.errors+readers.errors > 0 {
			t.Errorf("%s: the mixed load saw %d errors", e.name, reports.errors+readers.errors)
		}
	}

	header := []string{"at M"}
	for _, e := range engines {
		header = append(header, e.name)
	}
	var table [][]string
	for row, label := range labels {
		line := []string{label}
		for i := range engines {
			line = append(line, columns[i][row])
		}
		table = append(table, line)
	}
	fmt.Println()
	fmt.Println("Engines, machine:", machine())
	fmt.Println()
	printTable(header, table)
	fmt.Println()
}

// replicaDelays changes one stack through a and b in turn and times each change from sending the write to its
// event on the other replica's stream; the times come back sorted.
func replicaDelays(t *testing.T, a, b string, f benchFixture) []time.Duration {
	t.Helper()
	var stack struct {
		StackID string `json:"stack_id"`
	}
	if err := json.Unmarshal(fetch(t, a+"/v1/"+f.project+"/stacks/"+f.stack+"/metadata", benchFormats[0].header).Body, &stack); err != nil || stack.StackID == "" {
		t.Fatalf("the stack's metadata: %v", err)
	}
	topic := "stack-" + stack.StackID
	streams := make([]chan string, 2)
	for i, base := range []string{a, b} {
		resp, err := http.Get(base + "/events?topics=" + topic)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("events on %s: %v", base, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		streams[i] = make(chan string, 64)
		go func() {
			defer close(streams[i])
			scanner := bufio.NewScanner(resp.Body)
			for scanner.Scan() {
				if name, ok := strings.CutPrefix(scanner.Text(), "event: "); ok {
					streams[i] <- name
				}
			}
		}()
	}
	bases := []string{a, b}
	var delays []time.Duration
	for n := range replicaDelaySamples {
		other := streams[(n+1)%2]
		for drained := false; !drained; {
			select {
			case <-other:
			default:
				drained = true
			}
		}
		sent := time.Now()
		code, _, err := send(http.MethodPatch, bases[n%2]+"/v1/"+f.project+"/stacks/"+f.stack,
			http.Header{"Client-Request-Id": {uuid.NewString()}}, fmt.Sprintf(`{"description":"replica delay %d"}`, n))
		if err != nil || code >= 300 {
			t.Fatalf("PATCH: %d %v", code, err)
		}
		for arrived := false; !arrived; {
			select {
			case name, ok := <-other:
				if !ok {
					t.Fatal("an event stream ended")
				}
				arrived = name == topic
			case <-time.After(30 * time.Second):
				t.Fatalf("change %d did not reach the other replica within 30 s", n)
			}
		}
		delays = append(delays, time.Since(sent))
	}
	slices.Sort(delays)
	return delays
}

// coldSplit renders req from the database (cache off) for a while and returns the wall time, this process's CPU
// time and the SQL statements per request: what is not CPU here is spent waiting for the database.
func coldSplit(t *testing.T, f benchFixture, req benchRequest) (wall, cpu time.Duration, statements float64) {
	t.Helper()
	server, counter, _ := openBenchServer(t, f, web.Options{CacheBytes: -1})
	serveOnce(t, server, req)
	counter.Reset()
	before := processCPU(t)
	start := time.Now()
	n := 0
	for time.Since(start) < 2*time.Second {
		serveOnce(t, server, req)
		n++
	}
	wall = time.Since(start) / time.Duration(n)
	cpu = (processCPU(t) - before) / time.Duration(n)
	return wall, cpu, float64(counter.Count()) / float64(n)
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		t.Fatal(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
