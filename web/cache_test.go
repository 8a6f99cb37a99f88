package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stackboard/handlers"
	"stackboard/models"
	"stackboard/models/testdb"
)

// cacheTargets are reads the cache serves, each with the headers that pick one of its formats.
var cacheTargets = []struct {
	name    string
	target  string
	headers []string
}{
	{"products JSON", "/api/products", nil},
	{"products page", "/api/products", []string{HeaderAccept, browserAccept}},
	{"products partial", "/api/products?stable=false", []string{HeaderHXRequest, "true"}},
	{"product page", "/api/products/kodo", []string{HeaderAccept, browserAccept}},
	{"stacks JSON", "/v1/" + rfsProject + "/stacks", []string{HeaderClientRequestID, clientRequestID}},
	{"stack page", "/v1/" + rfsProject + "/stacks/kodo", []string{HeaderAccept, browserAccept}},
	{"stack events", "/v1/" + rfsProject + "/stacks/kodo/events?limit=5", []string{HeaderClientRequestID, clientRequestID}},
}

// A repeated read is answered from memory: no SQL, the same bytes, a strong ETag, and Cache-Control: no-cache so
// that browsers revalidate.
func TestRepeatedReadsRunNoSQL(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	counted, counter := testdb.CountStatements(db)
	server := newTestServer(counted)
	for _, tc := range cacheTargets {
		t.Run(tc.name, func(t *testing.T) {
			counter.Reset()
			first := get(t, server, tc.target, tc.headers...)
			if first.Code != http.StatusOK {
				t.Fatalf("status %d: %s", first.Code, first.Body)
			}
			if counter.Count() == 0 {
				t.Fatal("the first read ran no SQL; it cannot have been rendered")
			}
			counter.Reset()
			second := get(t, server, tc.target, tc.headers...)
			if n := counter.Count(); n != 0 {
				t.Errorf("the repeated read ran %d statements, want 0", n)
			}
			if !bytes.Equal(first.Body.Bytes(), second.Body.Bytes()) {
				t.Error("the repeated read answered other bytes")
			}
			etag := second.Header().Get(HeaderETag)
			if etag == "" || etag != first.Header().Get(HeaderETag) || strings.HasPrefix(etag, "W/") {
				t.Errorf("ETags %q then %q, want one strong ETag", first.Header().Get(HeaderETag), etag)
			}
			if got := second.Header().Get(HeaderCacheControl); got != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache", got)
			}
			sentID := len(tc.headers) > 0 && tc.headers[0] == HeaderClientRequestID
			if got := second.Header().Get(HeaderRequestID); got == "" || !sentID && got == first.Header().Get(HeaderRequestID) {
				t.Errorf("request ids %q and %q: each answer needs its own", first.Header().Get(HeaderRequestID), got)
			}
		})
	}
}

// The formats of one URL are cached apart: a cached page is never sent to a script, nor JSON to a browser.
func TestFormatsOfOneURLAreCachedApart(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	for range 2 {
		for _, tc := range []struct {
			headers     []string
			contentType string
			starts      string
		}{
			{nil, contentTypeJSON, "["},
			{[]string{HeaderAccept, browserAccept}, contentTypeHTML, "<!doctype html>"},
			{[]string{HeaderHXRequest, "true"}, contentTypeHTML, "<"},
		} {
			rec := get(t, server, "/api/products", tc.headers...)
			if got := rec.Header().Get(HeaderContentType); got != tc.contentType {
				t.Errorf("%v: Content-Type %q, want %q", tc.headers, got, tc.contentType)
			}
			if body := rec.Body.String(); !strings.HasPrefix(strings.ToLower(body), tc.starts) || tc.starts == "<" && strings.HasPrefix(strings.ToLower(body), "<!doctype") {
				t.Errorf("%v: body starts %.40q", tc.headers, body)
			}
		}
	}
}

// If-None-Match with the current ETag is answered 304 with no body; after a write the same ETag gets the new data.
func TestConditionalReadsRevalidateAcrossWrites(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	first := get(t, server, "/api/products")
	etag := first.Header().Get(HeaderETag)

	notModified := get(t, server, "/api/products", HeaderIfNoneMatch, etag)
	if notModified.Code != http.StatusNotModified || notModified.Body.Len() != 0 {
		t.Fatalf("If-None-Match with the current ETag: %d, %d bytes; want 304 and no body", notModified.Code, notModified.Body.Len())
	}
	if got := notModified.Header().Get(HeaderETag); got != etag {
		t.Errorf("304 carries ETag %q, want %q", got, etag)
	}
	if other := get(t, server, "/api/products", HeaderIfNoneMatch, `"something-else"`); other.Code != http.StatusOK {
		t.Errorf("If-None-Match with another ETag: %d, want 200", other.Code)
	}

	put := call(t, server, http.MethodPut, "/v1/"+rfsProject+"/stacks/kodo/services/sidecar",
		`{"state":"DEPLOYED","status":"FAULT","image":{"name":"example/sidecar","tag":"v9"}}`)
	if put.Code >= 300 {
		t.Fatalf("PUT: %d %s", put.Code, put.Body)
	}
	after := get(t, server, "/api/products", HeaderIfNoneMatch, etag)
	if after.Code != http.StatusOK {
		t.Fatalf("after a write, the old ETag got %d, want 200", after.Code)
	}
	if after.Header().Get(HeaderETag) == etag {
		t.Error("the ETag did not change with the data")
	}
	if bytes.Equal(after.Body.Bytes(), first.Body.Bytes()) {
		t.Error("the answer after the write is the cached one from before it")
	}
}

// Every kind of write is visible to the very next read of every view it touches, without waiting for the watcher.
func TestReadAfterWriteNeverSeesStaleData(t *testing.T) {
	stacks := "/v1/" + rfsProject + "/stacks"
	for _, tc := range []struct {
		name, method, target, body string
		read                       string
		readHeaders                []string
		want                       string
	}{
		{"patch stack status", http.MethodPatch, stacks + "/kodo", `{"status":"ROLLBACK_FAILED","status_message":"disk full"}`,
			stacks + "/kodo", []string{HeaderClientRequestID, clientRequestID}, "disk full"},
		{"patch shows on the product page", http.MethodPatch, stacks + "/kodo", `{"status":"ROLLBACK_FAILED","status_message":"disk full"}`,
			"/api/products/kodo", []string{HeaderAccept, browserAccept}, "ROLLBACK_FAILED"},
		{"put service", http.MethodPut, stacks + "/kodo/services/sidecar", `{"state":"DEPLOYED","status":"FAULT","image":{"name":"example/sidecar","tag":"v9"}}`,
			"/api/products", nil, `"FAULT"`},
		{"create stack", http.MethodPost, stacks, `{"stack_name":"brand-new","description":"fresh"}`,
			stacks, []string{HeaderClientRequestID, clientRequestID}, "brand-new"},
		{"delete stack", http.MethodDelete, stacks + "/my_first_stack", "",
			stacks + "/my_first_stack", []string{HeaderClientRequestID, clientRequestID}, "not found"},
		{"create product", http.MethodPost, "/api/products", `{"product_name":"fresh-product","stack_deps":[[{"stack_name":"my_first_stack"}]]}`,
			"/api/products", []string{HeaderAccept, browserAccept}, "fresh-product"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := newTestServer(openTestDB(t, "spec/list-products.yaml", "spec/list-stacks.yaml"))
			before := get(t, server, tc.read, tc.readHeaders...)
			if strings.Contains(strings.ToLower(before.Body.String()), strings.ToLower(tc.want)) {
				t.Fatalf("%s already shows %q before the write", tc.read, tc.want)
			}
			get(t, server, tc.read, tc.readHeaders...) // now certainly cached
			write := call(t, server, tc.method, tc.target, tc.body)
			if write.Code >= 300 {
				t.Fatalf("%s %s: %d %s", tc.method, tc.target, write.Code, write.Body)
			}
			after := get(t, server, tc.read, tc.readHeaders...)
			if !strings.Contains(strings.ToLower(after.Body.String()), strings.ToLower(tc.want)) {
				t.Errorf("the read right after the write does not show %q:\n%.600s", tc.want, after.Body)
			}
		})
	}
}

// A change made by another process (here another connection pool, as `stackboard import` is) reaches cached
// answers through the watcher.
func TestWritesByOtherProcessesInvalidateTheCache(t *testing.T) {
	served, writer := openTwoPools(t)
	importFile(t, writer, filepath.Join("..", "testdata", "spec", "list-products.yaml"))

	server := newTestServer(served)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go server.Run(ctx)

	if body := get(t, server, "/api/products").Body.String(); strings.Contains(body, "DEPLOYMENT_IN_PROGRESS") {
		t.Fatal("fixture already in progress")
	}
	importYAML(t, writer, "projects:\n  - id: "+rfsProject+"\n    stacks:\n      - {name: kodo, status: DEPLOYMENT_IN_PROGRESS}\n")
	deadline := time.Now().Add(2 * time.Second)
	for {
		body := get(t, server, "/v1/"+rfsProject+"/stacks/kodo", HeaderClientRequestID, clientRequestID).Body.String()
		if strings.Contains(body, "DEPLOYMENT_IN_PROGRESS") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("another process's write did not reach the cached answer within 2 s:\n%s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Clients that take gzip get the body compressed (once per version), with its own ETag; HEAD gets the headers only.
func TestGzipAndHead(t *testing.T) {
	server := newTestServer(openTestDB(t, "spec/list-products.yaml"))
	plain := get(t, server, "/api/products", HeaderAccept, browserAccept)
	zipped := get(t, server, "/api/products", HeaderAccept, browserAccept, HeaderAcceptEncoding, "gzip, deflate, br")
	if got := zipped.Header().Get(HeaderContentEncoding); got != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", got)
	}
	if got := zipped.Header().Get(HeaderContentLength); got != fmt.Sprint(zipped.Body.Len()) {
		t.Errorf("Content-Length %s for %d bytes", got, zipped.Body.Len())
	}
	reader, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(reader)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, plain.Body.Bytes()) {
		t.Error("the gzipped body is not the plain body")
	}
	if zipped.Header().Get(HeaderETag) == plain.Header().Get(HeaderETag) {
		t.Error("gzipped and plain answers share an ETag; a strong ETag names one representation")
	}
	if !strings.Contains(plain.Header().Get(HeaderVary), HeaderAcceptEncoding) {
		t.Errorf("Vary %q does not name Accept-Encoding", plain.Header().Get(HeaderVary))
	}
	refused := get(t, server, "/api/products", HeaderAccept, browserAccept, HeaderAcceptEncoding, "gzip;q=0, br")
	if refused.Header().Get(HeaderContentEncoding) != "" {
		t.Error("gzip was sent to a client that refused it with q=0")
	}

	head := do(t, server, http.MethodHead, "/api/products")
	if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get(HeaderETag) == "" {
		t.Errorf("HEAD: %d, %d bytes, ETag %q", head.Code, head.Body.Len(), head.Header().Get(HeaderETag))
	}
}

// Failures are not cached: a missing stack stays missing only until it is created.
func TestFailuresAreNotCached(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	counted, counter := testdb.CountStatements(db)
	server := newTestServer(counted)
	for range 2 {
		counter.Reset()
		rec := get(t, server, "/api/products/nope")
		if rec.Code != http.StatusNotFound {
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Header().Get(HeaderETag) != "" {
			t.Error("a 404 carries an ETag")
		}
		if counter.Count() == 0 {
			t.Error("a failure was answered from the cache")
		}
	}
}

// The cache keeps within its byte budget, dropping the least recently used variants first.
func TestCacheKeepsItsBudget(t *testing.T) {
	cache := newResponseCache(16 << 10)
	body := bytes.Repeat([]byte("x"), 1000)
	for i := range 40 {
		key := fmt.Sprintf("json /v1/p/stacks/s-%d", i)
		cache.fill(context.Background(), key, 0, func(uint64) *cachedResponse {
			return &cachedResponse{key: key, status: http.StatusOK, header: http.Header{}, body: body}
		})
		if i == 0 {
			continue
		}
		// Keep the first one in use, so it is never the least recently used.
		if cache.lookup("json /v1/p/stacks/s-0", 0) == nil {
			t.Fatalf("after %d entries the one in use was evicted", i)
		}
	}
	entries, used := cache.stats()
	if used > 16<<10 || entries >= 40 || entries < 5 {
		t.Errorf("%d entries, %d bytes; want some evicted and at most %d bytes", entries, used, 16<<10)
	}
	if cache.lookup("json /v1/p/stacks/s-1", 0) != nil {
		t.Error("the least recently used entry is still there")
	}
	cache.bump()
	if cache.lookup("json /v1/p/stacks/s-0", 0) == nil || cache.lookup("json /v1/p/stacks/s-0", 1) != nil {
		t.Error("an entry answers for data newer than it was rendered from")
	}
}

// Requests that miss together render once: the others wait for that render.
func TestConcurrentMissesRenderOnce(t *testing.T) {
	cache := newResponseCache(0)
	var renders atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			response, _, _ := cache.fill(context.Background(), "page /api/products", 0, func(uint64) *cachedResponse {
				renders.Add(1)
				<-release
				return &cachedResponse{key: "page /api/products", version: 3, status: http.StatusOK, header: http.Header{}, body: []byte("ok")}
			})
			if string(response.body) != "ok" {
				t.Errorf("body %q", response.body)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := renders.Load(); n != 1 {
		t.Errorf("%d renders for 8 concurrent misses, want 1", n)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"gzip, deflate, br, zstd", true},
		{"br;q=1.0, GZIP;q=0.5", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"deflate", false},
		{"x-gzip-ish", false},
	} {
		if got := acceptsGzip([]string{tc.header}); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

// While writes keep coming, a variant still renders once at a time: requests that need newer data than the
// running render started from all wait for one queued render, which starts from data at least as new as theirs.
func TestRendersQueueBehindTheRunningOne(t *testing.T) {
	cache := newResponseCache(0)
	const key = "json /api/products"
	var renders atomic.Int32
	firstStarted, releaseFirst := make(chan struct{}), make(chan struct{})
	render := func(version uint64) *cachedResponse {
		if renders.Add(1) == 1 {
			close(firstStarted)
			<-releaseFirst
		}
		return &cachedResponse{key: key, version: version, status: http.StatusOK, header: http.Header{}, body: []byte(fmt.Sprint(version))}
	}
	first := make(chan *cachedResponse)
	go func() {
		response, _, _ := cache.fill(context.Background(), key, 0, render)
		first <- response
	}()
	<-firstStarted
	cache.bump() // a write lands while version 0 renders

	var wg sync.WaitGroup
	got := make([]string, 6)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			response, _, _ := cache.fill(context.Background(), key, 1, render)
			got[i] = string(response.body)
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them all queue
	cache.bump()                      // and another write before the queued render starts
	close(releaseFirst)
	wg.Wait()
	if body := string((<-first).body); body != "0" {
		t.Errorf("the first request got the render of version %s, want 0", body)
	}
	for i, body := range got {
		if body != "2" {
			t.Errorf("request %d, which needed version 1, got a render of version %s, want the queued render of 2", i, body)
		}
	}
	if n := renders.Load(); n != 2 {
		t.Errorf("%d renders, want 2: the running one and one queued for all the newer requests", n)
	}
	if entry := cache.lookup(key, 2); entry == nil || string(entry.body) != "2" {
		t.Error("the newest render is not the cached one")
	}
}

// The product list is encoded one product at a time to spare memory; the bytes are exactly encoding/json's.
func TestProductListEncodesAsOneValue(t *testing.T) {
	db := openTestDB(t, "spec/list-products.yaml")
	products, err := models.FindProducts(context.Background(), db, models.ProductFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, list := range [][]models.ProductStatus{products, products[:1], {}} {
		var piecewise, whole bytes.Buffer
		if err := encodeJSON(&piecewise, list); err != nil {
			t.Fatal(err)
		}
		encoder := json.NewEncoder(&whole)
		encoder.SetEscapeHTML(false)
		if err := encoder.Encode(list); err != nil {
			t.Fatal(err)
		}
		if piecewise.String() != whole.String() {
			t.Errorf("%d products encode as\n%s\nwant\n%s", len(list), piecewise.String(), whole.String())
		}
	}
}

// A render goes on after its client has gone, and the server waits for it (Drain) before serve closes the
// database it reads: a render cut off by the close answered a 500 and logged it as the server stopped.
func TestDrainWaitsForRendersWhoseClientsLeft(t *testing.T) {
	s := &Server{cache: newResponseCache(0)}
	const key = "json /api/products"
	started, release := make(chan struct{}), make(chan struct{})
	render := func(version uint64) *cachedResponse {
		close(started)
		<-release
		return &cachedResponse{key: key, version: version, status: http.StatusOK, header: http.Header{}, body: []byte("done")}
	}
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, _, err := s.cache.fill(ctx, key, 0, render)
		left <- err
	}()
	<-started
	cancel()
	if err := <-left; err == nil {
		t.Fatal("the client that left got an answer, want its context's error")
	}
	drained := make(chan struct{})
	go func() {
		s.Drain()
		close(drained)
	}()
	select {
	case <-drained:
		t.Fatal("Drain returned while a render was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
		t.Fatal("Drain did not return once the render ended")
	}
}

// A list kept to be assembled is written from its pieces, in the form each client takes, to the first
// streamedReads clients of an answer no write has replaced, and then made whole once for the clients after them;
// an answer a write has replaced is always written from its pieces: under writes nearly every answer of the
// product list at L is new, and a body made for each (9.5 MB plain, 1 MB gzip) was a third of the server's memory.
func TestAPiecedBodyIsWrittenFromItsPiecesUntilItIsReadOften(t *testing.T) {
	cache := newResponseCache(0)
	plain := bytes.Repeat([]byte("x"), 2*minGzipBytes)
	var written, measured, zipped atomic.Int32
	newEntry := func() *cachedResponse {
		return &cachedResponse{key: "json /api/products", version: cache.version.Load(), status: http.StatusOK, header: http.Header{},
			headers: []headerEntry{},
			pieced:  &piecedBody{write: func(w io.Writer) error { written.Add(1); _, err := w.Write(plain); return err }, n: len(plain)},
			writeGzip: &handlers.GzipJSON{Len: func() int { measured.Add(1); return 2 },
				Write: func(w io.Writer) error { zipped.Add(1); _, err := w.Write([]byte("gz")); return err }}}
	}
	entry := newEntry()
	if !entry.cacheable() {
		t.Fatal("a pieced 200 is not cacheable")
	}
	reads := streamedReads + 3
	for range reads {
		w := httptest.NewRecorder()
		cache.send(w, httptest.NewRequest(http.MethodGet, "/api/products", nil), entry, true)
		if w.Body.String() != "gz" || w.Header().Get(HeaderContentLength) != "2" || w.Header().Get(HeaderContentEncoding) != "gzip" {
			t.Fatalf("gzip answer %q, Content-Length %q, Content-Encoding %q", w.Body, w.Header().Get(HeaderContentLength),
				w.Header().Get(HeaderContentEncoding))
		}
	}
	// The whole body is written once from the pieces too.
	if written.Load() != 0 || measured.Load() != 1 || zipped.Load() != streamedReads+1 {
		t.Errorf("after %d gzip clients: plain written %d times, gzip measured %d and written %d, want 0, 1, %d",
			reads, written.Load(), measured.Load(), zipped.Load(), streamedReads+1)
	}
	for range reads {
		if w := sendPlain(cache, entry); !bytes.Equal(w.Body.Bytes(), plain) || w.Header().Get(HeaderContentLength) != strconv.Itoa(len(plain)) {
			t.Fatalf("plain answer of %d bytes, Content-Length %v, want %d", w.Body.Len(), w.Header().Get(HeaderContentLength), len(plain))
		}
	}
	if written.Load() != streamedReads+1 {
		t.Errorf("after %d plain clients: written from pieces %d times, want %d", reads, written.Load(), streamedReads+1)
	}

	stale := newEntry()
	cache.bump()
	written.Store(0)
	var wg sync.WaitGroup
	for range reads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w := sendPlain(cache, stale); !bytes.Equal(w.Body.Bytes(), plain) {
				t.Errorf("an answer a write replaced: %d bytes, want %d", w.Body.Len(), len(plain))
			}
		}()
	}
	wg.Wait()
	if written.Load() != int32(reads) {
		t.Errorf("an answer a write replaced was written from its pieces %d times for %d clients", written.Load(), reads)
	}
}

// sendPlain sends entry to a client that does not take gzip.
func sendPlain(cache *responseCache, entry *cachedResponse) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	cache.send(w, httptest.NewRequest(http.MethodGet, "/api/products", nil), entry, false)
	return w
}
