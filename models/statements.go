package models

import (
	"database/sql"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The lookups, appends and savepoints every status report runs go to the transaction's connection directly: GORM's callbacks,
// clause building and reflection around them took as much of the group committer's time as SQLite did, and the
// committer is the one writer. They are traced through the session's logger like GORM's own, so that the SQL log,
// the slow-statement warning and the tests' statement counter see them.

// execSQL runs one statement written with ? placeholders on tx's connection.
func execSQL(tx *gorm.DB, query string, args ...any) error {
	stmt := tx.Statement
	begin := time.Now()
	var rows int64
	result, err := stmt.ConnPool.ExecContext(stmt.Context, bindVars(tx, query), args...)
	if err == nil {
		rows, _ = result.RowsAffected()
	}
	tx.Logger.Trace(stmt.Context, begin, func() (string, int64) { return tx.Dialector.Explain(query, args...), rows }, err)
	return err
}

// querySQL runs one query written with ? placeholders on tx's connection and hands each row to scan.
func querySQL(tx *gorm.DB, scan func(*sql.Rows) error, query string, args ...any) error {
	stmt := tx.Statement
	begin := time.Now()
	var n int64
	rows, err := stmt.ConnPool.QueryContext(stmt.Context, bindVars(tx, query), args...)
	if err == nil {
		for rows.Next() {
			if err = scan(rows); err != nil {
				break
			}
			n++
		}
		if err == nil {
			err = rows.Err()
		}
		if closeErr := rows.Close(); err == nil {
			err = closeErr
		}
	}
	tx.Logger.Trace(stmt.Context, begin, func() (string, int64) { return tx.Dialector.Explain(query, args...), n }, err)
	return err
}

// bindVars writes query's ? placeholders the way tx's engine reads them: PostgreSQL numbers them ($1, $2, ...).
func bindVars(tx *gorm.DB, query string) string {
	if tx.Dialector.Name() != "postgres" || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		b.WriteString(placeholder(true, n))
	}
	return b.String()
}
