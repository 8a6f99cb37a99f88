package models

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// migration is one numbered step of the schema; once released its statements never change.
type migration struct {
	version    int
	name       string
	statements []string
}

// postgresOnly starts a statement that runs on PostgreSQL only: what SQLite has no counterpart for (trigram
// indexes). It is an SQL comment, so the statement runs as written.
const postgresOnly = "-- PostgreSQL only\n"

// migrations lists every schema step in order. {{pk}} and {{time}} stand for the dialect's auto-increment
// primary key and timestamp types, {{xact}} for the column of the writing transaction's id (always 0 on SQLite,
// whose one writer at a time commits in pk order).
func migrations() []migration {
	return []migration{
		{1, "initial schema", []string{
			`CREATE TABLE projects (
				id VARCHAR(64) PRIMARY KEY,
				created_at {{time}} NOT NULL
			)`,
			`CREATE TABLE stacks (
				pk {{pk}},
				project_id VARCHAR(64) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
				name VARCHAR(128) NOT NULL,
				stack_id VARCHAR(36) NOT NULL UNIQUE,
				description VARCHAR(1024) NOT NULL DEFAULT '',
				status VARCHAR(32) NOT NULL,
				status_message TEXT NOT NULL DEFAULT '',
				metadata TEXT NOT NULL DEFAULT '',
				create_time {{time}} NOT NULL,
				update_time {{time}} NOT NULL,
				status_changed_at {{time}} NOT NULL,
				UNIQUE (project_id, name)
			)`,
			`CREATE INDEX stacks_project_created ON stacks (project_id, create_time DESC, pk DESC)`,
			`CREATE INDEX stacks_status ON stacks (status)`,
			`CREATE TABLE services (
				pk {{pk}},
				stack_pk BIGINT NOT NULL REFERENCES stacks(pk) ON DELETE CASCADE,
				name VARCHAR(128) NOT NULL,
				ordinal INTEGER NOT NULL,
				state VARCHAR(32) NOT NULL,
				status VARCHAR(32) NOT NULL,
				domains TEXT NOT NULL DEFAULT '[]',
				image_name TEXT NOT NULL,
				image_tag TEXT NOT NULL,
				UNIQUE (stack_pk, name)
			)`,
			`CREATE INDEX services_stack_ordinal ON services (stack_pk, ordinal)`,
			`CREATE TABLE products (
				pk {{pk}},
				name VARCHAR(128) NOT NULL UNIQUE,
				project_id VARCHAR(64) NOT NULL REFERENCES projects(id),
				created_at {{time}} NOT NULL
			)`,
			`CREATE TABLE product_stacks (
				product_pk BIGINT NOT NULL REFERENCES products(pk) ON DELETE CASCADE,
				stack_pk BIGINT NOT NULL REFERENCES stacks(pk),
				layer INTEGER NOT NULL,
				ordinal INTEGER NOT NULL,
				PRIMARY KEY (product_pk, stack_pk)
			)`,
			`CREATE INDEX product_stacks_stack ON product_stacks (stack_pk)`,
			`CREATE UNIQUE INDEX product_stacks_order ON product_stacks (product_pk, layer, ordinal)`,
			`CREATE TABLE stack_events (
				pk {{pk}},
				stack_pk BIGINT NOT NULL REFERENCES stacks(pk) ON DELETE CASCADE,
				event_time {{time}} NOT NULL,
				resource_type VARCHAR(16) NOT NULL,
				resource_name VARCHAR(128) NOT NULL,
				event_type VARCHAR(32) NOT NULL,
				event_message TEXT NOT NULL DEFAULT ''
			)`,
			`CREATE INDEX stack_events_stack_time ON stack_events (stack_pk, event_time DESC, pk DESC)`,
		}},
		{2, "change feed for live updates", []string{
			`CREATE TABLE changes (
				pk {{pk}},
				changed_at {{time}} NOT NULL,
				project_id VARCHAR(64) NOT NULL DEFAULT '',
				stack_id VARCHAR(36) NOT NULL DEFAULT '',
				product_name VARCHAR(128) NOT NULL DEFAULT ''
			)`,
			`CREATE INDEX changes_changed_at ON changes (changed_at)`,
		}},
		{3, "event durations and replayable writes", []string{
			`ALTER TABLE stack_events ADD COLUMN elapsed_seconds BIGINT NOT NULL DEFAULT 0`,
			`CREATE TABLE requests (
				pk {{pk}},
				principal VARCHAR(128) NOT NULL DEFAULT '',
				client_request_id VARCHAR(128) NOT NULL,
				method VARCHAR(8) NOT NULL,
				path TEXT NOT NULL,
				body_sha256 VARCHAR(64) NOT NULL,
				status INTEGER NOT NULL,
				response TEXT NOT NULL,
				created_at {{time}} NOT NULL,
				UNIQUE (principal, client_request_id)
			)`,
			`CREATE INDEX requests_created_at ON requests (created_at)`,
		}},
		{4, "replayed writes keep their Location", []string{
			`ALTER TABLE requests ADD COLUMN location TEXT NOT NULL DEFAULT ''`,
		}},
		{5, "stacks keep their rolled-up run status", []string{
			`ALTER TABLE stacks ADD COLUMN run_status VARCHAR(32) NOT NULL DEFAULT 'NOT-RUNNING'`,
			// Frozen copy of the run-status roll-up as it was when this migration was released: the query the
			// code uses may change later, a released migration may not.
			`UPDATE stacks SET run_status = (SELECT CASE
				WHEN COUNT(sv.pk) = 0 THEN 'NOT-RUNNING'
				WHEN SUM(CASE WHEN sv.status = 'RUNNING' THEN 1 ELSE 0 END) = COUNT(sv.pk) THEN 'RUNNING'
				WHEN SUM(CASE WHEN sv.status = 'FAULT' THEN 1 ELSE 0 END) > 0 THEN 'FAULT'
				WHEN SUM(CASE WHEN sv.status = 'NOT-RUNNING' THEN 1 ELSE 0 END) = COUNT(sv.pk) THEN 'NOT-RUNNING'
				ELSE 'PARTIALLY-RUNNING' END FROM services sv WHERE sv.stack_pk = stacks.pk)`,
			`CREATE INDEX stacks_project_statuses ON stacks (project_id, status, run_status)`,
		}},
		{6, "stacks keep RFS's deletion protection and auto-rollback settings", []string{
			`ALTER TABLE stacks ADD COLUMN enable_deletion_protection BOOLEAN NOT NULL DEFAULT FALSE`,
			`ALTER TABLE stacks ADD COLUMN enable_auto_rollback BOOLEAN NOT NULL DEFAULT FALSE`,
		}},
		{7, "the change feed records each change's transaction", []string{
			// On PostgreSQL a change's pk is numbered at insert but seen at commit, so pk order is not commit
			// order; the watcher reads changes by their writing transaction instead (see Watcher).
			`ALTER TABLE changes ADD COLUMN xact {{xact}}`,
			`CREATE INDEX changes_xact ON changes (xact)`,
		}},
		{8, "search and the image and domain inventory", []string{
			// The inventory looks images up by name and tag; the fleet-wide list and search sort and filter
			// stacks by run status across projects.
			`CREATE INDEX services_image ON services (image_name, image_tag)`,
			`CREATE INDEX stacks_run_status ON stacks (run_status, status)`,
			// Search matches text anywhere in a name ("contains"), which a b-tree cannot serve; pg_trgm's GIN
			// indexes can, for LIKE '%...%' on the very expressions the queries use. The extension lives in one
			// schema per database (public unless it is installed already), so every schema's indexes name it.
			postgresOnly + `DO $$
			DECLARE ext text;
			BEGIN
				SELECT n.nspname INTO ext FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
				IF ext IS NULL THEN
					CREATE EXTENSION pg_trgm WITH SCHEMA public;
					ext := 'public';
				END IF;
				EXECUTE format('CREATE INDEX products_name_trgm ON products USING gin (LOWER(name) %I.gin_trgm_ops)', ext);
				EXECUTE format('CREATE INDEX stacks_name_trgm ON stacks USING gin (LOWER(name) %I.gin_trgm_ops)', ext);
				EXECUTE format('CREATE INDEX services_name_trgm ON services USING gin (LOWER(name) %I.gin_trgm_ops)', ext);
				EXECUTE format('CREATE INDEX services_image_trgm ON services USING gin (LOWER(image_name || '':'' || image_tag) %I.gin_trgm_ops)', ext);
				EXECUTE format('CREATE INDEX services_domains_trgm ON services USING gin (LOWER(domains) %I.gin_trgm_ops)', ext);
			END $$`,
		}},
	}
}

// SchemaVersion is the version of the newest migration this build knows.
func SchemaVersion() int {
	all := migrations()
	return all[len(all)-1].version
}

// migrationLockKey is the PostgreSQL advisory lock that serialises migrations across processes ("stackboard"
// in ASCII).
const migrationLockKey = 0x737461636b626f61

// Migrate applies, in order and each in its own transaction, every migration the database has not had yet. Many
// processes may start at once on one database: each step takes the database's migration lock first (on
// PostgreSQL an advisory lock, on SQLite the write lock every IMMEDIATE transaction takes) and then reads the
// version again, so a step another process has just applied is skipped rather than applied twice.
func Migrate(ctx context.Context, db *gorm.DB) error {
	return migrateTo(ctx, db, SchemaVersion())
}

// migrateTo applies the migrations the database has not had yet, up to version target; tests use it to build a
// database of an older release and upgrade it.
func migrateTo(ctx context.Context, db *gorm.DB, target int) error {
	db = db.WithContext(ctx)
	types := dialectTypes(db.Dialector.Name())
	err := migrationStep(db, func(tx *gorm.DB) error {
		return tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY,
			name TEXT NOT NULL,
			applied_at ` + types["{{time}}"] + ` NOT NULL
		)`).Error
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	current, err := schemaVersion(db)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > SchemaVersion() {
		return fmt.Errorf("migrate: the database has schema version %d, newer than this build's %d", current, SchemaVersion())
	}
	for _, m := range migrations() {
		if m.version <= current || m.version > target {
			continue
		}
		err := migrationStep(db, func(tx *gorm.DB) error {
			applied, err := schemaVersion(tx)
			if err != nil || applied >= m.version {
				return err
			}
			for _, statement := range m.sql(tx.Dialector.Name()) {
				if err := tx.Exec(statement).Error; err != nil {
					return err
				}
			}
			return tx.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, Now()).Error
		})
		if err != nil {
			return fmt.Errorf("migrate to version %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// migrationStep runs fn in a transaction that holds the database's migration lock.
func migrationStep(db *gorm.DB, fn func(tx *gorm.DB) error) error {
	return db.Transaction(func(tx *gorm.DB) error {
		if tx.Dialector.Name() == "postgres" {
			if err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, migrationLockKey).Error; err != nil {
				return fmt.Errorf("take the migration lock: %w", err)
			}
		}
		return fn(tx)
	})
}

// schemaVersion reads the newest version recorded in schema_migrations.
func schemaVersion(db *gorm.DB) (int, error) {
	var version int
	if err := db.Raw(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version).Error; err != nil {
		return 0, err
	}
	return version, nil
}

// sql returns the migration's statements as a dialect ("postgres" or "sqlite") runs them: its placeholders replaced
// by the dialect's types, PostgreSQL-only statements left out elsewhere.
func (m migration) sql(dialect string) []string {
	types := dialectTypes(dialect)
	statements := make([]string, 0, len(m.statements))
	for _, statement := range m.statements {
		if strings.HasPrefix(statement, postgresOnly) && dialect != "postgres" {
			continue
		}
		for placeholder, sqlType := range types {
			statement = strings.ReplaceAll(statement, placeholder, sqlType)
		}
		statements = append(statements, statement)
	}
	return statements
}

// dialectTypes maps the migrations' placeholders to the column types of a dialect ("postgres" or "sqlite"). They
// are part of every released migration: TestReleasedMigrationsAreFrozen fails when they change.
func dialectTypes(dialect string) map[string]string {
	if dialect == "postgres" {
		return map[string]string{"{{pk}}": "BIGSERIAL PRIMARY KEY", "{{time}}": "TIMESTAMPTZ",
			"{{xact}}": "BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint)"}
	}
	return map[string]string{"{{pk}}": "INTEGER PRIMARY KEY AUTOINCREMENT", "{{time}}": "DATETIME",
		"{{xact}}": "BIGINT NOT NULL DEFAULT 0"}
}
