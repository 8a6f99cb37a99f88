package handlers

import (
	"net/http"
	"strings"

	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/views"
)

// Search serves the header's search: products, stacks, services, images and domains whose text contains q.
type Search struct {
	DB  *gorm.DB
	Out Responder
	// Fragments, when set, count the header's fleet.
	Fragments *models.Fragments
}

// Find answers GET /search?q=[&kind=&limit=&marker=]: the matches grouped by kind, a few of each, or with kind one
// kind page by page.
func (h Search) Find(w http.ResponseWriter, r *http.Request) error {
	req := requestOf(r)
	query := r.URL.Query()
	q := models.SearchQuery{Text: query.Get("q"), Kind: models.SearchKind(query.Get("kind")), Projects: req.Access.VisibleProjects()}
	var err error
	if q.Limit, err = models.ValidateLimit("limit", query.Get("limit")); err != nil {
		return err
	}
	if query.Has("marker") {
		if err := q.ParseMarker(query.Get("marker")); err != nil {
			return err
		}
	}
	if q.Kind != "" && q.Limit == 0 {
		q.Limit = models.DefaultPageLimit
	}
	var results models.SearchResults
	// A browser opening the search page without text gets the page that says what it searches.
	if strings.TrimSpace(q.Text) != "" || !req.HTML() {
		if results, err = models.Search(r.Context(), h.DB, q); err != nil {
			return err
		}
	}
	fleet, err := headerFleet(r, h.DB, h.Fragments)
	if err != nil {
		return err
	}
	page := views.SearchPage{
		Meta: views.Meta{
			Title: "Search: " + q.Text, Nav: views.NavSearch, URL: r.URL.RequestURI(), Topics: []string{models.TopicAll},
			Query: q.Text, Fleet: fleet,
		},
		Results: results, Search: q,
	}
	partial := views.SearchPartial(page)
	if query.Has("marker") {
		partial = views.SearchMoreRows(page)
	}
	return h.Out.Respond(w, r, View{Data: results, Page: views.SearchResultsPage(page), Partial: partial})
}
