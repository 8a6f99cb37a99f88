package models

import (
	"encoding/json"
	"sync"
	"time"
)

// TimeLayout is how Stackboard writes times: RFC 3339 in UTC, to the second.
const TimeLayout = "2006-01-02T15:04:05Z"

// Timestamp is a time that encodes to JSON as RFC 3339 in UTC, to the second.
type Timestamp struct {
	time.Time
}

// MarshalJSON writes the time as "2023-05-17T07:34:22Z".
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.String() + `"`), nil
}

// String returns the time as "2023-05-17T07:34:22Z".
func (t Timestamp) String() string {
	return t.UTC().Format(TimeLayout)
}

// ProductStatus is one product as GET /api/products shows it.
type ProductStatus struct {
	ProductName string          `json:"product_name"`
	StackDeps   [][]StackStatus `json:"stack_deps"`
	IsStable    bool            `json:"is_stable"`
	// ProjectID is shown on pages; the documented JSON has no place for it.
	ProjectID string `json:"-"`
	// key orders products by creation; a page of products ends at one.
	key int64
}

// ProductPage is one page of the product list, and where the next one starts (nil on the last).
type ProductPage struct {
	Products   []ProductStatus
	NextMarker *string
	// Rows, when set (from fragments), keep each product's rendered row beside it, for as long as the product
	// does not change.
	Rows []*RenderedRow
}

// RenderedRow keeps the HTML of one row of a list once rendered (a product's on the overview, a stack's on its
// project's list): its fragment holds it until the product or stack changes, so a list after a write renders only
// the rows of what the write touched.
type RenderedRow struct {
	mu   sync.Mutex
	done bool
	// key is what the row shows that changes without a write (how long a stack has been in its state).
	key  string
	html string
}

// HTML is the row's HTML for key, what the row shows that time changes ("" when nothing): rendered by render the
// first time it is asked for, for another key, and again after a failed render.
func (r *RenderedRow) HTML(key string, render func() (string, error)) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done && r.key == key {
		return r.html, nil
	}
	html, err := render()
	if err != nil {
		return "", err
	}
	r.html, r.key, r.done = html, key, true
	return html, nil
}

// ProductCounts are how many products a filter keeps, and how many of them are stable.
type ProductCounts struct {
	Products int
	Stable   int
}

// StackStatus is one stack inside a product's layer, as GET /api/products shows it.
type StackStatus struct {
	StackName  string          `json:"stack_name"`
	Services   []ServiceStatus `json:"services"`
	Metadata   json.RawMessage `json:"metadata"`
	IsDeployed bool            `json:"is_deployed"`
	Status     string          `json:"status"`
	// Lifecycle is the stack's lifecycle status, shown on pages only.
	Lifecycle string `json:"-"`
}

// ServiceStatus is one service of a stack in the shape of GET /api/products.
type ServiceStatus struct {
	ServiceName string   `json:"service_name"`
	State       string   `json:"state"`
	Status      string   `json:"status"`
	Domains     []string `json:"domains"`
	Image       Image    `json:"image"`
}

// Image names a container image.
type Image struct {
	Name string `json:"name"`
	Tag  string `json:"tag"`
}

// String returns "name:tag".
func (i Image) String() string {
	return i.Name + ":" + i.Tag
}

// StackList is the body of GET /v1/{project_id}/stacks.
type StackList struct {
	Stacks []StackSummary `json:"stacks"`
	// ProjectID is shown on pages; the documented JSON has no place for it.
	ProjectID string `json:"-"`
	// NextMarker continues the list after this page when it was asked for a page; nil on the last one.
	NextMarker *string `json:"-"`
}

// StackPage is one page of a stack list as JSON shows it: ListStacks's stacks, then next_marker (null on the
// last page), as the paged RFS lists have it, and page_info, where RFS's SDKs read the marker.
type StackPage struct {
	Stacks     []StackSummary `json:"stacks"`
	NextMarker *string        `json:"next_marker"`
	PageInfo   PageInfo       `json:"page_info"`
}

// Page returns the list as one page of JSON.
func (l StackList) Page() StackPage {
	return StackPage{Stacks: l.Stacks, NextMarker: l.NextMarker, PageInfo: newPageInfo(l.NextMarker, len(l.Stacks))}
}

// PageInfo is RFS's page_info: where the next page starts (null on the last page) and how many items this one
// holds.
type PageInfo struct {
	NextMarker   *string `json:"next_marker"`
	CurrentCount int     `json:"current_count"`
}

func newPageInfo(next *string, count int) PageInfo {
	return PageInfo{NextMarker: next, CurrentCount: count}
}

// StackSummary is one stack as ListStacks shows it.
type StackSummary struct {
	StackName   string    `json:"stack_name"`
	Description string    `json:"description"`
	StackID     string    `json:"stack_id"`
	Status      string    `json:"status"`
	CreateTime  Timestamp `json:"create_time"`
	UpdateTime  Timestamp `json:"update_time"`
	// StatusMessage is set only for the *_FAILED statuses, and left out of the JSON otherwise.
	StatusMessage *string `json:"status_message,omitempty"`

	// The fields below are shown on pages only.
	ProjectID       string    `json:"-"`
	RunStatus       string    `json:"-"`
	StatusChangedAt time.Time `json:"-"`
}
