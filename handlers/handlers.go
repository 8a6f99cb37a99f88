// Package handlers reads requests, asks models for one view-model, and hands it to the responder; one file per
// resource.
package handlers

import (
	"io"
	"net/http"

	"github.com/a-h/templ"
	"gorm.io/gorm"

	"stackboard/models"
)

// View is one view-model in the three forms a URL answers with: JSON, a full page, and the htmx partial.
type View struct {
	// Status is the HTTP status; zero means 200.
	Status  int
	Data    any
	Page    templ.Component
	Partial templ.Component
	// Gzip, when set, writes the gzip form of the JSON body more cheaply than compressing it whole.
	Gzip *GzipJSON
}

// EncodedJSON is a JSON body already encoded: a View whose Data is one is sent as it is.
type EncodedJSON []byte

// LazyJSON is a JSON body of Len bytes that Write writes from kept pieces, without making it one body: a View
// whose Data is one is sent as it is, and the response cache writes it only to a client that does not take the
// gzip form.
type LazyJSON struct {
	Len   int
	Write func(io.Writer) error
}

// GzipJSON is the gzip form of a JSON body, written as it is sent: Len works out its length, Write writes it.
type GzipJSON struct {
	Len   func() int
	Write func(io.Writer) error
}

// listView is the View of a list assembled from fragments: its JSON and gzip forms are written from its pieces.
func listView(list models.List) View {
	return View{Data: LazyJSON{Len: list.Len, Write: list.WriteJSON}, Gzip: &GzipJSON{Len: list.GzipLen, Write: list.WriteGzip}}
}

// Responder writes a View in the format the request asks for.
type Responder interface {
	Respond(w http.ResponseWriter, r *http.Request, v View) error
}

// Error is a failure with the HTTP status and the code that an API family reports for it.
type Error struct {
	Status int
	// Code is the family's error code ("622", "RF.10011001"); empty means the default for Status.
	Code string
	// Message is shown to the client.
	Message string
	// Detail, when set, adds to a fixed Message (such as spock's "Invalid ProductArgs") what exactly was wrong.
	Detail string
	// Err is the cause; it is logged, never shown.
	Err error
}

// Error returns the message and the cause.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error {
	return e.Err
}

// headerFleet is the fleet summary a page's header shows (its project menu). JSON has no header, so a request
// that will be answered with JSON skips the query.
func headerFleet(r *http.Request, db *gorm.DB, fragments *models.Fragments) (models.Fleet, error) {
	req := requestOf(r)
	if !req.HTML() {
		return models.Fleet{}, nil
	}
	if fragments != nil && !req.Unkept {
		// The fragments' mirror of the fleet, kept current by the change feed, instead of counting every stack.
		return fragments.Fleet(r.Context(), db, req.Access.VisibleProjects())
	}
	return models.LoadFleet(r.Context(), db, req.Access.VisibleProjects())
}
