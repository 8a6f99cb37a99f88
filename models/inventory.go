package models

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// ImageSummary is one image of the inventory: how many tags of it run, in how many services and stacks.
type ImageSummary struct {
	Name     string `json:"name"`
	Tags     int    `json:"tags"`
	Services int    `json:"services"`
	Stacks   int    `json:"stacks"`
}

// ImageList is every image the fleet runs, by name.
type ImageList struct {
	Images []ImageSummary `json:"images"`
}

// ImageInventory is one image: every tag of it that runs, each with the stacks that run it and their status.
type ImageInventory struct {
	Name string     `json:"name"`
	Tags []ImageTag `json:"tags"`
}

// ImageTag is one tag of an image and the stacks that run it, broken first.
type ImageTag struct {
	Tag    string       `json:"tag"`
	Stacks []ImageStack `json:"stacks"`
}

// ImageStack is a stack that runs an image, and which of its services do.
type ImageStack struct {
	ProjectID string   `json:"project_id"`
	StackName string   `json:"stack_name"`
	Status    string   `json:"status"`
	RunStatus string   `json:"run_status"`
	Severity  string   `json:"severity"`
	Services  []string `json:"services"`
}

// scopeSQL narrows a query to the projects a caller may read (all when projects is nil).
func scopeSQL(column string, projects []string) (string, []any) {
	if projects == nil {
		return "", nil
	}
	return " AND " + column + " IN ?", []any{append([]string{""}, projects...)}
}

// ListImages returns every image the services of the fleet (or of projects) run, by name, in one SQL statement.
func ListImages(ctx context.Context, db *gorm.DB, projects []string) (ImageList, error) {
	where, args := scopeSQL("s.project_id", projects)
	list := ImageList{Images: []ImageSummary{}}
	err := db.WithContext(ctx).Raw(`SELECT sv.image_name AS name, COUNT(DISTINCT sv.image_tag) AS tags, COUNT(*) AS services,
		COUNT(DISTINCT sv.stack_pk) AS stacks
		FROM services sv JOIN stacks s ON s.pk = sv.stack_pk WHERE 1 = 1`+where+`
		GROUP BY sv.image_name ORDER BY sv.image_name`, args...).Scan(&list.Images).Error
	if err != nil {
		return list, fmt.Errorf("list images: %w", err)
	}
	return list, nil
}

// GetImage returns the tags of one image (or only tag, when not empty) with the stacks that run each, broken first,
// in one SQL statement on the image index. An image no service runs is not found.
func GetImage(ctx context.Context, db *gorm.DB, name, tag string, projects []string) (ImageInventory, error) {
	where, args := scopeSQL("s.project_id", projects)
	args = append([]any{name}, args...)
	if tag != "" {
		where += " AND sv.image_tag = ?"
		args = append(args, tag)
	}
	var rows []struct {
		ImageTag, ProjectID, StackName, Status, RunStatus, ServiceName string
	}
	err := db.WithContext(ctx).Raw(`SELECT sv.image_tag, s.project_id, s.name AS stack_name, s.status, s.run_status,
		sv.name AS service_name
		FROM services sv JOIN stacks s ON s.pk = sv.stack_pk
		WHERE sv.image_name = ?`+where+`
		ORDER BY sv.image_tag, `+stackOrder(BrokenFirst, "s")+`, sv.ordinal`, args...).Scan(&rows).Error
	if err != nil {
		return ImageInventory{}, fmt.Errorf("get image %q: %w", name, err)
	}
	if len(rows) == 0 {
		what := name
		if tag != "" {
			what += ":" + tag
		}
		return ImageInventory{}, &NotFoundError{Kind: KindImage, Name: what}
	}
	inv := ImageInventory{Name: name, Tags: []ImageTag{}}
	for _, r := range rows {
		if n := len(inv.Tags); n == 0 || inv.Tags[n-1].Tag != r.ImageTag {
			inv.Tags = append(inv.Tags, ImageTag{Tag: r.ImageTag, Stacks: []ImageStack{}})
		}
		t := &inv.Tags[len(inv.Tags)-1]
		if n := len(t.Stacks); n > 0 && t.Stacks[n-1].ProjectID == r.ProjectID && t.Stacks[n-1].StackName == r.StackName {
			t.Stacks[n-1].Services = append(t.Stacks[n-1].Services, r.ServiceName)
			continue
		}
		t.Stacks = append(t.Stacks, ImageStack{ProjectID: r.ProjectID, StackName: r.StackName, Status: r.Status,
			RunStatus: r.RunStatus, Severity: StackSeverity(r.Status, r.RunStatus).String(), Services: []string{r.ServiceName}})
	}
	return inv, nil
}

// DomainLookup is a domain and every service that serves it, with its stack and the products that hold the stack.
type DomainLookup struct {
	Domain   string          `json:"domain"`
	Services []DomainService `json:"services"`
}

// DomainService is a service that serves a domain, where it runs and what depends on it.
type DomainService struct {
	ServiceName string   `json:"service_name"`
	State       string   `json:"state"`
	Status      string   `json:"status"`
	Image       Image    `json:"image"`
	ProjectID   string   `json:"project_id"`
	StackName   string   `json:"stack_name"`
	StackStatus string   `json:"stack_status"`
	RunStatus   string   `json:"run_status"`
	Products    []string `json:"products"`
}

// LookupDomain finds the services that serve a domain (exactly, ignoring case), their stacks and the products that
// hold them, in two SQL statements. A domain no service serves is not found.
func LookupDomain(ctx context.Context, db *gorm.DB, domain string, projects []string) (DomainLookup, error) {
	db = db.WithContext(ctx)
	where, args := scopeSQL("s.project_id", projects)
	// Domains are stored as a JSON array: the quoted domain is a fragment of it, found with the trigram index on
	// PostgreSQL; the decoded list then says whether it is one of the domains exactly.
	args = append([]any{likePattern(`"` + domain + `"`)}, args...)
	var rows []struct {
		PK                                                int64
		Name, State, Status, Domains, ImageName, ImageTag string
		ProjectID, StackName, StackStatus, RunStatus      string
		StackPK                                           int64
	}
	err := db.Raw(`SELECT sv.pk, sv.name, sv.state, sv.status, sv.domains, sv.image_name, sv.image_tag, s.project_id,
		s.name AS stack_name, s.status AS stack_status, s.run_status, s.pk AS stack_pk
		FROM services sv JOIN stacks s ON s.pk = sv.stack_pk
		WHERE LOWER(sv.domains) LIKE ? ESCAPE '\'`+where+`
		ORDER BY s.project_id, s.name, sv.ordinal`, args...).Scan(&rows).Error
	if err != nil {
		return DomainLookup{}, fmt.Errorf("look up domain %q: %w", domain, err)
	}
	lookup := DomainLookup{Domain: domain, Services: []DomainService{}}
	var stacks []int64
	for _, r := range rows {
		domains, err := decodeDomains(r.Domains)
		if err != nil {
			return lookup, err
		}
		if !slices.ContainsFunc(domains, func(d string) bool { return strings.EqualFold(d, domain) }) {
			continue
		}
		lookup.Services = append(lookup.Services, DomainService{ServiceName: r.Name, State: r.State, Status: r.Status,
			Image: Image{r.ImageName, r.ImageTag}, ProjectID: r.ProjectID, StackName: r.StackName,
			StackStatus: r.StackStatus, RunStatus: r.RunStatus, Products: []string{}})
		stacks = append(stacks, r.StackPK)
	}
	if len(lookup.Services) == 0 {
		return lookup, &NotFoundError{Kind: KindDomain, Name: domain}
	}
	var held []struct {
		StackPK     int64
		ProductName string
	}
	err = db.Raw(`SELECT ps.stack_pk, p.name AS product_name FROM product_stacks ps JOIN products p ON p.pk = ps.product_pk
		WHERE ps.stack_pk IN ? ORDER BY p.pk`, stacks).Scan(&held).Error
	if err != nil {
		return lookup, fmt.Errorf("look up the products of domain %q: %w", domain, err)
	}
	for i, pk := range stacks {
		for _, h := range held {
			if h.StackPK == pk {
				lookup.Services[i].Products = append(lookup.Services[i].Products, h.ProductName)
			}
		}
	}
	return lookup, nil
}

// Kinds of things the inventory's NotFoundError names.
const (
	KindImage  = "image"
	KindDomain = "domain"
)
