package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"stackboard/models"
)

// badgeText is the badge's accessible text and its message colour.
func badgeText(t *testing.T, body string) (label, colour string) {
	t.Helper()
	_, rest, ok := strings.Cut(body, `aria-label="`)
	if !ok {
		t.Fatalf("badge without aria-label: %s", body)
	}
	label, _, _ = strings.Cut(rest, `"`)
	// The second rect is the message's.
	rects := strings.Split(body, "<rect ")
	if len(rects) < 4 {
		t.Fatalf("badge without its rects: %s", body)
	}
	_, fill, _ := strings.Cut(rects[3], `fill="`)
	colour, _, _ = strings.Cut(fill, `"`)
	return label, colour
}

func TestStackBadgeForEveryStatus(t *testing.T) {
	db := openTestDB(t)
	var manifest strings.Builder
	manifest.WriteString("projects:\n  - id: " + rfsProject + "\n    stacks:\n")
	type want struct{ stack, text, colour string }
	var wants []want
	colours := map[string]string{"RUNNING": "#4c1", "PARTIALLY-RUNNING": "#dfb317", "NOT-RUNNING": "#9f9f9f", "FAULT": "#e05d44"}
	services := map[string]string{
		"RUNNING":           "[{name: a, state: DEPLOYED, status: RUNNING, image: {name: x}}]",
		"PARTIALLY-RUNNING": "[{name: a, state: DEPLOYED, status: PARTIALLY-RUNNING, image: {name: x}}]",
		"NOT-RUNNING":       "[]",
		"FAULT":             "[{name: a, state: DEPLOYED, status: FAULT, image: {name: x}}]",
	}
	for i, lifecycle := range models.LifecycleStatuses() {
		for _, run := range models.RunStatuses() {
			name := fmt.Sprintf("s%d_%s", i, strings.ReplaceAll(run, "-", "_"))
			fmt.Fprintf(&manifest, "      - {name: %s, status: %s, services: %s}\n", name, lifecycle, services[run])
			w := want{name, run, colours[run]}
			switch {
			case strings.HasSuffix(lifecycle, "_FAILED"):
				w.text, w.colour = lifecycle, "#e05d44"
			case strings.HasSuffix(lifecycle, "_IN_PROGRESS"):
				w.text, w.colour = lifecycle, "#007ec6"
			}
			wants = append(wants, w)
		}
	}
	importYAML(t, db, manifest.String())
	s := newTestServer(db)
	for _, w := range wants {
		target := "/v1/" + rfsProject + "/stacks/" + w.stack + "/badge.svg"
		// An <img> sends no Client-Request-Id and accepts images.
		rec := get(t, s, target, HeaderAccept, "image/avif,image/webp,image/svg+xml,*/*;q=0.8")
		if rec.Code != http.StatusOK || rec.Header().Get(HeaderContentType) != "image/svg+xml" {
			t.Fatalf("GET %s: %d %s %.200s", target, rec.Code, rec.Header().Get(HeaderContentType), rec.Body)
		}
		label, colour := badgeText(t, rec.Body.String())
		if label != w.stack+": "+w.text || colour != w.colour {
			t.Errorf("%s: badge says %q in %s, want %q in %s", w.stack, label, colour, w.stack+": "+w.text, w.colour)
		}
		etag := rec.Header().Get(HeaderETag)
		if etag == "" || rec.Header().Get(HeaderCacheControl) != "public, max-age=60" {
			t.Errorf("%s: ETag %q, Cache-Control %q", w.stack, etag, rec.Header().Get(HeaderCacheControl))
		}
		if again := get(t, s, target, HeaderIfNoneMatch, etag); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("%s with its ETag: %d, want 304", w.stack, again.Code)
		}
	}
	if rec := get(t, s, "/v1/"+rfsProject+"/stacks/nope/badge.svg"); rec.Code != http.StatusNotFound {
		t.Errorf("badge of an unknown stack: %d, want 404", rec.Code)
	}
}

func TestProductBadgeAndItsMarkdown(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	s := newTestServer(db)
	rec := get(t, s, "/api/products/kodo/badge.svg")
	if label, colour := badgeText(t, rec.Body.String()); rec.Code != 200 || label != "kodo: stable" || colour != "#4c1" {
		t.Errorf("stable kodo: %d %q %s", rec.Code, label, colour)
	}
	expectStatus(t, call(t, s, http.MethodPut, "/v1/"+rfsProject+"/stacks/memcached/services/memcached", `{"state":"DEPLOYED","status":"FAULT","image":{"name":"spocktest/memcached","tag":"latest"}}`), http.StatusOK)
	rec = get(t, s, "/api/products/kodo/badge.svg")
	if label, colour := badgeText(t, rec.Body.String()); rec.Code != 200 || label != "kodo: unstable" || colour != "#e05d44" {
		t.Errorf("unstable kodo: %d %q %s", rec.Code, label, colour)
	}
	if rec := get(t, s, "/api/products/nope/badge.svg"); rec.Code != http.StatusNotFound {
		t.Errorf("badge of an unknown product: %d, want 404", rec.Code)
	}

	for target, want := range map[string]string{
		"/api/products/kodo":                      "[![kodo status](http://example.com/api/products/kodo/badge.svg)](http://example.com/api/products/kodo)",
		"/v1/" + rfsProject + "/stacks/memcached": "[![memcached status](http://example.com/v1/" + rfsProject + "/stacks/memcached/badge.svg)](http://example.com/v1/" + rfsProject + "/stacks/memcached)",
	} {
		page := get(t, s, target, HeaderAccept, "text/html")
		if page.Code != 200 || !strings.Contains(page.Body.String(), `value="`+strings.ReplaceAll(want, `"`, "&#34;")+`"`) {
			t.Errorf("%s: %d, the page does not show %q", target, page.Code, want)
		}
	}
}

func TestBadgesNeedATokenWhenReadsAreProtected(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	s := NewServer(db, slog.New(slog.DiscardHandler), Options{AuthReads: true, Tokens: []TokenConfig{{Name: "ops", SHA256: sha256Hex("ops-secret"), Projects: []string{"*"}, Role: "read"}}})
	for _, target := range []string{"/api/products/kodo/badge.svg", "/v1/" + rfsProject + "/stacks/kodo/badge.svg"} {
		if rec := get(t, s, target); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", target, rec.Code)
		}
		rec := get(t, s, target, HeaderAuthToken, "ops-secret")
		if rec.Code != http.StatusOK || rec.Header().Get(HeaderCacheControl) != "private, no-cache" {
			t.Errorf("%s with a token: %d, Cache-Control %q", target, rec.Code, rec.Header().Get(HeaderCacheControl))
		}
	}
}

// Behind a proxy the request's host is the proxy's view: the Markdown a page shows uses --public-url when it is
// set, and otherwise each reader's own host, even when the page comes from the response cache.
func TestBadgeMarkdownUsesThePublicURL(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	stack := "/v1/" + rfsProject + "/stacks/memcached"
	markdown := func(base, page string) string {
		pageName := "kodo"
		if page == stack {
			pageName = "memcached"
		}
		return strings.ReplaceAll("[!["+pageName+" status]("+base+page+"/badge.svg)]("+base+page+")", `"`, "&#34;")
	}
	public := NewServer(db, slog.New(slog.DiscardHandler), Options{PublicURL: "https://board.example.org/"})
	open := newTestServer(db)
	for _, tt := range []struct {
		server *Server
		host   string
		want   string
	}{
		{public, "127.0.0.1:8080", "https://board.example.org"},
		{public, "stackboard.internal", "https://board.example.org"},
		{open, "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{open, "stackboard.internal", "http://stackboard.internal"},
	} {
		for _, page := range []string{"/api/products/kodo", stack} {
			req := httptest.NewRequest(http.MethodGet, page, nil)
			req.Host = tt.host
			req.Header.Set(HeaderAccept, "text/html")
			rec := httptest.NewRecorder()
			tt.server.ServeHTTP(rec, req)
			if want := markdown(tt.want, page); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `value="`+want+`"`) {
				t.Errorf("%s via %s: %d, the page does not show %s", page, tt.host, rec.Code, want)
			}
		}
	}
}
