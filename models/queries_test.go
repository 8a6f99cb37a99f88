package models

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/gorm"

	"stackboard/models/testdb"
)

// specJSON reads an example of the API documents (copied verbatim into testdata) and compacts it.
func specJSON(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "models", name))
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return compact.Bytes()
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	encoded, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return encoded
}

func listProducts(t *testing.T, db *gorm.DB) []ProductStatus {
	t.Helper()
	products, err := ListProducts(context.Background(), db)
	if err != nil {
		t.Fatalf("ListProducts: %v", err)
	}
	return products
}

func listStacks(t *testing.T, db *gorm.DB, projectID string) StackList {
	t.Helper()
	list, err := ListStacks(context.Background(), db, projectID)
	if err != nil {
		t.Fatalf("ListStacks(%s): %v", projectID, err)
	}
	return list
}

func TestListProductsStartsWithTheSpecExample(t *testing.T) {
	db := openTestDB(t)
	loadDemo(t, db)
	products := listProducts(t, db)
	if len(products) < 2 {
		t.Fatalf("the demo lists %d products, want at least 2", len(products))
	}
	got, want := mustJSON(t, products[:2]), specJSON(t, "list-products.json")
	if !bytes.Equal(got, want) {
		t.Errorf("first two products:\n got %s\nwant %s", got, want)
	}
}

func TestListProductsGoldenFromAManifest(t *testing.T) {
	// The spec's example written as a manifest, in a database of its own.
	db := openTestDB(t)
	mustImport(t, db, `
projects:
  - id: ba2b9930c977f71edaeaa3a5e96a8ff1
    stacks:
      - name: memcached
        services:
          - {name: memcached, state: DEPLOYED, status: RUNNING, domains: [], image: {name: spocktest/memcached, tag: latest}}
      - name: kodo
        services:
          - {name: io, state: DEPLOYED, status: RUNNING, domains: [fulichao.io.kodo.spocktest.qiniu.io], image: {name: spocktest/io, tag: test}}
products:
  - {name: memcached, layers: [[memcached]]}
  - {name: kodo, layers: [[memcached], [kodo]]}
`)
	if got, want := mustJSON(t, listProducts(t, db)), specJSON(t, "list-products.json"); !bytes.Equal(got, want) {
		t.Errorf("products:\n got %s\nwant %s", got, want)
	}
}

func TestListProductsIsStable(t *testing.T) {
	db := openTestDB(t)
	loadDemo(t, db)
	unstable := 0
	for _, p := range listProducts(t, db) {
		allRunning := true
		for _, layer := range p.StackDeps {
			for _, s := range layer {
				allRunning = allRunning && s.Status == RunRunning
			}
		}
		if p.IsStable != allRunning {
			t.Errorf("product %s: is_stable = %v, but every stack running = %v", p.ProductName, p.IsStable, allRunning)
		}
		if !p.IsStable {
			unstable++
			if encoded := mustJSON(t, p); !bytes.HasSuffix(encoded, []byte(`,"is_stable":false}`)) {
				t.Errorf("product %s: JSON ends %s, want is_stable false", p.ProductName, encoded[max(0, len(encoded)-40):])
			}
		}
	}
	if unstable == 0 {
		t.Error("the demo has no unstable product")
	}
}

func TestListProductsRollsUpServices(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, `
projects:
  - id: shop
    stacks:
      - name: web
        metadata: {b: 1, a: [x, true]}
        services:
          - {name: nginx, state: DEPLOYED, status: RUNNING, domains: [shop.example.com], image: {name: nginx, tag: "1.25"}}
          - {name: php, state: AUTO-UPDATING, status: NOT-RUNNING, image: {name: php}}
      - name: db
        services:
          - {name: postgres, state: DEPLOYED, status: RUNNING, image: {name: postgres, tag: "15"}}
      - name: empty
products:
  - {name: storefront, layers: [[web, db]]}
  - {name: healthy, layers: [[db]]}
  - {name: hollow, layers: [[db], [empty]]}
`)
	want := `[` +
		`{"product_name":"storefront","stack_deps":[[` +
		`{"stack_name":"web","services":[` +
		`{"service_name":"nginx","state":"DEPLOYED","status":"RUNNING","domains":["shop.example.com"],"image":{"name":"nginx","tag":"1.25"}},` +
		`{"service_name":"php","state":"AUTO-UPDATING","status":"NOT-RUNNING","domains":[],"image":{"name":"php","tag":"latest"}}],` +
		`"metadata":{"b":1,"a":["x",true]},"is_deployed":false,"status":"PARTIALLY-RUNNING"},` +
		`{"stack_name":"db","services":[` +
		`{"service_name":"postgres","state":"DEPLOYED","status":"RUNNING","domains":[],"image":{"name":"postgres","tag":"15"}}],` +
		`"metadata":null,"is_deployed":true,"status":"RUNNING"}]],"is_stable":false},` +
		`{"product_name":"healthy","stack_deps":[[` +
		`{"stack_name":"db","services":[` +
		`{"service_name":"postgres","state":"DEPLOYED","status":"RUNNING","domains":[],"image":{"name":"postgres","tag":"15"}}],` +
		`"metadata":null,"is_deployed":true,"status":"RUNNING"}]],"is_stable":true},` +
		`{"product_name":"hollow","stack_deps":[[` +
		`{"stack_name":"db","services":[` +
		`{"service_name":"postgres","state":"DEPLOYED","status":"RUNNING","domains":[],"image":{"name":"postgres","tag":"15"}}],` +
		`"metadata":null,"is_deployed":true,"status":"RUNNING"}],[` +
		`{"stack_name":"empty","services":[],"metadata":null,"is_deployed":false,"status":"NOT-RUNNING"}]],"is_stable":false}` +
		`]`
	if got := string(mustJSON(t, listProducts(t, db))); got != want {
		t.Errorf("products:\n got %s\nwant %s", got, want)
	}
	products := listProducts(t, db)
	if products[0].ProjectID != "shop" || products[0].StackDeps[0][0].Lifecycle != LifecycleCreationComplete {
		t.Errorf("page-only fields: project %q, lifecycle %q", products[0].ProjectID, products[0].StackDeps[0][0].Lifecycle)
	}
}

func TestListProductsOfAnEmptyDatabase(t *testing.T) {
	db := openTestDB(t)
	products := listProducts(t, db)
	if products == nil {
		t.Error("ListProducts returned a nil slice, want an empty one")
	}
	if got := string(mustJSON(t, products)); got != "[]" {
		t.Errorf("JSON = %s, want []", got)
	}
	// Stacks without products are not products.
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web}]}]")
	if got := string(mustJSON(t, listProducts(t, db))); got != "[]" {
		t.Errorf("JSON with stacks but no products = %s, want []", got)
	}
}

func TestListProductsOnAClosedDatabase(t *testing.T) {
	db, err := Open(context.Background(), testdb.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := Close(db); err != nil {
		t.Fatal(err)
	}
	if _, err := ListProducts(context.Background(), db); err == nil || !strings.HasPrefix(err.Error(), "list products") {
		t.Errorf("ListProducts on a closed database = %v, want a list products error", err)
	}
	if _, err := ListStacks(context.Background(), db, "shop"); err == nil || !strings.Contains(err.Error(), `list stacks of project "shop"`) {
		t.Errorf("ListStacks on a closed database = %v, want a list stacks error", err)
	}
}

func TestListStacksGolden(t *testing.T) {
	// The spec's example written as a manifest, in the order the stacks were created.
	db := openTestDB(t)
	mustImport(t, db, `
projects:
  - id: ba2b9930c977f71edaeaa3a5e96a8ff1
    stacks:
      - name: my_first_stack
        id: e830c288-ee34-48c0-ba6b-a0e6f6b48d3e
        description: my second stack
        create_time: 2023-05-17T07:34:06Z
        update_time: 2023-05-17T07:34:28Z
      - name: my_second_stack
        id: 4d4f4ece-b291-4c71-8083-bec9b8a44de0
        description: my second stack
        status: DEPLOYMENT_COMPLETE
        create_time: 2023-05-17T07:34:22Z
        update_time: 2023-05-17T07:34:44Z
`)
	got := mustJSON(t, listStacks(t, db, "ba2b9930c977f71edaeaa3a5e96a8ff1"))
	if want := specJSON(t, "list-stacks.json"); !bytes.Equal(got, want) {
		t.Errorf("stacks:\n got %s\nwant %s", got, want)
	}
}

func TestListStacksDemoHoldsTheSpecExample(t *testing.T) {
	db := openTestDB(t)
	loadDemo(t, db)
	list := listStacks(t, db, "ba2b9930c977f71edaeaa3a5e96a8ff1")
	var example struct {
		Stacks []json.RawMessage `json:"stacks"`
	}
	if err := json.Unmarshal(specJSON(t, "list-stacks.json"), &example); err != nil {
		t.Fatal(err)
	}
	// The two example stacks appear next to each other, in the example's order, exactly as the example shows them.
	for i, s := range list.Stacks {
		if s.StackName != "my_second_stack" {
			continue
		}
		if i+1 >= len(list.Stacks) {
			t.Fatal("my_second_stack is the last stack; my_first_stack should follow it")
		}
		for j, raw := range example.Stacks {
			if got := mustJSON(t, list.Stacks[i+j]); !bytes.Equal(got, raw) {
				t.Errorf("stack %d:\n got %s\nwant %s", j, got, raw)
			}
		}
		return
	}
	t.Error("the demo has no my_second_stack in project ba2b9930c977f71edaeaa3a5e96a8ff1")
}

func TestListStacksNewestFirst(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, `
projects:
  - id: shop
    stacks:
      - {name: oldest, create_time: 2021-01-01T00:00:00Z}
      - {name: newest, create_time: 2024-01-01T00:00:00Z}
      - {name: x, create_time: 2023-05-17T07:34:22Z}
      - {name: y, create_time: 2023-05-17T07:34:22Z}
      - {name: same-time-in-another-zone, create_time: 2023-05-17T09:34:22+02:00}
      - {name: middle, create_time: 2022-06-01T12:00:00Z}
  - id: other
    stacks:
      - {name: elsewhere, create_time: 2025-01-01T00:00:00Z}
`)
	// A stack created later by another import, with the same create_time, also comes first among its equals.
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: z, create_time: 2023-05-17T07:34:22Z}]}]")

	var names []string
	for _, s := range listStacks(t, db, "shop").Stacks {
		names = append(names, s.StackName)
	}
	want := []string{"newest", "z", "same-time-in-another-zone", "y", "x", "middle", "oldest"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("order = %v, want %v", names, want)
	}
}

func TestListStacksOrderOfTheDemo(t *testing.T) {
	db := openTestDB(t)
	loadDemo(t, db)
	var projects []string
	if err := db.Model(&Project{}).Order("id").Pluck("id", &projects).Error; err != nil {
		t.Fatal(err)
	}
	for _, project := range projects {
		stacks := listStacks(t, db, project).Stacks
		for i := 1; i < len(stacks); i++ {
			if stacks[i].CreateTime.After(stacks[i-1].CreateTime.Time) {
				t.Errorf("project %s: %s (%s) comes after the older %s (%s)", project,
					stacks[i].StackName, stacks[i].CreateTime, stacks[i-1].StackName, stacks[i-1].CreateTime)
			}
		}
	}
}

func TestListStacksStatusMessageOnlyWhenFailed(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, `
projects:
  - id: shop
    stacks:
      - {name: a, id: 00000000-0000-4000-8000-000000000001, status: DEPLOYMENT_FAILED, status_message: "image pull failed", create_time: 2023-01-01T00:00:01Z}
      - {name: b, id: 00000000-0000-4000-8000-000000000002, status: ROLLBACK_FAILED, create_time: 2023-01-01T00:00:02Z}
      - {name: c, id: 00000000-0000-4000-8000-000000000003, status: DELETION_FAILED, status_message: "", create_time: 2023-01-01T00:00:03Z}
      - {name: d, id: 00000000-0000-4000-8000-000000000004, status: DEPLOYMENT_COMPLETE, status_message: "left over", create_time: 2023-01-01T00:00:04Z}
      - {name: e, id: 00000000-0000-4000-8000-000000000005, status: ROLLBACK_IN_PROGRESS, create_time: 2023-01-01T00:00:05Z}
`)
	want := `{"stacks":[` +
		`{"stack_name":"e","description":"","stack_id":"00000000-0000-4000-8000-000000000005","status":"ROLLBACK_IN_PROGRESS","create_time":"2023-01-01T00:00:05Z","update_time":"2023-01-01T00:00:05Z"},` +
		`{"stack_name":"d","description":"","stack_id":"00000000-0000-4000-8000-000000000004","status":"DEPLOYMENT_COMPLETE","create_time":"2023-01-01T00:00:04Z","update_time":"2023-01-01T00:00:04Z"},` +
		`{"stack_name":"c","description":"","stack_id":"00000000-0000-4000-8000-000000000003","status":"DELETION_FAILED","create_time":"2023-01-01T00:00:03Z","update_time":"2023-01-01T00:00:03Z","status_message":""},` +
		`{"stack_name":"b","description":"","stack_id":"00000000-0000-4000-8000-000000000002","status":"ROLLBACK_FAILED","create_time":"2023-01-01T00:00:02Z","update_time":"2023-01-01T00:00:02Z","status_message":""},` +
		`{"stack_name":"a","description":"","stack_id":"00000000-0000-4000-8000-000000000001","status":"DEPLOYMENT_FAILED","create_time":"2023-01-01T00:00:01Z","update_time":"2023-01-01T00:00:01Z","status_message":"image pull failed"}` +
		`]}`
	if got := string(mustJSON(t, listStacks(t, db, "shop"))); got != want {
		t.Errorf("stacks:\n got %s\nwant %s", got, want)
	}
}

func TestListStacksStatusMessageOverEveryLifecycleStatus(t *testing.T) {
	db := openTestDB(t)
	var manifest strings.Builder
	manifest.WriteString("projects:\n  - id: shop\n    stacks:\n")
	for _, status := range LifecycleStatuses() {
		name := "s-" + strings.ToLower(status)
		manifest.WriteString("      - {name: " + name + ", status: " + status + ", status_message: why}\n")
	}
	mustImport(t, db, manifest.String())
	for _, s := range listStacks(t, db, "shop").Stacks {
		encoded := string(mustJSON(t, s))
		has := strings.Contains(encoded, `"status_message":"why"`)
		if has != IsFailedLifecycle(s.Status) {
			t.Errorf("%s: status_message shown = %v, want %v: %s", s.Status, has, IsFailedLifecycle(s.Status), encoded)
		}
	}
}

func TestListStacksOfAnUnknownProject(t *testing.T) {
	db := openTestDB(t)
	loadDemo(t, db)
	mustImport(t, db, "projects: [{id: empty-project}]")
	for _, project := range []string{"no-such-project", "empty-project", "BA2B9930C977F71EDAEAA3A5E96A8FF1"} {
		list := listStacks(t, db, project)
		if list.Stacks == nil {
			t.Errorf("%s: Stacks is nil, want an empty slice", project)
		}
		if got := string(mustJSON(t, list)); got != `{"stacks":[]}` {
			t.Errorf("%s: JSON = %s, want {\"stacks\":[]}", project, got)
		}
		if list.ProjectID != project {
			t.Errorf("ProjectID = %q, want %q", list.ProjectID, project)
		}
	}
}

func TestTimestampJSON(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, "projects: [{id: shop, stacks: [{name: web, create_time: 2023-05-17T09:34:22.987+02:00}]}]")
	s := listStacks(t, db, "shop").Stacks[0]
	if got := string(mustJSON(t, s.CreateTime)); got != `"2023-05-17T07:34:22Z"` {
		t.Errorf("create_time JSON = %s, want UTC to the second", got)
	}
	if got := s.UpdateTime.String(); got != "2023-05-17T07:34:22Z" {
		t.Errorf("update_time = %s", got)
	}
}

func TestImageString(t *testing.T) {
	if got := (Image{Name: "spocktest/io", Tag: "test"}).String(); got != "spocktest/io:test" {
		t.Errorf("Image.String() = %q", got)
	}
}

func TestListStatementCountsDoNotGrowWithTheData(t *testing.T) {
	// n products, each on a shared base stack and a stack of its own, every stack with two services.
	manifest := func(n int) string {
		const services = "[{name: a, state: DEPLOYED, status: RUNNING, image: {name: x}}, {name: b, state: DEPLOYED, status: RUNNING, image: {name: y}}]"
		var b strings.Builder
		b.WriteString("projects:\n  - id: shop\n    stacks:\n      - {name: base, services: " + services + "}\n")
		for i := range n {
			fmt.Fprintf(&b, "      - {name: s%d, services: %s}\n", i, services)
		}
		b.WriteString("products:\n")
		for i := range n {
			fmt.Fprintf(&b, "  - {name: p%d, layers: [[base], [s%d]]}\n", i, i)
		}
		return b.String()
	}
	for _, n := range []int{1, 200} {
		t.Run(fmt.Sprintf("%d products", n), func(t *testing.T) {
			db := openTestDB(t)
			mustImport(t, db, manifest(n))
			counted, counter := testdb.CountStatements(db)
			products, err := ListProducts(context.Background(), counted)
			if err != nil || len(products) != n {
				t.Fatalf("ListProducts: %d products, %v", len(products), err)
			}
			if got := counter.Count(); got != 3 {
				t.Errorf("ListProducts ran %d statements, want 3", got)
			}
			counter.Reset()
			list, err := ListStacks(context.Background(), counted, "shop")
			if err != nil || len(list.Stacks) != n+1 {
				t.Fatalf("ListStacks: %d stacks, %v", len(list.Stacks), err)
			}
			if got := counter.Count(); got != 1 {
				t.Errorf("ListStacks ran %d statements, want 1", got)
			}
		})
	}
}

// Inside a transaction the product reads run one after another on its one connection: pgx's connections take one
// query at a time, and reads at once on it failed with "conn busy" and then a panic.
func TestFindProductsInsideATransaction(t *testing.T) {
	db := openTestDB(t)
	loadDemo(t, db)
	want := len(listProducts(t, db))
	for i := range 20 {
		err := writeTransaction(context.Background(), db, func(tx *gorm.DB) error {
			products, err := FindProducts(context.Background(), tx, ProductFilter{})
			if err == nil && len(products) != want {
				err = fmt.Errorf("%d products, want %d", len(products), want)
			}
			return err
		})
		if err != nil {
			t.Fatalf("read %d in a transaction: %v", i, err)
		}
	}
}

// A panic in one of the concurrent reads is that read's error, on a pool and on a transaction alike.
func TestReadConcurrentlyRecoversPanics(t *testing.T) {
	db := openTestDB(t)
	reads := []func() error{
		func() error { return nil },
		func() error { panic("boom") },
	}
	if err := readConcurrently(db, reads...); err == nil || err.Error() != "panic: boom" {
		t.Errorf("on the pool: %v, want panic: boom", err)
	}
	err := db.Transaction(func(tx *gorm.DB) error { return readConcurrently(tx, reads...) })
	if err == nil || err.Error() != "panic: boom" {
		t.Errorf("on a transaction: %v, want panic: boom", err)
	}
}
