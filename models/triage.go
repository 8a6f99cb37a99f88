package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// TriageFilter narrows the fleet-wide stack list (GET /stacks); its zero value keeps every stack, broken first.
type TriageFilter struct {
	// Status keeps the stacks of one lifecycle status; RunStatus those of one run status.
	Status    string
	RunStatus string
	// Project keeps the stacks of one project, Product those in the product of that name.
	Project string
	Product string
	// Query keeps stacks whose name contains it, ignoring case.
	Query string
	// Projects, when not nil, keeps only the stacks of these projects (what a scoped token may read).
	Projects []string
	// Sort orders the stacks; the zero Sort is broken first, then the longest in its state.
	Sort Sort
	// Offset skips that many stacks (a page's next marker); Limit keeps at most that many (DefaultPageLimit when
	// zero).
	Offset int
	Limit  int
}

// IsZero reports whether the filter keeps every stack (the caller's scope aside).
func (f TriageFilter) IsZero() bool {
	return f.Status == "" && f.RunStatus == "" && f.Project == "" && f.Product == "" && f.Query == ""
}

// Validate checks the filter's values.
func (f TriageFilter) Validate() error {
	if f.Status != "" && !slices.Contains(LifecycleStatuses(), f.Status) {
		return &FieldError{"status", ReasonInvalid, fmt.Sprintf("%q is not a lifecycle status (one of %s)", clip(f.Status), strings.Join(LifecycleStatuses(), ", "))}
	}
	if f.RunStatus != "" {
		if err := ValidateRunStatus("run_status", f.RunStatus); err != nil {
			return err
		}
	}
	if f.Project != "" {
		if err := ValidateProjectID("project", f.Project); err != nil {
			return err
		}
	}
	if len(f.Product) > MaxNameLength {
		return &FieldError{"product", ReasonTooLong, fmt.Sprintf("is longer than %d characters", MaxNameLength)}
	}
	if len(f.Query) > 200 {
		return &FieldError{"q", ReasonTooLong, "is longer than 200 characters"}
	}
	return nil
}

// ParseMarker reads a page's next marker (a position) into the filter.
func (f *TriageFilter) ParseMarker(value string) (err error) {
	f.Offset, err = parsePosition(value)
	return err
}

// Selection is the query of the keys of the stacks the filter keeps, for counting them.
func (f TriageFilter) Selection(db *gorm.DB) *gorm.DB {
	return f.where(db.Model(&Stack{}).Select("stacks.pk"))
}

// where adds the filter's conditions to a query on stacks.
func (f TriageFilter) where(q *gorm.DB) *gorm.DB {
	if f.Status != "" {
		q = q.Where("stacks.status = ?", f.Status)
	}
	if f.RunStatus != "" {
		q = q.Where("stacks.run_status = ?", f.RunStatus)
	}
	if f.Project != "" {
		q = q.Where("stacks.project_id = ?", f.Project)
	}
	if f.Projects != nil {
		q = q.Where("stacks.project_id IN ?", append([]string{""}, f.Projects...))
	}
	if f.Product != "" {
		q = q.Where(`stacks.pk IN (SELECT ps.stack_pk FROM product_stacks ps JOIN products p ON p.pk = ps.product_pk
			WHERE p.name = ?)`, f.Product)
	}
	if f.Query != "" {
		q = q.Where(`LOWER(stacks.name) LIKE ? ESCAPE '\'`, likePattern(f.Query))
	}
	return q
}

// TriageStack is one stack of the fleet-wide list, in spock's snake_case: where it is, both its statuses and its
// severity, its times and the products that hold it.
type TriageStack struct {
	ProjectID string `json:"project_id"`
	StackName string `json:"stack_name"`
	StackID   string `json:"stack_id"`
	Status    string `json:"status"`
	// StatusMessage is set for the *_FAILED statuses and null otherwise.
	StatusMessage   *string   `json:"status_message"`
	RunStatus       string    `json:"run_status"`
	Severity        string    `json:"severity"`
	CreateTime      Timestamp `json:"create_time"`
	UpdateTime      Timestamp `json:"update_time"`
	StatusChangedAt Timestamp `json:"status_changed_at"`
	Products        []string  `json:"products"`
}

// TriageList is one page of the fleet-wide stack list: its stacks, how many the filters select in all (with the
// counts by status), and where the next page starts (null on the last).
type TriageList struct {
	Stacks     []TriageStack `json:"stacks"`
	Total      int           `json:"total"`
	Counts     TriageCounts  `json:"counts"`
	NextMarker *string       `json:"next_marker"`
}

// TriageCounts count the selected stacks by lifecycle and by run status, worst first.
type TriageCounts struct {
	ByStatus    []StatusTotal `json:"by_status"`
	ByRunStatus []StatusTotal `json:"by_run_status"`
}

// StatusTotal is how many selected stacks have one status.
type StatusTotal struct {
	Status string `json:"status"`
	Count  int    `json:"count"`
}

func totals(counts []StatusCount) []StatusTotal {
	out := make([]StatusTotal, len(counts))
	for i, c := range counts {
		out[i] = StatusTotal{c.Status, c.Count}
	}
	return out
}

// FindTriage returns one page of the stacks the filter keeps across every project, in its order, with the
// products of each, and, from fleet (LoadFleetSelecting with the filter's Selection), the counts of all it keeps:
// two SQL statements whatever the fleet's size.
func FindTriage(ctx context.Context, db *gorm.DB, f TriageFilter, fleet Fleet) (TriageList, error) {
	if err := f.Validate(); err != nil {
		return TriageList{}, err
	}
	db = db.WithContext(ctx)
	sort := f.Sort
	if sort.IsZero() {
		sort = BrokenFirst
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultPageLimit
	}
	var rows []Stack
	err := f.where(db.Model(&Stack{})).Order(stackOrder(sort, "stacks")).Offset(f.Offset).Limit(limit + 1).Scan(&rows).Error
	if err != nil {
		return TriageList{}, fmt.Errorf("list the fleet's stacks: %w", err)
	}
	list := TriageList{Stacks: make([]TriageStack, 0, len(rows)), Total: fleet.Stacks,
		Counts: TriageCounts{ByStatus: totals(fleet.ByLifecycle), ByRunStatus: totals(fleet.ByRun)}}
	if len(rows) > limit {
		rows = rows[:limit]
		next := positionMarker(f.Offset + limit)
		list.NextMarker = &next
	}
	if len(rows) == 0 {
		return list, nil
	}
	pks := make([]int64, len(rows))
	for i, row := range rows {
		pks[i] = row.PK
	}
	var held []struct {
		StackPK     int64
		ProductName string
	}
	err = db.Raw(`SELECT ps.stack_pk, p.name AS product_name FROM product_stacks ps JOIN products p ON p.pk = ps.product_pk
		WHERE ps.stack_pk IN ? ORDER BY p.pk`, pks).Scan(&held).Error
	if err != nil {
		return TriageList{}, fmt.Errorf("list the products of the fleet's stacks: %w", err)
	}
	products := make(map[int64][]string)
	for _, h := range held {
		products[h.StackPK] = append(products[h.StackPK], h.ProductName)
	}
	for _, row := range rows {
		stack := TriageStack{
			ProjectID: row.ProjectID, StackName: row.Name, StackID: row.StackID, Status: row.Status,
			RunStatus: row.RunStatus, Severity: StackSeverity(row.Status, row.RunStatus).String(),
			CreateTime: Timestamp{row.CreateTime}, UpdateTime: Timestamp{row.UpdateTime},
			StatusChangedAt: Timestamp{row.StatusChangedAt}, Products: products[row.PK],
		}
		if IsFailedLifecycle(row.Status) {
			message := row.StatusMessage
			stack.StatusMessage = &message
		}
		if stack.Products == nil {
			stack.Products = []string{}
		}
		list.Stacks = append(list.Stacks, stack)
	}
	return list, nil
}

// InState is how long the stack has been in its lifecycle status, as of now.
func (s TriageStack) InState(now time.Time) time.Duration {
	return now.Sub(s.StatusChangedAt.Time)
}
