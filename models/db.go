package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// sqliteParams are the connection settings every SQLite connection gets: WAL so readers never wait for the
// writer, NORMAL sync (safe with WAL), a busy timeout so a second writer waits instead of failing, foreign
// keys, and IMMEDIATE transactions so a transaction never has to upgrade a read lock (the cause of
// "database is locked" between concurrent writers).
const sqliteParams = "_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000&_foreign_keys=on&_txlock=immediate"

// IsPostgres reports whether dsn names a PostgreSQL database rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database that dsn names (a SQLite file path, or a postgres:// URL) and brings its schema up
// to date.
func Open(ctx context.Context, dsn string) (*gorm.DB, error) {
	config := &gorm.Config{
		Logger:                 logger.Discard,
		NowFunc:                Now,
		SkipDefaultTransaction: true,
		PrepareStmt:            true,
	}
	var dialector gorm.Dialector
	if IsPostgres(dsn) {
		dialector = postgres.New(postgres.Config{DSN: dsn, OptionOpenDB: []stdlib.OptionOpenDB{
			stdlib.OptionAfterConnect(scanTimesInUTC),
		}})
	} else {
		if dsn == "" {
			return nil, fmt.Errorf("open database: no path given")
		}
		if strings.Contains(dsn, "?") {
			return nil, fmt.Errorf("open database %q: a SQLite path may not contain '?'", dsn)
		}
		dialector = sqlite.Open(dsn + "?" + sqliteParams)
	}
	db, err := gorm.Open(dialector, config)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(8)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := Migrate(ctx, db); err != nil {
		sqlDB.Close()
		return nil, err
	}
	if !IsPostgres(dsn) {
		if err := db.Use(&groupCommitter{checkpointEvery: checkpointPages}); err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("open database: %w", err)
		}
	}
	return db, nil
}

// scanTimesInUTC makes a PostgreSQL connection read TIMESTAMPTZ columns as UTC times, as SQLite gives them back and
// as Stackboard writes them; pgx's default is the machine's local zone.
func scanTimesInUTC(_ context.Context, conn *pgx.Conn) error {
	conn.TypeMap().RegisterType(&pgtype.Type{
		Name:  "timestamptz",
		OID:   pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
	return nil
}

// Close closes the database's connections; writes after it fail.
func Close(db *gorm.DB) error {
	if committer, ok := db.Config.Plugins[committerName].(*groupCommitter); ok {
		committer.close()
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Now is the current time as Stackboard stores it: UTC, to the second.
func Now() time.Time {
	return time.Now().UTC().Truncate(time.Second)
}
