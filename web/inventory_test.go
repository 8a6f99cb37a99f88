package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"stackboard/models"
)

// The image inventory says which stacks run an image, tag by tag, broken first, in every format.
func TestImageInventory(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, triageManifest)
	server := newTestServer(db)
	var image models.ImageInventory
	if err := json.Unmarshal(get(t, server, "/images?name=library/redis").Body.Bytes(), &image); err != nil {
		t.Fatal(err)
	}
	got := mustJSON(t, image)
	want := `{"name":"library/redis","tags":[{"tag":"7.0","stacks":[{"project_id":"ops","stack_name":"prog-c","status":"DEPLOYMENT_IN_PROGRESS","run_status":"RUNNING","severity":"progress","services":["api"]}]},` +
		`{"tag":"7.2","stacks":[{"project_id":"dev","stack_name":"dev-x","status":"ROLLBACK_FAILED","run_status":"RUNNING","severity":"failed","services":["web"]},` +
		`{"project_id":"ops","stack_name":"part-e","status":"DEPLOYMENT_COMPLETE","run_status":"PARTIALLY-RUNNING","severity":"progress","services":["zeta"]},` +
		`{"project_id":"ops","stack_name":"ok-a","status":"DEPLOYMENT_COMPLETE","run_status":"RUNNING","severity":"ok","services":["web"]}]}]}`
	if got != want {
		t.Errorf("GET /images?name=library/redis:\n got %s\nwant %s", got, want)
	}
	one := get(t, server, "/images?name=library/redis&tag=7.2", asPage...).Body.String()
	if !strings.Contains(one, `data-tag="7.2"`) || strings.Contains(one, `data-tag="7.0"`) || !strings.Contains(one, `data-stack="dev-x"`) {
		t.Errorf("the page of redis:7.2 does not show exactly its stacks")
	}
	if partial := get(t, server, "/images?name=library/redis", asPartial...).Body.String(); !strings.Contains(partial, `id="image"`) || strings.Contains(partial, "<html") {
		t.Errorf("the partial is not the image fragment")
	}
	var list models.ImageList
	if err := json.Unmarshal(get(t, server, "/images").Body.Bytes(), &list); err != nil || len(list.Images) != 4 || list.Images[2] != (models.ImageSummary{Name: "library/postgres", Tags: 1, Services: 1, Stacks: 1}) {
		t.Errorf("GET /images: %+v (%v)", list, err)
	}
	for target, status := range map[string]int{"/images?name=nosuch": 404, "/images?name=library/redis&tag=9": 404, "/images?tag=7.2": 400} {
		rec := get(t, server, target)
		if rec.Code != status || !strings.Contains(rec.Body.String(), `"code"`) {
			t.Errorf("GET %s: %d %s, want %d in spock's shape", target, rec.Code, rec.Body, status)
		}
	}
}

// A domain leads to the services that serve it, their stacks and the products that hold them.
func TestDomainLookup(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, triageManifest)
	server := newTestServer(db)
	rec := get(t, server, "/domains/Shop.Example.com")
	want := `{"domain":"Shop.Example.com","services":[{"service_name":"web","state":"DEPLOYED","status":"RUNNING","image":{"name":"library/redis","tag":"7.2"},` +
		`"project_id":"ops","stack_name":"ok-a","stack_status":"DEPLOYMENT_COMPLETE","run_status":"RUNNING","products":["calm","waiting"]}]}`
	if got := compactJSON(t, rec.Body.Bytes()); got != want {
		t.Errorf("GET /domains/Shop.Example.com:\n got %s\nwant %s", got, want)
	}
	page := get(t, server, "/domains/db.internal.example.com", asPage...).Body.String()
	if !strings.Contains(page, `data-stack="fail-d"`) || !strings.Contains(page, `href="/api/products/broken"`) {
		t.Errorf("the domain's page does not lead to its stack and product")
	}
	for _, target := range []string{"/domains/example.com", "/domains/nosuch.example.com"} {
		if rec := get(t, server, target); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404 (only exact domains)", target, rec.Code)
		}
	}
	scoped := newAuthServer(t, authDB(t), true)
	if rec := get(t, scoped, "/images?name=nginx", HeaderAuthToken, team1ReaderSecret); !strings.Contains(rec.Body.String(), `"project_id":"team1"`) || strings.Contains(rec.Body.String(), "team2") {
		t.Errorf("team1's reader sees %s", rec.Body)
	}
}

// The inventory's pages run a fixed number of statements whatever the fleet's size.
func TestInventoryRunsFixedStatements(t *testing.T) {
	checkFixedStatements(t, 3, "/images", "/images?name=example/api", "/images?name=example/api&tag=v1", "/domains/api.db-0.example.com")
}
