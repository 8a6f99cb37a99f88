package models

import (
	"context"
	"slices"
	"strings"
	"testing"

	"stackboard/models/testdb"
)

// Migration 8 gives the inventory its image index on both engines and search its trigram indexes on PostgreSQL,
// and there the search's contains-queries use them rather than scanning the table.
func TestSearchIndexes(t *testing.T) {
	db := openTestDB(t)
	var names []string
	query := `SELECT name FROM sqlite_master WHERE type = 'index'`
	if testdb.Postgres() {
		query = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`
	}
	if err := db.Raw(query).Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	want := []string{"services_image", "stacks_run_status"}
	if testdb.Postgres() {
		want = append(want, "products_name_trgm", "stacks_name_trgm", "services_name_trgm", "services_image_trgm", "services_domains_trgm")
	}
	for _, name := range want {
		if !slices.Contains(names, name) {
			t.Errorf("index %s is missing; the database has %v", name, names)
		}
	}
	if !testdb.Postgres() {
		return
	}
	ctx := context.Background()
	tx := db.WithContext(ctx).Begin()
	defer tx.Rollback()
	// Without rows a scan is cheapest; the planner is told to avoid it so that the plan shows whether an index
	// can serve the condition at all.
	if err := tx.Exec(`SET LOCAL enable_seqscan = off`).Error; err != nil {
		t.Fatal(err)
	}
	for index, condition := range map[string]string{
		"stacks_name_trgm":      `SELECT pk FROM stacks WHERE LOWER(stacks.name) LIKE '%redis%' ESCAPE '\'`,
		"services_image_trgm":   `SELECT sv.pk FROM services sv WHERE ` + imageKeySQL + ` LIKE '%redis:7%' ESCAPE '\'`,
		"services_domains_trgm": `SELECT sv.pk FROM services sv WHERE LOWER(sv.domains) LIKE '%example.com%' ESCAPE '\'`,
		"products_name_trgm":    `SELECT pk FROM products WHERE LOWER(products.name) LIKE '%shop%' ESCAPE '\'`,
	} {
		var plan []string
		if err := tx.Raw(`EXPLAIN ` + condition).Scan(&plan).Error; err != nil {
			t.Fatal(err)
		}
		if text := strings.Join(plan, "\n"); !strings.Contains(text, index) {
			t.Errorf("%s does not use %s:\n%s", condition, index, text)
		}
	}
}
