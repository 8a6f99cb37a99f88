package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"stackboard/handlers"
	"stackboard/models"
	"stackboard/views"
)

// Content types of the three formats.
const (
	contentTypeJSON = "application/json"
	contentTypeHTML = "text/html; charset=utf-8"
)

// responder writes views and errors in the format negotiate chooses, rendering into a buffer first so that a
// failure while rendering still becomes a clean error response.
type responder struct {
	log *slog.Logger
	// meta is the header of a page the responder makes itself (the JSON view), which no handler described.
	meta func(r *http.Request, title string) views.Meta
	// buffers are reused between responses: a list's body is hundreds of kilobytes, and growing a fresh
	// buffer to that size for every render was a tenth of the render.
	buffers *sync.Pool
}

func newResponder(log *slog.Logger) responder {
	return responder{log: log, buffers: &sync.Pool{New: func() any { return new(bytes.Buffer) }}}
}

// Respond writes v as JSON, a full page or a partial, in the format the route pipeline decided.
func (rs responder) Respond(w http.ResponseWriter, r *http.Request, v handlers.View) error {
	req := handlers.RequestFrom(r.Context())
	f := req.Format
	if v.Status == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if f == handlers.FormatPage && v.Page == nil || f == handlers.FormatPartial && v.Partial == nil {
		f = handlers.FormatJSON
	}
	keeper, keeps := w.(bodyKeeper)
	body := new(bytes.Buffer)
	if !keeps {
		body = rs.buffers.Get().(*bytes.Buffer)
		defer rs.buffers.Put(body)
		body.Reset()
	}
	contentType := contentTypeHTML
	var err error
	switch f {
	case handlers.FormatJSON:
		contentType = contentTypeJSON
		if lazy, ok := v.Data.(handlers.LazyJSON); ok {
			if keeps {
				setBodyHeaders(w, contentType, lazy.Len)
				w.WriteHeader(cmp.Or(v.Status, http.StatusOK))
				keeper.keepLazyBody(lazy)
				if v.Gzip != nil {
					keeper.keepGzip(v.Gzip)
				}
				return nil
			}
			err = lazy.Write(body)
			break
		}
		if encoded, ok := v.Data.(handlers.EncodedJSON); ok {
			if keeps {
				body = bytes.NewBuffer(encoded)
			} else {
				body.Write(encoded)
			}
			break
		}
		err = encodeJSON(body, v.Data)
	case handlers.FormatPage:
		err = v.Page.Render(pageContext(r.Context(), req), body)
	case handlers.FormatPartial:
		err = v.Partial.Render(pageContext(r.Context(), req), body)
	case handlers.FormatJSONView:
		err = rs.jsonView(r, req, v.Data, body)
	}
	if err != nil {
		return fmt.Errorf("render %s: %w", f, err)
	}
	status := v.Status
	if status == 0 {
		status = http.StatusOK
	}
	if keeps {
		setBodyHeaders(w, contentType, body.Len())
		w.WriteHeader(status)
		keeper.keepBody(body)
		if f == handlers.FormatJSON && v.Gzip != nil {
			keeper.keepGzip(v.Gzip)
		}
		return nil
	}
	writeBody(w, status, contentType, body.Bytes())
	return nil
}

// jsonView renders the page that shows a URL's JSON: the very bytes an API client gets, indented.
func (rs responder) jsonView(r *http.Request, req *handlers.Request, data any, body *bytes.Buffer) error {
	var encoded bytes.Buffer
	if lazy, ok := data.(handlers.LazyJSON); ok {
		if err := lazy.Write(&encoded); err != nil {
			return err
		}
	} else if raw, ok := data.(handlers.EncodedJSON); ok {
		encoded.Write(raw)
	} else if err := encodeJSON(&encoded, data); err != nil {
		return err
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, encoded.Bytes(), "", "  "); err != nil {
		return err
	}
	page := views.JSONView{Path: r.URL.Path, JSON: indented.String(), Header: HeaderClientRequestID}
	page.Meta = rs.meta(r, "JSON of "+r.URL.Path)
	page.Meta.URL = withoutFormat(r).URL.RequestURI()
	return views.JSONViewPage(page).Render(pageContext(r.Context(), req), body)
}

// pageContext tells the views what the pipeline decided that they show: the header the page's JSON needs, and
// who is signed in.
func pageContext(ctx context.Context, req *handlers.Request) context.Context {
	if req.Family == handlers.FamilyRF {
		ctx = views.WithJSONHeader(ctx, HeaderClientRequestID)
	}
	if req.Access.Session && req.Access.Token != nil {
		ctx = views.WithSignedIn(ctx, req.Access.Token.Name)
	}
	return ctx
}

// bodyKeeper is a ResponseWriter that keeps the body it is given: the response cache's recorder. The responder
// hands it the rendered buffer rather than copying a body of megabytes into it.
type bodyKeeper interface {
	keepBody(body *bytes.Buffer)
	// keepLazyBody takes a body that is made (or written) when it is needed, when nothing was written yet.
	keepLazyBody(body handlers.LazyJSON)
	// keepGzip takes what writes the body's gzip form, when that is cheaper than compressing the body.
	keepGzip(gzip *handlers.GzipJSON)
}

func encodeJSON(buf *bytes.Buffer, v any) error {
	encoder := json.NewEncoder(buf)
	encoder.SetEscapeHTML(false)
	if products, ok := v.([]models.ProductStatus); ok {
		// The product list can be megabytes: encoded whole, encoding/json would build it all in a buffer of its
		// own before copying it into buf. One product at a time, only buf holds it; the bytes are the same.
		buf.WriteByte('[')
		for i := range products {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encoder.Encode(products[i]); err != nil {
				return err
			}
			buf.Truncate(buf.Len() - 1) // Encode ends each value with a newline
		}
		buf.WriteString("]\n")
		return nil
	}
	return encoder.Encode(v)
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	setBodyHeaders(w, contentType, len(body))
	w.WriteHeader(status)
	w.Write(body)
}

func setBodyHeaders(w http.ResponseWriter, contentType string, length int) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(length))
}

// handlerFunc is a handler that reports failure by returning an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc to http.Handler: any error it returns is rendered by the error adapter.
func (s *Server) handle(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.renderError(w, r, err)
		}
	})
}

// problem is an error resolved to what the client is told.
type problem struct {
	status  int
	code    string
	message string
	detail  string
}

// resolve is the one error table: it turns any error into its HTTP status, the family's error code and the
// message the client sees. Handlers and models return errors; only this maps them.
func resolve(err error, req *handlers.Request) problem {
	var (
		handlerErr   *handlers.Error
		fieldErr     *models.FieldError
		notFoundErr  *models.NotFoundError
		conflictErr  *models.ConflictError
		forbiddenErr *models.ForbiddenError
	)
	family := req.Family
	spockWrite := family == handlers.FamilySpock && req.Write
	switch {
	case errors.As(err, &handlerErr):
		code := handlerErr.Code
		if code == "" {
			code = defaultCode(family, handlerErr.Status)
		}
		return problem{handlerErr.Status, code, handlerErr.Message, handlerErr.Detail}
	case errors.As(err, &fieldErr):
		switch {
		case family == handlers.FamilyRF:
			return problem{http.StatusBadRequest, rfCodeForReason(fieldErr.Reason), fieldErr.Error(), ""}
		case spockWrite:
			// spock refuses a product it cannot take with one message; the detail says which field and why.
			return problem{http.StatusBadRequest, "400", "Invalid ProductArgs", fieldErr.Error()}
		}
		return problem{http.StatusBadRequest, defaultCode(family, http.StatusBadRequest), fieldErr.Error(), ""}
	case errors.As(err, &notFoundErr):
		message := notFoundErr.Error()
		if family == handlers.FamilySpock && notFoundErr.Kind == models.KindProduct {
			message = "Product Not Found"
		}
		return problem{http.StatusNotFound, defaultCode(family, http.StatusNotFound), message, ""}
	case errors.As(err, &conflictErr):
		message := conflictErr.Error()
		switch {
		case conflictErr.Kind == models.KindClientRequestID:
			message = "Client-Request-Id " + conflictErr.Name + " was already used for a different request"
		case family == handlers.FamilySpock && conflictErr.Kind == models.KindProduct:
			message = "Product Already Exists"
		}
		return problem{http.StatusConflict, defaultCode(family, http.StatusConflict), message, ""}
	case errors.As(err, &forbiddenErr):
		return problem{http.StatusForbidden, defaultCode(family, http.StatusForbidden), forbiddenErr.Error(), ""}
	case req.Failure != nil:
		return problem{req.Failure.Status, req.Failure.Code, req.Failure.Message, ""}
	}
	return problem{http.StatusInternalServerError, defaultCode(family, http.StatusInternalServerError), "Internal Server Error", ""}
}

// renderError is the one error adapter: it logs the error once and answers in the request's format, in the error
// shape of the route's family.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		s.log.DebugContext(r.Context(), "client went away", "path", r.URL.Path)
		return
	}
	req := handlers.RequestFrom(r.Context())
	p := resolve(err, req)
	level := slog.LevelInfo
	if p.status >= 500 {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path, "status", p.status,
		"code", p.code, "request_id", req.ID, "error", err)

	var body bytes.Buffer
	contentType := contentTypeHTML
	switch req.Format {
	case handlers.FormatJSON:
		contentType = contentTypeJSON
		_ = encodeJSON(&body, errorBody(req.Family, p))
	default:
		pr := views.Problem{Status: p.status, Title: statusTitle(p.status), Message: joinDetail(p), RequestID: req.ID}
		switch {
		case p.status == http.StatusNotFound:
			// One wording for whatever is missing, a page or a stack; the JSON keeps each API's own message.
			pr.Message = notFoundText
			pr.Path = r.URL.Path
		case p.status >= 500:
			pr.Message = "Something went wrong on our side. The server log has the details under the request id below."
		}
		component := views.ErrorPartial(pr)
		if req.Format != handlers.FormatPartial {
			component = views.ErrorPage(s.pageMeta(r, pr.Title), pr)
		}
		if renderErr := component.Render(pageContext(r.Context(), req), &body); renderErr != nil {
			s.log.ErrorContext(r.Context(), "render error page", "error", renderErr)
			body.Reset()
			body.WriteString(http.StatusText(p.status))
			contentType = "text/plain; charset=utf-8"
		}
	}
	writeBody(w, p.status, contentType, body.Bytes())
}

// notFoundText is what every page that finds nothing says, followed by the address.
const notFoundText = "Nothing was found at this address. It may have been deleted or renamed, or the address is mistyped: search for it above."

// pageMeta is the header of a page no handler described (an error, the JSON view): the search box, and the
// project menu when the caller may read the fleet. Without it (a refused Host, no token, a database down) the
// menu stays empty.
func (s *Server) pageMeta(r *http.Request, title string) views.Meta {
	req := handlers.RequestFrom(r.Context())
	meta := views.Meta{Title: title, URL: r.URL.RequestURI()}
	if !req.AccessKnown || req.Access.RequireToken(false) != nil {
		return meta
	}
	if fleet, err := models.LoadFleet(r.Context(), s.db, req.Access.VisibleProjects()); err == nil {
		meta.Fleet = fleet
	}
	return meta
}

func joinDetail(p problem) string {
	if p.detail == "" {
		return p.message
	}
	return p.message + ": " + p.detail
}

func statusTitle(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Not found"
	case http.StatusBadRequest:
		return "That request is not valid"
	case 622:
		return "The products could not be listed"
	}
	if text := http.StatusText(status); text != "" {
		return text
	}
	return "Error"
}

// rfCodeForReason maps why a value was refused to the RF error code that says so.
func rfCodeForReason(reason models.Reason) string {
	switch reason {
	case models.ReasonMissing:
		return "RF.10011001"
	case models.ReasonTooShort:
		return "RF.10011004"
	case models.ReasonTooLong:
		return "RF.10011005"
	case models.ReasonUnknownField:
		return "RF.10011002"
	}
	return "RF.10011003"
}

// defaultCode is the error code a family gives a status when nothing more specific applies.
func defaultCode(f handlers.Family, status int) string {
	if f != handlers.FamilyRF {
		return strconv.Itoa(status)
	}
	switch status {
	case http.StatusBadRequest:
		return "RF.10011000"
	case http.StatusUnauthorized:
		return "RF.10012001"
	case http.StatusForbidden:
		return "RF.10013001"
	case http.StatusNotFound:
		return "RF.10014001"
	case http.StatusMethodNotAllowed:
		return "RF.10014005"
	case http.StatusConflict:
		return "RF.10019001"
	case http.StatusRequestEntityTooLarge:
		return "RF.10011013"
	case http.StatusTooManyRequests:
		return "RF.10012901"
	}
	return "RF.10010001"
}

type spockError struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Detail  string `json:"detail,omitempty"`
}

type rfError struct {
	ErrorCode                   string `json:"error_code"`
	ErrorMsg                    string `json:"error_msg"`
	EncodedAuthorizationMessage string `json:"encoded_authorization_message"`
}

// errorBody is a problem in the family's JSON error shape.
func errorBody(f handlers.Family, p problem) any {
	if f == handlers.FamilyRF {
		return rfError{ErrorCode: p.code, ErrorMsg: p.message}
	}
	return spockError{Message: p.message, Code: p.code, Detail: p.detail}
}
