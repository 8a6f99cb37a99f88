package models

import (
	"context"
	"strings"
	"testing"

	"gorm.io/gorm"

	"stackboard/models/testdb"
)

// Pages open a project's stacks broken first. Migration 9's index is in that order (its expression is
// stackSeveritySQL as released), so the statement FindStacks sends reads a page of rows from it in order
// instead of sorting every stack of the project, forwards and backwards, on both engines. When the severity
// rule changes, this fails until a new migration indexes the new expression.
func TestTheBrokenFirstStackListReadsInOrder(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	counted, statements := testdb.CountStatements(db)
	for _, sort := range []Sort{BrokenFirst, {Key: SortSeverity, Desc: true}} {
		statements.Reset()
		if _, err := FindStacks(ctx, counted, "fleet", StackFilter{Sort: sort, Limit: 100}); err != nil {
			t.Fatal(err)
		}
		sent := statements.Statements()
		if len(sent) != 1 {
			t.Fatalf("FindStacks sent %q, want one statement", sent)
		}
		plan := explain(t, ctx, db, sent[0])
		if !strings.Contains(plan, "stacks_project_severity") || strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "Sort") {
			t.Errorf("sorted %+v, %s\nhas the plan\n%s\nwant a read of stacks_project_severity without a sort", sort, sent[0], plan)
		}
	}
}

// explain returns the plan of a statement (with its values in it) as the engine reports it. PostgreSQL is told
// to avoid scans and sorts where it can, as its tables here are too small for an index to look cheaper; SQLite
// prefers the index that saves a sort by itself.
func explain(t *testing.T, ctx context.Context, db *gorm.DB, statement string) string {
	t.Helper()
	var plan []string
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if !testdb.Postgres() {
			rows, err := tx.Raw(`EXPLAIN QUERY PLAN ` + statement).Rows()
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					return err
				}
				plan = append(plan, detail)
			}
			return rows.Err()
		}
		if err := tx.Exec(`SET LOCAL enable_seqscan = off`).Error; err != nil {
			return err
		}
		if err := tx.Exec(`SET LOCAL enable_sort = off`).Error; err != nil {
			return err
		}
		return tx.Raw(`EXPLAIN ` + statement).Scan(&plan).Error
	})
	if err != nil {
		t.Fatalf("explain %s: %v", statement, err)
	}
	return strings.Join(plan, "\n")
}
