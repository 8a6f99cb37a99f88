package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ProductFilter narrows the product list; its zero value keeps every product.
type ProductFilter struct {
	// Name keeps only the product of that exact name.
	Name string
	// Query keeps products whose name, or the name of one of whose stacks, contains it (ignoring case).
	Query string
	// Project keeps the products of one project.
	Project string
	// Stable, when set, keeps only stable (true) or unstable (false) products.
	Stable *bool
	// RunStatus keeps products with at least one stack of that run status.
	RunStatus string
	// Projects, when not nil, keeps only the products of these projects (what a scoped token may read).
	Projects []string
	// PKs, when not nil, keeps only the products of these keys (those whose fragments must be made again).
	PKs []int64
	// Sort orders the products; the zero Sort is creation order.
	Sort Sort
	// After keeps the products created after the one it names (a page's next marker in creation order); Offset
	// skips that many (a sorted page's next marker); Limit, when not zero, keeps at most that many.
	After  int64
	Offset int
	Limit  int
}

// Limits of a page of a list.
const (
	// DefaultPageLimit is how many rows a page in the browser shows before it loads more.
	DefaultPageLimit = 100
	// MaxPageLimit is the most rows one request may ask for.
	MaxPageLimit = 1000
)

// ValidateLimit checks a page size asked for in a query parameter: empty means none asked.
func ValidateLimit(field, value string) (int, error) {
	if value == "" {
		return 0, nil
	}
	limit, err := strconv.Atoi(value)
	if err != nil {
		return 0, &FieldError{field, ReasonInvalid, strconv.Quote(clip(value)) + " is not a whole number"}
	}
	if limit < 1 || limit > MaxPageLimit {
		return 0, &FieldError{field, ReasonInvalid, fmt.Sprintf("%d is not between 1 and %d", limit, MaxPageLimit)}
	}
	return limit, nil
}

// IsZero reports whether the filter keeps every product.
func (f ProductFilter) IsZero() bool {
	return f.Name == "" && f.Query == "" && f.Project == "" && f.Stable == nil && f.RunStatus == ""
}

// Validate checks the filter's values.
func (f ProductFilter) Validate() error {
	if f.Project != "" {
		if err := ValidateProjectID("project", f.Project); err != nil {
			return err
		}
	}
	if f.RunStatus != "" {
		if err := ValidateRunStatus("status", f.RunStatus); err != nil {
			return err
		}
	}
	if err := ValidateText("q", f.Query, MaxQueryLength); err != nil {
		return err
	}
	return nil
}

// stackRunStatusSQL is the run status of the stack ps.stack_pk, for conditions on products' stacks.
const stackRunStatusSQL = `(SELECT s.run_status FROM stacks s WHERE s.pk = ps.stack_pk)`

// where adds the conditions of the filter to a query on products.
func (f ProductFilter) where(q *gorm.DB) *gorm.DB {
	if f.Name != "" {
		q = q.Where("name = ?", f.Name)
	}
	if f.Project != "" {
		q = q.Where("project_id = ?", f.Project)
	}
	if f.Projects != nil {
		q = q.Where("project_id IN ?", append([]string{""}, f.Projects...))
	}
	if f.PKs != nil {
		q = q.Where("pk IN ?", f.PKs)
	}
	if f.Query != "" {
		pattern := likePattern(f.Query)
		q = q.Where(`LOWER(name) LIKE ? ESCAPE '\' OR pk IN (SELECT ps.product_pk FROM product_stacks ps
			JOIN stacks s ON s.pk = ps.stack_pk WHERE LOWER(s.name) LIKE ? ESCAPE '\')`, pattern, pattern)
	}
	// A product is stable when none of its stacks runs anything but RUNNING.
	unstable := `EXISTS (SELECT 1 FROM product_stacks ps WHERE ps.product_pk = products.pk AND ` + stackRunStatusSQL + ` <> 'RUNNING')`
	if f.Stable != nil && *f.Stable {
		q = q.Where("NOT " + unstable)
	}
	if f.Stable != nil && !*f.Stable {
		q = q.Where(unstable)
	}
	if f.RunStatus != "" {
		q = q.Where(`EXISTS (SELECT 1 FROM product_stacks ps WHERE ps.product_pk = products.pk AND `+stackRunStatusSQL+` = ?)`, f.RunStatus)
	}
	return q
}

// StackSelection is the query of the keys of the stacks in the products the filter keeps, for counting them.
func (f ProductFilter) StackSelection(db *gorm.DB) *gorm.DB {
	products := f.where(db.Model(&Product{}).Select("pk"))
	return db.Model(&ProductStack{}).Select("stack_pk").Where("product_pk IN (?)", products)
}

// page adds the filter's conditions and its page (After or Offset, Limit) to a query on products, in the
// filter's order.
func (f ProductFilter) page(q *gorm.DB) *gorm.DB {
	q = f.where(q)
	if f.After > 0 {
		q = q.Where("pk > ?", f.After)
	}
	if f.Offset > 0 {
		q = q.Offset(f.Offset)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	if !f.Sort.IsZero() {
		return q.Order(productOrder(f.Sort))
	}
	return q.Order("pk")
}

// likePattern turns a search text into a LIKE pattern matching it anywhere, ignoring case.
func likePattern(text string) string {
	escaped := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(text))
	return "%" + escaped + "%"
}

// GetProduct returns one product by name, in three SQL statements.
func GetProduct(ctx context.Context, db *gorm.DB, name string) (ProductStatus, error) {
	products, err := FindProducts(ctx, db, ProductFilter{Name: name})
	if err != nil {
		return ProductStatus{}, err
	}
	if len(products) == 0 {
		return ProductStatus{}, &NotFoundError{Kind: KindProduct, Name: name}
	}
	return products[0], nil
}

// StatusCount is how many stacks have one status.
type StatusCount struct {
	Status string
	Count  int
}

// ProjectCount is a project and how many stacks it has.
type ProjectCount struct {
	ID     string
	Stacks int
}

// Fleet summarises every stack: the projects with their stack counts (for the header) and the stacks by run
// status and by lifecycle status (for the overview), each in the severity order of the statuses' lists.
type Fleet struct {
	Projects    []ProjectCount
	Stacks      int
	ByRun       []StatusCount
	ByLifecycle []StatusCount
	// Selected is set when Stacks, ByRun and ByLifecycle count a page's selection rather than every stack.
	Selected bool
}

// refreshRunStatusSQL sets stacks.run_status from the stack's services; prefixed with "UPDATE stacks SET " and
// given a WHERE, it refreshes the stacks it names.
const refreshRunStatusSQL = `run_status = (SELECT ` + runStatusSQL + ` FROM services sv WHERE sv.stack_pk = stacks.pk)`

// refreshRunStatus recomputes the kept run status of one stack after its services changed, in the writer's
// transaction.
func refreshRunStatus(tx *gorm.DB, stackPK int64) error {
	if err := tx.Exec(`UPDATE stacks SET `+refreshRunStatusSQL+` WHERE pk = ?`, stackPK).Error; err != nil {
		return fmt.Errorf("refresh run status: %w", err)
	}
	return nil
}

// runStatusSQL rolls a stack's services (joined as sv, grouped by stack) up into its run status, by the same rule
// as StackRunStatus.
const runStatusSQL = `CASE
	WHEN COUNT(sv.pk) = 0 THEN 'NOT-RUNNING'
	WHEN SUM(CASE WHEN sv.status = 'RUNNING' THEN 1 ELSE 0 END) = COUNT(sv.pk) THEN 'RUNNING'
	WHEN SUM(CASE WHEN sv.status = 'FAULT' THEN 1 ELSE 0 END) > 0 THEN 'FAULT'
	WHEN SUM(CASE WHEN sv.status = 'NOT-RUNNING' THEN 1 ELSE 0 END) = COUNT(sv.pk) THEN 'NOT-RUNNING'
	ELSE 'PARTIALLY-RUNNING' END`

// LoadFleet counts the stacks of every project (or, when projects is not nil, of those projects) by status, in
// one SQL statement.
func LoadFleet(ctx context.Context, db *gorm.DB, projects []string) (Fleet, error) {
	return LoadFleetSelecting(ctx, db, projects, nil)
}

// LoadFleetSelecting is LoadFleet whose counts by status (and Stacks) are of the stacks whose keys selection (a
// query of stacks.pk) selects, when it is not nil: the cards of a filtered page count what its filters select,
// while the project menu keeps every project's count. Still one SQL statement.
func LoadFleetSelecting(ctx context.Context, db *gorm.DB, projects []string, selection *gorm.DB) (Fleet, error) {
	scope := "1 = 1"
	var args []any
	selected := "COUNT(s.pk)"
	if selection != nil {
		selected = "SUM(CASE WHEN s.pk IN (?) THEN 1 ELSE 0 END)"
		args = append(args, selection)
	}
	if projects != nil {
		scope = "p.id IN ?"
		args = append(args, append([]string{""}, projects...))
	}
	var rows []struct {
		ProjectID string
		Lifecycle *string
		RunStatus *string
		Stacks    int
		Selected  int
	}
	err := db.WithContext(ctx).Raw(`SELECT p.id AS project_id, s.status AS lifecycle, s.run_status, COUNT(s.pk) AS stacks,
		`+selected+` AS selected
		FROM projects p LEFT JOIN stacks s ON s.project_id = p.id
		WHERE `+scope+`
		GROUP BY p.id, s.status, s.run_status
		ORDER BY p.id`, args...).Scan(&rows).Error
	if err != nil {
		return Fleet{}, fmt.Errorf("count stacks: %w", err)
	}
	fleet := Fleet{}
	byRun := make(map[string]int)
	byLifecycle := make(map[string]int)
	for _, row := range rows {
		if n := len(fleet.Projects); n == 0 || fleet.Projects[n-1].ID != row.ProjectID {
			fleet.Projects = append(fleet.Projects, ProjectCount{ID: row.ProjectID})
		}
		if row.Lifecycle == nil || row.RunStatus == nil {
			continue
		}
		fleet.Projects[len(fleet.Projects)-1].Stacks += row.Stacks
		fleet.Stacks += row.Selected
		byRun[*row.RunStatus] += row.Selected
		byLifecycle[*row.Lifecycle] += row.Selected
	}
	fleet.Selected = selection != nil
	fleet.ByRun = countsBySeverity(byRun, RunStatusesBySeverity())
	fleet.ByLifecycle = countsBySeverity(byLifecycle, LifecycleStatusesBySeverity())
	return fleet, nil
}

// StackFilter narrows a project's stack list; its zero value keeps every stack.
type StackFilter struct {
	// Status keeps stacks whose lifecycle status or run status is this.
	Status string
	// Query keeps stacks whose name contains it, ignoring case.
	Query string
	// Sort orders the stacks; the zero Sort is ListStacks's newest first.
	Sort Sort
	// Marker keeps the stacks listed after the one it names (a page's next_marker); Limit, when not zero, keeps
	// at most that many and sets the list's NextMarker when there are more.
	Marker string
	Limit  int
}

// stackMarker is where a page of stacks ends: the last stack's creation time and key. It still works when that
// stack has been deleted since.
type stackMarker struct {
	created time.Time
	pk      int64
}

func (m stackMarker) String() string {
	return strconv.FormatInt(m.created.Unix(), 10) + "-" + strconv.FormatInt(m.pk, 10)
}

func parseStackMarker(value string) (stackMarker, error) {
	seconds, pk, ok := strings.Cut(value, "-")
	unix, err1 := strconv.ParseInt(seconds, 10, 64)
	key, err2 := strconv.ParseInt(pk, 10, 64)
	if !ok || err1 != nil || err2 != nil || key <= 0 || unix < 0 {
		return stackMarker{}, &FieldError{"marker", ReasonInvalid, fmt.Sprintf("%q is not a marker from next_marker", clip(value))}
	}
	return stackMarker{time.Unix(unix, 0).UTC(), key}, nil
}

// Validate checks the filter's values.
func (f StackFilter) Validate() error {
	if f.Status != "" && !slices.Contains(LifecycleStatuses(), f.Status) && !slices.Contains(RunStatuses(), f.Status) {
		return &FieldError{"status", ReasonInvalid, fmt.Sprintf("%q is neither a lifecycle status (%s) nor a run status (%s)",
			clip(f.Status), strings.Join(LifecycleStatuses(), ", "), strings.Join(RunStatuses(), ", "))}
	}
	if err := ValidateText("q", f.Query, MaxQueryLength); err != nil {
		return err
	}
	if _, err := f.position(); err != nil {
		return err
	}
	if f.Limit < 0 || f.Limit > MaxPageLimit {
		return &FieldError{"limit", ReasonInvalid, fmt.Sprintf("%d is not between 1 and %d", f.Limit, MaxPageLimit)}
	}
	return nil
}

// position is where a sorted list's page starts (its marker is a position); zero for the documented order.
func (f StackFilter) position() (int, error) {
	if f.Marker == "" {
		return 0, nil
	}
	if !f.Sort.IsZero() {
		return parsePosition(f.Marker)
	}
	_, err := parseStackMarker(f.Marker)
	return 0, err
}

// FromFragments reports whether Fragments.StackPage answers the filter: the stacks broken first, unfiltered.
func (f StackFilter) FromFragments() bool {
	return f.Status == "" && f.Query == "" && f.Sort == BrokenFirst
}

// FindStacks returns the stacks of a project that match filter, newest first (the later created first among equal
// times), each with its run status, in one SQL statement. An unknown project has no stacks.
func FindStacks(ctx context.Context, db *gorm.DB, projectID string, filter StackFilter) (StackList, error) {
	if err := filter.Validate(); err != nil {
		return StackList{}, err
	}
	var rows []Stack
	query := db.WithContext(ctx).Model(&Stack{}).Where("project_id = ?", projectID)
	if filter.Status != "" {
		query = query.Where("status = ? OR run_status = ?", filter.Status, filter.Status)
	}
	if filter.Query != "" {
		query = query.Where(`LOWER(name) LIKE ? ESCAPE '\'`, likePattern(filter.Query))
	}
	offset, _ := filter.position()
	order := "create_time DESC, pk DESC"
	if !filter.Sort.IsZero() {
		order = stackOrder(filter.Sort, "stacks")
		query = query.Offset(offset)
	} else if filter.Marker != "" {
		marker, err := parseStackMarker(filter.Marker)
		if err != nil {
			return StackList{}, err
		}
		query = query.Where("create_time < ? OR create_time = ? AND pk < ?", marker.created, marker.created, marker.pk)
	}
	if filter.Limit > 0 {
		query = query.Limit(filter.Limit + 1)
	}
	if err := query.Order(order).Scan(&rows).Error; err != nil {
		return StackList{}, fmt.Errorf("list stacks of project %q: %w", projectID, err)
	}
	list := StackList{ProjectID: projectID}
	if filter.Limit > 0 && len(rows) > filter.Limit {
		rows = rows[:filter.Limit]
		last := rows[len(rows)-1]
		next := stackMarker{last.CreateTime, last.PK}.String()
		if !filter.Sort.IsZero() {
			next = positionMarker(offset + filter.Limit)
		}
		list.NextMarker = &next
	}
	list.Stacks = make([]StackSummary, len(rows))
	for i, row := range rows {
		list.Stacks[i] = newStackSummary(row)
	}
	return list, nil
}

// StackProduct names a product that holds a stack, and the stack's layer in it (from 1).
type StackProduct struct {
	ProductName string `json:"product_name"`
	Layer       int    `json:"layer"`
}

// BlastStack is a stack that waits on another through a product: it sits in a higher layer.
type BlastStack struct {
	ProductName string
	Layer       int
	StackName   string
	Lifecycle   string
}

// StackDetail is one stack with its services and the products that hold it: the ListStacks fields, then
// metadata, run_status, is_deployed, services and products.
type StackDetail struct {
	StackSummary
	Metadata   json.RawMessage `json:"metadata"`
	RunStatus  string          `json:"run_status"`
	IsDeployed bool            `json:"is_deployed"`
	Services   []ServiceStatus `json:"services"`
	Products   []StackProduct  `json:"products"`
	// BlastRadius lists the stacks in higher layers of the products that hold this one; pages show it.
	BlastRadius []BlastStack `json:"-"`
	// Events are the newest events of the stack, for the page's timeline.
	Events []EventView `json:"-"`
}

// GetStack returns one stack of a project by name with its services, products, blast radius and newest events,
// in four SQL statements.
func GetStack(ctx context.Context, db *gorm.DB, projectID, name string) (StackDetail, error) {
	db = db.WithContext(ctx)
	stack, err := findStack(db, projectID, name)
	if err != nil {
		return StackDetail{}, err
	}
	services, err := stackServices(db, stack.PK)
	if err != nil {
		return StackDetail{}, fmt.Errorf("stack %q: %w", name, err)
	}
	grouped, err := groupServices(services)
	if err != nil {
		return StackDetail{}, err
	}
	var placements []struct {
		ProductName string
		StackPK     int64
		Layer       int
		StackName   string
		Lifecycle   string
	}
	err = db.Raw(`SELECT p.name AS product_name, other.stack_pk, other.layer, s.name AS stack_name, s.status AS lifecycle
		FROM product_stacks mine
		JOIN products p ON p.pk = mine.product_pk
		JOIN product_stacks other ON other.product_pk = mine.product_pk AND other.layer >= mine.layer
		JOIN stacks s ON s.pk = other.stack_pk
		WHERE mine.stack_pk = ?
		ORDER BY p.pk, other.layer, other.ordinal`, stack.PK).Scan(&placements).Error
	if err != nil {
		return StackDetail{}, fmt.Errorf("get products of stack %q: %w", name, err)
	}
	events, err := recentEvents(db, []int64{stack.PK}, TimelineLength)
	if err != nil {
		return StackDetail{}, err
	}
	status := newStackStatus(stack.Name, stack.Status, stack.Metadata, grouped[stack.PK])
	detail := StackDetail{
		StackSummary: newStackSummary(stack),
		Metadata:     status.Metadata,
		RunStatus:    status.Status,
		IsDeployed:   status.IsDeployed,
		Services:     status.Services,
		Products:     []StackProduct{},
		Events:       events,
	}
	detail.StackSummary.RunStatus = status.Status
	ownLayer := make(map[string]int)
	for _, pl := range placements {
		if pl.StackPK == stack.PK {
			ownLayer[pl.ProductName] = pl.Layer
			detail.Products = append(detail.Products, StackProduct{ProductName: pl.ProductName, Layer: pl.Layer})
			continue
		}
		if pl.Layer > ownLayer[pl.ProductName] {
			detail.BlastRadius = append(detail.BlastRadius, BlastStack{pl.ProductName, pl.Layer, pl.StackName, pl.Lifecycle})
		}
	}
	return detail, nil
}
