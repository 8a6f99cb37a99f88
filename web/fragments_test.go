package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"stackboard/models/fleet"
	"stackboard/models/testdb"
)

// fragmentWrites are the kinds of write the product list's fragments must follow.
var fragmentWrites = []string{
	"stack patch", "service put", "service delete", "product replace", "product create", "product delete",
	"stack delete", "import by another pool", "stack create",
}

// After random writes of every kind, through this server or another connection pool, the product list, the
// overview and every project's stack list assembled from fragments are byte for byte the ones rendered whole, and
// their gzip forms unpack to exactly those.
func TestProductListFromFragmentsIsAWholeRender(t *testing.T) {
	sizes := []struct {
		name   string
		writes int
	}{{"S", 36}, {"M", 18}}
	if os.Getenv("STACKBOARD_BENCH") != "" {
		sizes = append(sizes, struct {
			name   string
			writes int
		}{"L", 18})
	}
	for _, size := range sizes {
		t.Run(size.name, func(t *testing.T) {
			if testing.Short() && size.name != "S" {
				t.Skip("a big fleet")
			}
			served, writer := openTwoPools(t)
			fleetSize, err := fleet.ParseSize(size.name)
			if err != nil {
				t.Fatal(err)
			}
			made, err := fleet.Generate(fleetSize, 7, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fleet.Fill(context.Background(), writer, made); err != nil {
				t.Fatal(err)
			}
			server := newTestServer(served)
			whole := NewServer(served, slog.New(slog.DiscardHandler), Options{CacheBytes: -1, WholeRenders: true})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go server.Run(ctx)

			rng := rand.New(rand.NewPCG(uint64(len(size.name)), 14))
			done := make(map[string]int)
			compareLists(t, server, whole, served, "before any write", false)
			for i := range size.writes {
				kind := fragmentWrites[i%len(fragmentWrites)]
				if fragmentWrite(t, server, served, writer, rng, kind) {
					done[kind]++
				}
				compareLists(t, server, whole, served, fmt.Sprintf("after write %d (%s)", i, kind), kind == "import by another pool")
			}
			for _, kind := range fragmentWrites {
				if done[kind] == 0 {
					t.Errorf("no %s succeeded: the test did not exercise it", kind)
				}
			}
		})
	}
}

// A project's stack list is kept whole until a change names one of its stacks: after a status report in another
// project its next read runs the change feed's statement alone and answers the same bytes; after one of its own it
// shows the change, reading that stack alone.
func TestAStackListOutlivesChangesElsewhere(t *testing.T) {
	db := twoProjects(t, 2)
	var stacks []struct{ Project, Name string }
	if err := db.Raw(`SELECT project_id AS project, name FROM stacks ORDER BY project_id, pk`).Scan(&stacks).Error; err != nil {
		t.Fatal(err)
	}
	here, elsewhere := stacks[0], stacks[len(stacks)-1]
	if here.Project == elsewhere.Project {
		t.Fatalf("the fleet has one project: %v", stacks)
	}
	counted, counter := testdb.CountStatements(db)
	server := newTestServer(counted)
	list := "/v1/" + here.Project + "/stacks"
	report := func(s struct{ Project, Name string }, description string) {
		t.Helper()
		rec := call(t, server, http.MethodPatch, "/v1/"+s.Project+"/stacks/"+s.Name, `{"description":"`+description+`"}`)
		if rec.Code/100 != 2 {
			t.Fatalf("PATCH %s: %d %s", s.Name, rec.Code, rec.Body)
		}
	}
	for _, zipped := range []bool{false, true} {
		headers := []string{HeaderClientRequestID, clientRequestID}
		if zipped {
			headers = append(headers, HeaderAcceptEncoding, "gzip")
		}
		before := get(t, server, list, headers...).Body.String()
		report(elsewhere, fmt.Sprintf("elsewhere %v", zipped))
		counter.Reset()
		after := get(t, server, list, headers...)
		if after.Body.String() != before {
			t.Errorf("gzip %v: a change in another project changed the list", zipped)
		}
		if n := counter.Count(); n != 1 {
			t.Errorf("gzip %v: the read after a change elsewhere ran %d statements, want 1 (the change feed): %q", zipped, n, counter.Statements())
		}
		report(here, fmt.Sprintf("here %v", zipped))
		counter.Reset()
		changed := get(t, server, list, HeaderClientRequestID, clientRequestID).Body.String()
		if !strings.Contains(changed, fmt.Sprintf(`"description":"here %v"`, zipped)) {
			t.Errorf("gzip %v: the list after a change of its own stack does not show it: %.300s", zipped, changed)
		}
		// A status report moves no stack in the list: the read takes the feed and that stack, not the list's keys.
		if n := counter.Count(); n != 2 {
			t.Errorf("gzip %v: the read after a change of its own stack ran %d statements, want 2: %q", zipped, n, counter.Statements())
		}
	}
}

// twoProjects is a test database filled with a generated fleet: 20 stacks in two projects, 80 services, and
// products of them.
func twoProjects(t *testing.T, products int) *gorm.DB {
	t.Helper()
	db := openTestDB(t)
	made, err := fleet.Generate(fleet.Size{Name: "two projects", Projects: 2, Stacks: 20, Services: 80, Products: products, Events: 400}, 3, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fleet.Fill(context.Background(), db, made); err != nil {
		t.Fatal(err)
	}
	return db
}

// fragmentReads are the answers kept fragments assemble, each with the headers that ask for it; projects adds a
// stack list per project.
func fragmentReads(t *testing.T, db *gorm.DB) [][]string {
	t.Helper()
	reads := [][]string{
		{"/api/products"},
		{"/api/products", HeaderAcceptEncoding, "gzip"},
		{"/api/products", HeaderAccept, "text/html"},
		{"/api/products", HeaderHXRequest, "true"},
	}
	var projects []string
	if err := db.Raw(`SELECT id FROM projects ORDER BY id`).Scan(&projects).Error; err != nil {
		t.Fatal(err)
	}
	projects = append(projects, "no-such-project")
	const id = "0e6f3a38-6a35-4bd5-9a0b-6c1d2e3f4a5b"
	for i, p := range projects {
		reads = append(reads, []string{"/v1/" + p + "/stacks", HeaderClientRequestID, id}, []string{"/v1/" + p + "/stacks", HeaderAccept, "text/html"})
		if i == 0 {
			// The rows htmx loads after the first page, at every place the page may end (past the end too).
			for _, more := range []string{"?sort=severity", "?sort=severity&limit=3", "?sort=severity&marker=p3&limit=3", "?sort=severity&marker=p7&limit=4", "?sort=severity&marker=p9999&limit=3"} {
				reads = append(reads, []string{"/v1/" + p + "/stacks" + more, HeaderHXRequest, "true"})
			}
			reads = append(reads, []string{"/v1/" + p + "/stacks", HeaderHXRequest, "true"})
			reads = append(reads, []string{"/v1/" + p + "/stacks?format=json", HeaderClientRequestID, id, HeaderAcceptEncoding, "gzip"})
			// Pages whose header counts the fleet from the fragments' mirror, read first after a write so that
			// nothing else brought the mirror up to date.
			reads = append([][]string{{"/v1/" + p + "/stacks", HeaderAccept, "text/html"}, {"/images", HeaderAccept, "text/html"}}, reads...)
		}
	}
	return reads
}

// compareLists checks the server's lists, overview and stack lists (plain and gzip) against whole renders;
// eventually allows the watcher its interval to see another process's write.
func compareLists(t *testing.T, server, whole http.Handler, db *gorm.DB, when string, eventually bool) {
	t.Helper()
	for _, read := range fragmentReads(t, db) {
		target, headers := read[0], read[1:]
		zipped := slices.Contains(headers, HeaderAcceptEncoding)
		plain := headers
		if zipped {
			plain = headers[:len(headers)-2]
		}
		want := get(t, whole, target, plain...)
		if want.Code != http.StatusOK {
			t.Fatalf("%s: whole render of %s %v: status %d: %s", when, target, headers, want.Code, want.Body)
		}
		deadline := time.Now().Add(3 * time.Second)
		for {
			got := get(t, server, target, headers...)
			if got.Code != http.StatusOK {
				t.Fatalf("%s: %s %v: status %d: %s", when, target, headers, got.Code, got.Body)
			}
			body := got.Body.Bytes()
			if zipped && want.Body.Len() >= minGzipBytes {
				if got.Header().Get(HeaderContentEncoding) != "gzip" {
					t.Fatalf("%s: %s: Content-Encoding %q, want gzip", when, target, got.Header().Get(HeaderContentEncoding))
				}
				reader, err := gzip.NewReader(got.Body)
				if err != nil {
					t.Fatalf("%s: %s: %v", when, target, err)
				}
				if body, err = io.ReadAll(reader); err != nil {
					t.Fatalf("%s: %s: the gzip body does not unpack: %v", when, target, err)
				}
			}
			if bytes.Equal(withoutSince(body), withoutSince(want.Body.Bytes())) {
				break
			}
			if !eventually || time.Now().After(deadline) {
				t.Fatalf("%s: %s %v from fragments differs from a whole render (%d bytes, want %d) at byte %d",
					when, target, headers, len(body), want.Body.Len(), firstDifference(body, want.Body.Bytes()))
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
}

// sinceParameter is where a page's event stream resumes: the serving process's data version, not the list's.
var sinceParameter = regexp.MustCompile(`&amp;since=[0-9a-z.]*`)

// withoutSince leaves out of a page the version its event stream resumes from, which the reference server (not
// watching) has none of, and the ages it shows ("2 s" in a state), which depend on the second it was rendered in
// rather than on the data.
func withoutSince(body []byte) []byte {
	return renderedAge.ReplaceAll(sinceParameter.ReplaceAll(body, nil), []byte("${1}${2}"))
}

// renderedAge is the text of an age a page shows, between its element's data-since marker and the element's end.
var renderedAge = regexp.MustCompile(`(data-since>)[^<]*(</time>)`)

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// fragmentWrite makes one write of a kind on a random target and reports whether it succeeded.
func fragmentWrite(t *testing.T, server http.Handler, served, writer *gorm.DB, rng *rand.Rand, kind string) bool {
	t.Helper()
	type target struct {
		Project, Stack, Service, Product string
	}
	pick := func(query string) target {
		var rows []target
		if err := served.Raw(query).Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			return target{}
		}
		return rows[rng.IntN(len(rows))]
	}
	inProducts := `SELECT s.project_id AS project, s.name AS stack, p.name AS product,
		(SELECT name FROM services WHERE stack_pk = s.pk ORDER BY ordinal LIMIT 1) AS service
		FROM stacks s JOIN product_stacks ps ON ps.stack_pk = s.pk JOIN products p ON p.pk = ps.product_pk`
	stackURL := func(tg target) string { return "/v1/" + tg.Project + "/stacks/" + tg.Stack }
	ok := func(rec interface{ Result() *http.Response }) bool {
		return rec.Result().StatusCode/100 == 2
	}
	statuses := []string{"RUNNING", "FAULT", "NOT-RUNNING", "PARTIALLY-RUNNING"}
	switch kind {
	case "stack patch":
		tg := pick(inProducts)
		body := fmt.Sprintf(`{"description":"patched %d","status":"DEPLOYMENT_COMPLETE"}`, rng.IntN(1000))
		return ok(call(t, server, http.MethodPatch, stackURL(tg), body))
	case "service put":
		tg := pick(inProducts)
		name := tg.Service
		if name == "" || rng.IntN(3) == 0 {
			name = fmt.Sprintf("added-%d", rng.IntN(1000))
		}
		body := fmt.Sprintf(`{"state":"DEPLOYED","status":%q,"domains":["a%d.example.com"],"image":{"name":"img/%s","tag":"v%d"}}`,
			statuses[rng.IntN(len(statuses))], rng.IntN(100), name, rng.IntN(100))
		return ok(call(t, server, http.MethodPut, stackURL(tg)+"/services/"+name, body))
	case "service delete":
		tg := pick(inProducts + ` WHERE EXISTS (SELECT 1 FROM services WHERE stack_pk = s.pk)`)
		return ok(call(t, server, http.MethodDelete, stackURL(tg)+"/services/"+tg.Service, ""))
	case "product replace", "product create":
		tg := pick(inProducts)
		var stacks []string
		if err := served.Raw(`SELECT name FROM stacks WHERE project_id = ? ORDER BY pk`, tg.Project).Scan(&stacks).Error; err != nil {
			t.Fatal(err)
		}
		rng.Shuffle(len(stacks), func(i, j int) { stacks[i], stacks[j] = stacks[j], stacks[i] })
		stacks = stacks[:min(len(stacks), 1+rng.IntN(4))]
		body := `{"project_id":"` + tg.Project + `","stack_deps":[`
		for i, s := range stacks {
			if i > 0 {
				body += ","
			}
			body += `[{"stack_name":"` + s + `"}]`
		}
		body += "]"
		if kind == "product create" {
			name := fmt.Sprintf("made-%d", rng.IntN(1_000_000))
			return ok(call(t, server, http.MethodPost, "/api/products", `{"product_name":"`+name+`",`+body[1:]+"}"))
		}
		return ok(call(t, server, http.MethodPut, "/api/products/"+tg.Product, body+"}"))
	case "product delete":
		tg := pick(inProducts)
		return ok(call(t, server, http.MethodDelete, "/api/products/"+tg.Product, ""))
	case "stack delete":
		// Only a stack in no product may go; taking one out of its products first is a product replace.
		tg := pick(`SELECT project_id AS project, name AS stack FROM stacks
			WHERE pk NOT IN (SELECT stack_pk FROM product_stacks) AND status NOT LIKE '%_IN_PROGRESS'
			AND NOT enable_deletion_protection`)
		if tg.Stack == "" {
			return false
		}
		return ok(call(t, server, http.MethodDelete, stackURL(tg), ""))
	case "stack create":
		tg := pick(inProducts)
		body := fmt.Sprintf(`{"stack_name":"made-%d","description":"new"}`, rng.IntN(1_000_000))
		return ok(call(t, server, http.MethodPost, "/v1/"+tg.Project+"/stacks", body))
	case "import by another pool":
		tg := pick(inProducts)
		importYAML(t, writer, fmt.Sprintf(`projects:
  - id: %s
    stacks:
      - name: %s
        services:
          - {name: imported, state: STOPPED, status: %s, domains: [], image: {name: img/imported, tag: v%d}}
`, tg.Project, tg.Stack, statuses[rng.IntN(len(statuses))], rng.IntN(1000)))
		return true
	}
	t.Fatalf("unknown write %q", kind)
	return false
}

// A status report moves no product in the product list: the next read takes the change feed and the products
// holding the stack, not every product's key again; a new product does move the list, and the read after it
// shows it in its place.
func TestAStatusReportMovesNoProduct(t *testing.T) {
	db := twoProjects(t, 6)
	var held struct{ Project, Name string }
	if err := db.Raw(`SELECT s.project_id AS project, s.name FROM stacks s JOIN product_stacks ps ON ps.stack_pk = s.pk ORDER BY s.pk LIMIT 1`).Scan(&held).Error; err != nil {
		t.Fatal(err)
	}
	counted, counter := testdb.CountStatements(db)
	server := newTestServer(counted)
	whole := NewServer(db, slog.New(slog.DiscardHandler), Options{CacheBytes: -1, WholeRenders: true})
	get(t, server, "/api/products")
	rec := call(t, server, http.MethodPatch, "/v1/"+held.Project+"/stacks/"+held.Name, `{"description":"reported"}`)
	if rec.Code/100 != 2 {
		t.Fatalf("PATCH %s: %d %s", held.Name, rec.Code, rec.Body)
	}
	counter.Reset()
	got := get(t, server, "/api/products").Body.String()
	for _, statement := range counter.Statements() {
		if strings.Contains(statement, "SELECT pk, name, project_id FROM") {
			t.Errorf("the read after a status report listed every product's key again: %s", statement)
		}
	}
	if want := get(t, whole, "/api/products").Body.String(); got != want {
		t.Errorf("after a status report the list from fragments differs from a whole render at byte %d", firstDifference([]byte(got), []byte(want)))
	}
	rec = call(t, server, http.MethodPost, "/api/products", `{"product_name":"brand-new","project_id":"`+held.Project+`","stack_deps":[[{"stack_name":"`+held.Name+`"}]]}`)
	if rec.Code/100 != 2 {
		t.Fatalf("PUT a product: %d %s", rec.Code, rec.Body)
	}
	got = get(t, server, "/api/products").Body.String()
	if !strings.Contains(got, `"product_name":"brand-new"`) {
		t.Errorf("the list after a new product does not show it: %.300s", got)
	}
	if want := get(t, whole, "/api/products").Body.String(); got != want {
		t.Errorf("after a new product the list from fragments differs from a whole render at byte %d", firstDifference([]byte(got), []byte(want)))
	}
}
