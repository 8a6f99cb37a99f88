package web

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/google/uuid"

	"stackboard/handlers"
	"stackboard/models"
)

// statusRecorder remembers the status a handler wrote, for the access log and for panic recovery.
type statusRecorder struct {
	http.ResponseWriter
	status int
	// bytes counts the body bytes written, for the access log.
	bytes int
	// beforeAnswer, when set, runs once just before the status goes out.
	beforeAnswer func()
	// route is the metrics of the route that took the request, which its pipeline notes; nil until one did (a
	// URL no route matches, a Host refused before routing).
	route *routeMetrics
}

func (w *statusRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
		if w.beforeAnswer != nil {
			w.beforeAnswer()
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (to flush streams, for example).
func (w *statusRecorder) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}

// exchange is what common keeps about one request, in one allocation: the decisions the handlers read and the
// recorder of the answer.
type exchange struct {
	recorder statusRecorder
	req      handlers.Request
	// id is the X-Request-Id header value when the server made the id.
	id [1]string
}

// common wraps every request: it gives it a request id (the client's Client-Request-Id when it sent a usable one),
// echoes that id, negotiates the format, recovers from panics through the error adapter, and writes the access
// log. The route pipeline fills in the rest of the handlers.Request it starts.
func (s *Server) common(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		x := &exchange{}
		header := w.Header()
		// The client's id is echoed in the very slice the request came with: net/http only reads it.
		var id string
		if sent := r.Header[HeaderClientRequestID]; len(sent) > 0 && usableRequestID(sent[0]) {
			id = sent[0]
			header[HeaderClientRequestID] = sent[:1:1]
			header[HeaderRequestID] = sent[:1:1]
		} else {
			id = newRequestID()
			x.id[0] = id
			header[HeaderRequestID] = x.id[:]
		}
		// The format is negotiated here, once; the family is the API prefix's until a route declares its own,
		// so that refusals before routing (a Host not allowed) answer in the right shape too.
		req := &x.req
		req.ID, req.Family = id, prefixFamily(r.URL.Path)
		req.Format, req.FormatErr = negotiate(r)
		r = r.WithContext(handlers.WithRequest(r.Context(), req))
		recorder := &x.recorder
		recorder.ResponseWriter = w
		if isWrite(r.Method) {
			// A write has committed by the time it answers; a new data version before the answer goes out means
			// the client's next read cannot be served from the cache of the old data.
			recorder.beforeAnswer = s.cache.bump
			defer s.cache.bump()
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic", "panic", p, "stack", string(debug.Stack()))
				if recorder.status == 0 {
					s.renderError(recorder, r, fmt.Errorf("panic: %v", p))
				}
			}
			took := time.Since(start)
			status := cmp.Or(recorder.status, http.StatusOK) // a handler that writes nothing answers 200
			route := recorder.route
			if route == nil {
				route = s.metrics.unmatched
			}
			route.observe(r.Method, status, took)
			// Above info the line costs nothing: no attribute is made unless it is written.
			if ctx := r.Context(); s.log.Enabled(ctx, slog.LevelInfo) {
				s.log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", r.Method),
					slog.String("route", route.pattern), slog.String("path", r.URL.Path), slog.Int("status", status),
					slog.Int("bytes", recorder.bytes), slog.Int64("duration_ms", took.Milliseconds()),
					slog.String("request_id", id))
			}
		}()
		next.ServeHTTP(recorder, r)
	})
}

// baseURL is where people reach the server: --public-url when set (behind a proxy the request's own scheme and
// host are the proxy's view, not the reader's), else the scheme and host the request came to.
func (s *Server) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// newRequestID makes a version 4 UUID from the runtime's fast generator: a request id must be unique, not secret,
// and crypto/rand cost more than the rest of a cached answer.
func newRequestID() string {
	var id uuid.UUID
	binary.LittleEndian.PutUint64(id[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(id[8:], rand.Uint64())
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id.String()
}

// usableRequestID reports whether a client's request id can be echoed: within the length limits, printable ASCII.
func usableRequestID(id string) bool {
	if len(id) < models.MinClientRequestIDLength || len(id) > models.MaxClientRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// checkClientRequestID enforces /v1's rule for its JSON variant: a Client-Request-Id header of 36 to 128
// printable characters.
func checkClientRequestID(id string) error {
	const field = HeaderClientRequestID
	switch {
	case id == "":
		return &models.FieldError{Field: field, Reason: models.ReasonMissing, Problem: "header is required (a UUID is recommended)"}
	case len(id) > models.MaxClientRequestIDLength || len(id) < models.MinClientRequestIDLength:
		return models.CheckLength(field, "header", len(id), models.MinClientRequestIDLength, models.MaxClientRequestIDLength)
	case !usableRequestID(id):
		return &models.FieldError{Field: field, Reason: models.ReasonInvalid, Problem: "header may contain only printable ASCII characters"}
	}
	return nil
}
