package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stackboard/models"
	"stackboard/models/testdb"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(name string) string { return env[name] }, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportThenExportRoundTrips(t *testing.T) {
	dir := t.TempDir()
	db := testdb.DSN(t)
	spec := filepath.Join("testdata", "spec", "list-products.yaml")
	stdout, _, err := runCLI(t, nil, "import", "--db", db, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "2 stacks created") || !strings.Contains(stdout, "2 products created") {
		t.Errorf("import said %q", stdout)
	}
	stdout, _, err = runCLI(t, nil, "import", "--db", db, spec)
	if err != nil || !strings.Contains(stdout, "nothing changed") {
		t.Errorf("second import said %q, %v", stdout, err)
	}
	first, _, err := runCLI(t, nil, "export", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	exported := writeFile(t, dir, "exported.yaml", first)
	// The database can also come from STACKBOARD_DB.
	env := map[string]string{"STACKBOARD_DB": testdb.DSN(t)}
	if _, _, err := runCLI(t, env, "import", exported); err != nil {
		t.Fatal(err)
	}
	second, _, err := runCLI(t, env, "export")
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Errorf("export → import → export changed the document:\n%s\n---\n%s", first, second)
	}
}

func TestImportErrorChangesNothing(t *testing.T) {
	dir := t.TempDir()
	db := testdb.DSN(t)
	good := writeFile(t, dir, "good.yaml", "projects:\n  - id: proj-1\n    stacks:\n      - name: web\n")
	bad := writeFile(t, dir, "bad.yaml", "projects:\n  - id: proj-1\n    stacks:\n      - name: api\n      - name: db\n      - name: cache\n        status: RUNING\n")
	_, _, err := runCLI(t, nil, "import", "--db", db, good, bad)
	want := `bad.yaml: projects[0].stacks[2].status: "RUNING" is not a lifecycle status (one of CREATION_COMPLETE, DEPLOYMENT_IN_PROGRESS,`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %s", err, want)
	}
	out, _, err := runCLI(t, nil, "export", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "web") {
		t.Errorf("the good file was applied although the import failed:\n%s", out)
	}
}

func TestCommandLineMistakes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"launch"}, `unknown command "launch"`},
		{[]string{"import", "--db", filepath.Join(dir, "x.db")}, "at least one manifest"},
		{[]string{"import", "--db", filepath.Join(dir, "x.db"), filepath.Join(dir, "missing.yaml")}, "no such file"},
		{[]string{"export", "--db", filepath.Join(dir, "missing.db")}, "no such file"},
		{[]string{"serve", "--addr"}, "flag needs an argument"},
		{[]string{"serve", "--log-format", "xml"}, `--log-format "xml": use text or json`},
		{[]string{"serve", "--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"serve", "--keep-events", "forever"}, `--keep-events: "forever"`},
		{[]string{"serve", "--debug-addr", "0.0.0.0:6060"}, "refusing to serve profiles on --debug-addr 0.0.0.0:6060, which other machines can reach; use a loopback address (127.0.0.1:6060) or pass --debug-open"},
		{[]string{"serve", "--metrics-addr", ":9102"}, "refusing to serve metrics without a token on --metrics-addr :9102, which other machines can reach; use a loopback address (127.0.0.1:9102) or pass --metrics-open"},
		{[]string{"serve", "--metrics-addr", "192.168.1.10:9102", "--debug-open"}, "pass --metrics-open"},
		{[]string{"backup", "--db", filepath.Join(dir, "x.db")}, "backup needs --out FILE"},
		{[]string{"backup", "--db", filepath.Join(dir, "missing.db"), "--out", filepath.Join(dir, "copy.db")}, "no such file"},
		{[]string{"backup", "--db", "postgres://localhost/stackboard", "--out", filepath.Join(dir, "copy.db")}, "use pg_dump"},
	}
	for _, tt := range tests {
		_, _, err := runCLI(t, nil, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("stackboard %v: error %v, want %q", tt.args, err, tt.want)
		}
	}
	if _, _, err := runCLI(t, map[string]string{"STACKBOARD_DEMO": "maybe"}, "serve"); err == nil || !strings.Contains(err.Error(), "STACKBOARD_DEMO") {
		t.Errorf("a bad STACKBOARD_DEMO: %v", err)
	}
}

// serve --demo loads the demo into an empty database, answers both documented endpoints, and stops cleanly.
func TestServeDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs, logWriter := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", testdb.DSN(t), "--demo"},
			func(string) string { return "" }, io.Discard, logWriter)
		logWriter.Close()
	}()
	lines := bufio.NewScanner(logs)
	var base string
	for base == "" && lines.Scan() {
		if _, url, ok := strings.Cut(lines.Text(), "msg=serving url="); ok {
			base, _, _ = strings.Cut(url, " ")
		}
	}
	go io.Copy(io.Discard, logs)
	if base == "" {
		t.Fatalf("the server never said where it listens: %v", <-done)
	}
	tests := []struct{ path, want string }{
		{"/api/products", `{"product_name":"memcached","stack_deps":[[{"stack_name":"memcached","services":[{"service_name":"memcached","state":"DEPLOYED","status":"RUNNING","domains":[],"image":{"name":"spocktest/memcached","tag":"latest"}}],"metadata":null,"is_deployed":true,"status":"RUNNING"}]],"is_stable":true}`},
		{"/v1/ba2b9930c977f71edaeaa3a5e96a8ff1/stacks", `{"stack_name":"my_second_stack","description":"my second stack","stack_id":"4d4f4ece-b291-4c71-8083-bec9b8a44de0","status":"DEPLOYMENT_COMPLETE","create_time":"2023-05-17T07:34:22Z","update_time":"2023-05-17T07:34:44Z"},{"stack_name":"my_first_stack","description":"my second stack","stack_id":"e830c288-ee34-48c0-ba6b-a0e6f6b48d3e","status":"CREATION_COMPLETE","create_time":"2023-05-17T07:34:06Z","update_time":"2023-05-17T07:34:28Z"}`},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, base+tt.path, nil)
		req.Header.Set("Client-Request-Id", "0f8e3a52-7c1d-4b9e-a6f0-123456789abc")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), tt.want) {
			t.Errorf("GET %s: %d %.300s", tt.path, resp.StatusCode, body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve returned %v", err)
	}
}

func TestGenerateCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := testdb.DSN(t)
	stdout, _, err := runCLI(t, nil, "generate", "--size", "S", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	if want := "generated S: 2 projects, 100 stacks, 400 services, 10 products, 2000 events in "; !strings.HasPrefix(stdout, want) {
		t.Errorf("generate said %q, want %q…", stdout, want)
	}
	opened, err := models.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"projects": 2, "stacks": 100, "services": 400, "products": 10, "product_stacks": 90, "stack_events": 2000} {
		var got int
		if err := opened.Raw("SELECT COUNT(*) FROM " + table).Scan(&got).Error; err != nil || got != want {
			t.Errorf("%s: %d rows (%v), want %d", table, got, err, want)
		}
	}
	models.Close(opened)

	// The manifest is the same for the same seed, on stdout or in a file, and imports.
	manifest, summary, err := runCLI(t, nil, "generate", "--size", "s", "--out", "-")
	if err != nil || !strings.HasPrefix(manifest, "projects:\n") || !strings.Contains(summary, "wrote S manifest to stdout") {
		t.Fatalf("generate --out -: %v, summary %q, manifest %.40q", err, summary, manifest)
	}
	path := filepath.Join(dir, "fleet.yaml")
	env := map[string]string{"STACKBOARD_SEED": "1", "STACKBOARD_DB": testdb.DSN(t)}
	if _, _, err := runCLI(t, env, "generate", "--size", "S", "--out", path); err != nil {
		t.Fatal(err)
	}
	if written, _ := os.ReadFile(path); string(written) != manifest {
		t.Error("--out FILE and --out - wrote different manifests for the same seed")
	}
	if stdout, _, err := runCLI(t, env, "import", path); err != nil || !strings.Contains(stdout, "100 stacks created") {
		t.Errorf("import of the generated manifest: %q, %v", stdout, err)
	}
	if other, _, _ := runCLI(t, nil, "generate", "--size", "S", "--seed", "2", "--out", "-"); other == manifest {
		t.Error("seeds 1 and 2 made the same manifest")
	}

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--size", "S", "--db", db}, "already holds 2 projects and 100 stacks"},
		{[]string{"generate", "--size", "X", "--db", filepath.Join(dir, "x.db")}, `--size: unknown fleet size "X" (one of S, M, L)`},
		{[]string{"generate", "--db", filepath.Join(dir, "x.db")}, "generate needs --size S, M or L"},
		{[]string{"generate", "--size", "S", "--db", db, "--out", path}, "not both"},
		{[]string{"generate", "--size", "S", "--seed", "-1"}, "invalid value"},
		{[]string{"generate", "--size", "S", "extra"}, "takes no arguments"},
	}
	for _, tt := range tests {
		_, _, err := runCLI(t, nil, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("stackboard %v: error %v, want %q", tt.args, err, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Error("a bad --size created the database file")
	}
}

// serve with its operability flags: JSON logs with an access line per request, metrics and profiles on addresses
// of their own.
func TestServeOperability(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs, logWriter := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", testdb.DSN(t), "--demo", "--log-format", "json",
			"--metrics-addr", "127.0.0.1:0", "--debug-addr", "127.0.0.1:0", "--keep-events", "90d", "--slow-sql", "1h"},
			func(string) string { return "" }, io.Discard, logWriter)
		logWriter.Close()
	}()
	lines := make(chan map[string]any, 100)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(logs)
		for scanner.Scan() {
			var line map[string]any
			if err := json.Unmarshal(scanner.Bytes(), &line); err != nil {
				t.Errorf("a log line is not JSON: %v: %s", err, scanner.Text())
				continue
			}
			lines <- line
		}
	}()
	urls := map[string]string{}
	for len(urls) < 3 {
		line, ok := <-lines
		if !ok {
			t.Fatalf("the server stopped before saying where it listens: %v", <-done)
		}
		if msg, _ := line["msg"].(string); strings.HasPrefix(msg, "serving") {
			urls[msg], _ = line["url"].(string)
		}
	}
	fetch := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := fetch(urls["serving metrics"] + "/metrics"); code != 200 || !strings.Contains(body, `stackboard_product_stable{product="memcached"} 1`) {
		t.Errorf("metrics address: %d %.300s", code, body)
	}
	if code, _ := fetch(urls["serving"] + "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the main address with --metrics-addr: %d, want 404", code)
	}
	if code, body := fetch(urls["serving debug"] + "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof: %d %.200s", code, body)
	}
	if code, body := fetch(urls["serving debug"] + "/debug/vars"); code != 200 || !strings.Contains(body, "memstats") {
		t.Errorf("expvar: %d %.200s", code, body)
	}
	code, body := fetch(urls["serving"] + "/api/products/kodo")
	if code != 200 {
		t.Fatalf("GET /api/products/kodo: %d", code)
	}
	for line := range lines {
		if line["msg"] != "request" || line["path"] != "/api/products/kodo" {
			continue
		}
		if line["route"] != "/api/products/{product_name}" || line["status"] != float64(200) || line["bytes"] != float64(len(body)) ||
			line["request_id"] == "" || line["duration_ms"] == nil {
			t.Errorf("access log line: %v (body %d bytes)", line, len(body))
		}
		break
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve returned %v", err)
	}
}

// backup copies a live database to a new file that exports the same and passes the integrity check.
func TestBackupCommand(t *testing.T) {
	testdb.SkipOnPostgres(t, "backup copies SQLite files")
	dir := t.TempDir()
	source := filepath.Join(dir, "live.db")
	if _, _, err := runCLI(t, nil, "import", "--db", source, filepath.Join("testdata", "spec", "list-products.yaml")); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(dir, "copy.db")
	stdout, _, err := runCLI(t, nil, "backup", "--db", source, "--out", copyPath)
	if err != nil || !strings.Contains(stdout, "integrity_check: ok") {
		t.Fatalf("backup: %q, %v", stdout, err)
	}
	want, _, _ := runCLI(t, nil, "export", "--db", source)
	got, _, err := runCLI(t, nil, "export", "--db", copyPath)
	if err != nil || got != want || !strings.Contains(got, "memcached") {
		t.Errorf("the copy exports %q (%v), want %q", got, err, want)
	}
	if _, _, err := runCLI(t, nil, "backup", "--db", source, "--out", copyPath); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup over the copy: %v, want a refusal", err)
	}
}
