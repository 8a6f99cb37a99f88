package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/models/testdb"
)

// replica is one of several servers on one database, behind a real listener.
type replica struct {
	db     *gorm.DB
	server *Server
	http   *httptest.Server
}

// startReplicas opens n servers on one fresh database at once, as replicas started together on an empty database
// are: each migrates it as it opens.
func startReplicas(t *testing.T, n int) []replica {
	t.Helper()
	dsn := testdb.DSN(t)
	dbs := make([]*gorm.DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = models.Open(context.Background(), dsn) })
	}
	wg.Wait()
	replicas := make([]replica, n)
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("replica %d: open: %v", i, errs[i])
		}
		t.Cleanup(func() { models.Close(dbs[i]) })
	}
	for i := range n {
		server := NewServer(dbs[i], slog.New(slog.DiscardHandler), Options{})
		replicas[i] = replica{db: dbs[i], server: server, http: startServer(t, server)}
	}
	return replicas
}

// replicaClient is the HTTP client the replica tests send with.
var replicaClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}

// sendTo sends one request with a fresh Client-Request-Id and returns the status and body.
func sendTo(r replica, method, path, body string) (int, string, error) {
	return sendWithID(r, method, path, body, uuid.NewString())
}

func sendWithID(r replica, method, path, body, requestID string) (int, string, error) {
	req, err := http.NewRequest(method, r.http.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set(HeaderClientRequestID, requestID)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := replicaClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(answer), err
}

// streamOf opens a replica's event stream for topics and waits for its hello.
func streamOf(t *testing.T, r replica, topics ...string) <-chan sseEvent {
	t.Helper()
	resp, err := http.Get(r.http.URL + "/events?topics=" + strings.Join(topics, ","))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	events := readEvents(bufio.NewReader(resp.Body))
	waitForEvent(t, events, "hello", 5*time.Second)
	return events
}

// stackIDOf returns the stack_id of a created stack's RFS answer.
func stackIDOf(t *testing.T, body string) string {
	t.Helper()
	var created struct {
		StackID string `json:"stack_id"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.StackID == "" {
		t.Fatalf("no stack_id in %s (%v)", body, err)
	}
	return created.StackID
}

// Two servers on one PostgreSQL database, as replicas behind a load balancer: they migrate the empty database at
// once; a write through one is in the other's JSON and on its event stream, within a second; the same stack
// created through both at once is one 201 and one documented 409; one Client-Request-Id sent to both is one write
// and its replay; 2 × 4 writers reporting on one stack through both lose no event and see no error; product
// replaces through both at once all succeed and both replicas then serve the same product.
func TestReplicasOnOneDatabase(t *testing.T) {
	testdb.SkipOnSQLite(t, "replicas share one PostgreSQL database")
	replicas := startReplicas(t, 2)
	a, b := replicas[0], replicas[1]
	const project = "replicated"

	t.Run("a write through one is seen by the other", func(t *testing.T) {
		events := streamOf(t, b, models.ProjectTopic(project))
		code, body, err := sendTo(a, http.MethodPost, "/v1/"+project+"/stacks", `{"stack_name":"web","description":"through a"}`)
		if err != nil || code != http.StatusCreated {
			t.Fatalf("create through a: %d %s %v", code, body, err)
		}
		waitForEvent(t, events, models.ProjectTopic(project), 5*time.Second)
		code, body, err = sendTo(b, http.MethodGet, "/v1/"+project+"/stacks", "")
		if err != nil || code != http.StatusOK || !strings.Contains(body, `"stack_name":"web"`) || !strings.Contains(body, `"description":"through a"`) {
			t.Fatalf("b's stack list: %d %s %v", code, body, err)
		}
	})

	t.Run("the same stack created through both at once", func(t *testing.T) {
		for round := range 5 {
			name := fmt.Sprintf("twin%d", round)
			codes := make([]int, 2)
			bodies := make([]string, 2)
			var wg sync.WaitGroup
			for i, r := range replicas {
				wg.Go(func() {
					codes[i], bodies[i], _ = sendTo(r, http.MethodPost, "/v1/race-"+name+"/stacks", `{"stack_name":"`+name+`"}`)
				})
			}
			wg.Wait()
			slices.Sort(codes)
			if !slices.Equal(codes, []int{http.StatusCreated, http.StatusConflict}) {
				t.Fatalf("round %d: answers %v %v, want one 201 and one 409", round, codes, bodies)
			}
			for _, body := range bodies {
				if strings.Contains(body, "error_code") && !strings.Contains(body, `"error_code":"RF.10019001"`) {
					t.Errorf("round %d: conflict %s, want RF.10019001", round, body)
				}
			}
		}
	})

	t.Run("one Client-Request-Id sent to both at once", func(t *testing.T) {
		for round := range 5 {
			id := uuid.NewString()
			path := fmt.Sprintf("/v1/%s/stacks", project)
			body := fmt.Sprintf(`{"stack_name":"retried%d"}`, round)
			codes := make([]int, 2)
			answers := make([]string, 2)
			var wg sync.WaitGroup
			for i, r := range replicas {
				wg.Go(func() { codes[i], answers[i], _ = sendWithID(r, http.MethodPost, path, body, id) })
			}
			wg.Wait()
			if codes[0] != http.StatusCreated || codes[1] != http.StatusCreated || answers[0] != answers[1] {
				t.Fatalf("round %d: answers %d %s and %d %s, want one 201 twice", round, codes[0], answers[0], codes[1], answers[1])
			}
		}
	})

	t.Run("2 × 4 writers on one stack", func(t *testing.T) {
		const writersEach, reportsEach = 4, 25
		code, body, err := sendTo(a, http.MethodPost, "/v1/"+project+"/stacks", `{"stack_name":"shared"}`)
		if err != nil || code != http.StatusCreated {
			t.Fatalf("create: %d %s %v", code, body, err)
		}
		topic := models.StackTopic(stackIDOf(t, body))
		streams := []<-chan sseEvent{streamOf(t, a, topic), streamOf(t, b, topic)}
		statuses := models.LifecycleStatuses()
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			failures []string
		)
		for i, r := range replicas {
			for w := range writersEach {
				wg.Go(func() {
					for n := range reportsEach {
						// A message of its own makes every report a change with exactly one event.
						report := fmt.Sprintf(`{"status":%q,"status_message":"replica %d writer %d report %d"}`,
							statuses[(w+n)%len(statuses)], i, w, n)
						code, answer, err := sendTo(r, http.MethodPatch, "/v1/"+project+"/stacks/shared", report)
						if err != nil || code != http.StatusOK && code != http.StatusNoContent {
							mu.Lock()
							failures = append(failures, fmt.Sprintf("replica %d writer %d report %d: %d %s %v", i, w, n, code, answer, err))
							mu.Unlock()
						}
					}
				})
			}
		}
		wg.Wait()
		for i, f := range failures {
			if i == 10 {
				t.Errorf("… and %d more failures", len(failures)-10)
				break
			}
			t.Error(f)
		}
		if got, want := eventRows(t, a.db, stackPK(t, a.db, project, "shared")), int64(1+2*writersEach*reportsEach); got != want {
			t.Errorf("%d events of the shared stack, want %d (its creation and one per report)", got, want)
		}
		for _, events := range streams {
			waitForEvent(t, events, topic, 5*time.Second)
		}
	})

	t.Run("product replaces through both at once", func(t *testing.T) {
		for _, name := range []string{"db", "cache"} {
			if code, body, err := sendTo(a, http.MethodPost, "/v1/"+project+"/stacks", `{"stack_name":"`+name+`"}`); err != nil || code != http.StatusCreated {
				t.Fatalf("create %s: %d %s %v", name, code, body, err)
			}
		}
		code, body, err := sendTo(a, http.MethodPost, "/api/products", `{"product_name":"site","project_id":"`+project+`","stack_deps":[[{"stack_name":"db"}],[{"stack_name":"web"}]]}`)
		if err != nil || code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("create the product: %d %s %v", code, body, err)
		}
		layouts := []string{
			`[[{"stack_name":"db"}],[{"stack_name":"web"}]]`,
			`[[{"stack_name":"db"},{"stack_name":"cache"}],[{"stack_name":"web"}]]`,
			`[[{"stack_name":"cache"}],[{"stack_name":"db"}],[{"stack_name":"web"}]]`,
		}
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			failures []string
		)
		for i, r := range replicas {
			for w := range 4 {
				wg.Go(func() {
					for n := range 10 {
						layout := layouts[(i+w+n)%len(layouts)]
						code, answer, err := sendTo(r, http.MethodPut, "/api/products/site", `{"stack_deps":`+layout+`}`)
						if err != nil || code != http.StatusOK && code != http.StatusNoContent {
							mu.Lock()
							failures = append(failures, fmt.Sprintf("replica %d writer %d replace %d: %d %s %v", i, w, n, code, answer, err))
							mu.Unlock()
						}
					}
				})
			}
		}
		wg.Wait()
		for i, f := range failures {
			if i == 10 {
				t.Errorf("… and %d more failures", len(failures)-10)
				break
			}
			t.Error(f)
		}
		// Both replicas settle on the same product.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			_, fromA, _ := sendTo(a, http.MethodGet, "/api/products/site", "")
			_, fromB, _ := sendTo(b, http.MethodGet, "/api/products/site", "")
			if fromA == fromB && strings.Contains(fromA, `"product_name":"site"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the replicas serve different products:\n%s\n%s", fromA, fromB)
			}
		}
	})

	t.Run("replica-to-replica delay", func(t *testing.T) {
		delays := replicaDelays(t, a, b, project, 20)
		slices.Sort(delays)
		t.Logf("replica-to-replica delay of a change (write sent to one, event on the other's stream), %d writes: median %v, max %v",
			len(delays), delays[len(delays)/2].Round(time.Microsecond), delays[len(delays)-1].Round(time.Microsecond))
		if worst := delays[len(delays)-1]; worst > 5*time.Second {
			t.Errorf("a change took %v to reach the other replica", worst)
		}
	})
}

// replicaDelays writes n reports alternately through a and b and returns, for each, the time from sending the
// write to its event on the other replica's stream (the other replica may hear of the commit before the writer's
// answer arrives, so the write's own time is included).
func replicaDelays(t *testing.T, a, b replica, project string, n int) []time.Duration {
	code, body, err := sendTo(a, http.MethodPost, "/v1/"+project+"/stacks", `{"stack_name":"timed"}`)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("create: %d %s %v", code, body, err)
	}
	var created struct {
		StackID string `json:"stack_id"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	topic := models.StackTopic(created.StackID)
	streams := []<-chan sseEvent{streamOf(t, a, topic), streamOf(t, b, topic)}
	replicas := []replica{a, b}
	delays := make([]time.Duration, 0, n)
	for i := range n {
		from, to := replicas[i%2], streams[(i+1)%2]
		// Drain what earlier writes left on the other stream.
		for drained := false; !drained; {
			select {
			case <-to:
			default:
				drained = true
			}
		}
		sent := time.Now()
		code, answer, err := sendTo(from, http.MethodPatch, "/v1/"+project+"/stacks/timed", fmt.Sprintf(`{"description":"write %d"}`, i))
		if err != nil || code != http.StatusOK && code != http.StatusNoContent {
			t.Fatalf("write %d: %d %s %v", i, code, answer, err)
		}
		waitForEvent(t, to, topic, 10*time.Second)
		delays = append(delays, time.Since(sent))
	}
	return delays
}
