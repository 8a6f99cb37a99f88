package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	valerrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"stackboard/models"
)

// openAPI is the served document, parsed, with a validator of requests and answers against it.
type openAPI struct {
	model     *v3.Document
	validator validator.Validator
}

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	doc, err := libopenapi.NewDocument(openAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("web/openapi.json: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("web/openapi.json: %v", errors.Join(errs...))
	}
	return openAPI{model: &model.Model, validator: v}
}

// describe turns validation errors into one readable message.
func describe(errs []*valerrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  - %s: %s", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n      %s at %s (%s)", f.Reason, f.FieldPath, f.KeywordLocation)
		}
	}
	return b.String()
}

// The document is valid OpenAPI 3.1 and is what /openapi.json serves.
func TestOpenAPIDocumentIsValidAndServed(t *testing.T) {
	api := loadOpenAPI(t)
	if ok, errs := api.validator.ValidateDocument(); !ok {
		t.Fatalf("web/openapi.json is not valid OpenAPI:%s", describe(errs))
	}
	if api.model.Version != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", api.model.Version)
	}
	s := newTestServer(openTestDB(t))
	rec := get(t, s, "/openapi.json", HeaderAccept, "text/html")
	if rec.Code != http.StatusOK || rec.Header().Get(HeaderContentType) != contentTypeJSON || !bytes.Equal(rec.Body.Bytes(), openAPIDocument) {
		t.Fatalf("/openapi.json: %d %q, %d bytes", rec.Code, rec.Header().Get(HeaderContentType), rec.Body.Len())
	}
	etag := rec.Header().Get(HeaderETag)
	if rec = get(t, s, "/openapi.json", HeaderIfNoneMatch, etag); rec.Code != http.StatusNotModified {
		t.Errorf("/openapi.json with its ETag: %d, want 304", rec.Code)
	}
}

// The document's enumerations are the models' own lists, so a new status cannot be left out of it.
func TestOpenAPIEnumerationsAreTheModels(t *testing.T) {
	api := loadOpenAPI(t)
	for name, want := range map[string][]string{
		"LifecycleStatus": models.LifecycleStatuses(),
		"RunStatus":       models.RunStatuses(),
		"ServiceState":    models.ServiceStates(),
	} {
		schema := api.model.Components.Schemas.GetOrZero(name).Schema()
		var got []string
		for _, v := range schema.Enum {
			got = append(got, v.Value)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the document lists %q, the models %q", name, got, want)
		}
	}
	for name, keys := range map[string][]models.SortKey{
		"SortProducts": models.ProductSortKeys,
		"SortStacks":   models.StackSortKeys,
		"SortServices": models.ServiceSortKeys,
	} {
		var want []string
		for _, k := range keys {
			want = append(want, string(k))
		}
		for _, k := range keys {
			want = append(want, "-"+string(k))
		}
		var got []string
		for _, v := range api.model.Components.Parameters.GetOrZero(name).Schema.Schema().Enum {
			got = append(got, v.Value)
		}
		if !slices.Equal(got, want) {
			t.Errorf("parameter %s: the document lists %q, the models %q", name, got, want)
		}
	}
}

// routeVariable matches a route variable with its pattern ({name:regexp}), which OpenAPI writes as {name}.
var routeVariable = regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)

// documented lists every path and method the document describes, as "METHOD /path/{variable}".
func (api openAPI) documented() map[string]bool {
	ops := map[string]bool{}
	for path, item := range api.model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			ops[strings.ToUpper(method)+" "+path] = true
		}
	}
	return ops
}

// Every route of web/routes.go is in the document (HEAD goes with GET), and the document describes no route that
// is not there: an endpoint added without its description fails here.
func TestEveryRouteIsDocumented(t *testing.T) {
	api := loadOpenAPI(t)
	documented := api.documented()
	s := NewServer(openTestDB(t), slog.New(slog.DiscardHandler), Options{})
	routed := map[string]bool{}
	err := s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		template, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		pattern, err := route.GetPathRegexp()
		if err != nil {
			return err
		}
		if !strings.HasSuffix(pattern, "$") {
			// A prefix: the static files, which are no API.
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return fmt.Errorf("%s declares no methods: %w", template, err)
		}
		path := routeVariable.ReplaceAllString(template, "{$1}")
		for _, m := range methods {
			if m == http.MethodHead {
				m = http.MethodGet
			}
			routed[m+" "+path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// /metrics is on the main router unless --metrics-addr moves it.
	if !routed["GET "+metricsPath] {
		t.Fatalf("the router has no %s", metricsPath)
	}
	for op := range routed {
		if !documented[op] {
			t.Errorf("%s is routed in web/routes.go but not described in web/openapi.json", op)
		}
	}
	for op := range documented {
		if !routed[op] {
			t.Errorf("%s is described in web/openapi.json but no route answers it", op)
		}
	}
}

// apiCase is one request and the status it must get; its answer must match the document.
type apiCase struct {
	server  string
	method  string
	target  string
	body    string
	headers []string
	status  int
	// refused marks requests that break the document's own rules (a header too short, say): the validator must
	// refuse them too, which proves the document states the rule the server applies.
	refused bool
	// unrouted marks answers for URLs or methods no route takes (404, 405): they are checked against the error
	// schema of the family the document names for them.
	unrouted string
	// form sends the body as an HTML form instead of JSON.
	form bool
	// stream is read only for a moment: a Server-Sent Events stream does not end.
	stream bool
}

// openAPIFixture is the data every case works on: the spec examples, plus a failed stack with metadata.
const openAPIFixture = `
projects:
  - id: ` + rfsProject + `
    stacks:
      - name: broken
        status: DEPLOYMENT_FAILED
        status_message: image pull failed
        metadata: {owner: storage, tier: 1}
        services:
          - {name: db, state: DEPLOYED, status: FAULT, domains: [db.example.com], image: {name: postgres, tag: "16"}}
`

// Requests and answers of every endpoint, successes and refusals, through the real router of real servers, are
// what web/openapi.json says they are: statuses, headers and bodies.
func TestAnswersMatchTheOpenAPIDocument(t *testing.T) {
	api := loadOpenAPI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)

	openDB := openTestDB(t, "spec/list-products.yaml", "spec/list-stacks.yaml")
	importYAML(t, openDB, openAPIFixture)
	open := NewServer(openDB, quiet, Options{})
	go open.Run(ctx)
	waitReady(t, open)

	protected := newAuthServer(t, authDB(t), true)
	limited := NewServer(openTestDB(t, "spec/list-stacks.yaml"), quiet, Options{WriteRate: 0.001, WriteBurst: 1})
	closedDB := openTestDB(t, "spec/list-stacks.yaml")
	closed := newTestServer(closedDB)
	if err := models.Close(closedDB); err != nil {
		t.Fatal(err)
	}
	servers := map[string]*httptest.Server{}
	for name, s := range map[string]http.Handler{"open": open, "auth": protected, "limited": limited, "closed": closed} {
		servers[name] = httptest.NewServer(s)
		defer servers[name].Close()
	}

	const (
		p        = "/v1/" + rfsProject + "/stacks"
		wrongID  = "00000000-0000-4000-8000-000000000000"
		newStack = `{"stack_name":"new_stack","description":"made by the OpenAPI test"}`
		service  = `{"state":"DEPLOYED","status":"RUNNING","domains":["web.example.com"],"image":{"name":"nginx","tag":"1.27"}}`
		product  = `{"product_name":"shop","stack_deps":[[{"stack_name":"new_stack"}],[{"stack_name":"kodo"}]]}`
	)
	replayID := uuid.NewString()
	tooLong := `{"stack_name":"big","description":"` + strings.Repeat("x", 1<<20) + `"}`
	crid := func() []string { return []string{HeaderClientRequestID, uuid.NewString()} }
	with := func(headers ...string) []string { return append(crid(), headers...) }
	token := func(secret string) []string { return []string{HeaderAuthToken, secret} }

	cases := []apiCase{
		{server: "open", method: "GET", target: "/", status: 302},
		{server: "open", method: "GET", target: "/?format=xml", status: 400, refused: true},
		{server: "open", method: "GET", target: "/favicon.ico", status: 302},
		{server: "open", method: "GET", target: "/favicon.ico?format=xml", status: 400, refused: true},
		{server: "open", method: "GET", target: "/openapi.json?format=xml", status: 400, refused: true},
		{server: "open", method: "GET", target: "/login?format=xml", status: 400, refused: true},
		{server: "open", method: "POST", target: "/logout", headers: []string{"Sec-Fetch-Site", "cross-site"}, status: 403},
		{server: "open", method: "GET", target: "/healthz", status: 200},
		{server: "open", method: "GET", target: "/healthz?format=xml", status: 400, refused: true},
		{server: "open", method: "GET", target: "/readyz", status: 200},
		{server: "open", method: "GET", target: "/openapi.json", status: 200},
		{server: "open", method: "GET", target: "/metrics", status: 200},
		{server: "open", method: "GET", target: "/events?topics=products", status: 200, stream: true},
		{server: "open", method: "GET", target: "/events", status: 400, refused: true},
		{server: "open", method: "GET", target: "/events?topics=bad%20topic", status: 400, refused: true},
		{server: "open", method: "GET", target: "/login", status: 303},
		{server: "open", method: "POST", target: "/login", body: "token=anything", form: true, status: 303},
		{server: "open", method: "POST", target: "/logout", status: 303},

		{server: "open", method: "GET", target: "/api/products", status: 200},
		{server: "open", method: "GET", target: "/api/products", headers: crid(), status: 200},
		{server: "open", method: "GET", target: "/api/products?limit=1", status: 200},
		{server: "open", method: "GET", target: "/api/products?q=kodo&stable=true&status=RUNNING&project=" + rfsProject, status: 200},
		{server: "open", method: "GET", target: "/api/products?sort=-severity", status: 200},
		{server: "open", method: "GET", target: "/api/products?sort=colour", status: 400, refused: true},
		{server: "open", method: "GET", target: "/api/products?stable=maybe", status: 400, refused: true},
		{server: "open", method: "GET", target: "/api/products?limit=0", status: 400, refused: true},
		{server: "open", method: "GET", target: "/api/products?marker=nonsense", status: 400},
		{server: "open", method: "GET", target: "/api/products/names", status: 200},
		{server: "open", method: "GET", target: "/api/products/names?format=yaml", status: 400, refused: true},
		{server: "open", method: "GET", target: "/api/products/kodo", status: 200},
		{server: "open", method: "GET", target: "/api/products/nope", status: 404},
		{server: "open", method: "GET", target: "/api/products/kodo/badge.svg", status: 200},
		{server: "open", method: "GET", target: "/api/products/nope/badge.svg", status: 404},
		{server: "open", method: "PATCH", target: "/api/products/names", status: 405, unrouted: "SpockError"},
		{server: "open", method: "GET", target: "/api/nothing/here", status: 404, unrouted: "SpockError"},

		{server: "open", method: "GET", target: p, headers: crid(), status: 200},
		{server: "open", method: "GET", target: p + "?limit=2", headers: crid(), status: 200},
		{server: "open", method: "GET", target: p + "?sort=in_state&limit=2", headers: crid(), status: 200},
		{server: "open", method: "GET", target: p + "?sort=-colour", headers: crid(), status: 400, refused: true},
		{server: "open", method: "GET", target: p + "?status=DEPLOYMENT_FAILED&q=bro", headers: crid(), status: 200},
		{server: "open", method: "GET", target: p, status: 400, refused: true},
		{server: "open", method: "GET", target: p, headers: []string{HeaderClientRequestID, "too-short"}, status: 400, refused: true},
		{server: "open", method: "GET", target: p, headers: []string{HeaderClientRequestID, strings.Repeat("a", 129)}, status: 400, refused: true},
		{server: "open", method: "GET", target: "/v1/ab/stacks", headers: crid(), status: 400, refused: true},
		{server: "open", method: "GET", target: "/v1/" + strings.Repeat("p", 65) + "/stacks", headers: crid(), status: 400, refused: true},
		{server: "open", method: "GET", target: "/v1/proj.1/stacks", headers: crid(), status: 400, refused: true},
		{server: "open", method: "GET", target: p + "?limit=1001", headers: crid(), status: 400, refused: true},
		{server: "open", method: "GET", target: p + "/broken", headers: crid(), status: 200},
		{server: "open", method: "GET", target: p + "/kodo", headers: crid(), status: 200},
		{server: "open", method: "GET", target: p + "/broken?sort=-name", headers: crid(), status: 200},
		{server: "open", method: "GET", target: p + "/broken?sort=created", headers: crid(), status: 400, refused: true},
		{server: "open", method: "GET", target: p + "/nope", headers: crid(), status: 404},
		{server: "open", method: "GET", target: p + "/1st", headers: crid(), status: 404, refused: true},
		{server: "open", method: "GET", target: p + "/broken/metadata", headers: crid(), status: 200},
		{server: "open", method: "GET", target: p + "/broken/metadata?stack_id=" + wrongID, headers: crid(), status: 400},
		{server: "open", method: "GET", target: p + "/broken/metadata?stack_id=short", headers: crid(), status: 400, refused: true},
		{server: "open", method: "GET", target: p + "/nope/metadata", headers: crid(), status: 404},
		{server: "open", method: "GET", target: p + "/broken/badge.svg", status: 200},
		{server: "open", method: "GET", target: p + "/nope/badge.svg", status: 404},
		{server: "open", method: "GET", target: p + "/broken/events", headers: crid(), status: 200},
		{server: "open", method: "GET", target: p + "/broken/events?limit=1&filter=resource_type==stack", headers: crid(), status: 200},
		{server: "open", method: "GET", target: p + "/broken/events?limit=many", headers: crid(), status: 400, refused: true},
		{server: "open", method: "GET", target: p + "/broken/events?filter=colour==red", headers: crid(), status: 400},
		{server: "open", method: "GET", target: p + "/nope/events", headers: crid(), status: 404},
		{server: "open", method: "POST", target: p + "/broken/metadata", headers: crid(), status: 405, unrouted: "RFError"},
		{server: "open", method: "GET", target: "/v1/" + rfsProject + "/nothing", headers: crid(), status: 404, unrouted: "RFError"},

		// The writes, in the order a deploy tool makes them.
		{server: "open", method: "POST", target: p, body: newStack, headers: []string{HeaderClientRequestID, replayID}, status: 201},
		{server: "open", method: "POST", target: p, body: newStack, headers: []string{HeaderClientRequestID, replayID}, status: 201},
		{server: "open", method: "POST", target: p, body: `{"stack_name":"other"}`, headers: []string{HeaderClientRequestID, replayID}, status: 409},
		{server: "open", method: "POST", target: p, body: newStack, headers: crid(), status: 409},
		{server: "open", method: "POST", target: p, body: `{"description":"no name"}`, headers: crid(), status: 400, refused: true},
		{server: "open", method: "POST", target: p, body: `{"stack_name":"x","colour":"red"}`, headers: crid(), status: 400, refused: true},
		{server: "open", method: "POST", target: p, body: `{"stack_name":"1st"}`, headers: crid(), status: 400, refused: true},
		{server: "open", method: "POST", target: p, body: newStack, status: 400, refused: true},
		{server: "open", method: "POST", target: p, body: tooLong, headers: crid(), status: 413, refused: true},
		{server: "open", method: "PATCH", target: p + "/new_stack", body: `{"status":"DEPLOYMENT_FAILED","status_message":"boom","enable_deletion_protection":false}`, headers: crid(), status: 204},
		{server: "open", method: "PATCH", target: p + "/new_stack", body: `{"status":"BROKEN"}`, headers: crid(), status: 400, refused: true},
		{server: "open", method: "PATCH", target: p + "/nope", body: `{"description":"x"}`, headers: crid(), status: 404},
		{server: "open", method: "PUT", target: p + "/new_stack/services/web", body: service, headers: crid(), status: 201},
		{server: "open", method: "PUT", target: p + "/new_stack/services/web", body: service, headers: crid(), status: 200},
		{server: "open", method: "PUT", target: p + "/new_stack/services/web", body: `{"state":"SLEEPING","status":"RUNNING","image":{"name":"nginx"}}`, headers: crid(), status: 400, refused: true},
		{server: "open", method: "PUT", target: p + "/nope/services/web", body: service, headers: crid(), status: 404},
		{server: "open", method: "POST", target: "/api/products", body: product, status: 201},
		{server: "open", method: "POST", target: "/api/products", body: product, headers: crid(), status: 409},
		{server: "open", method: "POST", target: "/api/products", body: `{"product_name":"empty"}`, status: 400, refused: true},
		{server: "open", method: "POST", target: "/api/products", body: `{"product_name":"ghost","stack_deps":[[{"stack_name":"ghost"}]]}`, status: 400},
		{server: "open", method: "PUT", target: "/api/products/shop", body: `{"stack_deps":[[{"stack_name":"new_stack"}]]}`, headers: crid(), status: 200},
		{server: "open", method: "PUT", target: "/api/products/nope", body: `{"stack_deps":[[{"stack_name":"new_stack"}]]}`, status: 404},
		{server: "open", method: "PUT", target: "/api/products/shop", body: `{"stack_deps":[]}`, status: 400, refused: true},
		{server: "open", method: "PUT", target: "/api/products/shop", body: `{"stack_deps":[[{"stack_name":"kodo"}]]}`, headers: []string{HeaderClientRequestID, replayID}, status: 409},
		{server: "open", method: "DELETE", target: p + "/new_stack", headers: crid(), status: 403},
		{server: "open", method: "DELETE", target: "/api/products/shop", status: 204},
		{server: "open", method: "DELETE", target: "/api/products/shop", status: 404},
		{server: "open", method: "DELETE", target: p + "/new_stack/services/web", headers: crid(), status: 204},
		{server: "open", method: "DELETE", target: p + "/new_stack/services/web", headers: crid(), status: 404},
		{server: "open", method: "DELETE", target: p + "/new_stack/services/9lives", headers: crid(), status: 404, refused: true},
		{server: "open", method: "DELETE", target: p + "/new_stack?stack_id=" + wrongID, headers: crid(), status: 400},
		{server: "open", method: "DELETE", target: p + "/new_stack", headers: crid(), status: 204},
		{server: "open", method: "DELETE", target: p + "/new_stack", headers: crid(), status: 404},

		// Tokens, with --auth-reads.
		{server: "auth", method: "GET", target: "/api/products", status: 401},
		{server: "auth", method: "GET", target: "/api/products", headers: token(unknownSecret), status: 401},
		{server: "auth", method: "GET", target: "/api/products", headers: token(readerSecret), status: 200},
		{server: "auth", method: "GET", target: "/api/products/names", headers: []string{HeaderAuthorization, "Bearer " + team1ReaderSecret}, status: 200},
		{server: "auth", method: "GET", target: "/api/products/shop2", headers: token(team1ReaderSecret), status: 403},
		{server: "auth", method: "GET", target: "/api/products/shop1/badge.svg", status: 401},
		{server: "auth", method: "GET", target: "/api/products/shop2/badge.svg", headers: token(team1ReaderSecret), status: 403},
		{server: "auth", method: "GET", target: "/v1/team1/stacks", headers: crid(), status: 401},
		{server: "auth", method: "GET", target: "/v1/team2/stacks", headers: with(token(team1ReaderSecret)...), status: 403},
		{server: "auth", method: "GET", target: "/v1/team1/stacks/web", headers: with(token(team1ReaderSecret)...), status: 200},
		{server: "auth", method: "GET", target: "/v1/team2/stacks/web", headers: with(token(team1ReaderSecret)...), status: 403},
		{server: "auth", method: "GET", target: "/v1/team2/stacks/web", headers: crid(), status: 401},
		{server: "auth", method: "GET", target: "/api/products/shop1", status: 401},
		{server: "auth", method: "GET", target: "/api/products/names", status: 401},
		{server: "auth", method: "GET", target: "/v1/team2/stacks/web/metadata", headers: with(token(team1ReaderSecret)...), status: 403},
		{server: "auth", method: "GET", target: "/v1/team2/stacks/web/events", headers: with(token(team1ReaderSecret)...), status: 403},
		{server: "auth", method: "GET", target: "/v1/team2/stacks/web/badge.svg", headers: token(team1ReaderSecret), status: 403},
		{server: "auth", method: "GET", target: "/v1/team1/stacks/web/badge.svg", status: 401},
		{server: "auth", method: "GET", target: "/metrics", status: 401},
		{server: "auth", method: "GET", target: "/metrics", headers: token(team1ReaderSecret), status: 403},
		{server: "auth", method: "GET", target: "/metrics", headers: token(readerSecret), status: 200},
		{server: "auth", method: "GET", target: "/events?topics=products", status: 401},
		{server: "auth", method: "GET", target: "/login", status: 200},
		{server: "auth", method: "POST", target: "/login", body: "token=" + url.QueryEscape(readerSecret), form: true, status: 303},
		{server: "auth", method: "POST", target: "/login", body: "token=wrong", form: true, status: 401},
		{server: "auth", method: "POST", target: "/v1/team1/stacks", body: newStack, headers: with(token(readerSecret)...), status: 403},
		{server: "auth", method: "POST", target: "/v1/team2/stacks", body: newStack, headers: with(token(team1WriterSecret)...), status: 403},
		{server: "auth", method: "POST", target: "/v1/team1/stacks", body: newStack, headers: crid(), status: 401},
		{server: "auth", method: "POST", target: "/v1/team1/stacks", body: newStack, headers: with(token(team1WriterSecret)...), status: 201},
		{server: "auth", method: "PATCH", target: "/v1/team2/stacks/web", body: `{"description":"x"}`, headers: with(token(team1WriterSecret)...), status: 403},
		{server: "auth", method: "PUT", target: "/v1/team2/stacks/web/services/nginx", body: service, headers: with(token(readerSecret)...), status: 403},
		{server: "auth", method: "DELETE", target: "/v1/team2/stacks/web/services/nginx", headers: crid(), status: 401},
		{server: "auth", method: "DELETE", target: "/v1/team1/stacks/new_stack", headers: with(token(readerSecret)...), status: 403},
		{server: "auth", method: "POST", target: "/api/products", body: `{"product_name":"shop3","stack_deps":[[{"stack_name":"web"}]],"project_id":"team2"}`, headers: token(team1WriterSecret), status: 403},
		{server: "auth", method: "PUT", target: "/api/products/shop2", body: `{"stack_deps":[[{"stack_name":"web"}]]}`, status: 401},
		{server: "auth", method: "DELETE", target: "/api/products/shop1", headers: token(readerSecret), status: 403},

		// The database gone.
		{server: "closed", method: "GET", target: "/healthz", status: 200},
		{server: "closed", method: "GET", target: "/readyz", status: 503},
		{server: "closed", method: "GET", target: "/api/products", status: 622},
		{server: "closed", method: "GET", target: "/api/products/names", status: 500},
		{server: "closed", method: "GET", target: "/api/products/kodo", status: 500},
		{server: "closed", method: "GET", target: "/api/products/kodo/badge.svg", status: 500},
		{server: "closed", method: "GET", target: p, headers: crid(), status: 500},
		{server: "closed", method: "GET", target: p + "/kodo", headers: crid(), status: 500},
		{server: "closed", method: "GET", target: p + "/kodo/metadata", headers: crid(), status: 500},
		{server: "closed", method: "GET", target: p + "/kodo/events", headers: crid(), status: 500},
		{server: "closed", method: "GET", target: p + "/kodo/badge.svg", status: 500},
		{server: "closed", method: "POST", target: p, body: newStack, headers: crid(), status: 500},
		{server: "closed", method: "PATCH", target: p + "/kodo", body: `{"description":"x"}`, headers: crid(), status: 500},
		{server: "closed", method: "DELETE", target: p + "/kodo", headers: crid(), status: 500},
		{server: "closed", method: "PUT", target: p + "/kodo/services/io", body: service, headers: crid(), status: 500},
		{server: "closed", method: "DELETE", target: p + "/kodo/services/io", headers: crid(), status: 500},
		{server: "closed", method: "POST", target: "/api/products", body: product, status: 500},
		{server: "closed", method: "PUT", target: "/api/products/kodo", body: `{"stack_deps":[[{"stack_name":"kodo"}]]}`, status: 500},
		{server: "closed", method: "DELETE", target: "/api/products/kodo", status: 500},

		// The write budget spent.
		{server: "limited", method: "POST", target: p, body: newStack, headers: crid(), status: 201},
		{server: "limited", method: "PATCH", target: p + "/new_stack", body: `{"description":"x"}`, headers: crid(), status: 429},
		{server: "limited", method: "POST", target: "/api/products", body: product, status: 429},
	}

	exercised := map[string]map[int]bool{}
	for i, tc := range cases {
		name := fmt.Sprintf("%d %s %s %s", i, tc.server, tc.method, clipText(tc.target, 80))
		res, req := sendCase(t, servers[tc.server].URL, tc)
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d\n%s", name, res.StatusCode, tc.status, clipText(string(res.body), 300))
			continue
		}
		if tc.unrouted != "" {
			schema := api.model.Components.Schemas.GetOrZero(tc.unrouted).Schema()
			if ok, errs := schema_validation.NewSchemaValidator().ValidateSchemaBytes(schema, res.body); !ok {
				t.Errorf("%s: the %d is not a %s:%s\n%s", name, res.StatusCode, tc.unrouted, describe(errs), res.body)
			}
			continue
		}
		ok, errs := api.validator.ValidateHttpResponse(req, res.Response)
		if !ok {
			t.Errorf("%s: the answer is not as documented:%s\nheaders %v\n%s", name, describe(errs), res.Header, clipText(string(res.body), 500))
		}
		if valid, reqErrs := api.validator.ValidateHttpRequestSync(freshRequest(req, tc)); valid == tc.refused {
			if tc.refused {
				t.Errorf("%s: the server refuses this request with %d but the document allows it", name, res.StatusCode)
			} else {
				t.Errorf("%s: the document refuses a request the server takes:%s", name, describe(reqErrs))
			}
		}
		op := operationOf(api, tc.method, req.URL.Path)
		if exercised[op] == nil {
			exercised[op] = map[int]bool{}
		}
		exercised[op][res.StatusCode] = true

		// A read with an ETag answers 304 to it while the data stays the same, as documented.
		if etag := res.Header.Get(HeaderETag); tc.method == http.MethodGet && res.StatusCode == http.StatusOK && etag != "" {
			again := tc
			again.headers = append(slices.Clone(tc.headers), HeaderIfNoneMatch, etag)
			res, req := sendCase(t, servers[tc.server].URL, again)
			if res.StatusCode != http.StatusNotModified {
				t.Errorf("%s with its ETag: %d, want 304", name, res.StatusCode)
				continue
			}
			if ok, errs := api.validator.ValidateHttpResponse(req, res.Response); !ok {
				t.Errorf("%s 304: the answer is not as documented:%s", name, describe(errs))
			}
			exercised[op][res.StatusCode] = true
		}
	}

	// Every documented operation was exercised with a success and a refusal; every documented status of it that
	// was never seen is named, so that the cases above can grow with the document.
	for op := range api.documented() {
		seen := exercised[op]
		success, refusal := false, false
		for status := range seen {
			success = success || status < 400
			refusal = refusal || status >= 400
		}
		if !success || !refusal {
			t.Errorf("%s: no case got a success and a refusal from it (statuses seen: %v)", op, seen)
		}
		responses := api.operation(op).Responses
		for code := range responses.Codes.KeysFromOldest() {
			status, _ := strconv.Atoi(code)
			if !seen[status] {
				t.Logf("%s: documented %s not exercised", op, code)
			}
			delete(seen, status)
		}
		if responses.Default != nil && len(seen) == 0 {
			t.Logf("%s: documented default not exercised", op)
		}
	}
}

// answer is a response with its whole body read, so that the validator and the test can both read it.
type answer struct {
	*http.Response
	body []byte
}

// sendCase sends the case's request over a real connection to the server at base.
func sendCase(t *testing.T, base string, tc apiCase) (answer, *http.Request) {
	t.Helper()
	ctx := context.Background()
	if tc.stream {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
	}
	var body io.Reader
	if tc.body != "" {
		body = strings.NewReader(tc.body)
	}
	req, err := http.NewRequestWithContext(ctx, tc.method, base+tc.target, body)
	if err != nil {
		t.Fatal(err)
	}
	if tc.body != "" {
		req.Header.Set(HeaderContentType, contentTypeJSON)
		if tc.form {
			req.Header.Set(HeaderContentType, "application/x-www-form-urlencoded")
		}
	}
	for i := 0; i+1 < len(tc.headers); i += 2 {
		req.Header.Set(tc.headers[i], tc.headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", tc.method, tc.target, err)
	}
	defer res.Body.Close()
	read, err := io.ReadAll(res.Body)
	if err != nil && !(tc.stream && errors.Is(err, context.DeadlineExceeded)) {
		t.Fatalf("%s %s: reading the body: %v", tc.method, tc.target, err)
	}
	res.Body = io.NopCloser(bytes.NewReader(read))
	return answer{Response: res, body: read}, freshRequest(req, tc)
}

// freshRequest is the case's request again, with its body unread, for the validator to read.
func freshRequest(req *http.Request, tc apiCase) *http.Request {
	again := req.Clone(context.Background())
	again.Body = io.NopCloser(strings.NewReader(tc.body))
	return again
}

// operationOf names the documented operation a request reached, as documented() names them.
func operationOf(api openAPI, method, path string) string {
	best, fewest := method+" "+path, -1
	for op := range api.documented() {
		m, template, _ := strings.Cut(op, " ")
		// Literal segments win over variables: /api/products/names is not a product.
		if variables := strings.Count(template, "{"); m == method && templateMatches(template, path) && (fewest < 0 || variables < fewest) {
			best, fewest = op, variables
		}
	}
	return best
}

// templateMatches reports whether a path fits a path template, literal segments winning over variables.
func templateMatches(template, path string) bool {
	t, p := strings.Split(template, "/"), strings.Split(path, "/")
	if len(t) != len(p) {
		return false
	}
	for i := range t {
		if t[i] != p[i] && !strings.HasPrefix(t[i], "{") {
			return false
		}
	}
	return true
}

// operation returns the documented operation named as documented() names it.
func (api openAPI) operation(op string) *v3.Operation {
	method, path, _ := strings.Cut(op, " ")
	item := api.model.Paths.PathItems.GetOrZero(path)
	return item.GetOperations().GetOrZero(strings.ToLower(method))
}

// The validation above can fail: answers that differ from the document in a field's name, an error code's length,
// a required header, the status or the content type are each refused.
func TestOpenAPIValidationCatchesDrift(t *testing.T) {
	api := loadOpenAPI(t)
	s := newTestServer(openTestDB(t, "spec/list-stacks.yaml"))
	target := "/v1/" + rfsProject + "/stacks"
	good := get(t, s, target, HeaderClientRequestID, clientRequestID)
	refused := get(t, s, target)
	if good.Code != http.StatusOK || refused.Code != http.StatusBadRequest {
		t.Fatalf("GET %s: %d and %d", target, good.Code, refused.Code)
	}
	for _, tt := range []struct {
		name   string
		from   *httptest.ResponseRecorder
		change func(res *http.Response, body string) string
	}{
		{"as served", good, nil},
		{"a renamed field", good, func(_ *http.Response, body string) string {
			return strings.Replace(body, `"stack_name"`, `"name"`, 1)
		}},
		{"an extra field", good, func(_ *http.Response, body string) string {
			return strings.Replace(body, `"stack_name"`, `"project_id":"p","stack_name"`, 1)
		}},
		{"a time that is not RFC 3339 to the second", good, func(_ *http.Response, body string) string {
			return strings.Replace(body, `07:34:22Z`, `07:34:22.5Z`, 1)
		}},
		{"a 10-character error_code", refused, func(_ *http.Response, body string) string {
			return strings.Replace(body, `"RF.10011001"`, `"RF.1001100"`, 1)
		}},
		{"a spock error on /v1", refused, func(_ *http.Response, body string) string {
			return `{"message":"Bad Request","code":"400"}`
		}},
		{"no X-Request-Id", good, func(res *http.Response, body string) string {
			res.Header.Del(HeaderRequestID)
			return body
		}},
		{"an undocumented status", good, func(res *http.Response, body string) string {
			res.StatusCode = http.StatusTeapot
			return body
		}},
		{"HTML", good, func(res *http.Response, body string) string {
			res.Header.Set(HeaderContentType, contentTypeHTML)
			return "<p>stacks</p>"
		}},
	} {
		res := tt.from.Result()
		body := tt.from.Body.String()
		if tt.change != nil {
			body = tt.change(res, body)
		}
		res.Body = io.NopCloser(strings.NewReader(body))
		req := httptest.NewRequest(http.MethodGet, target, nil)
		ok, errs := api.validator.ValidateHttpResponse(req, res)
		if want := tt.change == nil; ok != want {
			t.Errorf("%s: valid %v, want %v:%s", tt.name, ok, want, describe(errs))
		}
	}
}
