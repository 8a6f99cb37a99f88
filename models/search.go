package models

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// SearchKind names one kind of thing search finds.
type SearchKind string

// The kinds search finds, in the order results show them.
const (
	KindSearchProducts SearchKind = "products"
	KindSearchStacks   SearchKind = "stacks"
	KindSearchServices SearchKind = "services"
	KindSearchImages   SearchKind = "images"
	KindSearchDomains  SearchKind = "domains"
)

// SearchKinds lists the kinds search finds, in the order results show them.
func SearchKinds() []SearchKind {
	return []SearchKind{KindSearchProducts, KindSearchStacks, KindSearchServices, KindSearchImages, KindSearchDomains}
}

// Limits of search.
const (
	// SearchGroupLimit is how many results of each kind one search shows before "show all".
	SearchGroupLimit = 10
	// MaxSearchLength bounds the search text.
	MaxSearchLength = 200
)

// SearchQuery is what to search: the text (contained, ignoring case, in a product's, stack's or service's name, an
// image's name:tag or a domain), optionally one kind to page through, and the caller's projects.
type SearchQuery struct {
	Text string
	// Kind, when set, searches that kind only, Limit at a time from Offset; else every kind, a few each.
	Kind   SearchKind
	Offset int
	Limit  int
	// Projects, when not nil, keeps only what these projects hold.
	Projects []string
}

// Validate checks the query's values.
func (q SearchQuery) Validate() error {
	if strings.TrimSpace(q.Text) == "" {
		return &FieldError{"q", ReasonMissing, "name something to search for"}
	}
	if len(q.Text) > MaxSearchLength {
		return &FieldError{"q", ReasonTooLong, fmt.Sprintf("is longer than %d characters", MaxSearchLength)}
	}
	if q.Kind != "" && !slices.Contains(SearchKinds(), q.Kind) {
		return &FieldError{"kind", ReasonInvalid, fmt.Sprintf("%q is not one of products, stacks, services, images, domains", clip(string(q.Kind)))}
	}
	return nil
}

// ParseMarker reads a page's next marker (a position) into the query.
func (q *SearchQuery) ParseMarker(value string) (err error) {
	q.Offset, err = parsePosition(value)
	return err
}

// SearchResults are the matches of a search, grouped by kind.
type SearchResults struct {
	Query    string                  `json:"query"`
	Products SearchGroup[ProductHit] `json:"products"`
	Stacks   SearchGroup[StackHit]   `json:"stacks"`
	Services SearchGroup[ServiceHit] `json:"services"`
	Images   SearchGroup[ImageHit]   `json:"images"`
	Domains  SearchGroup[DomainHit]  `json:"domains"`
}

// SearchGroup is the matches of one kind: how many there are in all, this page of them, and where the next page
// starts (null on the last).
type SearchGroup[T any] struct {
	Total      int     `json:"total"`
	Items      []T     `json:"items"`
	NextMarker *string `json:"next_marker"`
}

// ProductHit is a product whose name matches.
type ProductHit struct {
	ProductName string `json:"product_name"`
	ProjectID   string `json:"project_id"`
	Severity    string `json:"severity"`
}

// StackHit is a stack whose name matches.
type StackHit struct {
	ProjectID string `json:"project_id"`
	StackName string `json:"stack_name"`
	Status    string `json:"status"`
	RunStatus string `json:"run_status"`
	Severity  string `json:"severity"`
}

// ServiceHit is a service whose name matches.
type ServiceHit struct {
	ProjectID   string `json:"project_id"`
	StackName   string `json:"stack_name"`
	ServiceName string `json:"service_name"`
	State       string `json:"state"`
	Status      string `json:"status"`
	Image       Image  `json:"image"`
}

// ImageHit is an image whose name:tag matches, with how many services and stacks run it.
type ImageHit struct {
	Image    Image `json:"image"`
	Services int   `json:"services"`
	Stacks   int   `json:"stacks"`
}

// DomainHit is a domain that matches and the service that serves it.
type DomainHit struct {
	Domain      string `json:"domain"`
	ProjectID   string `json:"project_id"`
	StackName   string `json:"stack_name"`
	ServiceName string `json:"service_name"`
}

// imageKeySQL is an image as name:tag, the text search matches images by (and the trigram index covers).
const imageKeySQL = `LOWER(sv.image_name || ':' || sv.image_tag)`

// Search finds what the query's text names, kind by kind: one SQL statement per kind searched, each on an indexed
// expression (a trigram index on PostgreSQL), whatever the data size. Domains are the services whose domains
// match, each matching domain one result.
func Search(ctx context.Context, db *gorm.DB, q SearchQuery) (SearchResults, error) {
	if err := q.Validate(); err != nil {
		return SearchResults{}, err
	}
	db = db.WithContext(ctx)
	pattern := likePattern(q.Text)
	limit, offset := SearchGroupLimit, 0
	if q.Kind != "" {
		limit, offset = q.Limit, q.Offset
		if limit <= 0 {
			limit = DefaultPageLimit
		}
	}
	wants := func(k SearchKind) bool { return q.Kind == "" || q.Kind == k }
	scope := func(column string) (string, []any) {
		if q.Projects == nil {
			return "", nil
		}
		return " AND " + column + " IN ?", []any{append([]string{""}, q.Projects...)}
	}
	results := SearchResults{Query: q.Text}
	results.Products.Items, results.Stacks.Items, results.Services.Items = []ProductHit{}, []StackHit{}, []ServiceHit{}
	results.Images.Items, results.Domains.Items = []ImageHit{}, []DomainHit{}
	page := func(next **string, n int) {
		if n > limit {
			marker := positionMarker(offset + limit)
			*next = &marker
		}
	}
	if wants(KindSearchProducts) {
		where, args := scope("products.project_id")
		var rows []struct {
			Name, ProjectID string
			Severity        int
			Total           int
		}
		err := db.Raw(`SELECT products.name, products.project_id, `+productSeveritySQL()+` AS severity, COUNT(*) OVER () AS total
			FROM products WHERE LOWER(products.name) LIKE ? ESCAPE '\'`+where+`
			ORDER BY products.name, products.pk LIMIT ? OFFSET ?`, append(append([]any{pattern}, args...), limit+1, offset)...).Scan(&rows).Error
		if err != nil {
			return results, fmt.Errorf("search products: %w", err)
		}
		for i, r := range rows {
			results.Products.Total = r.Total
			if i < limit {
				results.Products.Items = append(results.Products.Items, ProductHit{r.Name, r.ProjectID, Severity(r.Severity).String()})
			}
		}
		page(&results.Products.NextMarker, len(rows))
	}
	if wants(KindSearchStacks) {
		where, args := scope("stacks.project_id")
		var rows []struct {
			ProjectID, Name, Status, RunStatus string
			Total                              int
		}
		err := db.Raw(`SELECT stacks.project_id, stacks.name, stacks.status, stacks.run_status, COUNT(*) OVER () AS total
			FROM stacks WHERE LOWER(stacks.name) LIKE ? ESCAPE '\'`+where+`
			ORDER BY `+stackOrder(BrokenFirst, "stacks")+` LIMIT ? OFFSET ?`, append(append([]any{pattern}, args...), limit+1, offset)...).Scan(&rows).Error
		if err != nil {
			return results, fmt.Errorf("search stacks: %w", err)
		}
		for i, r := range rows {
			results.Stacks.Total = r.Total
			if i < limit {
				results.Stacks.Items = append(results.Stacks.Items, StackHit{r.ProjectID, r.Name, r.Status, r.RunStatus, StackSeverity(r.Status, r.RunStatus).String()})
			}
		}
		page(&results.Stacks.NextMarker, len(rows))
	}
	if wants(KindSearchServices) {
		where, args := scope("s.project_id")
		var rows []struct {
			ProjectID, StackName, Name, State, Status, ImageName, ImageTag string
			Total                                                          int
		}
		err := db.Raw(`SELECT s.project_id, s.name AS stack_name, sv.name, sv.state, sv.status, sv.image_name, sv.image_tag,
			COUNT(*) OVER () AS total
			FROM services sv JOIN stacks s ON s.pk = sv.stack_pk
			WHERE LOWER(sv.name) LIKE ? ESCAPE '\'`+where+`
			ORDER BY sv.name, s.project_id, s.name LIMIT ? OFFSET ?`, append(append([]any{pattern}, args...), limit+1, offset)...).Scan(&rows).Error
		if err != nil {
			return results, fmt.Errorf("search services: %w", err)
		}
		for i, r := range rows {
			results.Services.Total = r.Total
			if i < limit {
				results.Services.Items = append(results.Services.Items, ServiceHit{r.ProjectID, r.StackName, r.Name, r.State, r.Status, Image{r.ImageName, r.ImageTag}})
			}
		}
		page(&results.Services.NextMarker, len(rows))
	}
	if wants(KindSearchImages) {
		where, args := scope("s.project_id")
		var rows []struct {
			ImageName, ImageTag string
			Services, Stacks    int
			Total               int
		}
		err := db.Raw(`SELECT sv.image_name, sv.image_tag, COUNT(*) AS services, COUNT(DISTINCT sv.stack_pk) AS stacks,
			COUNT(*) OVER () AS total
			FROM services sv JOIN stacks s ON s.pk = sv.stack_pk
			WHERE `+imageKeySQL+` LIKE ? ESCAPE '\'`+where+`
			GROUP BY sv.image_name, sv.image_tag
			ORDER BY sv.image_name, sv.image_tag LIMIT ? OFFSET ?`, append(append([]any{pattern}, args...), limit+1, offset)...).Scan(&rows).Error
		if err != nil {
			return results, fmt.Errorf("search images: %w", err)
		}
		for i, r := range rows {
			results.Images.Total = r.Total
			if i < limit {
				results.Images.Items = append(results.Images.Items, ImageHit{Image{r.ImageName, r.ImageTag}, r.Services, r.Stacks})
			}
		}
		page(&results.Images.NextMarker, len(rows))
	}
	if wants(KindSearchDomains) {
		where, args := scope("s.project_id")
		var rows []struct {
			ProjectID, StackName, Name, Domains string
			Total                               int
		}
		err := db.Raw(`SELECT s.project_id, s.name AS stack_name, sv.name, sv.domains, COUNT(*) OVER () AS total
			FROM services sv JOIN stacks s ON s.pk = sv.stack_pk
			WHERE LOWER(sv.domains) LIKE ? ESCAPE '\'`+where+`
			ORDER BY s.project_id, s.name, sv.ordinal LIMIT ? OFFSET ?`, append(append([]any{pattern}, args...), limit+1, offset)...).Scan(&rows).Error
		if err != nil {
			return results, fmt.Errorf("search domains: %w", err)
		}
		needle := strings.ToLower(q.Text)
		for i, r := range rows {
			results.Domains.Total = r.Total
			if i >= limit {
				break
			}
			domains, err := decodeDomains(r.Domains)
			if err != nil {
				return results, err
			}
			for _, d := range domains {
				if strings.Contains(strings.ToLower(d), needle) {
					results.Domains.Items = append(results.Domains.Items, DomainHit{d, r.ProjectID, r.StackName, r.Name})
				}
			}
		}
		page(&results.Domains.NextMarker, len(rows))
	}
	return results, nil
}
