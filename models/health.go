package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// AppliedSchemaVersion returns the newest migration recorded in the database; it equals SchemaVersion once the
// database is up to date.
func AppliedSchemaVersion(ctx context.Context, db *gorm.DB) (int, error) {
	var version int
	if err := db.WithContext(ctx).Raw(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version).Error; err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return version, nil
}
