package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stackboard/models"
)

// crashChild is a `stackboard serve` in another process.
type crashChild struct {
	cmd  *exec.Cmd
	base string
	logs *lockedBuffer
}

func startCrashChild(t *testing.T, db string) *crashChild {
	t.Helper()
	c := &crashChild{logs: &lockedBuffer{}}
	c.cmd = exec.Command(stackboardBinary(t), "serve", "--addr", "127.0.0.1:0", "--db", db, "--write-rate", "0")
	c.cmd.Env = []string{"PATH=/usr/bin:/bin"}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			fmt.Fprintln(c.logs, lines.Text())
			if _, u, ok := strings.Cut(lines.Text(), "msg=serving url="); ok {
				u, _, _ = strings.Cut(u, " ")
				found <- u
			}
		}
	}()
	select {
	case c.base = <-found:
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		t.Fatalf("the child did not say where it listens:\n%s", c.logs)
	}
	return c
}

// A child server killed with SIGKILL in the middle of concurrent writes loses none that it acknowledged, nor their
// events, and leaves a database that passes PRAGMA integrity_check.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	const (
		project = "crash-project"
		writers = 4
		rounds  = 2
		perRun  = models.MaxServicesPerStack - 6
	)
	db := filepath.Join(t.TempDir(), "crash.db")
	client := &http.Client{Timeout: 5 * time.Second}
	send := func(base, method, path, body string) (int, error) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Client-Request-Id", fmt.Sprintf("crash-%d-%s-%s", time.Now().UnixNano(), method, strings.Repeat("0", 30)))
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	acknowledged := make(map[string][]string) // stack → services acknowledged with 201
	var mu sync.Mutex
	for round := 0; round < rounds; round++ {
		child := startCrashChild(t, db)
		stacks := make([]string, writers)
		for w := range stacks {
			stacks[w] = fmt.Sprintf("r%dw%d", round, w)
			if status, err := send(child.base, "POST", "/v1/"+project+"/stacks", `{"stack_name":"`+stacks[w]+`"}`); err != nil || status != 201 {
				child.cmd.Process.Kill()
				t.Fatalf("create stack %s: %d %v\n%s", stacks[w], status, err, child.logs)
			}
		}
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(stack string) {
				defer wg.Done()
				for k := 0; k < perRun; k++ {
					name := fmt.Sprintf("svc%d", k)
					body := `{"state":"DEPLOYED","status":"RUNNING","domains":["` + name + `.example.com"],"image":{"name":"img","tag":"v1"}}`
					status, err := send(child.base, "PUT", "/v1/"+project+"/stacks/"+stack+"/services/"+name, body)
					if err != nil {
						return // the server is gone
					}
					if status == 201 {
						mu.Lock()
						acknowledged[stack] = append(acknowledged[stack], name)
						mu.Unlock()
					} else if status >= 500 {
						t.Errorf("PUT %s/%s: %d", stack, name, status)
					}
				}
			}(stacks[w])
		}
		time.Sleep(700 * time.Millisecond)
		if err := child.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		child.cmd.Wait()
		wg.Wait()
	}
	total := 0
	for _, names := range acknowledged {
		total += len(names)
	}
	if total == 0 {
		t.Fatal("no write was acknowledged before the kills; the test proved nothing")
	}
	// A restarted server serves them all.
	child := startCrashChild(t, db)
	for stack := range acknowledged {
		if status, err := send(child.base, "GET", "/v1/"+project+"/stacks/"+stack, ""); err != nil || status != 200 {
			t.Errorf("GET stack %s after the restart: %d %v", stack, status, err)
		}
	}
	child.cmd.Process.Signal(syscall.SIGTERM)
	child.cmd.Wait()

	ctx := context.Background()
	conn, err := models.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(conn)
	var check string
	if err := conn.WithContext(ctx).Raw("PRAGMA integrity_check").Scan(&check).Error; err != nil || check != "ok" {
		t.Fatalf("PRAGMA integrity_check = %q, %v", check, err)
	}
	lost, missingEvents := 0, 0
	for stack, names := range acknowledged {
		var stored []string
		if err := conn.WithContext(ctx).Raw(`SELECT s.name FROM services s JOIN stacks st ON st.pk = s.stack_pk
			WHERE st.project_id = ? AND st.name = ?`, project, stack).Scan(&stored).Error; err != nil {
			t.Fatal(err)
		}
		have := make(map[string]bool, len(stored))
		for _, s := range stored {
			have[s] = true
		}
		var evented []string
		if err := conn.WithContext(ctx).Raw(`SELECT e.resource_name FROM stack_events e JOIN stacks st ON st.pk = e.stack_pk
			WHERE st.project_id = ? AND st.name = ? AND e.resource_type = 'service' AND e.event_type = 'CREATION_COMPLETE'`, project, stack).Scan(&evented).Error; err != nil {
			t.Fatal(err)
		}
		hasEvent := make(map[string]bool, len(evented))
		for _, s := range evented {
			hasEvent[s] = true
		}
		for _, name := range names {
			if !have[name] {
				lost++
				t.Errorf("acknowledged service %s/%s is gone after the kill", stack, name)
			}
			if !hasEvent[name] {
				missingEvents++
				t.Errorf("acknowledged service %s/%s has no creation event after the kill", stack, name)
			}
		}
	}
	t.Logf("%d acknowledged writes over %d SIGKILLs: %d lost, %d without their event; integrity_check %s", total, rounds, lost, missingEvents, check)
}
