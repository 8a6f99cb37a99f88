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
	"testing"
	"time"

	"gorm.io/gorm"

	"stackboard/models/fleet"
)

// fragmentWrites are the kinds of write the product list's fragments must follow.
var fragmentWrites = []string{
	"stack patch", "service put", "service delete", "product replace", "product create", "product delete",
	"stack delete", "import by another pool",
}

// After random writes of every kind, through this server or another connection pool, the product list assembled
// from fragments is byte for byte the list rendered whole, and its gzip form unpacks to exactly that.
func TestProductListFromFragmentsIsAWholeRender(t *testing.T) {
	sizes := []struct {
		name   string
		writes int
	}{{"S", 60}, {"M", 40}}
	if os.Getenv("STACKBOARD_BENCH") != "" {
		sizes = append(sizes, struct {
			name   string
			writes int
		}{"L", 24})
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
			compareLists(t, server, whole, "before any write", false)
			for i := range size.writes {
				kind := fragmentWrites[i%len(fragmentWrites)]
				if fragmentWrite(t, server, served, writer, rng, kind) {
					done[kind]++
				}
				compareLists(t, server, whole, fmt.Sprintf("after write %d (%s)", i, kind), kind == "import by another pool")
			}
			for _, kind := range fragmentWrites {
				if done[kind] == 0 {
					t.Errorf("no %s succeeded: the test did not exercise it", kind)
				}
			}
		})
	}
}

// compareLists checks the server's list (plain and gzip) against a whole render; eventually allows the watcher its
// interval to see another process's write.
func compareLists(t *testing.T, server, whole http.Handler, when string, eventually bool) {
	t.Helper()
	want := get(t, whole, "/api/products").Body.Bytes()
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := get(t, server, "/api/products")
		if got.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", when, got.Code, got.Body)
		}
		if bytes.Equal(got.Body.Bytes(), want) {
			break
		}
		if !eventually || time.Now().After(deadline) {
			t.Fatalf("%s: the list from fragments differs from a whole render (%d bytes, want %d) at byte %d",
				when, got.Body.Len(), len(want), firstDifference(got.Body.Bytes(), want))
		}
		time.Sleep(25 * time.Millisecond)
	}
	zipped := get(t, server, "/api/products", HeaderAcceptEncoding, "gzip")
	if zipped.Header().Get(HeaderContentEncoding) != "gzip" {
		t.Fatalf("%s: Content-Encoding %q, want gzip", when, zipped.Header().Get(HeaderContentEncoding))
	}
	reader, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	unpacked, err := io.ReadAll(reader)
	if err != nil {
		t.Fatalf("%s: the gzip body does not unpack: %v", when, err)
	}
	if !bytes.Equal(unpacked, want) {
		t.Fatalf("%s: the gzip body unpacks to %d bytes that differ from the plain body (%d bytes) at byte %d",
			when, len(unpacked), len(want), firstDifference(unpacked, want))
	}
}

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
