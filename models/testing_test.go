package models

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"gorm.io/gorm"

	"stackboard/models/testdb"
)

// openTestDB opens a fresh, migrated database of the test's own (SQLite, or PostgreSQL when the run is on it:
// see testdb) and closes it when the test ends.
func openTestDB(t testing.TB) *gorm.DB {
	t.Helper()
	return openTestDBAt(t, testdb.DSN(t))
}

// openTestDBAt opens (and migrates) the database at dsn and closes it when the test ends; opening one dsn twice
// gives two pools, as two processes would have.
func openTestDBAt(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := Close(db); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// decodeManifest decodes an inline manifest, failing the test when it does not decode.
func decodeManifest(t testing.TB, name, text string) ManifestFile {
	t.Helper()
	file, err := DecodeManifest(name, strings.NewReader(text))
	if err != nil {
		t.Fatalf("DecodeManifest(%s): %v", name, err)
	}
	return file
}

// mustImport decodes and imports inline manifests in one Import call, failing the test on any error.
func mustImport(t testing.TB, db *gorm.DB, texts ...string) ImportReport {
	t.Helper()
	files := make([]ManifestFile, len(texts))
	for i, text := range texts {
		files[i] = decodeManifest(t, "test.yaml", text)
	}
	report, err := Import(context.Background(), db, files...)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return report
}

// loadDemo fills db with the embedded demo data set.
func loadDemo(t testing.TB, db *gorm.DB) {
	t.Helper()
	loaded, err := LoadDemo(context.Background(), db)
	if err != nil {
		t.Fatalf("LoadDemo: %v", err)
	}
	if !loaded {
		t.Fatal("LoadDemo did not load into an empty database")
	}
}

// exportYAML exports the whole database and encodes it as YAML.
func exportYAML(t testing.TB, db *gorm.DB) []byte {
	t.Helper()
	manifest, err := Export(context.Background(), db)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	var buf bytes.Buffer
	if err := EncodeManifest(&buf, manifest); err != nil {
		t.Fatalf("EncodeManifest: %v", err)
	}
	return buf.Bytes()
}

// rowCounts is how many rows each table of the data model holds.
type rowCounts struct {
	Projects, Stacks, Services, Products, ProductStacks int64
}

func countRows(t testing.TB, db *gorm.DB) rowCounts {
	t.Helper()
	var c rowCounts
	for _, table := range []struct {
		model any
		count *int64
	}{
		{&Project{}, &c.Projects},
		{&Stack{}, &c.Stacks},
		{&Service{}, &c.Services},
		{&Product{}, &c.Products},
		{&ProductStack{}, &c.ProductStacks},
	} {
		if err := db.Model(table.model).Count(table.count).Error; err != nil {
			t.Fatalf("count %T: %v", table.model, err)
		}
	}
	return c
}

// findStack returns the stack row of a project by name, failing the test when it does not exist.
func findTestStack(t testing.TB, db *gorm.DB, projectID, name string) Stack {
	t.Helper()
	var stacks []Stack
	if err := db.Where("project_id = ? AND name = ?", projectID, name).Find(&stacks).Error; err != nil {
		t.Fatalf("find stack %s/%s: %v", projectID, name, err)
	}
	if len(stacks) != 1 {
		t.Fatalf("stack %s/%s: found %d rows, want 1", projectID, name, len(stacks))
	}
	return stacks[0]
}

// serviceNames returns the names of a stack's services in their declared order.
func serviceNames(t testing.TB, db *gorm.DB, stack Stack) []string {
	t.Helper()
	names := []string{}
	if err := db.Model(&Service{}).Where("stack_pk = ?", stack.PK).Order("ordinal").Pluck("name", &names).Error; err != nil {
		t.Fatalf("services of %s: %v", stack.Name, err)
	}
	return names
}

// ListProducts returns every product in creation order, with its layers, stacks and services.
func ListProducts(ctx context.Context, db *gorm.DB) ([]ProductStatus, error) {
	return FindProducts(ctx, db, ProductFilter{})
}

// ListStacks returns every stack of a project, newest first.
func ListStacks(ctx context.Context, db *gorm.DB, projectID string) (StackList, error) {
	return FindStacks(ctx, db, projectID, StackFilter{})
}
