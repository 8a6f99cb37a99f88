package handlers

import (
	"net/http"
	"time"

	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/views"
)

// Stacks serves a project's stack list, each stack's page, and the writes deploy tools report stacks with.
type Stacks struct {
	DB     *gorm.DB
	Out    Responder
	Writes Writes
	// Fragments, when set, assemble the unfiltered JSON list from each stack's kept encoding.
	Fragments *models.Fragments
}

// List answers GET /v1/{project_id}/stacks: the project's stacks (or those the filters keep), newest first.
func (h Stacks) List(w http.ResponseWriter, r *http.Request) error {
	projectID := requestOf(r).ProjectID
	query := r.URL.Query()
	sort, err := listSort(r, models.StackSortKeys)
	if err != nil {
		return err
	}
	filter := models.StackFilter{Status: query.Get("status"), Query: query.Get("q"), Marker: query.Get("marker"), Sort: sort}
	limit, err := models.ValidateLimit("limit", query.Get("limit"))
	if err != nil {
		return err
	}
	filter.Limit = limit
	// The documented JSON lists every stack unless a page is asked for; a browser gets a page and loads more.
	paged := query.Has("limit") || query.Has("marker")
	html := requestOf(r).HTML()
	// The list every client polls, and the pages of it every browser opens, are assembled from kept fragments.
	kept := h.Fragments != nil && !requestOf(r).Unkept
	if !html && kept && defaultView(query) {
		list, err := h.Fragments.Stacks(r.Context(), h.DB, projectID)
		if err != nil {
			return err
		}
		return h.Out.Respond(w, r, listView(list))
	}
	if filter.Limit == 0 && (paged || html) {
		filter.Limit = models.DefaultPageLimit
	}
	var (
		list models.StackList
		rows []*models.RenderedRow
	)
	if html && kept && filter.FromFragments() && onlyParams(query, "sort", "marker", "limit") {
		list, rows, err = h.Fragments.StackPage(r.Context(), h.DB, projectID, filter)
	} else {
		list, err = models.FindStacks(r.Context(), h.DB, projectID, filter)
	}
	if err != nil {
		return err
	}
	fleet, err := headerFleet(r, h.DB, h.Fragments)
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
		Rows:   rows,
	}
	var data any = list
	if paged {
		data = list.Page()
	}
	partial := views.StacksPartial(page)
	if query.Has("marker") {
		// htmx loading more rows onto the list asks for the rows alone.
		partial = views.StackRows(page)
	}
	return h.Out.Respond(w, r, View{
		Data:    data,
		Page:    views.StacksPage(page),
		Partial: partial,
	})
}

// Get answers GET /v1/{project_id}/stacks/{stack_name}: the stack's ListStacks fields with its metadata, run
// status, services and products; on pages also its blast radius.
func (h Stacks) Get(w http.ResponseWriter, r *http.Request) error {
	vars := routeVars{r}
	sort, err := listSort(r, models.ServiceSortKeys)
	if err != nil {
		return err
	}
	stack, err := models.GetStack(r.Context(), h.DB, vars.get("project_id"), vars.get("stack_name"))
	if err != nil {
		return err
	}
	models.SortServices(stack.Services, sort)
	fleet, err := headerFleet(r, h.DB, h.Fragments)
	if err != nil {
		return err
	}
	page := views.StackPage{
		Meta: views.Meta{
			Title: stack.StackName, Nav: views.NavStacks, URL: r.URL.RequestURI(),
			Topics: []string{models.StackTopic(stack.StackID)}, Project: stack.ProjectID, Fleet: fleet,
		},
		Stack: stack,
		Sort:  sort,
		Now:   time.Now(),
	}
	page.BadgeURL, page.BadgeMarkdown = badgeOf(r, stack.StackName+" status", views.StackURL(stack.ProjectID, stack.StackName))
	return h.Out.Respond(w, r, View{
		Data:    stack,
		Page:    views.StackDetailPage(page),
		Partial: views.StackDetailPartial(page),
	})
}

// createStackBody is the body of POST /v1/{project_id}/stacks.
type createStackBody struct {
	StackName                string `json:"stack_name"`
	Description              string `json:"description"`
	EnableDeletionProtection bool   `json:"enable_deletion_protection"`
	EnableAutoRollback       bool   `json:"enable_auto_rollback"`
}

// createStackResponse is the answer to POST /v1/{project_id}/stacks.
type createStackResponse struct {
	StackID string `json:"stack_id"`
}

// Create answers POST /v1/{project_id}/stacks: it creates an empty stack and answers 201 with its stack_id; a
// stack of that name in the project is a 409.
func (h Stacks) Create(w http.ResponseWriter, r *http.Request) error {
	projectID := PathVar(r, "project_id")
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var input createStackBody
	if err := decodeJSON(body, &input); err != nil {
		return err
	}
	return h.Writes.Do(w, r, body, func(tx *gorm.DB) (Result, error) {
		stack, err := models.CreateStack(r.Context(), tx, projectID, models.NewStack{Name: input.StackName,
			Description: input.Description, EnableDeletionProtection: input.EnableDeletionProtection,
			EnableAutoRollback: input.EnableAutoRollback})
		if err != nil {
			return Result{}, err
		}
		return Result{Status: http.StatusCreated, Location: views.StackURL(projectID, stack.Name), Body: createStackResponse{StackID: stack.StackID}}, nil
	})
}

// updateStackBody is the body of PATCH /v1/{project_id}/stacks/{stack_name}.
type updateStackBody struct {
	StackID                  *string `json:"stack_id"`
	Description              *string `json:"description"`
	Status                   *string `json:"status"`
	StatusMessage            *string `json:"status_message"`
	EnableDeletionProtection *bool   `json:"enable_deletion_protection"`
	EnableAutoRollback       *bool   `json:"enable_auto_rollback"`
}

// Update answers PATCH /v1/{project_id}/stacks/{stack_name}: it changes the description or RFS's settings, or (our
// extension) reports a lifecycle status and its message; 204.
func (h Stacks) Update(w http.ResponseWriter, r *http.Request) error {
	vars := routeVars{r}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var input updateStackBody
	if err := decodeJSON(body, &input); err != nil {
		return err
	}
	patch := models.StackPatch(input)
	return h.Writes.Do(w, r, body, func(tx *gorm.DB) (Result, error) {
		return Result{Status: http.StatusNoContent}, models.UpdateStack(r.Context(), tx, vars.get("project_id"), vars.get("stack_name"), patch)
	})
}

// Delete answers DELETE /v1/{project_id}/stacks/{stack_name}[?stack_id=]: 204, or 403 while the stack's deletion
// protection is on, while it is in progress or while it is in a product.
func (h Stacks) Delete(w http.ResponseWriter, r *http.Request) error {
	vars := routeVars{r}
	stackID := stackIDParam(r)
	return h.Writes.Do(w, r, nil, func(tx *gorm.DB) (Result, error) {
		return Result{Status: http.StatusNoContent}, models.DeleteStack(r.Context(), tx, vars.get("project_id"), vars.get("stack_name"), stackID)
	})
}

// Metadata answers GET /v1/{project_id}/stacks/{stack_name}/metadata[?stack_id=].
func (h Stacks) Metadata(w http.ResponseWriter, r *http.Request) error {
	vars := routeVars{r}
	metadata, err := models.GetStackMetadata(r.Context(), h.DB, vars.get("project_id"), vars.get("stack_name"), stackIDParam(r))
	if err != nil {
		return err
	}
	return h.Out.Respond(w, r, View{Data: metadata})
}

// stackIDParam reads the stack_id query parameter of RFS's stack operations: nil when absent, so that an empty
// one is refused rather than ignored.
func stackIDParam(r *http.Request) *string {
	if !r.URL.Query().Has("stack_id") {
		return nil
	}
	id := r.URL.Query().Get("stack_id")
	return &id
}
