package handlers

import (
	"net/http"

	"github.com/gorilla/mux"
	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/views"
)

// Stacks serves a project's stacks.
type Stacks struct {
	DB  *gorm.DB
	Out Responder
}

// List answers GET /v1/{project_id}/stacks: the project's stacks, newest first.
func (h Stacks) List(w http.ResponseWriter, r *http.Request) error {
	projectID := mux.Vars(r)["project_id"]
	if err := models.ValidateProjectID("project_id", projectID); err != nil {
		return err
	}
	list, err := models.ListStacks(r.Context(), h.DB, projectID)
	if err != nil {
		return err
	}
	meta := views.Meta{Title: "Stacks of " + projectID, Nav: views.NavStacks, URL: r.URL.RequestURI()}
	return h.Out.Respond(w, r, View{
		Data:    list,
		Page:    views.StacksPage(meta, list),
		Partial: views.StacksTable(list),
	})
}
