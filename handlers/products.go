package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"
	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/views"
)

// Products serves the product overview and each product's page.
type Products struct {
	DB  *gorm.DB
	Out Responder
}

// List answers GET /api/products: every product (or those the filters keep) with its layers, stacks and
// services, and on pages a health summary.
func (h Products) List(w http.ResponseWriter, r *http.Request) error {
	filter, err := productFilterFrom(r.URL.Query())
	if err != nil {
		return err
	}
	products, err := models.FindProducts(r.Context(), h.DB, filter)
	if err != nil {
		return &Error{Status: 622, Code: "622", Message: "List Products Error", Err: err}
	}
	fleet, err := models.LoadFleet(r.Context(), h.DB)
	if err != nil {
		return &Error{Status: 622, Code: "622", Message: "List Products Error", Err: err}
	}
	page := views.OverviewPage{
		Meta: views.Meta{
			Title: "Products", Nav: views.NavProducts, URL: r.URL.RequestURI(), Topics: []string{models.TopicAll},
			Query: filter.Query, Overview: true, Fleet: fleet,
		},
		Products: products,
		Filter:   filter,
	}
	return h.Out.Respond(w, r, View{
		Data:    products,
		Page:    views.ProductsPage(page),
		Partial: views.ProductsPartial(page),
	})
}

// Get answers GET /api/products/{product_name}: one product in the shape of an element of the list, and on
// pages its layers, gates and why it is unstable.
func (h Products) Get(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["product_name"]
	product, err := models.GetProduct(r.Context(), h.DB, name)
	var notFound *models.NotFoundError
	if errors.As(err, &notFound) {
		return &Error{Status: http.StatusNotFound, Message: "Product Not Found", Err: err}
	}
	if err != nil {
		return err
	}
	fleet, err := models.LoadFleet(r.Context(), h.DB)
	if err != nil {
		return err
	}
	page := views.ProductPage{
		Meta: views.Meta{
			Title: product.ProductName, Nav: views.NavProducts, URL: r.URL.RequestURI(),
			Topics: []string{models.ProductTopic(product.ProductName)}, Project: product.ProjectID, Fleet: fleet,
		},
		Product: product,
		Layers:  models.ProductLayers(product),
		Why:     models.WhyUnstable(product),
	}
	return h.Out.Respond(w, r, View{
		Data:    product,
		Page:    views.ProductDetailPage(page),
		Partial: views.ProductDetailPartial(page),
	})
}

// productFilterFrom reads the overview's filters: q, stable, project and status.
func productFilterFrom(query url.Values) (models.ProductFilter, error) {
	filter := models.ProductFilter{
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
	return filter, filter.Validate()
}
