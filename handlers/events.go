package handlers

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/views"
)

// Events serves a stack's event history.
type Events struct {
	DB  *gorm.DB
	Out Responder
	// Keep is how long events are kept (serve --keep-events); zero means for ever.
	Keep time.Duration
}

// List answers GET /v1/{project_id}/stacks/{stack_name}/events[?stack_id=&marker=&limit=&filter=]: one page of the
// stack's events, newest first, with next_marker (also in page_info) when there are more.
func (h Events) List(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	query, err := eventQueryFrom(r)
	if err != nil {
		return err
	}
	events, err := models.ListEvents(r.Context(), h.DB, vars["project_id"], vars["stack_name"], query)
	if err != nil {
		return err
	}
	fleet, err := headerFleet(r, h.DB)
	if err != nil {
		return err
	}
	page := views.EventsListPage{
		Meta: views.Meta{
			Title: "Events of " + vars["stack_name"], Nav: views.NavStacks, URL: r.URL.RequestURI(),
			Topics: []string{models.StackTopic(events.StackID)}, Project: vars["project_id"], Fleet: fleet,
		},
		ProjectID: vars["project_id"],
		StackName: vars["stack_name"],
		StackID:   events.StackID,
		Query:     query,
		Events:    events,
		Now:       time.Now(),
		Keep:      h.Keep,
	}
	return h.Out.Respond(w, r, View{Data: events, Page: views.EventsPage(page), Partial: views.EventsPartial(page)})
}

// eventQueryFrom reads marker, limit and filter.
func eventQueryFrom(r *http.Request) (models.EventQuery, error) {
	q := r.URL.Query()
	query := models.EventQuery{StackID: stackIDParam(r), Marker: q.Get("marker"), Filter: q.Get("filter")}
	limit, err := models.ValidateLimit("limit", q.Get("limit"))
	if err != nil {
		return query, err
	}
	query.Limit = limit
	return query, nil
}
