package handlers

import (
	"net/http"

	"gorm.io/gorm"

	"stackboard/models"
)

// Services takes deploy tools' reports about single services.
type Services struct {
	Writes Writes
}

// serviceBody is the body of PUT /v1/{project_id}/stacks/{stack_name}/services/{service_name}, in the service
// shape of GET /api/products.
type serviceBody struct {
	State   string       `json:"state"`
	Status  string       `json:"status"`
	Domains []string     `json:"domains"`
	Image   models.Image `json:"image"`
}

// Put answers PUT /v1/{project_id}/stacks/{stack_name}/services/{service_name}: 201 when it creates the service,
// 200 when it replaces it.
func (h Services) Put(w http.ResponseWriter, r *http.Request) error {
	vars := routeVars{r}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var input serviceBody
	if err := decodeJSON(body, &input); err != nil {
		return err
	}
	spec := models.ServiceSpec(input)
	return h.Writes.Do(w, r, body, func(tx *gorm.DB) (Result, error) {
		created, err := models.PutService(r.Context(), tx, vars.get("project_id"), vars.get("stack_name"), vars.get("service_name"), spec)
		if err != nil {
			return Result{}, err
		}
		saved := spec.WithDefaults()
		service := models.ServiceStatus{ServiceName: vars.get("service_name"), State: saved.State, Status: saved.Status, Domains: saved.Domains, Image: saved.Image}
		if created {
			return Result{Status: http.StatusCreated, Body: service}, nil
		}
		return Result{Status: http.StatusOK, Body: service}, nil
	})
}

// Delete answers DELETE /v1/{project_id}/stacks/{stack_name}/services/{service_name}: 204.
func (h Services) Delete(w http.ResponseWriter, r *http.Request) error {
	vars := routeVars{r}
	return h.Writes.Do(w, r, nil, func(tx *gorm.DB) (Result, error) {
		return Result{Status: http.StatusNoContent}, models.DeleteService(r.Context(), tx, vars.get("project_id"), vars.get("stack_name"), vars.get("service_name"))
	})
}
