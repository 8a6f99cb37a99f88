package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// badConnRetries is how many more times a statement that never reached the database is sent.
const badConnRetries = 5

// retryingPool is the pool GORM sends statements to, around its cache of prepared statements: a statement the
// driver says never reached the database (driver.ErrBadConn, which a driver may only return when that is so) is
// sent again. database/sql tries three connections itself, but while every connection is busy its third, "new"
// one is whichever a finished statement hands back, so a burst of cancelled PostgreSQL queries (pgx closes a
// connection whose query was cancelled: a reader that went away) reached other readers as errors
// (TestCancelledQueriesLeaveOtherReadsAlone). Transactions get no retry past their start: a statement inside
// one runs on the transaction's connection or not at all.
type retryingPool struct {
	pool gorm.ConnPool
}

// retryBadConns puts a retryingPool around db's pool.
func retryBadConns(db *gorm.DB) {
	pool := retryingPool{pool: db.ConnPool}
	db.ConnPool = pool
	db.Statement.ConnPool = pool
}

// again runs do until it succeeds, fails otherwise than with a bad connection, or has been retried enough.
func again[T any](ctx context.Context, do func() (T, error)) (T, error) {
	result, err := do()
	for i := 0; i < badConnRetries && errors.Is(err, driver.ErrBadConn) && ctx.Err() == nil; i++ {
		result, err = do()
	}
	return result, err
}

// PrepareContext prepares a statement, on another connection when the one it got was closed.
func (p retryingPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return again(ctx, func() (*sql.Stmt, error) { return p.pool.PrepareContext(ctx, query) })
}

// ExecContext runs a statement, again when it never reached the database.
func (p retryingPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return again(ctx, func() (sql.Result, error) { return p.pool.ExecContext(ctx, query, args...) })
}

// QueryContext runs a query, again when it never reached the database.
func (p retryingPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return again(ctx, func() (*sql.Rows, error) { return p.pool.QueryContext(ctx, query, args...) })
}

// QueryRowContext runs a query for one row, again when it never reached the database.
func (p retryingPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	row, _ := again(ctx, func() (*sql.Row, error) {
		row := p.pool.QueryRowContext(ctx, query, args...)
		return row, row.Err()
	})
	return row
}

// BeginTx starts a transaction, on another connection when the one it got was closed.
func (p retryingPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	return again(ctx, func() (gorm.ConnPool, error) {
		switch beginner := p.pool.(type) {
		case gorm.ConnPoolBeginner:
			return beginner.BeginTx(ctx, opts)
		case gorm.TxBeginner:
			tx, err := beginner.BeginTx(ctx, opts)
			if err != nil {
				return nil, err
			}
			return tx, nil
		}
		return nil, fmt.Errorf("begin transaction: the pool %T cannot", p.pool)
	})
}

// GetDBConn returns the database/sql pool underneath.
func (p retryingPool) GetDBConn() (*sql.DB, error) {
	switch pool := p.pool.(type) {
	case gorm.GetDBConnector:
		return pool.GetDBConn()
	case *sql.DB:
		return pool, nil
	}
	return nil, gorm.ErrInvalidDB
}
