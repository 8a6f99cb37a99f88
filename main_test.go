package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	db := filepath.Join(dir, "a.db")
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
	env := map[string]string{"STACKBOARD_DB": filepath.Join(dir, "b.db")}
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
	db := filepath.Join(dir, "a.db")
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
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "demo.db"), "--demo"},
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
