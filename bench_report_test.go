package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBenchReport is `make bench`'s one report: the Go benchmarks of every endpoint at every size, then for M and L
// `stackboard serve` as its own process: the documented endpoints and pages warm (wrk) next to a bare server and
// nginx serving the same bytes, reads right after writes, and mixes of status reports and readers. It prints the
// targets table first, then every figure with the command that gives it; a run that saw errors fails.
func TestBenchReport(t *testing.T) {
	if os.Getenv("STACKBOARD_BENCH") == "" {
		t.Skip("STACKBOARD_BENCH is not set; `make bench` runs this")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Fatal("wrk is needed for the load runs: apt-get install -y wrk")
	}
	parts := benchParts()
	started := loadAverage()
	var table [][]string
	header := []string{"size", "request", "render (no cache)", "allocs", "SQL", "bytes", "cached (in process)", "command"}

	// Go benchmarks of every endpoint at every size.
	for _, size := range benchSizes {
		if !parts["go"] {
			break
		}
		f := fixture(t, size)
		for _, req := range f.requests() {
			render := testing.Benchmark(benchmarkRender(f, req))
			cached := testing.Benchmark(benchmarkCached(f, req))
			name := size + "/" + req.id + "/" + req.format
			table = append(table, []string{size, "`" + req.name + "` " + req.format,
				duration(render.NsPerOp()), strconv.FormatInt(render.AllocsPerOp(), 10),
				strconv.FormatFloat(render.Extra["SQL/op"], 'f', 0, 64), strconv.FormatFloat(render.Extra["bytes"], 'f', 0, 64),
				duration(cached.NsPerOp()), "`go test -run '^$' -bench '^Benchmark(Render|Cached)/" + name + "$' .`"})
			progress("%s %s %s: render %s, cached %s", size, req.name, req.format, duration(render.NsPerOp()), duration(cached.NsPerOp()))
		}
	}

	// Reads right after one write, rendered whole and from fragments, in process.
	var afterRows [][]string
	var reportNotes []string
	for _, size := range []string{"M", "L"} {
		if !parts["after"] {
			break
		}
		afterRows = append(afterRows, readAfterWriteRows(fixture(t, size))...)
		f := fixture(t, size)
		for _, walk := range []struct {
			name, sub string
			stacks    []string
		}{{"to one stack", "", []string{f.stack}}, {"walking the project's stacks", "-project", f.stacks}} {
			report := testing.Benchmark(benchmarkStatusReport(f, walk.stacks))
			reportNotes = append(reportNotes, fmt.Sprintf("%s status report in process, one writer alone %s: %s, %.0f SQL statements, %d allocations (`go test -run '^$' -bench '^BenchmarkStatusReport/%s%s$' .`)",
				size, walk.name, duration(report.NsPerOp()), report.Extra["SQL/op"], report.AllocsPerOp(), size, walk.sub))
		}
	}

	// STACKBOARD_BENCH_SERVE runs the load against another build of stackboard (an older one, to compare).
	bin := os.Getenv("STACKBOARD_BENCH_SERVE")
	if bin == "" {
		bin = stackboardBinary(t)
	}
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
	var load loadReport
	if parts["warm"] || parts["paced"] || parts["flat"] {
		for _, size := range loadSizes {
			load.runLoad(t, wrk, bin, fixture(t, size), parts)
		}
	}

	fmt.Println()
	fmt.Println("Machine:", machine())
	fmt.Println("Load (`uptime`) at the start:", started+"; at the end:", loadAverage())
	fmt.Println()
	load.print()
	fmt.Println()
	if len(table) > 0 {
		printTable(header, table)
		fmt.Println()
	}
	if len(afterRows) > 0 {
		printTable(readAfterWriteHeader, afterRows)
		fmt.Println()
	}
	for _, note := range reportNotes {
		fmt.Println("- " + note)
	}
	for _, failure := range load.failures {
		t.Error(failure)
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

// loadAverage is the machine's load average (1, 5 and 15 minutes), as `uptime` shows it: the figures are only as
// quiet as the machine was.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], ", ")
}
