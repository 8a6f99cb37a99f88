package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"

	"gorm.io/gorm"
)

// FindProducts returns the products that match filter, in creation order, with their layers, stacks and
// services, in three SQL statements whatever the number of products.
func FindProducts(ctx context.Context, db *gorm.DB, filter ProductFilter) ([]ProductStatus, error) {
	products, _, err := findProducts(ctx, db, filter, nil)
	return products, err
}

// keptServices are stacks' services by stack id, as the product list shows them: the fragments keep those of the
// products' stacks until a change names the stack.
type keptServices map[string][]ServiceStatus

// mostServiceLookups bounds the stacks whose services findProducts reads by their keys; beyond it, it reads those
// of every stack of the products (a first read, or most products changed).
const mostServiceLookups = 500

// findProducts is FindProducts. Given the services of some stacks (known, not nil), it reads only those of the
// others, after the products' stacks (a status report changes one stack: its products' other stacks and their
// services are as they were, and reading them again was the most of a read after a write), and returns the
// services it read, by stack id. The statements are at most three either way.
func findProducts(ctx context.Context, db *gorm.DB, filter ProductFilter, known keptServices) ([]ProductStatus, keptServices, error) {
	db = db.WithContext(ctx)
	selected := filter.page(db.Model(&Product{}).Select("pk"))
	// The reads are independent, so they run at once on their own connections (one after another inside a
	// transaction): after a change, a list is rendered while a person waits. The two big ones scan with
	// database/sql rather than GORM's reflection, which was half their time.
	type placement struct {
		productPK, stackPK              int64
		layer                           int
		stackID, name, metadata, status string
	}
	var (
		products   []Product
		placements []placement
		services   []Service
	)
	readServices := func(stacks string, arg any) func() error {
		return func() error {
			err := scanRows(db.Raw(`SELECT stack_pk, name, state, status, domains, image_name, image_tag FROM services
				WHERE stack_pk IN (`+stacks+`)
				ORDER BY stack_pk, ordinal`, arg), func(rows *sql.Rows) error {
				var sv Service
				if err := rows.Scan(&sv.StackPK, &sv.Name, &sv.State, &sv.Status, &sv.Domains, &sv.ImageName, &sv.ImageTag); err != nil {
					return err
				}
				services = append(services, sv)
				return nil
			})
			if err != nil {
				return fmt.Errorf("list products' services: %w", err)
			}
			return nil
		}
	}
	everyStacksServices := readServices(`SELECT stack_pk FROM product_stacks WHERE product_pk IN (?)`, selected)
	reads := []func() error{func() error {
		if err := filter.page(db).Find(&products).Error; err != nil {
			return fmt.Errorf("list products: %w", err)
		}
		return nil
	}, func() error {
		err := scanRows(db.Raw(`SELECT ps.product_pk, ps.layer, s.pk, s.stack_id, s.name, s.metadata, s.status
			FROM product_stacks ps JOIN stacks s ON s.pk = ps.stack_pk
			WHERE ps.product_pk IN (?)
			ORDER BY ps.product_pk, ps.layer, ps.ordinal`, selected), func(rows *sql.Rows) error {
			var p placement
			if err := rows.Scan(&p.productPK, &p.layer, &p.stackPK, &p.stackID, &p.name, &p.metadata, &p.status); err != nil {
				return err
			}
			placements = append(placements, p)
			return nil
		})
		if err != nil {
			return fmt.Errorf("list products' stacks: %w", err)
		}
		return nil
	}}
	// Nothing known: every stack's services are read beside the rest.
	readAll := len(known) == 0
	if readAll {
		reads = append(reads, everyStacksServices)
	}
	if err := readConcurrently(db, reads...); err != nil {
		return nil, nil, err
	}
	var unknown []int64
	if !readAll {
		seen := make(map[int64]bool)
		for _, pl := range placements {
			if _, ok := known[pl.stackID]; !ok && !seen[pl.stackPK] {
				seen[pl.stackPK] = true
				unknown = append(unknown, pl.stackPK)
			}
		}
		read := everyStacksServices
		if len(unknown) <= mostServiceLookups {
			read = readServices("?", unknown)
		}
		if len(unknown) > 0 {
			if err := read(); err != nil {
				return nil, nil, err
			}
		}
	}
	servicesByStack, err := groupServices(services)
	if err != nil {
		return nil, nil, err
	}
	var read keptServices
	if known != nil {
		read = make(keptServices)
	}
	stackServices := func(pl placement) []ServiceStatus {
		if kept, ok := known[pl.stackID]; ok {
			return kept
		}
		if read != nil {
			read[pl.stackID] = servicesByStack[pl.stackPK]
		}
		return servicesByStack[pl.stackPK]
	}

	result := make([]ProductStatus, len(products))
	index := make(map[int64]int, len(products))
	for i, p := range products {
		result[i] = ProductStatus{ProductName: p.Name, ProjectID: p.ProjectID, StackDeps: [][]StackStatus{}, key: p.PK}
		index[p.PK] = i
	}
	lastLayer := make(map[int64]int, len(products))
	for _, pl := range placements {
		i, ok := index[pl.productPK]
		if !ok {
			continue
		}
		product := &result[i]
		if lastLayer[pl.productPK] != pl.layer {
			product.StackDeps = append(product.StackDeps, []StackStatus{})
			lastLayer[pl.productPK] = pl.layer
		}
		layer := &product.StackDeps[len(product.StackDeps)-1]
		*layer = append(*layer, newStackStatus(pl.name, pl.status, pl.metadata, stackServices(pl)))
	}
	for i := range result {
		result[i].IsStable = isStable(result[i].StackDeps)
	}
	return result, read, nil
}

// FindProductPage returns a page of at most filter.Limit products (DefaultPageLimit when zero) after
// filter.After, in the same three statements as FindProducts.
func FindProductPage(ctx context.Context, db *gorm.DB, filter ProductFilter) (ProductPage, error) {
	limit := filter.Limit
	if limit <= 0 {
		limit = DefaultPageLimit
	}
	filter.Limit = limit + 1
	products, err := FindProducts(ctx, db, filter)
	if err != nil {
		return ProductPage{}, err
	}
	page := ProductPage{Products: products}
	if len(products) > limit {
		page.Products = products[:limit]
		next := strconv.FormatInt(products[limit-1].key, 10)
		if !filter.Sort.IsZero() {
			next = positionMarker(filter.Offset + limit)
		}
		page.NextMarker = &next
	}
	return page, nil
}

// ParseMarker reads a product page's next marker into the filter: a key in creation order, a position
// when the filter is sorted.
func (f *ProductFilter) ParseMarker(value string) (err error) {
	if !f.Sort.IsZero() {
		f.Offset, err = parsePosition(value)
		return err
	}
	f.After, err = ParseProductMarker(value)
	return err
}

// ParseProductMarker reads a next marker of the product list in creation order.
func ParseProductMarker(value string) (int64, error) {
	after, err := strconv.ParseInt(value, 10, 64)
	if err != nil || after <= 0 {
		return 0, &FieldError{"marker", ReasonInvalid, fmt.Sprintf("%q is not a marker of a page of products", clip(value))}
	}
	return after, nil
}

// CountProducts counts the products a filter keeps, and the stable ones among them, in one SQL statement.
func CountProducts(ctx context.Context, db *gorm.DB, filter ProductFilter) (ProductCounts, error) {
	var counts ProductCounts
	stable := `CASE WHEN EXISTS (SELECT 1 FROM product_stacks ps WHERE ps.product_pk = products.pk AND ` +
		stackRunStatusSQL + ` <> 'RUNNING') THEN 0 ELSE 1 END`
	row := struct {
		Products int
		Stable   *int
	}{}
	err := filter.where(db.WithContext(ctx).Model(&Product{})).
		Select("COUNT(*) AS products, SUM(" + stable + ") AS stable").Scan(&row).Error
	if err != nil {
		return counts, fmt.Errorf("count products: %w", err)
	}
	counts.Products = row.Products
	if row.Stable != nil {
		counts.Stable = *row.Stable
	}
	return counts, nil
}

// scanRows runs a query and hands each row to scan, then closes the rows.
func scanRows(query *gorm.DB, scan func(*sql.Rows) error) error {
	rows, err := query.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func newStackSummary(s Stack) StackSummary {
	summary := StackSummary{
		StackName:   s.Name,
		Description: s.Description,
		StackID:     s.StackID,
		Status:      s.Status,
		CreateTime:  Timestamp{s.CreateTime},
		UpdateTime:  Timestamp{s.UpdateTime},

		ProjectID:       s.ProjectID,
		RunStatus:       s.RunStatus,
		StatusChangedAt: s.StatusChangedAt,
	}
	if IsFailedLifecycle(s.Status) {
		message := s.StatusMessage
		summary.StatusMessage = &message
	}
	return summary
}

func newStackStatus(name, lifecycle, metadata string, services []ServiceStatus) StackStatus {
	states := make([]string, len(services))
	statuses := make([]string, len(services))
	for i, s := range services {
		states[i], statuses[i] = s.State, s.Status
	}
	if services == nil {
		services = []ServiceStatus{}
	}
	stack := StackStatus{
		StackName:  name,
		Services:   services,
		IsDeployed: StackIsDeployed(states),
		Status:     StackRunStatus(statuses),
		Lifecycle:  lifecycle,
	}
	if metadata != "" {
		stack.Metadata = json.RawMessage(metadata)
	}
	return stack
}

// groupServices turns service rows, ordered by stack, into the services of each stack.
func groupServices(rows []Service) (map[int64][]ServiceStatus, error) {
	byStack := make(map[int64][]ServiceStatus)
	for _, row := range rows {
		domains, err := decodeDomains(row.Domains)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", row.Name, err)
		}
		byStack[row.StackPK] = append(byStack[row.StackPK], ServiceStatus{
			ServiceName: row.Name,
			State:       row.State,
			Status:      row.Status,
			Domains:     domains,
			Image:       Image{Name: row.ImageName, Tag: row.ImageTag},
		})
	}
	return byStack, nil
}

func isStable(layers [][]StackStatus) bool {
	statuses := make([][]string, len(layers))
	for i, layer := range layers {
		for _, stack := range layer {
			statuses[i] = append(statuses[i], stack.Status)
		}
	}
	return ProductIsStable(statuses)
}

// readConcurrently runs independent reads at once, each on a connection of its own, and returns the first error. On
// a transaction it runs them one after another: a transaction has one connection, and a connection (pgx's at
// least) answers one query at a time. A panic in a read becomes that read's error instead of ending the process,
// since nothing above a goroutine of ours could recover it.
func readConcurrently(db *gorm.DB, reads ...func() error) error {
	if _, inTransaction := db.Statement.ConnPool.(gorm.TxCommitter); inTransaction {
		for _, read := range reads {
			if err := recovered(read); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make(chan error, len(reads))
	for _, read := range reads {
		go func() { errs <- recovered(read) }()
	}
	var first error
	for range reads {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// recovered runs fn, turning a panic into its error.
func recovered(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn()
}
