package handlers

import (
	"net/http"
	"time"

	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/views"
)

// Triage serves the fleet-wide stack list: every project's stacks, broken first, filtered and paged.
type Triage struct {
	DB  *gorm.DB
	Out Responder
}

// List answers GET /stacks: one page of the stacks the filters keep (status, run_status, project, product, q),
// sorted (broken first, then the longest in its state), with the counts of all they keep.
func (h Triage) List(w http.ResponseWriter, r *http.Request) error {
	req := requestOf(r)
	query := r.URL.Query()
	sort, err := models.ParseSort(query.Get("sort"), models.StackSortKeys)
	if err != nil {
		return err
	}
	filter := models.TriageFilter{
		Status: query.Get("status"), RunStatus: query.Get("run_status"), Project: query.Get("project"),
		Product: query.Get("product"), Query: query.Get("q"), Sort: sort, Projects: req.Access.VisibleProjects(),
	}
	if filter.Limit, err = models.ValidateLimit("limit", query.Get("limit")); err != nil {
		return err
	}
	if query.Has("marker") {
		if err := filter.ParseMarker(query.Get("marker")); err != nil {
			return err
		}
	}
	if err := filter.Validate(); err != nil {
		return err
	}
	if filter.Project != "" {
		if err := req.Authorize(filter.Project); err != nil {
			return err
		}
	}
	fleet, err := models.LoadFleetSelecting(r.Context(), h.DB, filter.Projects, filter.Selection(h.DB.WithContext(r.Context())))
	if err != nil {
		return err
	}
	list, err := models.FindTriage(r.Context(), h.DB, filter, fleet)
	if err != nil {
		return err
	}
	if filter.Limit == 0 {
		filter.Limit = models.DefaultPageLimit
	}
	if filter.Sort.IsZero() {
		filter.Sort = models.BrokenFirst
	}
	page := views.TriagePage{
		Meta: views.Meta{
			Title: "All stacks", Nav: views.NavStacks, URL: r.URL.RequestURI(), Topics: []string{models.TopicAll},
			Project: filter.Project, Fleet: fleet,
		},
		List: list, Filter: filter, Now: time.Now(),
	}
	if list.NextMarker != nil {
		w.Header().Set("Link", "<"+page.MoreURL()+`>; rel="next"`)
	}
	partial := views.TriagePartial(page)
	if query.Has("marker") {
		// htmx loading more rows onto the list asks for the rows alone.
		partial = views.TriageRows(page)
	}
	return h.Out.Respond(w, r, View{Data: list, Page: views.TriageListPage(page), Partial: partial})
}
