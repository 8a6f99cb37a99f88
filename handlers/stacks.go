package handlers

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/views"
)

// Stacks serves a project's stack list and each stack's page.
type Stacks struct {
	DB  *gorm.DB
	Out Responder
}

// List answers GET /v1/{project_id}/stacks: the project's stacks (or those the filters keep), newest first.
func (h Stacks) List(w http.ResponseWriter, r *http.Request) error {
	projectID := mux.Vars(r)["project_id"]
	if err := models.ValidateProjectID("project_id", projectID); err != nil {
		return err
	}
	filter := models.StackFilter{Status: r.URL.Query().Get("status"), Query: r.URL.Query().Get("q")}
	if err := filter.Validate(); err != nil {
		return err
	}
	list, err := models.FindStacks(r.Context(), h.DB, projectID, filter)
	if err != nil {
		return err
	}
	fleet, err := models.LoadFleet(r.Context(), h.DB)
	if err != nil {
		return err
	}
	page := views.StacksListPage{
		Meta: views.Meta{
			Title: "Stacks of " + projectID, Nav: views.NavStacks, URL: r.URL.RequestURI(),
			Topics: []string{models.ProjectTopic(projectID)}, Project: projectID, Fleet: fleet,
		},
		List:   list,
		Filter: filter,
		Now:    time.Now(),
	}
	return h.Out.Respond(w, r, View{
		Data:    list,
		Page:    views.StacksPage(page),
		Partial: views.StacksPartial(page),
	})
}

// Get answers GET /v1/{project_id}/stacks/{stack_name}: the stack's ListStacks fields with its metadata, run
// status, services and products; on pages also its blast radius.
func (h Stacks) Get(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	stack, err := models.GetStack(r.Context(), h.DB, vars["project_id"], vars["stack_name"])
	if err != nil {
		return err
	}
	fleet, err := models.LoadFleet(r.Context(), h.DB)
	if err != nil {
		return err
	}
	page := views.StackPage{
		Meta: views.Meta{
			Title: stack.StackName, Nav: views.NavStacks, URL: r.URL.RequestURI(),
			Topics: []string{models.StackTopic(stack.StackID)}, Project: stack.ProjectID, Fleet: fleet,
		},
		Stack: stack,
		Now:   time.Now(),
	}
	return h.Out.Respond(w, r, View{
		Data:    stack,
		Page:    views.StackDetailPage(page),
		Partial: views.StackDetailPartial(page),
	})
}
