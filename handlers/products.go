package handlers

import (
	"net/http"

	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/views"
)

// Products serves the product list.
type Products struct {
	DB  *gorm.DB
	Out Responder
}

// List answers GET /api/products: every product with its layers, stacks and services.
func (h Products) List(w http.ResponseWriter, r *http.Request) error {
	products, err := models.ListProducts(r.Context(), h.DB)
	if err != nil {
		return &Error{Status: 622, Code: "622", Message: "List Products Error", Err: err}
	}
	meta := views.Meta{Title: "Products", Nav: views.NavProducts, URL: r.URL.RequestURI()}
	return h.Out.Respond(w, r, View{
		Data:    products,
		Page:    views.ProductsPage(meta, products),
		Partial: views.ProductsTable(products),
	})
}
