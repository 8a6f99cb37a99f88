package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"stackboard/models"
)

// The fleet-wide list filters by lifecycle, run status, project, product and name, across projects, broken first
// (then the longest in its state), in every format.
func TestTriageFiltersInEveryFormat(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, triageManifest)
	server := newTestServer(db)
	tests := []struct {
		name   string
		target string
		want   []string
	}{
		{"every stack, broken first", "/stacks", []string{"fail-d", "dev-x", "part-e", "prog-c", "new-b", "ok-a"}},
		{"by lifecycle", "/stacks?status=DEPLOYMENT_COMPLETE", []string{"part-e", "ok-a"}},
		{"by run status", "/stacks?run_status=RUNNING", []string{"dev-x", "prog-c", "ok-a"}},
		{"by project", "/stacks?project=dev", []string{"dev-x"}},
		{"by product", "/stacks?product=waiting", []string{"new-b", "ok-a"}},
		{"by name, ignoring case", "/stacks?q=OK", []string{"ok-a"}},
		{"combined", "/stacks?project=ops&run_status=RUNNING&q=o", []string{"prog-c", "ok-a"}},
		{"sorted by name", "/stacks?sort=name", []string{"dev-x", "fail-d", "new-b", "ok-a", "part-e", "prog-c"}},
		{"healthy first", "/stacks?sort=-severity", []string{"ok-a", "new-b", "prog-c", "part-e", "dev-x", "fail-d"}},
		{"nothing matches", "/stacks?product=nosuch", nil},
	}
	for _, tt := range tests {
		for _, headers := range [][]string{nil, asPage, asPartial} {
			rec := get(t, server, tt.target, headers...)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s %v: %d %s", tt.target, headers, rec.Code, rec.Body)
			}
			got := namesIn(t, rec.Result(), rec.Body.Bytes(), stackRowRE, stackNamesOf)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: GET %s %v: rows %q, want %q", tt.name, tt.target, headers, got, tt.want)
			}
		}
	}
}

// The JSON is spock's snake_case, field by field, with the totals of what the filters select; its counts agree
// with the page's cards.
func TestTriageJSONShapeAndCounts(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, triageManifest)
	server := newTestServer(db)
	rec := get(t, server, "/stacks?project=ops&limit=1")
	want := `{"stacks":[{"project_id":"ops","stack_name":"fail-d","stack_id":"ID","status":"DEPLOYMENT_FAILED",` +
		`"status_message":"image pull failed","run_status":"FAULT","severity":"failed","create_time":"2024-01-01T10:03:00Z",` +
		`"update_time":"2024-01-01T10:07:00Z","status_changed_at":"2024-01-01T10:07:00Z","products":["broken"]}],"total":5,` +
		`"counts":{"by_status":[{"status":"DEPLOYMENT_FAILED","count":1},{"status":"DEPLOYMENT_IN_PROGRESS","count":1},` +
		`{"status":"CREATION_COMPLETE","count":1},{"status":"DEPLOYMENT_COMPLETE","count":2}],` +
		`"by_run_status":[{"status":"FAULT","count":1},{"status":"PARTIALLY-RUNNING","count":1},{"status":"NOT-RUNNING","count":1},` +
		`{"status":"RUNNING","count":2}]},"next_marker":"p1"}`
	got := regexp.MustCompile(`"stack_id":"[^"]+"`).ReplaceAllString(compactJSON(t, rec.Body.Bytes()), `"stack_id":"ID"`)
	if got != want {
		t.Errorf("GET /stacks?project=ops&limit=1:\n got %s\nwant %s", got, want)
	}
	if link := rec.Header().Get("Link"); link != `</stacks?limit=1&marker=p1&project=ops>; rel="next"` {
		t.Errorf("Link %q", link)
	}
	var last models.TriageList
	if err := json.Unmarshal(get(t, server, "/stacks?project=ops&limit=1&marker=p4").Body.Bytes(), &last); err != nil {
		t.Fatal(err)
	}
	if last.NextMarker != nil || len(last.Stacks) != 1 || last.Stacks[0].StackName != "ok-a" || last.Stacks[0].StatusMessage != nil {
		t.Errorf("the last page: %+v", last)
	}
	page := get(t, server, "/stacks?project=ops&run_status=FAULT", asPage...).Body.String()
	for _, want := range []string{
		`<div class="big" id="triage-total">1</div>`,
		`href="/stacks?project=ops&amp;run_status=FAULT&amp;status=DEPLOYMENT_FAILED" data-count="DEPLOYMENT_FAILED"`,
		`data-count="FAULT"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the filtered page lacks %s", want)
		}
	}
	if strings.Contains(page, `data-count="RUNNING"`) {
		t.Errorf("the FAULT page counts RUNNING stacks")
	}
}

// Bad filters are a 400 in spock's shape, naming the parameter.
func TestTriageRefusesBadFilters(t *testing.T) {
	db := openTestDB(t)
	server := newTestServer(db)
	for target, field := range map[string]string{
		"/stacks?status=RUNNING":                "status",
		"/stacks?run_status=DEPLOYED":           "run_status",
		"/stacks?project=a":                     "project",
		"/stacks?sort=size":                     "sort",
		"/stacks?marker=12":                     "marker",
		"/stacks?limit=0":                       "limit",
		"/stacks?q=" + strings.Repeat("x", 201): "q",
	} {
		rec := get(t, server, target)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"code":"400"`) || !strings.Contains(rec.Body.String(), field) {
			t.Errorf("GET %s: %d %s, want a 400 in spock's shape about %s", target, rec.Code, rec.Body, field)
		}
		if page := get(t, server, target, asPage...); page.Code != http.StatusBadRequest {
			t.Errorf("GET %s as a page: %d, want 400", target, page.Code)
		}
	}
}

// A token that reads only some projects sees only their stacks and counts on the fleet-wide list, and asking for
// another project is a 403.
func TestTriageIsScopedToTheCallersProjects(t *testing.T) {
	db := authDB(t)
	server := newAuthServer(t, db, true)
	var list models.TriageList
	rec := get(t, server, "/stacks", HeaderAuthToken, team1ReaderSecret)
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if list.Total != 1 || len(list.Stacks) != 1 || list.Stacks[0].ProjectID != "team1" {
		t.Errorf("team1's reader sees %+v", list)
	}
	if rec := get(t, server, "/stacks?project=team2", HeaderAuthToken, team1ReaderSecret); rec.Code != http.StatusForbidden {
		t.Errorf("team1's reader asking for team2: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, server, "/stacks"); rec.Code != http.StatusUnauthorized {
		t.Errorf("no token: %d", rec.Code)
	}
	if err := json.Unmarshal(get(t, server, "/stacks", HeaderAuthToken, readerSecret).Body.Bytes(), &list); err != nil || list.Total != 2 {
		t.Errorf("the reader of every project sees %d stacks (%v)", list.Total, err)
	}
}

// Every count on the overview leads to the list of what it counts, and, filtered, the stack cards count the
// stacks of the products the filters keep (not the whole fleet beside "1 product").
func TestOverviewCountsLinkAndFollowTheFilters(t *testing.T) {
	db := openTestDB(t)
	importYAML(t, db, triageManifest)
	server := newTestServer(db)
	page := get(t, server, "/api/products", asPage...).Body.String()
	for _, want := range []string{
		`href="/stacks?status=DEPLOYMENT_FAILED"`, `href="/stacks?status=ROLLBACK_FAILED"`, `href="/stacks?run_status=FAULT"`,
		`href="/stacks"`, `href="/api/products?stable=false"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview lacks the link %s", want)
		}
	}
	filtered := get(t, server, "/api/products?stable=false&project=ops&status=FAULT", asPage...).Body.String()
	big := regexp.MustCompile(`<div class="big">(?:<a[^>]*>)?(\d+)`).FindAllStringSubmatch(filtered, -1)
	if len(big) != 3 || big[0][1] != "1" || big[1][1] != "1" || big[2][1] != "1" {
		t.Errorf("Unstable + ops + FAULT: the cards say %v, want 1 product and its 1 stack", big)
	}
	for _, want := range []string{"Their stacks by run status", `href="/stacks?project=ops&amp;run_status=FAULT"`} {
		if !strings.Contains(filtered, want) {
			t.Errorf("the filtered overview lacks %s", want)
		}
	}
}

// The fleet-wide list and the filtered overview run a fixed number of statements whatever the fleet's size.
func TestTriageRunsFixedStatements(t *testing.T) {
	checkFixedStatements(t, 5, "/stacks", "/stacks?run_status=RUNNING&project=fleet&q=db&sort=name",
		"/stacks?product=product-0&limit=2&marker=p2", "/api/products?stable=true&project=fleet")
}
