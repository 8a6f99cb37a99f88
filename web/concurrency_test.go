package web

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"stackboard/models"
)

// Deploy tools racing on one stack never lose a change or an event: 8 writers each send 500 reports (lifecycle
// status changes of one shared stack, and changes of their own service of it) through the real server to one
// SQLite file. Every answer is a success, every change that changed something has exactly its event, and the
// recorded status transitions chain up to the stack's final status.
func TestConcurrentReportsKeepEveryEvent(t *testing.T) {
	const writers, reportsEach = 8, 500
	db := openTestDB(t)
	handler := newTestServer(db)
	server := httptest.NewServer(handler)
	defer server.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: writers}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()

	const project = "race-project"
	stack := server.URL + "/v1/" + project + "/stacks/shared"
	report := func(method, url, body string) (int, string, error) {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			return 0, "", err
		}
		req.Header.Set(HeaderClientRequestID, uuid.NewString())
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(answer), err
	}
	if code, body, err := report(http.MethodPost, server.URL+"/v1/"+project+"/stacks", `{"stack_name":"shared","description":"shared"}`); code != 201 {
		t.Fatalf("create the shared stack: %d %s %v", code, body, err)
	}

	statuses := models.LifecycleStatuses()
	runStatuses := models.RunStatuses()
	start := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
		changes  = 1 // the stack's creation
		reports  int
	)
	lastService := make([]string, writers)
	for w := range writers {
		wg.Go(func() {
			service := fmt.Sprintf("svc%d", w)
			current := "" // this writer's service, as it last reported it; only this writer reports it
			changed := 0
			for i := range reportsEach {
				var method, url, body string
				switch {
				case i%10 == 9:
					// The description never changes: a report that changes nothing and records nothing.
					method, url, body = http.MethodPatch, stack, `{"description":"shared"}`
				case i%2 == 0:
					// A status report with a message of its own always changes something: the status, or (when
					// another writer already set that status) the message.
					status := statuses[(w*7+i)%len(statuses)]
					method, url, body = http.MethodPatch, stack, fmt.Sprintf(`{"status":%q,"status_message":"writer %d report %d"}`, status, w, i)
					changed++
				default:
					// Every third service report repeats the previous one, and some others happen to say the same
					// again: no change, no event.
					if i%3 != 0 || current == "" {
						next := fmt.Sprintf(`{"state":"DEPLOYED","status":%q,"domains":["w%d.example.com"],"image":{"name":"app","tag":"v%d"}}`,
							runStatuses[i%len(runStatuses)], w, i/6)
						if next != current {
							changed++ // a new run status or tag, or the creation
						}
						current = next
					}
					method, url, body = http.MethodPut, stack+"/services/"+service, current
				}
				code, answer, err := report(method, url, body)
				if err != nil || code < 200 || code > 299 {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("writer %d report %d %s %s: %d %s %v", w, i, method, body, code, answer, err))
					mu.Unlock()
				}
			}
			mu.Lock()
			changes += changed
			reports += reportsEach
			lastService[w] = current
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d reports by %d writers in %v (%.0f a second); %d changes", reports, writers, elapsed.Round(time.Millisecond), float64(reports)/elapsed.Seconds(), changes)
	if changes >= reports || changes < reports/2 {
		t.Errorf("%d changes in %d reports: the mix of changing and unchanging reports is off", changes, reports)
	}

	for i, f := range failures {
		if i == 10 {
			t.Errorf("… and %d more failures", len(failures)-10)
			break
		}
		t.Error(f)
	}
	if len(failures) > 0 {
		t.FailNow()
	}

	// Every change has its event, and nothing else has one.
	pk := stackPK(t, db, project, "shared")
	if n := eventRows(t, db, pk); n != int64(changes) {
		t.Errorf("%d stack_events rows, want one for each of the %d changes", n, changes)
	}
	// The events API walks them all, once each, newest first.
	events, _ := allEvents(t, handler, "/v1/"+project+"/stacks/shared/events", 1000)
	if len(events) != changes {
		t.Fatalf("the events API lists %d events, want %d", len(events), changes)
	}

	// Oldest first, every status transition starts where the previous one ended, and the last one ends at the
	// stack's status.
	status := ""
	transitions := 0
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.ResourceType != "stack" {
			continue
		}
		if created, ok := strings.CutPrefix(e.EventMessage, "created in "); ok {
			if status != "" {
				t.Fatalf("a second creation event: %+v", e)
			}
			status = created
			continue
		}
		from, to, ok := strings.Cut(e.EventMessage, " → ")
		if !ok {
			continue // a new status message under the same status
		}
		to, _, _ = strings.Cut(to, ": ")
		if from != status {
			t.Fatalf("transition %q after the stack was %s: a lost update", e.EventMessage, status)
		}
		status = to
		transitions++
	}
	metadata := get(t, handler, "/v1/"+project+"/stacks/shared/metadata", HeaderClientRequestID, clientRequestID).Body.String()
	if !strings.Contains(metadata, `"status":"`+status+`"`) {
		t.Errorf("the last transition ends at %s, but the stack is %s", status, metadata)
	}
	if transitions == 0 {
		t.Error("no status transitions were recorded")
	}

	// Every writer's service is as it last reported it.
	stackJSON := compactJSON(t, get(t, handler, "/v1/"+project+"/stacks/shared", HeaderClientRequestID, clientRequestID).Body.Bytes())
	for w, last := range lastService {
		want := strings.TrimSuffix(fmt.Sprintf(`{"service_name":"svc%d",`, w)+strings.TrimPrefix(compactJSON(t, []byte(last)), "{"), "}") + "}"
		if !strings.Contains(stackJSON, want) {
			t.Errorf("svc%d is not %s in %s", w, want, stackJSON)
		}
	}
}
