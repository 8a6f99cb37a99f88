package handlers

import (
	"errors"
	"net/http"
	"time"

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
	// Fragments, when set, count the header's fleet.
	Fragments *models.Fragments
}

// List answers GET /v1/{project_id}/stacks/{stack_name}/events[?stack_id=&marker=&limit=&filter=]: one page of the
// stack's events, newest first, with next_marker (also in page_info) when there are more.
func (h Events) List(w http.ResponseWriter, r *http.Request) error {
	vars := routeVars{r}
	query, err := eventQueryFrom(r)
	if err != nil {
		return err
	}
	events, err := models.ListEvents(r.Context(), h.DB, vars.get("project_id"), vars.get("stack_name"), query)
	var bad *models.FieldError
	badFilter := errors.As(err, &bad) && bad.Field == "filter" && requestOf(r).HTML()
	if err != nil && !badFilter {
		return err
	}
	fleet, err := headerFleet(r, h.DB, h.Fragments)
	if err != nil {
		return err
	}
	page := views.EventsListPage{
		Meta: views.Meta{
			Title: "Events of " + vars.get("stack_name"), Nav: views.NavStacks, URL: r.URL.RequestURI(),
			Topics: []string{models.StackTopic(events.StackID)}, Project: vars.get("project_id"), Fleet: fleet,
		},
		ProjectID: vars.get("project_id"),
		StackName: vars.get("stack_name"),
		StackID:   events.StackID,
		Query:     query,
		Form:      eventFormOf(r),
		Events:    events,
		Now:       time.Now(),
		Keep:      h.Keep,
	}
	if badFilter {
		// A person's bad filter is said beside the form, which keeps what they typed; the page stays.
		page.FilterError = bad.Error()
		page.Meta.Topics = nil
		return h.Out.Respond(w, r, View{Status: http.StatusBadRequest, Data: events, Page: views.EventsPage(page), Partial: views.EventsPage(page)})
	}
	return h.Out.Respond(w, r, View{Data: events, Page: views.EventsPage(page), Partial: views.EventsPartial(page)})
}

// eventFormOf reads the events page's form: the event type and resource it picks.
func eventFormOf(r *http.Request) views.EventForm {
	q := r.URL.Query()
	return views.EventForm{EventType: q.Get("event_type"), ResourceName: q.Get("resource_name"), Expression: q.Get("filter")}
}

// eventQueryFrom reads marker, limit and filter; without a filter, the page form's event_type and
// resource_name make one (our extension, so that the form needs no script).
func eventQueryFrom(r *http.Request) (models.EventQuery, error) {
	q := r.URL.Query()
	query := models.EventQuery{StackID: stackIDParam(r), Marker: q.Get("marker"), Filter: q.Get("filter")}
	if query.Filter == "" {
		form := eventFormOf(r)
		query.Filter = models.EventFilterOf(form.EventType, form.ResourceName)
	}
	limit, err := models.ValidateLimit("limit", q.Get("limit"))
	if err != nil {
		return query, err
	}
	query.Limit = limit
	return query, nil
}
