package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
)

// mostKeptStatements bounds how many prepared statements the write connection keeps: writes with a varying number of
// rows or IN values make new statement texts, which run unprepared once the cache is full.
const mostKeptStatements = 512

// writeConn is the one SQLite connection the group committer writes on, with its statements prepared once for the
// life of the connection. database/sql's prepared statements cannot do this inside transactions: a statement first
// prepared in a transaction belongs to it, and every later transaction prepares it again (that was an eighth of a
// status report's CPU). writeConn runs the transaction itself (BEGIN IMMEDIATE ... COMMIT on the connection), so
// GORM sees it as a transaction (it is a gorm.TxCommitter) and statements stay prepared.
type writeConn struct {
	conn *sql.Conn

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	// prepared counts the statements prepared on the connection.
	prepared int
}

// openWriteConn takes a connection of its own from the pool, which checkpoints every checkpointEvery pages.
func openWriteConn(ctx context.Context, pool *sql.DB, checkpointEvery int) (*writeConn, error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("write connection: %w", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d; PRAGMA journal_size_limit = %d", checkpointEvery, walSizeLimit)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("write connection: %w", err)
	}
	return &writeConn{conn: conn, stmts: make(map[string]*sql.Stmt)}, nil
}

// checkpointPages is how many pages of write-ahead log the write connection lets grow before it copies them into
// the database (SQLite's default is 1,000): a page that many commits rewrote meanwhile is copied once, and the
// database file synced once. The checkpoint stays on the writing connection, right after a commit: only there
// does it catch up with the log's end, so that the next write starts the log again (checkpoints on another
// connection alone, beside writes that never pause, let the log grow past 600 MB in 10 s; backfillLog's only copy
// ahead of it).
const checkpointPages = 16384

// walSizeLimit is the size the write-ahead log is cut back to when it starts again after a checkpoint.
const walSizeLimit = 64 << 20

// statement is query prepared on the connection, or nil when the cache is full.
func (c *writeConn) statement(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if stmt, ok := c.stmts[query]; ok {
		return stmt, nil
	}
	if len(c.stmts) >= mostKeptStatements {
		return nil, nil
	}
	stmt, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = stmt
	c.prepared++
	return stmt, nil
}

// PrepareContext prepares query on the connection, for GORM's callers that prepare themselves.
func (c *writeConn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.conn.PrepareContext(ctx, query)
}

// ExecContext runs query with its kept statement.
func (c *writeConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	stmt, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if stmt == nil {
		return c.conn.ExecContext(ctx, query, args...)
	}
	return stmt.ExecContext(ctx, args...)
}

// QueryContext runs query with its kept statement.
func (c *writeConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	stmt, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if stmt == nil {
		return c.conn.QueryContext(ctx, query, args...)
	}
	return stmt.QueryContext(ctx, args...)
}

// QueryRowContext runs query with its kept statement.
func (c *writeConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	stmt, err := c.statement(ctx, query)
	if err != nil || stmt == nil {
		// A failed prepare is reported by the row itself when the query is run unprepared.
		return c.conn.QueryRowContext(ctx, query, args...)
	}
	return stmt.QueryRowContext(ctx, args...)
}

// begin starts the write transaction.
func (c *writeConn) begin(ctx context.Context) error {
	_, err := c.ExecContext(ctx, "BEGIN IMMEDIATE")
	return err
}

// Commit commits the write transaction.
func (c *writeConn) Commit() error {
	_, err := c.ExecContext(context.Background(), "COMMIT")
	return err
}

// Rollback rolls the write transaction back.
func (c *writeConn) Rollback() error {
	_, err := c.ExecContext(context.Background(), "ROLLBACK")
	return err
}

// close gives the connection back to the pool (checkpointing as SQLite does by default again), or, when it may
// still be inside a transaction (its rollback failed), closes it for good.
func (c *writeConn) close(broken bool) {
	if !broken {
		c.conn.ExecContext(context.Background(), "PRAGMA wal_autocheckpoint = 1000")
	}
	c.mu.Lock()
	for _, stmt := range c.stmts {
		stmt.Close()
	}
	c.stmts = nil
	c.mu.Unlock()
	if broken {
		// A driver.ErrBadConn from Raw makes database/sql throw the connection away instead of pooling it.
		c.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	c.conn.Close()
}
