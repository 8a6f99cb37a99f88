package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"stackboard/models"
)

const (
	stacksURL     = "/v1/" + rfsProject + "/stacks"
	firstStackID  = "e830c288-ee34-48c0-ba6b-a0e6f6b48d3e" // my_first_stack of list-stacks.yaml
	secondStackID = "4d4f4ece-b291-4c71-8083-bec9b8a44de0" // my_second_stack
)

// tooLargeBody is a well-formed JSON object just over the 1 MiB limit of a write's body.
var tooLargeBody = `{"description":"` + strings.Repeat("x", 1<<20) + `"}`

// nameRule is how every refused name is described.
const nameRule = ` must start with a letter and contain only letters, digits, '_' and '-'`

func TestCreateStack(t *testing.T) {
	db := openTestDB(t, "spec/list-stacks.yaml")
	server := newTestServer(db)

	rec := call(t, server, http.MethodPost, stacksURL, `{"stack_name":"third_stack","description":"made over HTTP"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d, want 201: %s", rec.Code, rec.Body)
	}
	var created struct {
		StackID string `json:"stack_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || !uuidPattern.MatchString(created.StackID) {
		t.Fatalf("body %s is not {\"stack_id\":<uuid>} (%v)", rec.Body, err)
	}
	if got, want := compactJSON(t, rec.Body.Bytes()), `{"stack_id":"`+created.StackID+`"}`; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	if got, want := rec.Header().Get("Location"), stacksURL+"/third_stack"; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}

	// The new stack is empty, CREATION_COMPLETE, and listed first (the newest).
	rec = get(t, server, stacksURL+"/third_stack/metadata", HeaderClientRequestID, clientRequestID)
	var metadata map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &metadata); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("metadata: %d %s", rec.Code, rec.Body)
	}
	created1, err := time.Parse(time.RFC3339, metadata["create_time"].(string))
	if err != nil || time.Since(created1) > time.Minute || time.Since(created1) < -time.Second {
		t.Errorf("create_time %v is not now", metadata["create_time"])
	}
	want := `{"stack_id":"` + created.StackID + `","stack_name":"third_stack","description":"made over HTTP","enable_deletion_protection":false,"enable_auto_rollback":false,"status":"CREATION_COMPLETE",` +
		`"create_time":"` + metadata["create_time"].(string) + `","update_time":"` + metadata["create_time"].(string) + `"}`
	expect(t, rec, http.StatusOK, want)

	rec = get(t, server, stacksURL, HeaderClientRequestID, clientRequestID)
	if !strings.HasPrefix(compactJSON(t, rec.Body.Bytes()), `{"stacks":[{"stack_name":"third_stack","description":"made over HTTP","stack_id":"`+created.StackID+`"`) {
		t.Errorf("the new stack is not listed first: %s", rec.Body)
	}

	// Names are case-sensitive: My_First_Stack is another stack than my_first_stack.
	if rec := call(t, server, http.MethodPost, stacksURL, `{"stack_name":"My_First_Stack"}`); rec.Code != http.StatusCreated {
		t.Errorf("My_First_Stack: %d %s", rec.Code, rec.Body)
	}

	// A stack in a project that does not exist yet creates the project.
	rec = call(t, server, http.MethodPost, "/v1/new-project/stacks", `{"stack_name":"web"}`)
	if rec.Code != http.StatusCreated {
		t.Errorf("new project: %d %s", rec.Code, rec.Body)
	}
	if rec = get(t, server, "/v1/new-project/stacks/web/metadata", HeaderClientRequestID, clientRequestID); rec.Code != http.StatusOK {
		t.Errorf("the stack in the new project: %d %s", rec.Code, rec.Body)
	}
}

func TestCreateStackRefusals(t *testing.T) {
	db := openTestDB(t, "spec/list-stacks.yaml")
	server := newTestServer(db)
	long := strings.Repeat("a", 129)
	tests := []struct {
		name    string
		target  string
		body    string
		headers []string // replaces the fresh Client-Request-Id when set
		status  int
		code    string
		message string
	}{
		{"name exists", stacksURL, `{"stack_name":"my_first_stack"}`, nil,
			409, "RF.10019001", `stack "my_first_stack" already exists`},
		{"no name", stacksURL, `{"description":"x"}`, nil,
			400, "RF.10011001", "stack_name: is required"},
		{"name starts with a digit", stacksURL, `{"stack_name":"1st"}`, nil,
			400, "RF.10011003", `stack_name: "1st"` + nameRule},
		{"name with a dot", stacksURL, `{"stack_name":"my.stack"}`, nil,
			400, "RF.10011003", `stack_name: "my.stack"` + nameRule},
		{"name of 129 characters", stacksURL, `{"stack_name":"` + long + `"}`, nil,
			400, "RF.10011005", `stack_name: "` + long[:80] + `…" is 129 characters long; at most 128 are allowed`},
		{"description of 1025 characters", stacksURL, `{"stack_name":"ok","description":"` + strings.Repeat("é", 1025) + `"}`, nil,
			400, "RF.10011005", "description: is 1025 characters long; at most 1024 are allowed"},
		{"unknown field", stacksURL, `{"stack_name":"ok","template_uri":"s3://x"}`, nil,
			400, "RF.10011002", "template_uri: is not a known field"},
		{"name is not a string", stacksURL, `{"stack_name":5}`, nil,
			400, "RF.10011003", "stack_name: must be a JSON string"},
		{"body is an array", stacksURL, `[{"stack_name":"ok"}]`, nil,
			400, "RF.10011003", "body: must be a JSON object"},
		{"malformed JSON", stacksURL, `{"stack_name":`, nil,
			400, "RF.10011003", "body: is not a valid JSON object: unexpected EOF"},
		{"two JSON values", stacksURL, `{"stack_name":"a"} {"stack_name":"b"}`, nil,
			400, "RF.10011003", "body: is not a valid JSON object: more than one JSON value"},
		{"empty body", stacksURL, ``, nil,
			400, "RF.10011001", "body: a JSON object is required"},
		{"blank body", stacksURL, " \n", nil,
			400, "RF.10011001", "body: a JSON object is required"},
		{"body over 1 MiB", stacksURL, tooLargeBody, nil,
			413, "RF.10011013", "Request Entity Too Large: the body may be at most 1048576 bytes"},
		{"missing Client-Request-Id", stacksURL, `{"stack_name":"ok"}`, []string{},
			400, "RF.10011001", "Client-Request-Id: header is required (a UUID is recommended)"},
		{"short Client-Request-Id", stacksURL, `{"stack_name":"ok"}`, []string{HeaderClientRequestID, "abc"},
			400, "RF.10011004", "Client-Request-Id: header is 3 characters long; at least 36 are needed"},
		{"project id too short", "/v1/ab/stacks", `{"stack_name":"ok"}`, nil,
			400, "RF.10011004", `project_id: "ab" is 2 characters long; at least 3 are needed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec *httptest.ResponseRecorder
			if tt.headers != nil {
				rec = send(t, server, http.MethodPost, tt.target, tt.body, tt.headers...)
			} else {
				rec = call(t, server, http.MethodPost, tt.target, tt.body)
			}
			expect(t, rec, tt.status, rfJSON(t, tt.code, tt.message))
			if rec.Header().Get("Location") != "" {
				t.Errorf("a refused create has Location %q", rec.Header().Get("Location"))
			}
		})
	}
	// Nothing was created.
	rec := get(t, server, stacksURL, HeaderClientRequestID, clientRequestID)
	if n := strings.Count(rec.Body.String(), `"stack_id"`); n != 2 {
		t.Errorf("%d stacks after refused creates, want the 2 of the example", n)
	}
}

func TestUpdateStack(t *testing.T) {
	db := openTestDB(t, "spec/list-stacks.yaml")
	server := newTestServer(db)
	second := stacksURL + "/my_second_stack"
	statuses := strings.Join(models.LifecycleStatuses(), ", ")
	tests := []struct {
		name    string
		target  string
		body    string
		status  int
		code    string
		message string
	}{
		{"unknown stack", stacksURL + "/nope", `{"status":"DEPLOYMENT_COMPLETE"}`,
			404, "RF.10014001", `stack "nope" not found`},
		{"stack_id of another stack", second, `{"stack_id":"` + firstStackID + `","description":"x"}`,
			400, "RF.10011003", `stack_id: "` + firstStackID + `" is not the id of stack "my_second_stack"`},
		{"stack_id not a UUID", second, `{"stack_id":"abc"}`,
			400, "RF.10011003", `stack_id: "abc" is not a UUID of 36 characters`},
		{"status not a lifecycle status", second, `{"status":"RUNNING"}`,
			400, "RF.10011003", `status: "RUNNING" is not a lifecycle status (one of ` + statuses + `)`},
		{"status empty", second, `{"status":""}`,
			400, "RF.10011001", `status: is required (one of ` + statuses + `)`},
		{"status not a string", second, `{"status":1}`,
			400, "RF.10011003", `status: must be a JSON string`},
		{"description too long", second, `{"description":"` + strings.Repeat("d", 1025) + `"}`,
			400, "RF.10011005", "description: is 1025 characters long; at most 1024 are allowed"},
		{"status_message too long", second, `{"status":"DEPLOYMENT_FAILED","status_message":"` + strings.Repeat("m", 4097) + `"}`,
			400, "RF.10011005", "status_message: is longer than 4096 characters"},
		{"stack_name is not patchable", second, `{"stack_name":"renamed"}`,
			400, "RF.10011002", "stack_name: is not a known field"},
		{"malformed JSON", second, `{"status":"DEPLOYMENT_COMPLETE"`,
			400, "RF.10011003", "body: is not a valid JSON object: unexpected EOF"},
		{"empty body", second, ``,
			400, "RF.10011001", "body: a JSON object is required"},
		{"body over 1 MiB", second, tooLargeBody,
			413, "RF.10011013", "Request Entity Too Large: the body may be at most 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, call(t, server, http.MethodPatch, tt.target, tt.body), tt.status, rfJSON(t, tt.code, tt.message))
		})
	}
	rec := send(t, server, http.MethodPatch, second, `{"description":"x"}`)
	expect(t, rec, 400, rfJSON(t, "RF.10011001", "Client-Request-Id: header is required (a UUID is recommended)"))

	// Nothing changed so far.
	metadata := func() string {
		t.Helper()
		rec := get(t, server, second+"/metadata", HeaderClientRequestID, clientRequestID)
		if rec.Code != http.StatusOK {
			t.Fatalf("metadata: %d %s", rec.Code, rec.Body)
		}
		return compactJSON(t, rec.Body.Bytes())
	}
	untouched := `{"stack_id":"` + secondStackID + `","stack_name":"my_second_stack","description":"my second stack","enable_deletion_protection":false,"enable_auto_rollback":false,"status":"DEPLOYMENT_COMPLETE",` +
		`"create_time":"2023-05-17T07:34:22Z","update_time":"2023-05-17T07:34:44Z"}`
	if got := metadata(); got != untouched {
		t.Fatalf("refused patches changed the stack: %s", got)
	}

	// An empty patch, or one that repeats the current values, changes nothing, not even update_time.
	expect(t, call(t, server, http.MethodPatch, second, `{}`), http.StatusNoContent, "")
	expect(t, call(t, server, http.MethodPatch, second, `{"stack_id":"`+secondStackID+`","description":"my second stack","status":"DEPLOYMENT_COMPLETE"}`), http.StatusNoContent, "")
	if got := metadata(); got != untouched {
		t.Errorf("no-op patches changed the stack: %s", got)
	}

	// status_message is kept for *_FAILED statuses only.
	now := func(got string) string {
		t.Helper()
		var m struct {
			UpdateTime string `json:"update_time"`
		}
		json.Unmarshal([]byte(got), &m)
		updated, err := time.Parse(time.RFC3339, m.UpdateTime)
		if err != nil || time.Since(updated) > time.Minute || time.Since(updated) < -time.Second {
			t.Errorf("update_time %q is not now", m.UpdateTime)
		}
		return m.UpdateTime
	}
	steps := []struct {
		patch         string
		status        string
		statusMessage *string
	}{
		{`{"stack_id":"` + secondStackID + `","status":"DEPLOYMENT_IN_PROGRESS","status_message":"rolling out"}`, "DEPLOYMENT_IN_PROGRESS", nil},
		{`{"status":"DEPLOYMENT_FAILED","status_message":"image pull failed"}`, "DEPLOYMENT_FAILED", ptr("image pull failed")},
		{`{"description":"retrying"}`, "DEPLOYMENT_FAILED", ptr("image pull failed")},
		{`{"status_message":"image pull failed twice"}`, "DEPLOYMENT_FAILED", ptr("image pull failed twice")},
		{`{"status":"ROLLBACK_IN_PROGRESS"}`, "ROLLBACK_IN_PROGRESS", nil},
		{`{"status":"ROLLBACK_FAILED"}`, "ROLLBACK_FAILED", ptr("")},
		{`{"status":"DEPLOYMENT_COMPLETE","status_message":"all good"}`, "DEPLOYMENT_COMPLETE", nil},
	}
	description := "my second stack"
	for _, step := range steps {
		expect(t, call(t, server, http.MethodPatch, second, step.patch), http.StatusNoContent, "")
		if strings.Contains(step.patch, "retrying") {
			description = "retrying"
		}
		got := metadata()
		message := ""
		if step.statusMessage != nil {
			message = `"status_message":` + jsonText(t, *step.statusMessage) + `,`
		}
		want := `{"stack_id":"` + secondStackID + `","stack_name":"my_second_stack","description":"` + description + `","enable_deletion_protection":false,"enable_auto_rollback":false,"status":"` + step.status + `",` +
			message + `"create_time":"2023-05-17T07:34:22Z","update_time":"` + now(got) + `"}`
		if got != want {
			t.Errorf("after %s\n got: %s\nwant: %s", step.patch, got, want)
		}
		list := get(t, server, stacksURL, HeaderClientRequestID, clientRequestID).Body.String()
		if has := strings.Contains(list, "status_message"); has != (step.statusMessage != nil) {
			t.Errorf("after %s the list has status_message %v: %s", step.patch, has, list)
		}
		stack := get(t, server, second, HeaderClientRequestID, clientRequestID).Body.String()
		if has := strings.Contains(stack, "status_message"); has != (step.statusMessage != nil) {
			t.Errorf("after %s the stack's JSON has status_message %v: %s", step.patch, has, stack)
		}
	}
}

func TestDeleteStack(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml", "spec/list-stacks.yaml")
	importYAML(t, db, `
projects:
  - id: `+rfsProject+`
    stacks:
      - {name: busy, status: DEPLOYMENT_IN_PROGRESS}
      - {name: rolling_back, status: ROLLBACK_IN_PROGRESS}
      - {name: deleting, status: DELETION_IN_PROGRESS}
      - {name: failed, status: DELETION_FAILED, status_message: volume busy}
`)
	server := newTestServer(db)
	tests := []struct {
		name    string
		target  string
		status  int
		code    string
		message string
	}{
		{"unknown stack", stacksURL + "/nope", 404, "RF.10014001", `stack "nope" not found`},
		{"stack_id of another stack", stacksURL + "/my_second_stack?stack_id=" + firstStackID,
			400, "RF.10011003", `stack_id: "` + firstStackID + `" is not the id of stack "my_second_stack"`},
		{"stack_id not a UUID", stacksURL + "/my_second_stack?stack_id=abc", 400, "RF.10011003", `stack_id: "abc" is not a UUID of 36 characters`},
		{"stack_id empty", stacksURL + "/my_second_stack?stack_id=", 400, "RF.10011001", `stack_id: is required`},
		{"deployment in progress", stacksURL + "/busy", 403, "RF.10013001", `stack "busy" is DEPLOYMENT_IN_PROGRESS; wait until it settles`},
		{"rollback in progress", stacksURL + "/rolling_back", 403, "RF.10013001", `stack "rolling_back" is ROLLBACK_IN_PROGRESS; wait until it settles`},
		{"deletion in progress", stacksURL + "/deleting", 403, "RF.10013001", `stack "deleting" is DELETION_IN_PROGRESS; wait until it settles`},
		{"in two products", stacksURL + "/memcached", 403, "RF.10013001", `stack "memcached" is still in products memcached, kodo; take it out of them first`},
		{"in one product", stacksURL + "/kodo", 403, "RF.10013001", `stack "kodo" is still in products kodo; take it out of them first`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, call(t, server, http.MethodDelete, tt.target, ""), tt.status, rfJSON(t, tt.code, tt.message))
		})
	}
	expect(t, send(t, server, http.MethodDelete, stacksURL+"/failed", ""), 400,
		rfJSON(t, "RF.10011001", "Client-Request-Id: header is required (a UUID is recommended)"))
	for _, name := range []string{"memcached", "kodo", "busy", "my_second_stack", "failed"} {
		if get(t, server, stacksURL+"/"+name+"/metadata", HeaderClientRequestID, clientRequestID).Code != http.StatusOK {
			t.Errorf("refused deletes deleted %s", name)
		}
	}

	// A failed stack can go; so can one with its own stack_id.
	for _, target := range []string{stacksURL + "/failed", stacksURL + "/my_second_stack?stack_id=" + secondStackID} {
		pk := stackPK(t, db, rfsProject, strings.TrimPrefix(strings.Split(target, "?")[0], stacksURL+"/"))
		if eventRows(t, db, pk) == 0 {
			t.Fatalf("%s has no events to lose", target)
		}
		expect(t, call(t, server, http.MethodDelete, target, ""), http.StatusNoContent, "")
		name := strings.TrimPrefix(strings.Split(target, "?")[0], stacksURL+"/")
		expect(t, get(t, server, stacksURL+"/"+name+"/events", HeaderClientRequestID, clientRequestID),
			404, rfJSON(t, "RF.10014001", `stack "`+name+`" not found`))
		expect(t, get(t, server, stacksURL+"/"+name+"/metadata", HeaderClientRequestID, clientRequestID),
			404, rfJSON(t, "RF.10014001", `stack "`+name+`" not found`))
		if n := eventRows(t, db, pk); n != 0 {
			t.Errorf("%d stack_events rows of deleted %s remain", n, name)
		}
		expect(t, call(t, server, http.MethodDelete, target, ""), 404, rfJSON(t, "RF.10014001", `stack "`+name+`" not found`))
	}

	// A new stack of the same name is another stack: a new stack_id, and only its own history.
	rec := call(t, server, http.MethodPost, stacksURL, `{"stack_name":"my_second_stack"}`)
	if rec.Code != http.StatusCreated || strings.Contains(rec.Body.String(), secondStackID) {
		t.Fatalf("re-create: %d %s", rec.Code, rec.Body)
	}
	events := eventPage(t, server, stacksURL+"/my_second_stack/events").StackEvents
	if len(events) != 1 || events[0].EventMessage != "created in CREATION_COMPLETE" {
		t.Errorf("the new stack's events: %+v", events)
	}
	// Taking the stack out of its products lets it go.
	expect(t, send(t, server, http.MethodDelete, "/api/products/kodo", ""), http.StatusNoContent, "")
	expect(t, call(t, server, http.MethodDelete, stacksURL+"/kodo", ""), http.StatusNoContent, "")
}

func TestStackMetadata(t *testing.T) {
	db := openTestDB(t, "spec/list-stacks.yaml")
	importYAML(t, db, `
projects:
  - id: `+rfsProject+`
    stacks:
      - name: broken
        id: 0b7c3f1e-5a2d-4c8e-9f10-2a3b4c5d6e7f
        description: it failed
        status: ROLLBACK_FAILED
        status_message: rollback timed out
        create_time: 2023-05-18T01:02:03Z
        update_time: 2023-05-18T02:03:04Z
        metadata: {owner: storage}
`)
	server := newTestServer(db)
	tests := []struct {
		name   string
		target string
		status int
		want   string
	}{
		{"settled stack", stacksURL + "/my_second_stack/metadata", 200,
			`{"stack_id":"` + secondStackID + `","stack_name":"my_second_stack","description":"my second stack","enable_deletion_protection":false,"enable_auto_rollback":false,"status":"DEPLOYMENT_COMPLETE",` +
				`"create_time":"2023-05-17T07:34:22Z","update_time":"2023-05-17T07:34:44Z"}`},
		{"failed stack", stacksURL + "/broken/metadata", 200,
			`{"stack_id":"0b7c3f1e-5a2d-4c8e-9f10-2a3b4c5d6e7f","stack_name":"broken","description":"it failed","enable_deletion_protection":false,"enable_auto_rollback":false,"status":"ROLLBACK_FAILED",` +
				`"status_message":"rollback timed out","create_time":"2023-05-18T01:02:03Z","update_time":"2023-05-18T02:03:04Z"}`},
		{"with its own stack_id", stacksURL + "/my_first_stack/metadata?stack_id=" + firstStackID, 200,
			`{"stack_id":"` + firstStackID + `","stack_name":"my_first_stack","description":"my second stack","enable_deletion_protection":false,"enable_auto_rollback":false,"status":"CREATION_COMPLETE",` +
				`"create_time":"2023-05-17T07:34:06Z","update_time":"2023-05-17T07:34:28Z"}`},
		{"with another stack's stack_id", stacksURL + "/my_first_stack/metadata?stack_id=" + secondStackID, 400,
			rfJSON(t, "RF.10011003", `stack_id: "`+secondStackID+`" is not the id of stack "my_first_stack"`)},
		{"unknown stack", stacksURL + "/nope/metadata", 404, rfJSON(t, "RF.10014001", `stack "nope" not found`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, get(t, server, tt.target, HeaderClientRequestID, clientRequestID), tt.status, tt.want)
		})
	}
	expect(t, get(t, server, stacksURL+"/broken/metadata"), 400,
		rfJSON(t, "RF.10011001", "Client-Request-Id: header is required (a UUID is recommended)"))
}

func TestPutService(t *testing.T) {
	db := openTestDB(t, "spec/list-stacks.yaml")
	server := newTestServer(db)
	web := stacksURL + "/my_first_stack/services/web"
	states := strings.Join(models.ServiceStates(), ", ")
	runStatuses := strings.Join(models.RunStatuses(), ", ")

	// Created, then replaced; the answer is the service in the shape of GET /api/products.
	good := []struct {
		name   string
		target string
		body   string
		status int
		want   string
	}{
		{"create", web, `{"state":"CREATING","status":"NOT-RUNNING","domains":["web.example.com"],"image":{"name":"nginx","tag":"1.25"}}`, 201,
			`{"service_name":"web","state":"CREATING","status":"NOT-RUNNING","domains":["web.example.com"],"image":{"name":"nginx","tag":"1.25"}}`},
		{"replace", web, `{"state":"DEPLOYED","status":"RUNNING","domains":["web.example.com","www.example.com"],"image":{"name":"nginx","tag":"1.26"}}`, 200,
			`{"service_name":"web","state":"DEPLOYED","status":"RUNNING","domains":["web.example.com","www.example.com"],"image":{"name":"nginx","tag":"1.26"}}`},
		{"replace with the same", web, `{"state":"DEPLOYED","status":"RUNNING","domains":["web.example.com","www.example.com"],"image":{"name":"nginx","tag":"1.26"}}`, 200,
			`{"service_name":"web","state":"DEPLOYED","status":"RUNNING","domains":["web.example.com","www.example.com"],"image":{"name":"nginx","tag":"1.26"}}`},
		{"create without domains and tag", stacksURL + "/my_first_stack/services/cache", `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"memcached"}}`, 201,
			`{"service_name":"cache","state":"DEPLOYED","status":"RUNNING","domains":[],"image":{"name":"memcached","tag":"latest"}}`},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, call(t, server, http.MethodPut, tt.target, tt.body), tt.status, tt.want)
		})
	}
	stack := compactJSON(t, get(t, server, stacksURL+"/my_first_stack", HeaderClientRequestID, clientRequestID).Body.Bytes())
	wantServices := `"services":[{"service_name":"web","state":"DEPLOYED","status":"RUNNING","domains":["web.example.com","www.example.com"],"image":{"name":"nginx","tag":"1.26"}},` +
		`{"service_name":"cache","state":"DEPLOYED","status":"RUNNING","domains":[],"image":{"name":"memcached","tag":"latest"}}]`
	if !strings.Contains(stack, wantServices) || !strings.Contains(stack, `"run_status":"RUNNING","is_deployed":true`) {
		t.Errorf("the stack after the reports: %s", stack)
	}

	bad := []struct {
		name    string
		target  string
		body    string
		status  int
		code    string
		message string
	}{
		{"state not a state", web, `{"state":"RUNNING","status":"RUNNING","image":{"name":"nginx"}}`,
			400, "RF.10011003", `state: "RUNNING" is not a service state (one of ` + states + `)`},
		{"no state", web, `{"status":"RUNNING","image":{"name":"nginx"}}`,
			400, "RF.10011001", `state: is required (one of ` + states + `)`},
		{"status not a run status", web, `{"state":"DEPLOYED","status":"DEPLOYED","image":{"name":"nginx"}}`,
			400, "RF.10011003", `status: "DEPLOYED" is not a run status (one of ` + runStatuses + `)`},
		{"no image name", web, `{"state":"DEPLOYED","status":"RUNNING","image":{"tag":"1"}}`,
			400, "RF.10011001", `image.name: is required`},
		{"no image", web, `{"state":"DEPLOYED","status":"RUNNING"}`,
			400, "RF.10011001", `image.name: is required`},
		{"image name with a space", web, `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"my image"}}`,
			400, "RF.10011003", `image.name: "my image" is not an image name`},
		{"image tag with a colon", web, `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"nginx","tag":"1:2"}}`,
			400, "RF.10011003", `image.tag: "1:2" is not an image tag`},
		{"image is a string", web, `{"state":"DEPLOYED","status":"RUNNING","image":"nginx:1.25"}`,
			400, "RF.10011003", `image: must be a JSON object`},
		{"domains is a string", web, `{"state":"DEPLOYED","status":"RUNNING","domains":"a.example.com","image":{"name":"nginx"}}`,
			400, "RF.10011003", `domains: must be a JSON array`},
		{"tag is a number", web, `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"nginx","tag":1}}`,
			400, "RF.10011003", `image.tag: must be a JSON string`},
		{"domain with a space", web, `{"state":"DEPLOYED","status":"RUNNING","domains":["ok.example.com","a b"],"image":{"name":"nginx"}}`,
			400, "RF.10011003", `domains[1]: "a b" is not a host name`},
		{"empty domain", web, `{"state":"DEPLOYED","status":"RUNNING","domains":[""],"image":{"name":"nginx"}}`,
			400, "RF.10011001", `domains[0]: is empty`},
		{"unknown field", web, `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"nginx"},"replicas":3}`,
			400, "RF.10011002", `replicas: is not a known field`},
		{"unknown field of the image", web, `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"nginx","digest":"sha256:x"}}`,
			400, "RF.10011002", `digest: is not a known field`},
		{"service name starts with a digit", stacksURL + "/my_first_stack/services/1web", `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"nginx"}}`,
			400, "RF.10011003", `service_name: "1web"` + nameRule},
		{"unknown stack", stacksURL + "/nope/services/web", `{"state":"DEPLOYED","status":"RUNNING","image":{"name":"nginx"}}`,
			404, "RF.10014001", `stack "nope" not found`},
		{"malformed JSON", web, `{"state":`, 400, "RF.10011003", "body: is not a valid JSON object: unexpected EOF"},
		{"empty body", web, ``, 400, "RF.10011001", "body: a JSON object is required"},
		{"body over 1 MiB", web, tooLargeBody, 413, "RF.10011013", "Request Entity Too Large: the body may be at most 1048576 bytes"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, call(t, server, http.MethodPut, tt.target, tt.body), tt.status, rfJSON(t, tt.code, tt.message))
		})
	}
	if after := compactJSON(t, get(t, server, stacksURL+"/my_first_stack", HeaderClientRequestID, clientRequestID).Body.Bytes()); after != stack {
		t.Errorf("refused reports changed the stack:\n%s\n%s", stack, after)
	}
}

func TestDeleteService(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	server := newTestServer(db)
	tests := []struct {
		name   string
		target string
		status int
		want   string
	}{
		{"delete", stacksURL + "/kodo/services/io", 204, ""},
		{"again", stacksURL + "/kodo/services/io", 404, rfJSON(t, "RF.10014001", `service "io" not found`)},
		{"unknown service", stacksURL + "/memcached/services/nope", 404, rfJSON(t, "RF.10014001", `service "nope" not found`)},
		{"unknown stack", stacksURL + "/nope/services/io", 404, rfJSON(t, "RF.10014001", `stack "nope" not found`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, call(t, server, http.MethodDelete, tt.target, ""), tt.status, tt.want)
		})
	}
	// kodo has no services now: NOT-RUNNING, not deployed, and the product is no longer stable.
	rec := get(t, server, "/api/products/kodo")
	if body := compactJSON(t, rec.Body.Bytes()); !strings.Contains(body, `{"stack_name":"kodo","services":[],"metadata":null,"is_deployed":false,"status":"NOT-RUNNING"}]],"is_stable":false}`) {
		t.Errorf("kodo after its service went: %s", body)
	}
}

// productJSON returns the element of GET /api/products that is the named product, or "".
func productJSON(t *testing.T, h http.Handler, name string) string {
	t.Helper()
	rec := get(t, h, "/api/products")
	var list []json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatalf("/api/products: %v %s", err, rec.Body)
	}
	for _, element := range list {
		var p struct {
			ProductName string `json:"product_name"`
		}
		json.Unmarshal(element, &p)
		if p.ProductName == name {
			return compactJSON(t, element)
		}
	}
	return ""
}

func TestCreateProduct(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	server := newTestServer(db)

	rec := send(t, server, http.MethodPost, "/api/products", `{"product_name":"cache","stack_deps":[[{"stack_name":"memcached"}],[{"stack_name":"kodo"}]]}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d, want 201: %s", rec.Code, rec.Body)
	}
	element := productJSON(t, server, "cache")
	if element == "" || compactJSON(t, rec.Body.Bytes()) != element {
		t.Errorf("the answer is not the product as GET /api/products lists it\n got: %s\nlist: %s", rec.Body, element)
	}
	if !strings.HasPrefix(element, `{"product_name":"cache","stack_deps":[[{"stack_name":"memcached",`) || !strings.HasSuffix(element, `"is_stable":true}`) {
		t.Errorf("element: %s", element)
	}
	if got := rec.Header().Get("Location"); got != "/api/products/cache" {
		t.Errorf("Location %q", got)
	}
	expect(t, get(t, server, "/api/products/names"), 200, `["memcached","kodo","cache"]`)
	// With project_id given.
	rec = send(t, server, http.MethodPost, "/api/products", `{"product_name":"io","project_id":"`+rfsProject+`","stack_deps":[[{"stack_name":"kodo"}]]}`)
	if rec.Code != http.StatusCreated {
		t.Errorf("with project_id: %d %s", rec.Code, rec.Body)
	}

	const invalid = "Invalid ProductArgs"
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"existing name", `{"product_name":"kodo","stack_deps":[[{"stack_name":"kodo"}]]}`,
			409, spockJSON(t, "Product Already Exists", "409", "")},
		{"a stack twice in a layer", `{"product_name":"p","stack_deps":[[{"stack_name":"memcached"},{"stack_name":"memcached"}]]}`,
			400, spockJSON(t, invalid, "400", `stack_deps[0][1]: stack "memcached" is already in this product at stack_deps[0][0]; a stack appears at most once`)},
		{"a stack in two layers", `{"product_name":"p","stack_deps":[[{"stack_name":"memcached"}],[{"stack_name":"memcached"}]]}`,
			400, spockJSON(t, invalid, "400", `stack_deps[1][0]: stack "memcached" is already in this product at stack_deps[0][0]; a stack appears at most once`)},
		{"an empty layer", `{"product_name":"p","stack_deps":[[{"stack_name":"memcached"}],[]]}`,
			400, spockJSON(t, invalid, "400", `stack_deps[1]: layer 2 has no stacks; every layer needs at least one`)},
		{"no layers", `{"product_name":"p","stack_deps":[]}`,
			400, spockJSON(t, invalid, "400", `stack_deps: a product needs at least one layer`)},
		{"no stack_deps", `{"product_name":"p"}`,
			400, spockJSON(t, invalid, "400", `stack_deps: a product needs at least one layer`)},
		{"an unknown stack", `{"product_name":"p","stack_deps":[[{"stack_name":"nope"}]]}`,
			400, spockJSON(t, invalid, "400", `stack_deps[0][0]: stack "nope" does not exist in project "`+rfsProject+`"`)},
		{"a stack without a name", `{"product_name":"p","stack_deps":[[{}]]}`,
			400, spockJSON(t, invalid, "400", `stack_deps[0][0]: is required`)},
		{"no name", `{"stack_deps":[[{"stack_name":"kodo"}]]}`,
			400, spockJSON(t, invalid, "400", `product_name: is required`)},
		{"a bad name", `{"product_name":"9lives","stack_deps":[[{"stack_name":"kodo"}]]}`,
			400, spockJSON(t, invalid, "400", `product_name: "9lives"`+nameRule)},
		{"a reserved name", `{"product_name":"names","stack_deps":[[{"stack_name":"kodo"}]]}`,
			400, spockJSON(t, invalid, "400", `product_name: "names" is reserved`)},
		{"an unknown project", `{"product_name":"p","project_id":"nope-project","stack_deps":[[{"stack_name":"kodo"}]]}`,
			400, spockJSON(t, invalid, "400", `project_id: project "nope-project" does not exist`)},
		{"a bad project id", `{"product_name":"p","project_id":"a b","stack_deps":[[{"stack_name":"kodo"}]]}`,
			400, spockJSON(t, invalid, "400", `project_id: "a b" may contain only letters, digits, '_' and '-'`)},
		{"an unknown field", `{"product_name":"p","stack_deps":[[{"stack_name":"kodo"}]],"color":"red"}`,
			400, spockJSON(t, invalid, "400", `color: is not a known field`)},
		{"stacks given as names", `{"product_name":"p","stack_deps":[["kodo"]]}`,
			400, spockJSON(t, invalid, "400", `stack_deps: must be a JSON object`)},
		{"malformed JSON", `{"product_name":`,
			400, spockJSON(t, invalid, "400", `body: is not a valid JSON object: unexpected EOF`)},
		{"empty body", ``,
			400, spockJSON(t, invalid, "400", `body: a JSON object is required`)},
		{"body over 1 MiB", tooLargeBody,
			413, spockJSON(t, "Request Entity Too Large: the body may be at most 1048576 bytes", "413", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := send(t, server, http.MethodPost, "/api/products", tt.body)
			expect(t, rec, tt.status, tt.want)
			if rec.Header().Get("Location") != "" {
				t.Errorf("a refused create has Location %q", rec.Header().Get("Location"))
			}
		})
	}
	expect(t, get(t, server, "/api/products/names"), 200, `["memcached","kodo","cache","io"]`)
}

func TestReplaceAndDeleteProduct(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	server := newTestServer(db)
	notFound := spockJSON(t, "Product Not Found", "404", "")

	before := productJSON(t, server, "kodo")
	rec := send(t, server, http.MethodPut, "/api/products/kodo", `{"stack_deps":[[{"stack_name":"kodo"}],[{"stack_name":"memcached"}]]}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("replace: %d %s", rec.Code, rec.Body)
	}
	after := productJSON(t, server, "kodo")
	if compactJSON(t, rec.Body.Bytes()) != after || after == before ||
		!strings.HasPrefix(after, `{"product_name":"kodo","stack_deps":[[{"stack_name":"kodo",`) || !strings.Contains(after, `],[{"stack_name":"memcached",`) {
		t.Errorf("replace answered %s; the list has %s", rec.Body, after)
	}
	// The name may be repeated in the body; the order of products stays the creation order.
	rec = send(t, server, http.MethodPut, "/api/products/kodo", `{"product_name":"kodo","stack_deps":[[{"stack_name":"kodo"}]]}`)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "memcached") {
		t.Errorf("replace with its name: %d %s", rec.Code, rec.Body)
	}
	expect(t, get(t, server, "/api/products/names"), 200, `["memcached","kodo"]`)

	tests := []struct {
		name   string
		method string
		target string
		body   string
		status int
		want   string
	}{
		{"replace an unknown product", http.MethodPut, "/api/products/nope", `{"stack_deps":[[{"stack_name":"kodo"}]]}`, 404, notFound},
		{"replace with another name", http.MethodPut, "/api/products/kodo", `{"product_name":"other","stack_deps":[[{"stack_name":"kodo"}]]}`,
			400, spockJSON(t, "Invalid ProductArgs", "400", `product_name: "other" differs from the name in the URL`)},
		{"replace with an empty layer", http.MethodPut, "/api/products/kodo", `{"stack_deps":[[]]}`,
			400, spockJSON(t, "Invalid ProductArgs", "400", `stack_deps[0]: layer 1 has no stacks; every layer needs at least one`)},
		{"replace with no layers", http.MethodPut, "/api/products/kodo", `{"stack_deps":[]}`,
			400, spockJSON(t, "Invalid ProductArgs", "400", `stack_deps: a product needs at least one layer`)},
		{"replace with an unknown field", http.MethodPut, "/api/products/kodo", `{"layers":[["kodo"]]}`,
			400, spockJSON(t, "Invalid ProductArgs", "400", `layers: is not a known field`)},
		{"replace with a body over 1 MiB", http.MethodPut, "/api/products/kodo", tooLargeBody,
			413, spockJSON(t, "Request Entity Too Large: the body may be at most 1048576 bytes", "413", "")},
		{"delete", http.MethodDelete, "/api/products/kodo", "", 204, ""},
		{"delete again", http.MethodDelete, "/api/products/kodo", "", 404, notFound},
		{"get the deleted", http.MethodGet, "/api/products/kodo", "", 404, notFound},
		{"replace the deleted", http.MethodPut, "/api/products/kodo", `{"stack_deps":[[{"stack_name":"kodo"}]]}`, 404, notFound},
		{"delete an unknown product", http.MethodDelete, "/api/products/nope", "", 404, notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, send(t, server, tt.method, tt.target, tt.body), tt.status, tt.want)
		})
	}
	expect(t, get(t, server, "/api/products/names"), 200, `["memcached"]`)
	// Its stacks stay.
	if rec := get(t, server, stacksURL+"/kodo/metadata", HeaderClientRequestID, clientRequestID); rec.Code != 200 {
		t.Errorf("the deleted product's stack: %d", rec.Code)
	}
}

// With two projects, a product of an unknown name is still "not found", whatever the body says.
func TestReplaceUnknownProductWithTwoProjects(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	importYAML(t, db, "projects: [{id: other-project, stacks: [{name: kodo}]}]")
	server := newTestServer(db)
	expect(t, send(t, server, http.MethodPut, "/api/products/nope", `{"stack_deps":[[{"stack_name":"kodo"}]]}`),
		404, spockJSON(t, "Product Not Found", "404", ""))
	// Creating needs project_id now.
	expect(t, send(t, server, http.MethodPost, "/api/products", `{"product_name":"p","stack_deps":[[{"stack_name":"kodo"}]]}`),
		400, spockJSON(t, "Invalid ProductArgs", "400", "project_id: is required unless the database holds exactly one project"))
}

func TestProductNames(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	expect(t, get(t, server, "/api/products/names"), 200, `["memcached","kodo"]`)
	expect(t, get(t, newTestServer(openTestDB(t)), "/api/products/names"), 200, `[]`)
}
