package models

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"stackboard/models/testdb"
)

// schemaVersions lists the versions recorded in schema_migrations, in order.
func schemaVersions(t *testing.T, db *gorm.DB) []int {
	t.Helper()
	var versions []int
	if err := db.Raw(`SELECT version FROM schema_migrations ORDER BY version`).Scan(&versions).Error; err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return versions
}

// tableNames lists the user tables of the database.
func tableNames(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var names []string
	query := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if testdb.Postgres() {
		query = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`
	}
	err := db.Raw(query).Scan(&names).Error
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	return names
}

func TestMigrateFreshDatabaseIsAtSchemaVersion(t *testing.T) {
	db := openTestDB(t)
	if SchemaVersion() < 1 {
		t.Fatalf("SchemaVersion() = %d, want at least 1", SchemaVersion())
	}
	var want []int
	for v := 1; v <= SchemaVersion(); v++ {
		want = append(want, v)
	}
	if got := schemaVersions(t, db); !slices.Equal(got, want) {
		t.Errorf("schema_migrations versions = %v, want %v", got, want)
	}
	var name string
	if err := db.Raw(`SELECT name FROM schema_migrations WHERE version = 1`).Scan(&name).Error; err != nil || name != "initial schema" {
		t.Errorf("version 1 is named %q (%v), want %q", name, err, "initial schema")
	}
}

func TestMigrateCreatesEveryTable(t *testing.T) {
	db := openTestDB(t)
	got := tableNames(t, db)
	for _, table := range []string{"schema_migrations", "projects", "stacks", "services", "products", "product_stacks", "stack_events"} {
		t.Run(table, func(t *testing.T) {
			if !slices.Contains(got, table) {
				t.Errorf("table %s is missing; the database has %v", table, got)
			}
		})
	}
}

func TestMigrateAgainIsANoOp(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	mustImport(t, db, `projects: [{id: keep-me, stacks: [{name: web}]}]`)
	tablesBefore := tableNames(t, db)
	countsBefore := countRows(t, db)

	for range 2 {
		if err := Migrate(ctx, db); err != nil {
			t.Fatalf("Migrate on an up-to-date database: %v", err)
		}
	}
	if got := schemaVersions(t, db); len(got) != SchemaVersion() {
		t.Errorf("schema_migrations holds %v after migrating again, want one row per version up to %d", got, SchemaVersion())
	}
	if got := tableNames(t, db); !slices.Equal(got, tablesBefore) {
		t.Errorf("tables changed: %v, want %v", got, tablesBefore)
	}
	if got := countRows(t, db); got != countsBefore {
		t.Errorf("rows changed: %+v, want %+v", got, countsBefore)
	}
}

func TestOpenSameFileTwice(t *testing.T) {
	path := testdb.DSN(t)
	first := openTestDBAt(t, path)
	mustImport(t, first, `projects: [{id: shared, stacks: [{name: web}]}]`)

	second := openTestDBAt(t, path)
	if got := schemaVersions(t, second); len(got) != SchemaVersion() {
		t.Errorf("second open: schema_migrations = %v", got)
	}
	if got := findTestStack(t, second, "shared", "web"); got.Name != "web" {
		t.Errorf("second open sees stack %+v", got)
	}
	// Both handles write and see each other's writes.
	mustImport(t, second, `projects: [{id: shared, stacks: [{name: api}]}]`)
	findTestStack(t, first, "shared", "api")
}

func TestReopenKeepsData(t *testing.T) {
	path := testdb.DSN(t)
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	mustImport(t, db, `projects: [{id: durable, stacks: [{name: web, status: DEPLOYMENT_COMPLETE}]}]`)
	if err := Close(db); err != nil {
		t.Fatal(err)
	}
	reopened := openTestDBAt(t, path)
	if got := findTestStack(t, reopened, "durable", "web").Status; got != LifecycleDeploymentComplete {
		t.Errorf("status after reopening = %s, want %s", got, LifecycleDeploymentComplete)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	path := testdb.DSN(t)
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	newer := SchemaVersion() + 1
	if err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, newer, "from the future", Now()).Error; err != nil {
		t.Fatal(err)
	}
	// Migrate on the open handle refuses too.
	if err := Migrate(context.Background(), db); err == nil || !strings.Contains(err.Error(), "newer than this build") {
		t.Errorf("Migrate = %v, want a refusal of the newer schema", err)
	}
	if err := Close(db); err != nil {
		t.Fatal(err)
	}

	reopened, err := Open(context.Background(), path)
	if err == nil {
		Close(reopened)
		t.Fatal("Open accepted a database whose schema is newer than this build's")
	}
	want := "the database has schema version " + strconv.Itoa(newer) + ", newer than this build's " + strconv.Itoa(SchemaVersion())
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Open error = %q, want it to contain %q", err, want)
	}
}

func TestOpenRefusesBadPaths(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
		want string
	}{
		{"empty path", "", "no path given"},
		{"query string", filepath.Join(t.TempDir(), "test.db") + "?mode=memory", "may not contain '?'"},
		{"missing directory", filepath.Join(t.TempDir(), "no", "such", "dir", "test.db"), "open database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(context.Background(), tt.dsn)
			if err == nil {
				Close(db)
				t.Fatalf("Open(%q) succeeded", tt.dsn)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) = %q, want it to contain %q", tt.dsn, err, tt.want)
			}
		})
	}
}

func TestIsPostgres(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://user@localhost/stackboard":   true,
		"postgresql://user@localhost/stackboard": true,
		"stackboard.db":                          false,
		"/var/lib/stackboard/postgres.db":        false,
	} {
		if got := IsPostgres(dsn); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", dsn, got, want)
		}
	}
}

func TestSQLitePragmas(t *testing.T) {
	testdb.SkipOnPostgres(t, "pragmas")
	db := openTestDB(t)
	tests := []struct {
		pragma string
		check  func(value string) bool
		want   string
	}{
		{"journal_mode", func(v string) bool { return strings.EqualFold(v, "wal") }, "wal"},
		{"foreign_keys", func(v string) bool { return v == "1" }, "1"},
		{"synchronous", func(v string) bool { return v == "1" }, "1 (NORMAL)"},
		{"busy_timeout", func(v string) bool { n, err := strconv.Atoi(v); return err == nil && n > 0 }, "> 0"},
	}
	for _, tt := range tests {
		t.Run(tt.pragma, func(t *testing.T) {
			// Ask several times so that more than one pooled connection is likely to answer.
			for range 3 {
				var value string
				if err := db.Raw("PRAGMA " + tt.pragma).Scan(&value).Error; err != nil {
					t.Fatalf("PRAGMA %s: %v", tt.pragma, err)
				}
				if !tt.check(value) {
					t.Fatalf("PRAGMA %s = %q, want %s", tt.pragma, value, tt.want)
				}
			}
		})
	}
}

func TestSQLitePragmasOnEveryPooledConnection(t *testing.T) {
	testdb.SkipOnPostgres(t, "pragmas")
	db := openTestDB(t)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Hold several connections at once so that each one is a distinct connection of the pool.
	for i := range 4 {
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var journalMode string
		var foreignKeys, synchronous, busyTimeout int
		for pragma, dest := range map[string]any{
			"journal_mode": &journalMode, "foreign_keys": &foreignKeys, "synchronous": &synchronous, "busy_timeout": &busyTimeout,
		} {
			if err := conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(dest); err != nil {
				t.Fatalf("connection %d: PRAGMA %s: %v", i, pragma, err)
			}
		}
		if journalMode != "wal" || foreignKeys != 1 || synchronous != 1 || busyTimeout <= 0 {
			t.Errorf("connection %d: journal_mode %s, foreign_keys %d, synchronous %d, busy_timeout %d; want wal, 1, 1, > 0",
				i, journalMode, foreignKeys, synchronous, busyTimeout)
		}
	}
}

func TestForeignKeys(t *testing.T) {
	t.Run("deleting a project cascades to its stacks and their services", func(t *testing.T) {
		db := openTestDB(t)
		mustImport(t, db, `
projects:
  - id: doomed
    stacks:
      - name: web
        services: [{name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx}}]
      - name: api
  - id: survivor
    stacks:
      - name: web
        services: [{name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx}}]
`)
		if err := db.Exec(`DELETE FROM projects WHERE id = ?`, "doomed").Error; err != nil {
			t.Fatalf("delete project: %v", err)
		}
		want := rowCounts{Projects: 1, Stacks: 1, Services: 1}
		if got := countRows(t, db); got != want {
			t.Errorf("after deleting project doomed: %+v, want %+v", got, want)
		}
		findTestStack(t, db, "survivor", "web")
	})
	t.Run("a product_stacks row needs an existing stack", func(t *testing.T) {
		db := openTestDB(t)
		mustImport(t, db, `
projects: [{id: proj, stacks: [{name: web}]}]
products: [{name: shop, layers: [[web]]}]
`)
		var productPK int64
		if err := db.Model(&Product{}).Where("name = ?", "shop").Pluck("pk", &productPK).Error; err != nil {
			t.Fatal(err)
		}
		err := db.Exec(`INSERT INTO product_stacks (product_pk, stack_pk, layer, ordinal) VALUES (?, ?, 2, 0)`, productPK, 999999).Error
		if err == nil || !isForeignKeyFailure(err) {
			t.Errorf("insert for a missing stack: %v, want a FOREIGN KEY constraint failure", err)
		}
	})
	t.Run("a stack needs an existing project", func(t *testing.T) {
		db := openTestDB(t)
		err := db.Create(&Stack{ProjectID: "nowhere", Name: "web", StackID: "4d4f4ece-b291-4c71-8083-bec9b8a44de0",
			Status: LifecycleCreationComplete, CreateTime: Now(), UpdateTime: Now(), StatusChangedAt: Now()}).Error
		if err == nil || !isForeignKeyFailure(err) {
			t.Errorf("insert a stack of a missing project: %v, want a FOREIGN KEY constraint failure", err)
		}
	})
	t.Run("a stack in a product cannot be deleted from under it", func(t *testing.T) {
		db := openTestDB(t)
		mustImport(t, db, `
projects: [{id: proj, stacks: [{name: web}]}]
products: [{name: shop, layers: [[web]]}]
`)
		err := db.Exec(`DELETE FROM stacks WHERE name = ?`, "web").Error
		if err == nil || !isForeignKeyFailure(err) {
			t.Errorf("delete a stack a product uses: %v, want a FOREIGN KEY constraint failure", err)
		}
	})
}

// isForeignKeyFailure reports whether err is the engine's refusal of a write that breaks a foreign key.
func isForeignKeyFailure(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "FOREIGN KEY constraint failed") ||
		strings.Contains(err.Error(), "violates foreign key constraint"))
}

// Replicas started together on an empty database all come up: the migration lock lets one migrate while the others
// wait, and they then find the schema current.
func TestMigrationsAtOnce(t *testing.T) {
	const processes = 4
	dsn := testdb.DSN(t)
	errs := make(chan error, processes)
	dbs := make(chan *gorm.DB, processes)
	start := make(chan struct{})
	for range processes {
		go func() {
			<-start
			db, err := Open(context.Background(), dsn)
			if err == nil {
				dbs <- db
			}
			errs <- err
		}()
	}
	close(start)
	for range processes {
		if err := <-errs; err != nil {
			t.Errorf("Open at once: %v", err)
		}
	}
	close(dbs)
	for db := range dbs {
		if got := schemaVersions(t, db); len(got) != SchemaVersion() {
			t.Errorf("schema_migrations = %v, want one row per version up to %d", got, SchemaVersion())
		}
		if err := Close(db); err != nil {
			t.Error(err)
		}
	}
}
