package models

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// pgUniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const pgUniqueViolation = "23505"

// violatedUnique reports whether err is a unique or primary-key violation, on either engine, and on which table.
// Two replicas that both checked that a name was free and then both insert it meet here: the check cannot see a
// transaction that has not committed yet, the unique index can.
func violatedUnique(err error) (table string, ok bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.TableName, pgErr.Code == pgUniqueViolation
	}
	var sqliteErr sqlite3.Error
	if errors.As(err, &sqliteErr) && (sqliteErr.ExtendedCode == sqlite3.ErrConstraintUnique ||
		sqliteErr.ExtendedCode == sqlite3.ErrConstraintPrimaryKey) {
		// "UNIQUE constraint failed: stacks.project_id, stacks.name"
		_, columns, _ := strings.Cut(sqliteErr.Error(), ": ")
		table, _, _ = strings.Cut(columns, ".")
		return table, true
	}
	return "", false
}

// conflictOn turns a unique violation on table into the ConflictError of the thing of that kind and name; any
// other error passes unchanged.
func conflictOn(err error, table, kind, name string) error {
	if violated, ok := violatedUnique(err); ok && violated == table {
		return &ConflictError{Kind: kind, Name: name}
	}
	return err
}
