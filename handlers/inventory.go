package handlers

import (
	"net/http"

	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/views"
)

// Inventory serves the image and domain inventory: which stacks run an image, and who serves a domain.
type Inventory struct {
	DB  *gorm.DB
	Out Responder
	// Fragments, when set, count the header's fleet.
	Fragments *models.Fragments
}

// Images answers GET /images[?name=&tag=]: every image the fleet runs; with name, every tag of it with the stacks
// that run each; with tag too, that tag only.
func (h Inventory) Images(w http.ResponseWriter, r *http.Request) error {
	req := requestOf(r)
	query := r.URL.Query()
	name, tag := query.Get("name"), query.Get("tag")
	if tag != "" && name == "" {
		return &models.FieldError{Field: "name", Reason: models.ReasonMissing, Problem: "is needed with tag"}
	}
	if len(name) > 1024 || len(tag) > 128 {
		return &models.FieldError{Field: "name", Reason: models.ReasonTooLong, Problem: "is not an image name"}
	}
	fleet, err := headerFleet(r, h.DB, h.Fragments)
	if err != nil {
		return err
	}
	meta := views.Meta{Title: "Images", Nav: views.NavSearch, URL: r.URL.RequestURI(), Topics: []string{models.TopicAll}, Fleet: fleet}
	if name == "" {
		list, err := models.ListImages(r.Context(), h.DB, req.Access.VisibleProjects())
		if err != nil {
			return err
		}
		page := views.ImagesPage{Meta: meta, List: list}
		return h.Out.Respond(w, r, View{Data: list, Page: views.ImageListPage(page), Partial: views.ImageListPartial(page)})
	}
	image, err := models.GetImage(r.Context(), h.DB, name, tag, req.Access.VisibleProjects())
	if err != nil {
		return err
	}
	meta.Title = name
	if tag != "" {
		meta.Title = name + ":" + tag
	}
	page := views.ImagePage{Meta: meta, Image: image, Tag: tag}
	return h.Out.Respond(w, r, View{Data: image, Page: views.ImageDetailPage(page), Partial: views.ImageDetailPartial(page)})
}

// Domain answers GET /domains/{domain}: the services that serve it, their stacks and the products that hold them.
func (h Inventory) Domain(w http.ResponseWriter, r *http.Request) error {
	domain := PathVar(r, "domain")
	if len(domain) > 253 {
		return &models.FieldError{Field: "domain", Reason: models.ReasonTooLong, Problem: "is longer than 253 characters"}
	}
	lookup, err := models.LookupDomain(r.Context(), h.DB, domain, requestOf(r).Access.VisibleProjects())
	if err != nil {
		return err
	}
	fleet, err := headerFleet(r, h.DB, h.Fragments)
	if err != nil {
		return err
	}
	page := views.DomainPage{
		Meta:   views.Meta{Title: domain, Nav: views.NavSearch, URL: r.URL.RequestURI(), Topics: []string{models.TopicAll}, Fleet: fleet},
		Lookup: lookup,
	}
	return h.Out.Respond(w, r, View{Data: lookup, Page: views.DomainDetailPage(page), Partial: views.DomainDetailPartial(page)})
}
