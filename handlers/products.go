package handlers

import (
	"net/http"
	"strconv"
	"time"

	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/views"
)

// Products serves the product overview, each product's page, and the product writes.
type Products struct {
	DB     *gorm.DB
	Out    Responder
	Writes Writes
	// Fragments, when set, assemble the unfiltered list and overview from each product's kept encoding.
	Fragments *models.Fragments
}

// List answers GET /api/products: every product (or those the filters keep) with its layers, stacks and
// services. With limit or marker, and always on pages, it answers one page of products; JSON then names the next
// page in a Link header, and pages add a health summary.
func (h Products) List(w http.ResponseWriter, r *http.Request) error {
	req := requestOf(r)
	query := r.URL.Query()
	filter, err := productFilterFrom(r)
	if err != nil {
		return err
	}
	filter.Projects = req.Access.VisibleProjects()
	paged := query.Has("limit") || query.Has("marker")
	// The unfiltered list and overview, the ones every client polls, are assembled from kept fragments.
	fragments := h.Fragments != nil && !req.Unkept && defaultView(query) && (filter.Sort.IsZero() || filter.Sort == models.BrokenFirst)
	if !req.HTML() && !paged && fragments && filter.Sort.IsZero() {
		list, err := h.Fragments.Products(r.Context(), h.DB, filter.Projects)
		if err != nil {
			return err
		}
		return h.Out.Respond(w, r, listView(list))
	}
	if !req.HTML() && !paged {
		products, err := models.FindProducts(r.Context(), h.DB, filter)
		if err != nil {
			return err
		}
		return h.Out.Respond(w, r, View{Data: products})
	}
	if filter.Limit == 0 {
		filter.Limit = models.DefaultPageLimit
	}
	var (
		products models.ProductPage
		counts   models.ProductCounts
		fleet    models.Fleet
	)
	if fragments {
		products, counts, fleet, err = h.Fragments.Overview(r.Context(), h.DB, filter.Projects, filter.Sort)
	} else {
		products, err = models.FindProductPage(r.Context(), h.DB, filter)
	}
	if err != nil {
		return err
	}
	page := views.OverviewPage{Products: products.Products, NextMarker: products.NextMarker, Filter: filter, Rows: products.Rows}
	if products.NextMarker != nil {
		w.Header().Set("Link", "<"+page.MoreURL()+`>; rel="next"`)
	}
	if !req.HTML() {
		return h.Out.Respond(w, r, View{Data: products.Products})
	}
	if query.Has("marker") && req.Format == FormatPartial {
		// htmx loading more rows onto the overview asks for the rows alone; a browser opening that link gets the page.
		return h.Out.Respond(w, r, View{Data: products.Products, Partial: views.ProductRows(page)})
	}
	if !fragments {
		// Filtered, the stack cards count the stacks of the products the filters keep, beside their count.
		var selection *gorm.DB
		if !filter.IsZero() {
			selection = filter.StackSelection(h.DB.WithContext(r.Context()))
		}
		if fleet, err = models.LoadFleetSelecting(r.Context(), h.DB, filter.Projects, selection); err != nil {
			return err
		}
		if counts, err = models.CountProducts(r.Context(), h.DB, filter); err != nil {
			return err
		}
	}
	page.Meta = views.Meta{
		Title: "Products", Nav: views.NavProducts, URL: r.URL.RequestURI(), Topics: []string{models.TopicAll},
		Query: filter.Query, Overview: true, Fleet: fleet,
	}
	page.Counts = counts
	return h.Out.Respond(w, r, View{
		Data:    products.Products,
		Page:    views.ProductsPage(page),
		Partial: views.ProductsPartial(page),
	})
}

// Get answers GET /api/products/{product_name}: one product in the shape of an element of the list, and on
// pages its layers, gates and why it is unstable.
func (h Products) Get(w http.ResponseWriter, r *http.Request) error {
	name := PathVar(r, "product_name")
	product, err := models.GetProduct(r.Context(), h.DB, name)
	if err != nil {
		return err
	}
	if err := requestOf(r).Authorize(product.ProjectID); err != nil {
		return err
	}
	fleet, err := headerFleet(r, h.DB, h.Fragments)
	if err != nil {
		return err
	}
	var timeline []models.EventView
	if requestOf(r).HTML() {
		if timeline, err = models.ProductTimeline(r.Context(), h.DB, product.ProductName, models.TimelineLength); err != nil {
			return err
		}
	}
	page := views.ProductPage{
		Meta: views.Meta{
			Title: product.ProductName, Nav: views.NavProducts, URL: r.URL.RequestURI(),
			Topics: []string{models.ProductTopic(product.ProductName)}, Project: product.ProjectID, Fleet: fleet,
		},
		Product:  product,
		Layers:   models.ProductLayers(product),
		Why:      models.WhyUnstable(product),
		Timeline: timeline,
		Now:      time.Now(),
	}
	page.BadgeURL, page.BadgeMarkdown = badgeOf(r, product.ProductName+" status", views.ProductURL(product.ProductName))
	return h.Out.Respond(w, r, View{
		Data:    product,
		Page:    views.ProductDetailPage(page),
		Partial: views.ProductDetailPartial(page),
	})
}

// productFilterFrom reads the overview's filters (q, stable, project and status), its sort and its page.
func productFilterFrom(r *http.Request) (models.ProductFilter, error) {
	query := r.URL.Query()
	sort, err := listSort(r, models.ProductSortKeys)
	if err != nil {
		return models.ProductFilter{}, err
	}
	filter := models.ProductFilter{
		Sort:      sort,
		Query:     query.Get("q"),
		Project:   query.Get("project"),
		RunStatus: query.Get("status"),
	}
	if value := query.Get("stable"); value != "" {
		stable, err := strconv.ParseBool(value)
		if err != nil {
			return filter, &models.FieldError{Field: "stable", Reason: models.ReasonInvalid, Problem: strconv.Quote(value) + " is neither true nor false"}
		}
		filter.Stable = &stable
	}
	limit, err := models.ValidateLimit("limit", query.Get("limit"))
	if err != nil {
		return filter, err
	}
	filter.Limit = limit
	if query.Has("marker") {
		if err := filter.ParseMarker(query.Get("marker")); err != nil {
			return filter, err
		}
	}
	return filter, filter.Validate()
}

// productBody is the body of POST /api/products and PUT /api/products/{product_name}: spock's create-product
// arguments, stacks referenced by name.
type productBody struct {
	ProductName string                `json:"product_name"`
	ProjectID   string                `json:"project_id"`
	StackDeps   [][]productStackInput `json:"stack_deps"`
}

type productStackInput struct {
	StackName string `json:"stack_name"`
}

// Create answers POST /api/products: 201 with the new product; invalid arguments are a 400 (spock's "Invalid
// ProductArgs"), an existing name a 409.
func (h Products) Create(w http.ResponseWriter, r *http.Request) error {
	return h.save(w, r, "", true)
}

// Replace answers PUT /api/products/{product_name}: it replaces the product's layers (and project, when given)
// and answers 200 with the product.
func (h Products) Replace(w http.ResponseWriter, r *http.Request) error {
	return h.save(w, r, PathVar(r, "product_name"), false)
}

func (h Products) save(w http.ResponseWriter, r *http.Request, name string, create bool) error {
	req := requestOf(r)
	if err := req.Access.RequireToken(true); err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var input productBody
	if err := decodeJSON(body, &input); err != nil {
		return err
	}
	if create {
		name = input.ProductName
	} else if input.ProductName != "" && input.ProductName != name {
		return &models.FieldError{Field: "product_name", Reason: models.ReasonInvalid, Problem: strconv.Quote(input.ProductName) + " differs from the name in the URL"}
	}
	layers := make([][]string, len(input.StackDeps))
	for i, layer := range input.StackDeps {
		layers[i] = make([]string, len(layer))
		for j, s := range layer {
			layers[i][j] = s.StackName
		}
	}
	status := http.StatusOK
	if create {
		status = http.StatusCreated
	}
	return h.Writes.Do(w, r, body, func(tx *gorm.DB) (Result, error) {
		if !create {
			if _, err := models.GetProduct(r.Context(), tx, name); err != nil {
				return Result{}, err
			}
		}
		spec := models.ProductSpec{Name: name, ProjectID: input.ProjectID, Layers: layers}
		projectID, err := models.ProductProject(r.Context(), tx, spec)
		if err != nil {
			return Result{}, err
		}
		if err := req.Authorize(projectID); err != nil {
			return Result{}, err
		}
		spec.ProjectID = projectID
		if err := models.SaveProduct(r.Context(), tx, spec, create); err != nil {
			return Result{}, err
		}
		product, err := models.GetProduct(r.Context(), tx, name)
		if err != nil {
			return Result{}, err
		}
		return Result{Status: status, Location: views.ProductURL(name), Body: product}, nil
	})
}

// Delete answers DELETE /api/products/{product_name}: 204; its stacks stay.
func (h Products) Delete(w http.ResponseWriter, r *http.Request) error {
	name := PathVar(r, "product_name")
	req := requestOf(r)
	return h.Writes.Do(w, r, nil, func(tx *gorm.DB) (Result, error) {
		product, err := models.GetProduct(r.Context(), tx, name)
		if err != nil {
			return Result{}, err
		}
		if err := req.Authorize(product.ProjectID); err != nil {
			return Result{}, err
		}
		return Result{Status: http.StatusNoContent}, models.DeleteProduct(r.Context(), tx, name)
	})
}

// Names answers GET /api/products/names: every product's name in creation order.
func (h Products) Names(w http.ResponseWriter, r *http.Request) error {
	names, err := models.ProductNames(r.Context(), h.DB, requestOf(r).Access.VisibleProjects())
	if err != nil {
		return err
	}
	return h.Out.Respond(w, r, View{Data: names})
}
