package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// ErrBackupPostgres is Backup's answer on PostgreSQL, whose own tool does it better.
var ErrBackupPostgres = errors.New("backup copies SQLite databases; for PostgreSQL use pg_dump (pg_dump --format=custom --file=stackboard.dump URL)")

// Backup writes a consistent copy of the live SQLite database db to out (a file that must not exist yet) with
// VACUUM INTO, which reads one snapshot while writers go on, and then checks the copy with PRAGMA
// integrity_check. A copy that fails the check is removed.
func Backup(ctx context.Context, db *gorm.DB, out string) error {
	if db.Dialector.Name() != "sqlite" {
		return ErrBackupPostgres
	}
	if out == "" || strings.Contains(out, "?") {
		return fmt.Errorf("backup: %q is not a file name for the copy", out)
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("backup: %s already exists; name a new file", out)
	}
	if err := db.WithContext(ctx).Exec(`VACUUM INTO ?`, out).Error; err != nil {
		return fmt.Errorf("backup to %s: %w", out, err)
	}
	if err := CheckIntegrity(ctx, out); err != nil {
		os.Remove(out)
		return err
	}
	return nil
}

// CheckIntegrity opens the SQLite file path read-only and runs PRAGMA integrity_check, which answers "ok" for a
// sound database and lists the problems otherwise.
func CheckIntegrity(ctx context.Context, path string) error {
	copyDB, err := gorm.Open(sqlite.Open("file:"+path+"?mode=ro"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer Close(copyDB)
	var problems []string
	if err := copyDB.WithContext(ctx).Raw(`PRAGMA integrity_check`).Scan(&problems).Error; err != nil {
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return fmt.Errorf("integrity check of %s failed: %s", path, strings.Join(problems, "; "))
	}
	return nil
}
