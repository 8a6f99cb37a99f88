package models

import (
	"context"
	"database/sql"
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
	retryBadConns(db)
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
	if !IsPostgres(dsn) {
		if err := forgetFeedStatistics(ctx, sqlDB); err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("open database: %w", err)
		}
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

// forgetFeedStatistics removes what an ANALYZE recorded of the change feed from a SQLite database (earlier builds'
// fills ran ANALYZE on every table). The feed holds the last hour of writes, from none to millions of rows, so a
// count taken once is soon wrong, and a count from when it was nearly empty makes SQLite scan the whole feed for
// the few rows after a key instead of seeking to them: at L, writes at 1,000 a second filled it with enough rows
// for every read of the feed to take 6 ms, and the readers of the stack lists spent half the server's CPU there.
// Without statistics SQLite seeks by the primary key. It runs on the pool's one connection before any other is
// opened: a connection reads the statistics when it loads the schema and keeps them.
func forgetFeedStatistics(ctx context.Context, sqlDB *sql.DB) error {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var analyzed int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'`).Scan(&analyzed); err != nil {
		return fmt.Errorf("look for the planner's statistics: %w", err)
	}
	if analyzed == 0 {
		return nil
	}
	forgot, err := conn.ExecContext(ctx, `DELETE FROM sqlite_stat1 WHERE tbl = 'changes'`)
	if err != nil {
		return fmt.Errorf("forget the change feed's statistics: %w", err)
	}
	if n, _ := forgot.RowsAffected(); n > 0 {
		// Loads the statistics again on this connection; connections opened later read them as they are now.
		if _, err := conn.ExecContext(ctx, `ANALYZE sqlite_schema`); err != nil {
			return fmt.Errorf("reload the planner's statistics: %w", err)
		}
	}
	return nil
}
