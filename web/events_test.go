package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"stackboard/models"
)

const eventsProject = "events-project"

// eventsFixture builds a stack "web" with a known history: created two hours ago by import, deployed an hour ago
// by a second import, then reported on over HTTP. It returns the server, the database and the two import times.
func eventsFixture(t *testing.T) (*Server, time.Time, time.Time) {
	t.Helper()
	db := openTestDB(t)
	t0 := models.Now().Add(-2 * time.Hour)
	t1 := t0.Add(time.Hour)
	importYAML(t, db, fmt.Sprintf(`
projects:
  - id: %s
    stacks:
      - name: web
        create_time: %s
        services:
          - {name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx, tag: "1.25"}}
          - {name: api, state: DEPLOYED, status: RUNNING, image: {name: api, tag: v1}}
      - name: other
        create_time: %s
        services:
          - {name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx}}
`, eventsProject, t0.Format(time.RFC3339), t0.Format(time.RFC3339)))
	importYAML(t, db, fmt.Sprintf(`
projects:
  - id: %s
    stacks:
      - name: web
        status: DEPLOYMENT_COMPLETE
        update_time: %s
`, eventsProject, t1.Format(time.RFC3339)))
	server := newTestServer(db)
	stack := "/v1/" + eventsProject + "/stacks/web"
	writes := []struct{ method, target, body string }{
		{http.MethodPatch, stack, `{"status":"DEPLOYMENT_IN_PROGRESS"}`},
		{http.MethodPut, stack + "/services/nginx", `{"state":"AUTO-UPDATING","status":"PARTIALLY-RUNNING","domains":["web.example.com"],"image":{"name":"nginx","tag":"1.26"}}`},
		{http.MethodPut, stack + "/services/api", `{"state":"DEPLOYED","status":"FAULT","image":{"name":"api","tag":"v1"}}`},
		{http.MethodPatch, stack, `{"status":"DEPLOYMENT_FAILED","status_message":"image pull failed"}`},
		{http.MethodDelete, stack + "/services/api", ``},
		{http.MethodPatch, stack, `{"description":"the web tier"}`},
		{http.MethodPut, stack + "/services/cron", `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"cron"}}`},
	}
	for _, w := range writes {
		if rec := call(t, server, w.method, w.target, w.body); rec.Code >= 300 {
			t.Fatalf("%s %s: %d %s", w.method, w.target, rec.Code, rec.Body)
		}
	}
	return server, t0, t1
}

// event is what an event says, without its time.
type event struct{ resourceType, resourceName, eventType, message string }

func (e eventJSON) what() event {
	return event{e.ResourceType, e.ResourceName, e.EventType, e.EventMessage}
}

// The history of eventsFixture's stack web, newest first.
var webHistory = []event{
	{"service", "cron", "CREATION_COMPLETE", "created: DEPLOYED, RUNNING, image cron:latest"},
	{"stack", "web", "LOG", "description changed"},
	{"service", "api", "DELETION_COMPLETE", "deleted"},
	{"stack", "web", "UPDATE_FAILED", "DEPLOYMENT_IN_PROGRESS → DEPLOYMENT_FAILED: image pull failed"},
	{"service", "api", "ERROR", "RUNNING → FAULT"},
	{"service", "nginx", "UPDATE_IN_PROGRESS", `RUNNING → PARTIALLY-RUNNING, state DEPLOYED → AUTO-UPDATING, image nginx:1.25 → nginx:1.26, domains ["web.example.com"]`},
	{"stack", "web", "UPDATE_IN_PROGRESS", "DEPLOYMENT_COMPLETE → DEPLOYMENT_IN_PROGRESS"},
	{"stack", "web", "UPDATE_COMPLETE", "CREATION_COMPLETE → DEPLOYMENT_COMPLETE"},
	{"service", "api", "CREATION_COMPLETE", "created: DEPLOYED, RUNNING, image api:v1"},
	{"service", "nginx", "CREATION_COMPLETE", "created: DEPLOYED, RUNNING, image nginx:1.25"},
	{"stack", "web", "CREATION_COMPLETE", "created in CREATION_COMPLETE"},
}

func TestEventsRecordEveryChangeNewestFirst(t *testing.T) {
	server, t0, t1 := eventsFixture(t)
	events := eventPage(t, server, "/v1/"+eventsProject+"/stacks/web/events").StackEvents
	var got []event
	for _, e := range events {
		got = append(got, e.what())
	}
	if len(got) != len(webHistory) {
		t.Fatalf("%d events, want %d:\n%+v", len(got), len(webHistory), got)
	}
	for i := range webHistory {
		if got[i] != webHistory[i] {
			t.Errorf("event %d: %+v, want %+v", i, got[i], webHistory[i])
		}
	}

	// Times are RFC 3339 to the second, newest first; the imported ones are the manifests' times.
	times := make([]time.Time, len(events))
	for i, e := range events {
		var err error
		if times[i], err = time.Parse(time.RFC3339, e.Time); err != nil || !strings.HasSuffix(e.Time, "Z") || len(e.Time) != 20 {
			t.Errorf("time %q is not RFC 3339 UTC to the second", e.Time)
		}
		if i > 0 && times[i].After(times[i-1]) {
			t.Errorf("event %d (%s) is newer than event %d (%s)", i, e.Time, i-1, events[i-1].Time)
		}
	}
	n := len(events)
	for i, want := range []time.Time{t1, t0, t0, t0} {
		if !times[n-4+i].Equal(want) {
			t.Errorf("imported event %d at %s, want %s", n-4+i, events[n-4+i].Time, want.Format(time.RFC3339))
		}
	}
	for i := range n - 4 {
		if time.Since(times[i]) > time.Minute {
			t.Errorf("HTTP event %d at %s, not now", i, events[i].Time)
		}
	}

	// elapsed_seconds is the time since the same resource's previous event (0 for its first).
	for i, e := range events {
		var want int64
		for _, older := range events[i+1:] {
			if older.ResourceType == e.ResourceType && older.ResourceName == e.ResourceName {
				want = int64(times[i].Sub(mustParse(t, older.Time)).Seconds())
				break
			}
		}
		if e.ElapsedSeconds != want {
			t.Errorf("event %d (%s %s %s): elapsed_seconds %d, want %d", i, e.ResourceType, e.ResourceName, e.EventType, e.ElapsedSeconds, want)
		}
	}
	if got := events[n-4].ElapsedSeconds; got != 3600 {
		t.Errorf("the deployment an hour after the creation: elapsed_seconds %d, want 3600", got)
	}
	if got := events[n-5].ElapsedSeconds; got < 3600 || got > 3600+60 {
		t.Errorf("the HTTP report an hour after the deployment: elapsed_seconds %d, want 3600 and a little", got)
	}
	if got := events[5].ElapsedSeconds; got < 7200 || got > 7200+60 { // nginx's update, two hours after its creation
		t.Errorf("nginx's update two hours after its creation: elapsed_seconds %d", got)
	}

	// The other stack's events are its own.
	other := eventPage(t, server, "/v1/"+eventsProject+"/stacks/other/events").StackEvents
	if len(other) != 2 || other[0].ResourceName != "nginx" || other[1].ResourceName != "other" {
		t.Errorf("other's events: %+v", other)
	}
}

func mustParse(t *testing.T, value string) time.Time {
	t.Helper()
	parsed, err := time.Parse(time.RFC3339, value)
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

func TestEventsPaging(t *testing.T) {
	server, _, _ := eventsFixture(t)
	target := "/v1/" + eventsProject + "/stacks/web/events"
	all := eventPage(t, server, target).StackEvents
	for _, limit := range []int{1, 2, 3, 10, 11, 12, 1000} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			walked, pages := allEvents(t, server, target, limit)
			if want := (len(all) + limit - 1) / limit; pages != want {
				t.Errorf("%d pages, want %d", pages, want)
			}
			if len(walked) != len(all) {
				t.Fatalf("walked %d events, want %d", len(walked), len(all))
			}
			for i := range all {
				if walked[i] != all[i] {
					t.Errorf("event %d: %+v, want %+v", i, walked[i], all[i])
				}
			}
		})
	}
	// The default page holds every one of these events, and says so with a null next_marker.
	rec := get(t, server, target, HeaderClientRequestID, clientRequestID)
	if body := compactJSON(t, rec.Body.Bytes()); !strings.HasPrefix(body, `{"stack_events":[{"resource_type":"service","resource_name":"cron","time":"`) ||
		!strings.HasSuffix(body, `"event_type":"CREATION_COMPLETE","event_message":"created in CREATION_COMPLETE","elapsed_seconds":0}],"next_marker":null,"page_info":{"next_marker":null,"current_count":11}}`) {
		t.Errorf("body: %s", body)
	}
	// A page's next_marker is a string.
	if page := eventPage(t, server, target+"?limit=4"); page.NextMarker == nil || *page.NextMarker == "" {
		t.Errorf("next_marker of the first of several pages: %v", page.NextMarker)
	}
}

func TestEventsFilter(t *testing.T) {
	server, _, _ := eventsFixture(t)
	target := "/v1/" + eventsProject + "/stacks/web/events?filter="
	pick := func(indexes ...int) []event {
		var events []event
		for _, i := range indexes {
			events = append(events, webHistory[i])
		}
		return events
	}
	tests := []struct {
		filter string
		want   []event
	}{
		{"event_type==UPDATE_FAILED", pick(3)},
		{"resource_name==nginx", pick(5, 9)},
		{"resource_type==stack", pick(1, 3, 6, 7, 10)},
		{"resource_type==service,event_type==CREATION_COMPLETE", pick(0, 8, 9)},
		{"event_type==UPDATE_FAILED|resource_name==nginx", pick(3, 5, 9)},
		{"event_type==UPDATE_FAILED|resource_type==service,event_type==ERROR", pick(3, 4)},
		{"resource_name==api,event_type==DELETION_COMPLETE|resource_name==web,event_type==LOG", pick(1, 2)},
		{"event_type==DRIFT", nil},
		{"resource_name==Web", nil}, // names are case-sensitive
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			for _, limit := range []int{1, 2, 100} {
				walked, _ := allEvents(t, server, target+urlQueryEscape(tt.filter), limit)
				var got []event
				for _, e := range walked {
					got = append(got, e.what())
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("limit %d:\n got %+v\nwant %+v", limit, got, tt.want)
				}
			}
		})
	}
}

func urlQueryEscape(s string) string {
	return strings.NewReplacer("|", "%7C", ",", "%2C", "=", "%3D").Replace(s)
}

func TestEventsRefusals(t *testing.T) {
	server, _, _ := eventsFixture(t)
	base := "/v1/" + eventsProject + "/stacks/"
	otherMarker := eventPage(t, server, base+"other/events?limit=1").NextMarker
	if otherMarker == nil {
		t.Fatal("no marker on other's first page")
	}
	eventTypes := strings.Join(models.EventTypes(), ", ")
	tests := []struct {
		name    string
		query   string
		status  int
		code    string
		message string
	}{
		{"filter without ==", "filter=UPDATE_FAILED", 400, "RF.10011003", `filter: "UPDATE_FAILED" is not a condition like event_type==LOG`},
		{"filter with an empty value", "filter=event_type==", 400, "RF.10011003", `filter: "event_type==" is not a condition like event_type==LOG`},
		{"filter with an empty condition", "filter=event_type==LOG%2C", 400, "RF.10011003", `filter: "" is not a condition like event_type==LOG`},
		{"filter on an unknown event type", "filter=event_type==FAILED", 400, "RF.10011003", `filter: "FAILED" is not an event type (one of ` + eventTypes + `)`},
		{"filter on an unknown key", "filter=status==RUNNING", 400, "RF.10011003", `filter: "status" cannot be filtered on (event_type, resource_type or resource_name can)`},
		{"filter too long", "filter=resource_name==" + strings.Repeat("a", 500), 400, "RF.10011005", `filter: is 515 characters long; at most 512 are allowed`},
		{"limit not a number", "limit=ten", 400, "RF.10011003", `limit: "ten" is not a whole number`},
		{"limit 0", "limit=0", 400, "RF.10011003", `limit: 0 is not between 1 and 1000`},
		{"limit negative", "limit=-1", 400, "RF.10011003", `limit: -1 is not between 1 and 1000`},
		{"limit too large", "limit=1001", 400, "RF.10011003", `limit: 1001 is not between 1 and 1000`},
		{"marker not a number", "marker=abc", 400, "RF.10011003", `marker: "abc" is not a marker from next_marker`},
		{"marker zero", "marker=0", 400, "RF.10011003", `marker: "0" is not a marker from next_marker`},
		{"marker of no event", "marker=999999", 400, "RF.10011003", `marker: "999999" is not a marker from next_marker`},
		{"marker of another stack's event", "marker=" + *otherMarker, 400, "RF.10011003", `marker: "` + *otherMarker + `" is not a marker from next_marker`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, server, base+"web/events?"+tt.query, HeaderClientRequestID, clientRequestID)
			expect(t, rec, tt.status, rfJSON(t, tt.code, tt.message))
		})
	}
	expect(t, get(t, server, base+"nope/events", HeaderClientRequestID, clientRequestID), 404, rfJSON(t, "RF.10014001", `stack "nope" not found`))
	expect(t, get(t, server, base+"web/events"), 400, rfJSON(t, "RF.10011001", "Client-Request-Id: header is required (a UUID is recommended)"))
}

// Every write records its events in its own transaction: a refused write records none, an import that fails
// half-way records none, and a write that changes nothing records none.
func TestEventsOnlyForChangesThatHappened(t *testing.T) {
	db := openTestDB(t, "spec/list-stacks.yaml")
	server := newTestServer(db)
	pk := stackPK(t, db, rfsProject, "my_first_stack")
	before := eventRows(t, db, pk)
	if before != 1 {
		t.Fatalf("%d events after the import created the stack, want 1", before)
	}
	first := stacksURL + "/my_first_stack"
	refused := []struct{ method, target, body string }{
		{http.MethodPatch, first, `{"status":"NOPE"}`},
		{http.MethodPatch, first, `{"stack_id":"` + secondStackID + `","status":"DEPLOYMENT_COMPLETE"}`},
		{http.MethodPut, first + "/services/web", `{"state":"DEPLOYED","status":"NOPE","image":{"name":"nginx"}}`},
		{http.MethodDelete, first + "/services/nope", ``},
		{http.MethodPatch, first, `{}`},
		{http.MethodPatch, first, `{"description":"my second stack","status":"CREATION_COMPLETE"}`},
	}
	for _, w := range refused {
		call(t, server, w.method, w.target, w.body)
	}
	file, err := models.DecodeManifest("half.yaml", strings.NewReader(`
projects:
  - id: `+rfsProject+`
    stacks:
      - {name: my_first_stack, status: DEPLOYMENT_COMPLETE}
      - {name: brand_new}
      - {name: my_second_stack, id: `+firstStackID+`}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.Import(t.Context(), db, file); err == nil {
		t.Fatal("the import with a stolen id succeeded")
	}
	if n := eventRows(t, db, pk); n != before {
		t.Errorf("%d events after writes that changed nothing, want %d", n, before)
	}
	var total int64
	db.Model(&models.StackEvent{}).Count(&total)
	if total != 2 {
		t.Errorf("%d events in all, want the 2 of the imported stacks", total)
	}
	// The same import without the bad entry records exactly its changes.
	importYAML(t, db, `
projects:
  - id: `+rfsProject+`
    stacks:
      - {name: my_first_stack, status: DEPLOYMENT_COMPLETE}
      - {name: brand_new}
`)
	db.Model(&models.StackEvent{}).Count(&total)
	if total != 4 {
		t.Errorf("%d events in all, want 4", total)
	}
}

// The events page's form picks an event type and a resource without writing RFS's expression: event_type and
// resource_name make the same filter, in every format; an expression given too wins.
func TestEventsFormMakesTheFilter(t *testing.T) {
	server, _, _ := eventsFixture(t)
	base := "/v1/" + eventsProject + "/stacks/web/events"
	tests := []struct {
		query, same string
	}{
		{"event_type=UPDATE_FAILED", "event_type==UPDATE_FAILED"},
		{"resource_name=nginx", "resource_name==nginx"},
		{"event_type=CREATION_COMPLETE&resource_name=nginx", "event_type==CREATION_COMPLETE,resource_name==nginx"},
		{"event_type=UPDATE_FAILED&resource_name=nginx&filter=" + urlQueryEscape("resource_name==api"), "resource_name==api"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := get(t, server, base+"?"+tt.query, HeaderClientRequestID, clientRequestID)
			want := get(t, server, base+"?filter="+urlQueryEscape(tt.same), HeaderClientRequestID, clientRequestID)
			if got.Code != 200 || got.Body.String() != want.Body.String() || !strings.Contains(want.Body.String(), `"event_type"`) {
				t.Errorf("?%s answered %d %s\nwant the answer to filter=%s: %s", tt.query, got.Code, got.Body, tt.same, want.Body)
			}
		})
	}
}

// A bad filter on the page is said beside the form, which keeps it, in the page with its header: a 400, but not
// an error page instead of the events page. API clients still get RFS's error.
func TestEventsBadFilterShowsInline(t *testing.T) {
	server, _, _ := eventsFixture(t)
	target := "/v1/" + eventsProject + "/stacks/web/events?filter=" + urlQueryEscape("colour==red")
	rec := get(t, server, target, HeaderAccept, browserAccept)
	body := rec.Body.String()
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("a bad filter on the page answered %d, want 400", rec.Code)
	}
	for _, want := range []string{
		`id="event-filters"`, `value="colour==red"`, `aria-invalid="true"`, `aria-errormessage="event-filter-error"`,
		`<p id="event-filter-error" class="field-error full-width" role="alert">filter: &#34;colour&#34; cannot be filtered on`,
		`id="q"`, "Events of web",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(body, "sse-connect") || strings.Contains(body, `id="events"`) {
		t.Errorf("the page with a bad filter lists events or subscribes to them")
	}
	expect(t, get(t, server, target, HeaderClientRequestID, clientRequestID), 400,
		rfJSON(t, "RF.10011003", `filter: "colour" cannot be filtered on (event_type, resource_type or resource_name can)`))
}
