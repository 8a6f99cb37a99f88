// Package testdb gives each test a fresh, empty database of its own: a SQLite file in the test's temporary
// directory, or, when STACKBOARD_TEST_POSTGRES names a PostgreSQL server, a schema of its own on that server. Only
// tests import it.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	// The pgx driver for database/sql, under the name "pgx", for making and dropping the tests' schemas.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// EnvPostgres is the environment variable that names the PostgreSQL server the tests run on (a postgres:// URL
// of a database the user may create schemas in). Unset, the tests run on SQLite.
const EnvPostgres = "STACKBOARD_TEST_POSTGRES"

// Postgres reports whether this test run is on PostgreSQL.
func Postgres() bool {
	return os.Getenv(EnvPostgres) != ""
}

// Engine names the engine this test run is on, for messages.
func Engine() string {
	if Postgres() {
		return "postgres"
	}
	return "sqlite"
}

// SkipOnPostgres skips a test that is about SQLite itself (its files, pragmas or locks) on a PostgreSQL run.
func SkipOnPostgres(t testing.TB, reason string) {
	t.Helper()
	if Postgres() {
		t.Skip("SQLite only: " + reason)
	}
}

// SkipOnSQLite skips a test that is about PostgreSQL itself (several servers on one database) on a SQLite run.
func SkipOnSQLite(t testing.TB, reason string) {
	t.Helper()
	if !Postgres() {
		t.Skip("PostgreSQL only (set " + EnvPostgres + "): " + reason)
	}
}

// DSN returns the address of a fresh, empty database for t, for models.Open: a SQLite file in t.TempDir(), or a
// PostgreSQL URL whose search_path is a new schema, dropped when the test ends. Opening the same DSN twice gives two
// pools on one database, as two processes would have.
func DSN(t testing.TB) string {
	t.Helper()
	server := os.Getenv(EnvPostgres)
	if server == "" {
		return filepath.Join(t.TempDir(), "test.db")
	}
	schema := "test_" + randomHex(t)
	admin(t, server, `CREATE SCHEMA `+schema)
	// Registered before the caller's Close, so it runs after it: the schema goes once its pools are closed.
	t.Cleanup(func() { admin(t, server, `DROP SCHEMA `+schema+` CASCADE`) })
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	query := u.Query()
	query.Set("search_path", schema)
	u.RawQuery = query.Encode()
	return u.String()
}

// admin runs one statement on the server outside any test's schema.
func admin(t testing.TB, server, statement string) {
	t.Helper()
	db, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, statement); err != nil {
		t.Fatalf("%s on %s: %v", strings.Fields(statement)[0], EnvPostgres, err)
	}
}

func randomHex(t testing.TB) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}
