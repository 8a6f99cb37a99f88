package models

import (
	"database/sql"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The statements every status report runs go to the transaction's connection directly: GORM's callbacks,
// clause building and reflection around them took as much of the group committer's time as SQLite did, and the
// committer is the one writer. They are traced through the session's logger like GORM's own, so that the SQL log,
// the slow-statement warning and the tests' statement counter see them.

// execSQL runs one statement written with ? placeholders on tx's connection and returns the rows it changed.
func execSQL(tx *gorm.DB, query string, args ...any) (int64, error) {
	stmt := tx.Statement
	begin := time.Now()
	var rows int64
	result, err := stmt.ConnPool.ExecContext(stmt.Context, bindVars(tx, query), args...)
	if err == nil {
		rows, _ = result.RowsAffected()
	}
	trace(tx, begin, query, args, rows, err)
	return rows, err
}

// querySQL runs one query written with ? placeholders on tx's connection and calls scan for each row.
func querySQL(tx *gorm.DB, scan func(*sql.Rows) error, query string, args ...any) error {
	stmt := tx.Statement
	begin := time.Now()
	var count int64
	rows, err := stmt.ConnPool.QueryContext(stmt.Context, bindVars(tx, query), args...)
	if err == nil {
		for rows.Next() {
			if err = scan(rows); err != nil {
				break
			}
			count++
		}
		if closeErr := rows.Close(); err == nil {
			err = closeErr
		}
		if err == nil {
			err = rows.Err()
		}
	}
	trace(tx, begin, query, args, count, err)
	return err
}

// trace reports one statement to the session's logger, as GORM reports its own.
func trace(tx *gorm.DB, begin time.Time, query string, args []any, rows int64, err error) {
	tx.Logger.Trace(tx.Statement.Context, begin, func() (string, int64) { return tx.Dialector.Explain(query, args...), rows }, err)
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
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}
