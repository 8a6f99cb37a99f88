package web

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"stackboard/handlers"
)

// Header names the cache reads or writes.
const (
	HeaderETag            = "ETag"
	HeaderIfNoneMatch     = "If-None-Match"
	HeaderCacheControl    = "Cache-Control"
	HeaderAcceptEncoding  = "Accept-Encoding"
	HeaderContentEncoding = "Content-Encoding"
	HeaderContentLength   = "Content-Length"
	HeaderContentType     = "Content-Type"
)

// DefaultCacheBytes is the response cache's memory budget when Options leave it unset.
const DefaultCacheBytes = 32 << 20

// Bodies shorter than this are sent as they are: gzip would save less than its own header costs.
const minGzipBytes = 1024

// entryOverhead approximates what an entry costs beyond its bodies (key, headers, list element).
const entryOverhead = 512

// responseCache keeps the rendered answers to reads for the current data version. Every change bumps the version,
// so an entry is either for the version a request sees or useless; there is no expiry to tune. Entries are kept
// per variant (URL with query, format, reader's scope) and evicted least recently used within a byte budget.
type responseCache struct {
	// off makes every read render afresh (a budget below zero).
	off bool
	// version is the data version: bumped by every write this process answers and every change the watcher sees.
	version atomic.Uint64
	// boot makes ETags of different server runs differ, as the version starts again at each start.
	boot   string
	budget int64
	// rendering counts the renders running, which go on after the clients that asked have gone.
	rendering sync.WaitGroup

	// renders holds a token for each render running; there are fewer tokens than cores, so that however many
	// readers miss at once, writes and cache hits keep a core.
	renders chan struct{}

	// hits, misses and evictions are counted for the metrics.
	hits, misses, evictions atomic.Uint64

	mu      sync.Mutex
	used    int64
	entries map[string]*list.Element
	lru     *list.List
	flights map[string]*variantFlights
}

// representation is one encoding of a cached answer: its body and the header values that go with it.
type representation struct {
	body          []byte
	etag          []string
	contentLength []string
}

// cachedResponse is one rendered answer: its status, headers and body, and its gzip form made at most once.
type cachedResponse struct {
	key     string
	version uint64
	status  int
	header  http.Header
	body    []byte
	etag    string
	// pieced, when set, is the plain body, written from kept pieces (body is empty).
	pieced *piecedBody
	// plainOnce makes the plain form's header values once.
	plainOnce sync.Once

	// failed is set when the render did not finish: it panicked, or wrote nothing at all.
	failed bool

	// plain and gzipped are the ready header values of the two representations, made once so that a hit
	// allocates nothing for them.
	plain, gzipped representation

	// headers are header's entries as a list, made once: a hit assigns them without walking a map.
	headers []headerEntry

	// writeGzip, when set, writes the gzip form from kept pieces instead of compressing body; gzipPieced is that
	// form once a client asked for it.
	writeGzip  *handlers.GzipJSON
	gzipPieced *piecedBody
	gzipOnce   sync.Once
	// accounted is what the entry counts for in the cache's budget while stored; guarded by the cache's mu.
	accounted int64
}

// headerEntry is one header of a cached answer, by its canonical name.
type headerEntry struct {
	name   string
	values []string
}

// headerEntries lists a header's entries.
func headerEntries(h http.Header) []headerEntry {
	entries := make([]headerEntry, 0, len(h))
	for name, values := range h {
		entries = append(entries, headerEntry{name, values})
	}
	return entries
}

// flight is one render of a variant that requests wait for instead of rendering again.
type flight struct {
	done chan struct{}
	// version is the data version read just before the render's queries: its answer holds every change up to it.
	version  uint64
	render   renderFunc
	response *cachedResponse
}

// renderFunc renders a variant from data at least as new as version. It runs detached from every client, so one
// that gives up does not fail the others or leave a half answer behind.
type renderFunc func(version uint64) *cachedResponse

// variantFlights are a variant's render in progress and the one queued behind it. However fast writes come, a
// variant renders once at a time: requests that need newer data than the running render started from wait for
// the queued one, which starts when the running one ends and serves them all.
type variantFlights struct {
	running *flight
	queued  *flight
}

func newResponseCache(budget int64) *responseCache {
	off := budget < 0
	if budget <= 0 {
		budget = DefaultCacheBytes
	}
	var seed [4]byte
	_, _ = rand.Read(seed[:])
	return &responseCache{
		renders: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
		off:     off,
		boot:    hex.EncodeToString(seed[:]),
		budget:  budget,
		entries: make(map[string]*list.Element),
		lru:     list.New(),
		flights: make(map[string]*variantFlights),
	}
}

// bump starts a new data version: every answer cached so far is out of date.
func (c *responseCache) bump() {
	c.version.Add(1)
}

// etag is the strong validator of a variant at a version; the gzip form is another representation, so it has its own.
func (c *responseCache) etag(key string, version uint64, gzipped bool) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	tag := `"` + c.boot + "-" + strconv.FormatUint(version, 36) + "-" + strconv.FormatUint(h.Sum64(), 36)
	if gzipped {
		tag += "-gz"
	}
	return tag + `"`
}

// lookup returns the entry of key rendered from data at least as new as version, or nil.
func (c *responseCache) lookup(key string, version uint64) *cachedResponse {
	return c.lookupBytes([]byte(key), version)
}

// lookupBytes is lookup by the bytes of the key, which it makes no string of.
func (c *responseCache) lookupBytes(key []byte, version uint64) *cachedResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[string(key)]
	if !ok {
		return nil
	}
	entry := el.Value.(*cachedResponse)
	if entry.version < version {
		return nil
	}
	c.lru.MoveToFront(el)
	return entry
}

// fill answers key from data at least as new as version, sharing renders between requests: it joins the running
// render when that started from new enough data, else the queued one, else queues one. Renders run on their own
// goroutine; a client whose ctx ends stops waiting (ctx's error) while the render goes on for the others. shared
// reports whether the answer came from a render another request started, which callers must not reuse unless it
// is cacheable.
func (c *responseCache) fill(ctx context.Context, key string, version uint64, render renderFunc) (response *cachedResponse, shared bool, err error) {
	c.mu.Lock()
	vf := c.flights[key]
	if vf == nil {
		vf = &variantFlights{}
		c.flights[key] = vf
	}
	var f *flight
	shared = true
	switch {
	case vf.running == nil:
		f = &flight{done: make(chan struct{}), version: c.version.Load(), render: render}
		vf.running, shared = f, false
		c.rendering.Add(1)
		go c.run(key, vf, f)
	case vf.running.version >= version:
		f = vf.running
	case vf.queued != nil:
		f = vf.queued
	default:
		// The running render promotes this one (and sets its version) as it ends.
		f = &flight{done: make(chan struct{}), render: render}
		vf.queued, shared = f, false
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.response, shared, nil
	case <-ctx.Done():
		return nil, shared, ctx.Err()
	}
}

// run renders a variant's flights one after another, the running one and then each queued behind it, storing
// every cacheable answer.
func (c *responseCache) run(key string, vf *variantFlights, f *flight) {
	defer c.rendering.Done()
	for f != nil {
		c.renders <- struct{}{}
		f.response = f.render(f.version)
		<-c.renders
		f.response.headers = headerEntries(f.response.header)
		if f.response.cacheable() {
			c.store(f.response)
		}
		c.mu.Lock()
		next := vf.queued
		if next != nil {
			vf.running, vf.queued = next, nil
			next.version = c.version.Load()
		} else {
			vf.running = nil
			delete(c.flights, key)
		}
		c.mu.Unlock()
		close(f.done)
		f = next
	}
}

// store keeps an entry, replacing the variant's older version and evicting the least recently used beyond budget.
func (c *responseCache) store(entry *cachedResponse) {
	size := entry.size()
	if size > c.budget/2 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[entry.key]; ok {
		old := el.Value.(*cachedResponse)
		if old.version > entry.version {
			return
		}
		c.remove(el)
	}
	entry.accounted = size
	c.entries[entry.key] = c.lru.PushFront(entry)
	c.used += size
	for c.used > c.budget {
		c.remove(c.lru.Back())
		c.evictions.Add(1)
	}
}

// grow accounts for an entry's gzip form, made after it was stored.
func (c *responseCache) grow(entry *cachedResponse, by int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[entry.key]; ok && el.Value == entry {
		entry.accounted += by
		c.used += by
		for c.used > c.budget && c.lru.Len() > 1 {
			c.remove(c.lru.Back())
			c.evictions.Add(1)
		}
	}
}

func (c *responseCache) remove(el *list.Element) {
	entry := c.lru.Remove(el).(*cachedResponse)
	delete(c.entries, entry.key)
	c.used -= entry.accounted
}

// stats reports how many entries the cache holds and their bytes.
func (c *responseCache) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.used
}

// cacheable reports whether the answer may serve other requests: a complete 200 with a body, for no one client.
func (e *cachedResponse) cacheable() bool {
	cookie := e.header[setCookie]
	return !e.failed && e.status == http.StatusOK && e.length() > 0 && (len(cookie) == 0 || cookie[0] == "")
}

// size is what the entry's body costs in the budget; its gzip form is added when made.
func (e *cachedResponse) size() int64 {
	return int64(e.length()+len(e.key)) + entryOverhead
}

// renderTimeout bounds a render that runs detached from its clients.
const renderTimeout = 30 * time.Second

// cached serves reads of next from the response cache: a hit costs no query and no render, If-None-Match with the
// current ETag costs nothing at all, and concurrent misses for one variant render once. While the change watcher
// is down the cache cannot see other processes' writes, so every read renders afresh.
func (s *Server) cached(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead || s.cache.off || handlers.RequestFrom(r.Context()).Unkept {
			next.ServeHTTP(w, r)
			return
		}
		// The version is read before any query runs: an answer rendered from older data can only be stored
		// under an older version, never under the one a later write made.
		version := s.cache.version.Load()
		var keyBuf [192]byte
		keyBytes := appendVariantKey(keyBuf[:0], r, handlers.RequestFrom(r.Context()))
		// The request's headers are looked up by their canonical names as they are (TestHeaderNamesAreCanonical).
		gz := acceptsGzip(r.Header[HeaderAcceptEncoding])
		header := w.Header()
		header[HeaderCacheControl] = noCache
		ifNoneMatch := firstValue(r.Header[HeaderIfNoneMatch])
		entry := s.cache.lookupBytes(keyBytes, version)
		var key string
		if entry != nil {
			key = entry.key
		} else {
			key = string(keyBytes)
		}
		// A tag this server made names a 200 of this variant at that version, so it is answered unseen; "*" asks
		// whether the resource exists at all, which only the answer can tell.
		if ifNoneMatch != "" && ifNoneMatch != "*" {
			var etag []string
			if entry != nil {
				etag = s.cache.form(entry, gz).etag
			} else {
				etag = []string{s.cache.etag(key, version, gz)}
			}
			if etag != nil && etagListed(ifNoneMatch, etag[0]) {
				s.cache.hits.Add(1)
				header[canonicalETag] = etag
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		if entry != nil {
			s.cache.hits.Add(1)
		} else {
			s.cache.misses.Add(1)
			var (
				shared bool
				err    error
			)
			entry, shared, err = s.cache.fill(r.Context(), key, version, func(version uint64) *cachedResponse {
				return s.record(next, r, key, version)
			})
			if err != nil {
				s.log.DebugContext(r.Context(), "client went away while its answer rendered", "path", r.URL.Path)
				return
			}
			if shared && !entry.cacheable() {
				next.ServeHTTP(w, r)
				return
			}
		}
		if ifNoneMatch != "" && entry.cacheable() && (ifNoneMatch == "*" || etagListed(ifNoneMatch, s.cache.form(entry, gz).etag[0])) {
			header[canonicalETag] = s.cache.form(entry, gz).etag
			w.WriteHeader(http.StatusNotModified)
			return
		}
		s.cache.send(w, r, entry, gz)
	})
}

// Drain waits for the renders still running for clients that went away (each ends within renderTimeout) and for
// the metrics' background read of the fleet, so that the database they read is not closed under them when serve
// stops.
func (s *Server) Drain() {
	s.cache.rendering.Wait()
	if s.metrics != nil {
		s.metrics.fleet.loading.Wait()
	}
}

// record runs next into memory, detached from the client that asked (it keeps the request's values, not its
// cancellation) and within renderTimeout, and returns what it answered. A panic becomes the error adapter's 500,
// marked failed so that it is never cached.
func (s *Server) record(next http.Handler, r *http.Request, key string, version uint64) (response *cachedResponse) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), renderTimeout)
	defer cancel()
	r = r.WithContext(ctx)
	rec := &responseRecorder{header: make(http.Header), body: new(bytes.Buffer)}
	defer func() {
		if p := recover(); p != nil {
			s.log.ErrorContext(ctx, "panic", "panic", p, "stack", string(debug.Stack()))
			rec = &responseRecorder{header: make(http.Header), body: new(bytes.Buffer)}
			s.renderError(rec, r, fmt.Errorf("panic: %v", p))
			response = rec.response(key, version)
			response.failed = true
		}
	}()
	next.ServeHTTP(rec, r)
	return rec.response(key, version)
}

// response is what the recorder caught, as a cache entry; one that wrote nothing failed.
func (w *responseRecorder) response(key string, version uint64) *cachedResponse {
	failed := w.status == 0 && w.body.Len() == 0 && w.pieced == nil
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.header.Del(HeaderContentLength)
	return &cachedResponse{key: key, version: version, status: w.status, header: w.header, body: w.body.Bytes(), failed: failed, writeGzip: w.gzip,
		pieced: w.pieced}
}

// Header values every cached answer shares; net/http only reads them. Headers are set by their canonical name,
// as net/http keeps them ("ETag" is kept as "Etag").
var (
	canonicalETag = http.CanonicalHeaderKey(HeaderETag)
	setCookie     = http.CanonicalHeaderKey("Set-Cookie")
	noCache       = []string{"no-cache"}
	gzipCoding    = []string{"gzip"}
)

// send writes an entry, gzipped when the client takes it and it is worth it.
func (c *responseCache) send(w http.ResponseWriter, r *http.Request, entry *cachedResponse, acceptsGzip bool) {
	header := w.Header()
	if entry.headers == nil {
		entry.headers = headerEntries(entry.header)
	}
	for _, h := range entry.headers {
		header[h.name] = h.values
	}
	form := c.form(entry, acceptsGzip)
	if form == &entry.gzipped {
		header[HeaderContentEncoding] = gzipCoding
	}
	if form.etag != nil {
		header[canonicalETag] = form.etag
	}
	header[HeaderContentLength] = form.contentLength
	w.WriteHeader(entry.status)
	if r.Method == http.MethodHead {
		return
	}
	c.write(w, entry, form)
}

// streamedReads is how many clients of an answer that no write has replaced yet get a pieced body written from
// its pieces; the clients after them share it made whole, once. Under writes nearly every answer of the product
// list at L is new, and a body made for each (9.5 MB plain, 1 MB gzip, held while slow clients took it) was a
// third of the server's memory; while nothing changes, one write of a whole body is cheaper than copying the
// pieces for each client.
const streamedReads = 8

// piecedBody is a body of n bytes written from kept pieces (a list's fragments), made whole once when it is read
// often enough.
type piecedBody struct {
	write func(io.Writer) error
	n     int
	reads atomic.Int32
	once  sync.Once
	whole []byte
}

// bytes returns the body made whole, and whether this call made it.
func (p *piecedBody) bytes() (body []byte, made bool) {
	p.once.Do(func() {
		made = true
		var b bytes.Buffer
		b.Grow(p.n)
		p.write(&b)
		p.whole = b.Bytes()
	})
	return p.whole, made
}

// write writes one form of the entry's body.
func (c *responseCache) write(w io.Writer, entry *cachedResponse, form *representation) {
	pieced := entry.pieced
	if form == &entry.gzipped {
		pieced = entry.gzipPieced
	}
	if pieced == nil {
		w.Write(form.body)
		return
	}
	if entry.version != c.version.Load() || pieced.reads.Add(1) <= streamedReads {
		pieced.write(w)
		return
	}
	body, made := pieced.bytes()
	if made && pieced == entry.gzipPieced {
		// The plain body counts in the budget from the start (size); the gzip form's from when it is made.
		c.grow(entry, int64(len(body)))
	}
	w.Write(body)
}

// form is the representation of entry a client gets: gzip when it takes it, the answer may be shared and it is
// worth compressing, else the plain body. Uncacheable answers carry no ETag.
func (c *responseCache) form(entry *cachedResponse, acceptsGzip bool) *representation {
	cacheable := entry.cacheable()
	if acceptsGzip && cacheable && entry.length() >= minGzipBytes {
		c.gzip(entry)
		return &entry.gzipped
	}
	entry.plainOnce.Do(func() {
		// A pieced body is write's: it may never be made whole.
		entry.plain = c.representation(entry, entry.body, entry.length(), false)
	})
	return &entry.plain
}

// representation makes the header values of one encoding of an entry, whose body is n bytes.
func (c *responseCache) representation(entry *cachedResponse, body []byte, n int, gzipped bool) representation {
	form := representation{body: body, contentLength: []string{strconv.Itoa(n)}}
	if entry.cacheable() {
		form.etag = []string{c.etag(entry.key, entry.version, gzipped)}
	}
	return form
}

// length is the length of the entry's plain body, made or not.
func (e *cachedResponse) length() int {
	if e.pieced != nil {
		return e.pieced.n
	}
	return len(e.body)
}

// plainBody is the entry's plain body, made whole on first use when it was kept to be written.
func (e *cachedResponse) plainBody() []byte {
	if e.pieced != nil {
		body, _ := e.pieced.bytes()
		return body
	}
	return e.body
}

// gzip makes the entry's gzip form once: compressed on first use, or, when it is written from kept pieces, only
// its length (the budget counts it once it is made whole).
func (c *responseCache) gzip(entry *cachedResponse) {
	compressed := false
	entry.gzipOnce.Do(func() {
		if entry.writeGzip != nil {
			entry.gzipPieced = &piecedBody{write: entry.writeGzip.Write, n: entry.writeGzip.Len()}
			entry.gzipped = c.representation(entry, nil, entry.gzipPieced.n, true)
			return
		}
		compressed = true
		var buf bytes.Buffer
		buf.Grow(entry.length() / 4)
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		zw.Write(entry.plainBody())
		zw.Close()
		entry.gzipped = c.representation(entry, buf.Bytes(), buf.Len(), true)
	})
	if compressed {
		c.grow(entry, int64(len(entry.gzipped.body)))
	}
}

// responseRecorder is an http.ResponseWriter that keeps the answer in memory.
type responseRecorder struct {
	header http.Header
	status int
	body   *bytes.Buffer
	gzip   *handlers.GzipJSON
	// pieced is a body kept to be written when needed (keepLazyBody).
	pieced *piecedBody
}

func (w *responseRecorder) Header() http.Header { return w.header }

// keepBody takes a rendered body as it is, when nothing was written yet.
func (w *responseRecorder) keepBody(body *bytes.Buffer) {
	if w.body.Len() == 0 {
		w.body = body
		return
	}
	w.body.Write(body.Bytes())
}

// keepLazyBody takes a body that is made (or written) when a client needs it, when nothing was written yet.
func (w *responseRecorder) keepLazyBody(body handlers.LazyJSON) {
	if w.body.Len() == 0 {
		w.pieced = &piecedBody{write: body.Write, n: body.Len}
		return
	}
	body.Write(w.body)
}

// keepGzip takes what writes the body's gzip form.
func (w *responseRecorder) keepGzip(gzip *handlers.GzipJSON) {
	w.gzip = gzip
}

func (w *responseRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.body.Len() == 0 {
		// A handler that announces its length gets one allocation of the right size, not doubling up to it.
		if n, err := strconv.Atoi(w.header.Get(HeaderContentLength)); err == nil && n > len(b) && n <= 1<<30 {
			w.body.Grow(n)
		}
	}
	return w.body.Write(b)
}

// variantKey names what a read's answer depends on besides the data: the path and query (parameters sorted), the
// format, when reads are scoped by token, who is reading, and whether through a browser's session.
func variantKey(r *http.Request, req *handlers.Request) string {
	return string(appendVariantKey(nil, r, req))
}

// appendVariantKey appends variantKey's name of a read to b: a hit looks its entry up by these bytes and makes no
// string of them.
func appendVariantKey(b []byte, r *http.Request, req *handlers.Request) []byte {
	b = append(b, req.Format.String()...)
	b = append(b, ' ')
	b = append(b, r.URL.Path...)
	if r.URL.RawQuery != "" {
		b = append(b, '?')
		b = append(b, r.URL.Query().Encode()...)
	}
	if req.Access.ReadsRequired {
		b = append(b, " as "...)
		b = append(b, req.Access.Principal()...)
	}
	if req.Access.Session {
		// A page shown to a signed-in browser names its token and offers to sign out.
		b = append(b, " session of "...)
		b = append(b, req.Access.Principal()...)
	}
	if req.HTML() {
		// Pages hold absolute links (a badge's Markdown) to where the reader reached the server.
		b = append(b, " at "...)
		b = append(b, req.BaseURL...)
	}
	return b
}

// firstValue is http.Header.Get's answer from a header's values.
func firstValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

// acceptsGzip reports whether an Accept-Encoding header takes gzip (and does not refuse it with q=0).
func acceptsGzip(values []string) bool {
	for _, value := range values {
		for part := range strings.SplitSeq(value, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// etagListed reports whether an If-None-Match header lists etag itself (weakly compared, as RFC 9110 says for
// If-None-Match).
func etagListed(ifNoneMatch, etag string) bool {
	for candidate := range strings.SplitSeq(ifNoneMatch, ",") {
		if strings.TrimPrefix(strings.TrimSpace(candidate), "W/") == etag {
			return true
		}
	}
	return false
}
