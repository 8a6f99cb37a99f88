package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/views"
)

// Badges serves the SVG status badges of products and stacks.
type Badges struct {
	DB *gorm.DB
}

// BadgeSuffix is what a status badge's URL adds to its page's.
const BadgeSuffix = "/badge.svg"

// Product answers GET /api/products/{product_name}/badge.svg: the product's name and stable or unstable.
func (h Badges) Product(w http.ResponseWriter, r *http.Request) error {
	product, err := models.GetProduct(r.Context(), h.DB, PathVar(r, "product_name"))
	if err != nil {
		return err
	}
	if err := requestOf(r).Authorize(product.ProjectID); err != nil {
		return err
	}
	text, colour := views.ProductBadgeStatus(product.IsStable)
	return writeBadge(w, r, views.BadgeSVG(product.ProductName, text, colour))
}

// Stack answers GET /v1/{project_id}/stacks/{stack_name}/badge.svg: the stack's name and its status.
func (h Badges) Stack(w http.ResponseWriter, r *http.Request) error {
	vars := routeVars{r}
	stack, err := models.GetStack(r.Context(), h.DB, vars.get("project_id"), vars.get("stack_name"))
	if err != nil {
		return err
	}
	text, colour := views.StackBadgeStatus(stack.Status, stack.RunStatus)
	return writeBadge(w, r, views.BadgeSVG(stack.StackName, text, colour))
}

// writeBadge sends an SVG with a strong ETag of its bytes, answering 304 to a client that has it. Open badges may
// be kept a minute by proxies (a README's image proxy, say); protected ones only by the browser that signed in.
func writeBadge(w http.ResponseWriter, r *http.Request, svg []byte) error {
	sum := sha256.Sum256(svg)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	header := w.Header()
	header.Set("ETag", etag)
	if requestOf(r).Access.ReadsRequired {
		header.Set("Cache-Control", "private, no-cache")
	} else {
		header.Set("Cache-Control", "public, max-age=60")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	header.Set("Content-Type", "image/svg+xml")
	header.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(svg)
	}
	return nil
}

// badgeOf returns the URL of a page's badge and the Markdown that embeds it, linking to the page, as absolute
// URLs of where people reach the server.
func badgeOf(r *http.Request, alt, pagePath string) (badgeURL, markdown string) {
	base := requestOf(r).BaseURL
	badgeURL = pagePath + BadgeSuffix
	return badgeURL, views.BadgeMarkdown(alt, base+badgeURL, base+pagePath)
}
