package models

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// Tables holds rows of every table of the data model, each row carrying its own primary key: what a bulk load
// writes (FillEmpty) and what a manifest describes (Manifest).
type Tables struct {
	// Projects are ordered by id.
	Projects []Project
	// Stacks are in creation order.
	Stacks []Stack
	// Services are grouped by stack, each stack's in declared order.
	Services []Service
	// Products are in creation order.
	Products []Product
	// ProductStacks are grouped by product, each product's by layer and then in declared order.
	ProductStacks []ProductStack
	// Events are oldest first.
	Events []StackEvent
}

// fillBatchRows is how many rows one INSERT statement carries: enough to make the round trips rare, few enough to
// stay far below SQLite's limit of bound variables.
const fillBatchRows = 300

// FillEmpty writes t into an empty database in one transaction, rolls up the stacks' run statuses, records one
// change so that running servers refresh, and then gathers the planner's statistics of the filled tables. It refuses, changing
// nothing, a database that already holds projects or stacks. It writes through database/sql with multi-row
// statements: GORM's Create of a large fleet row by row takes minutes.
func FillEmpty(ctx context.Context, db *gorm.DB, t Tables) error {
	postgres := db.Dialector.Name() == "postgres"
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("fill database: %w", err)
	}
	defer tx.Rollback()
	var projects, stacks int64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM projects), (SELECT COUNT(*) FROM stacks)`).Scan(&projects, &stacks); err != nil {
		return fmt.Errorf("fill database: %w", err)
	}
	if projects > 0 || stacks > 0 {
		return fmt.Errorf("the database already holds %d projects and %d stacks; generate fills only an empty database, so nothing was changed", projects, stacks)
	}
	if err := insertTables(ctx, tx, postgres, t); err != nil {
		return fmt.Errorf("fill database: %w", err)
	}
	if postgres {
		// The rows carry their own primary keys; the sequences must start after them.
		for _, table := range []string{"stacks", "services", "products", "stack_events"} {
			_, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'pk'), COALESCE(MAX(pk), 0) + 1, false) FROM `+table)
			if err != nil {
				return fmt.Errorf("fill database: advance the keys of %s: %w", table, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE stacks SET `+refreshRunStatusSQL); err != nil {
		return fmt.Errorf("fill database: roll up run statuses: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO changes (changed_at, project_id, stack_id, product_name) VALUES (`+placeholder(postgres, 1)+`, '', '', '')`, Now()); err != nil {
		return fmt.Errorf("fill database: record the change: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("fill database: %w", err)
	}
	for _, table := range analyzedTables {
		if _, err := sqlDB.ExecContext(ctx, `ANALYZE `+table); err != nil {
			return fmt.Errorf("fill database: analyze %s: %w", table, err)
		}
	}
	return nil
}

// analyzedTables are the tables a fill gathers the planner's statistics of: those it filled. Not the change feed,
// whose size swings with the writes of the last hour: see forgetFeedStatistics.
var analyzedTables = []string{"projects", "stacks", "services", "products", "product_stacks", "stack_events"}

func insertTables(ctx context.Context, tx *sql.Tx, postgres bool, t Tables) error {
	projects := newRowInserter(ctx, tx, postgres, "projects", "id", "created_at")
	for _, p := range t.Projects {
		if err := projects.add(p.ID, p.CreatedAt); err != nil {
			return err
		}
	}
	if err := projects.flush(); err != nil {
		return err
	}
	stacks := newRowInserter(ctx, tx, postgres, "stacks", "pk", "project_id", "name", "stack_id", "description", "status",
		"status_message", "metadata", "create_time", "update_time", "status_changed_at")
	for _, s := range t.Stacks {
		err := stacks.add(s.PK, s.ProjectID, s.Name, s.StackID, s.Description, s.Status, s.StatusMessage, s.Metadata,
			s.CreateTime, s.UpdateTime, s.StatusChangedAt)
		if err != nil {
			return err
		}
	}
	if err := stacks.flush(); err != nil {
		return err
	}
	services := newRowInserter(ctx, tx, postgres, "services", "pk", "stack_pk", "name", "ordinal", "state", "status", "domains",
		"image_name", "image_tag")
	for _, s := range t.Services {
		if err := services.add(s.PK, s.StackPK, s.Name, s.Ordinal, s.State, s.Status, s.Domains, s.ImageName, s.ImageTag); err != nil {
			return err
		}
	}
	if err := services.flush(); err != nil {
		return err
	}
	products := newRowInserter(ctx, tx, postgres, "products", "pk", "name", "project_id", "created_at")
	for _, p := range t.Products {
		if err := products.add(p.PK, p.Name, p.ProjectID, p.CreatedAt); err != nil {
			return err
		}
	}
	if err := products.flush(); err != nil {
		return err
	}
	placements := newRowInserter(ctx, tx, postgres, "product_stacks", "product_pk", "stack_pk", "layer", "ordinal")
	for _, ps := range t.ProductStacks {
		if err := placements.add(ps.ProductPK, ps.StackPK, ps.Layer, ps.Ordinal); err != nil {
			return err
		}
	}
	if err := placements.flush(); err != nil {
		return err
	}
	events := newRowInserter(ctx, tx, postgres, "stack_events", "pk", "stack_pk", "event_time", "resource_type", "resource_name",
		"event_type", "event_message", "elapsed_seconds")
	for _, e := range t.Events {
		if err := events.add(e.PK, e.StackPK, e.EventTime, e.ResourceType, e.ResourceName, e.EventType, e.EventMessage, e.ElapsedSeconds); err != nil {
			return err
		}
	}
	return events.flush()
}

// rowInserter writes rows of one table in multi-row INSERT statements, the full-sized one prepared once.
type rowInserter struct {
	ctx      context.Context
	tx       *sql.Tx
	numbered bool // $1 placeholders (PostgreSQL) rather than ?
	table    string
	columns  []string
	full     *sql.Stmt
	args     []any
}

func newRowInserter(ctx context.Context, tx *sql.Tx, numbered bool, table string, columns ...string) *rowInserter {
	return &rowInserter{ctx: ctx, tx: tx, numbered: numbered, table: table, columns: columns, args: make([]any, 0, len(columns)*fillBatchRows)}
}

func (r *rowInserter) statement(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + r.table + " (" + strings.Join(r.columns, ", ") + ") VALUES ")
	n := 0
	for row := range rows {
		if row > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for column := range r.columns {
			if column > 0 {
				b.WriteString(", ")
			}
			n++
			b.WriteString(placeholder(r.numbered, n))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// placeholder is the n-th (from 1) parameter of a database/sql statement: $n for PostgreSQL, ? for SQLite.
func placeholder(numbered bool, n int) string {
	if numbered {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

func (r *rowInserter) add(values ...any) error {
	r.args = append(r.args, values...)
	if len(r.args) < len(r.columns)*fillBatchRows {
		return nil
	}
	if r.full == nil {
		stmt, err := r.tx.PrepareContext(r.ctx, r.statement(fillBatchRows))
		if err != nil {
			return fmt.Errorf("insert into %s: %w", r.table, err)
		}
		r.full = stmt
	}
	if _, err := r.full.ExecContext(r.ctx, r.args...); err != nil {
		return fmt.Errorf("insert into %s: %w", r.table, err)
	}
	r.args = r.args[:0]
	return nil
}

func (r *rowInserter) flush() error {
	if r.full != nil {
		defer r.full.Close()
	}
	if len(r.args) == 0 {
		return nil
	}
	if _, err := r.tx.ExecContext(r.ctx, r.statement(len(r.args)/len(r.columns)), r.args...); err != nil {
		return fmt.Errorf("insert into %s: %w", r.table, err)
	}
	r.args = r.args[:0]
	return nil
}
