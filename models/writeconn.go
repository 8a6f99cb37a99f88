package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"time"
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
	// stopCheckpoints ends the checkpointer, which has ended once checkpointsDone is closed.
	stopCheckpoints context.CancelFunc
	checkpointsDone chan struct{}

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	// prepared counts the statements prepared on the connection.
	prepared int
}

// openWriteConn takes a connection of its own from the pool.
func openWriteConn(ctx context.Context, pool *sql.DB) (*writeConn, error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("write connection: %w", err)
	}
	// Checkpoints copy the log into the database file and sync it: that work is the checkpointer's, on another
	// connection beside the writes, not every thousand pages on the one that writes (it halved the writes a second).
	// The log then grows between two checkpoints; once copied it is cut back to walSizeLimit.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = %d", walSizeLimit)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("write connection: %w", err)
	}
	checkpoints, stop := context.WithCancel(context.WithoutCancel(ctx))
	c := &writeConn{conn: conn, stmts: make(map[string]*sql.Stmt), stopCheckpoints: stop, checkpointsDone: make(chan struct{})}
	go func() {
		defer close(c.checkpointsDone)
		checkpoint(checkpoints, pool)
	}()
	return c, nil
}

// walSizeLimit is the size the write-ahead log is cut back to when it starts again after a checkpoint.
const walSizeLimit = 64 << 20

// checkpointPause is the checkpointer's rest between two checkpoints: a page that many commits rewrote meanwhile
// is copied once, and the database file synced once, instead of every thousand pages of log as SQLite does by
// itself (which, on the writing connection, halved the writes a second).
const checkpointPause = 2 * time.Second

// checkpoint copies the write-ahead log into the database every checkpointPause until ctx ends. PASSIVE never
// waits for readers or the writer; what a reader still needs is copied by a later round. A failure (the database
// closed under it) is tried again later: the log is the database's until it is copied, so nothing is lost by
// waiting.
func checkpoint(ctx context.Context, pool *sql.DB) {
	ticker := time.NewTicker(checkpointPause)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		pool.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	}
}

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

// close gives the connection back to the pool (checkpointing as SQLite does by itself again), or, when it may still
// be inside a transaction (its rollback failed), closes it for good.
func (c *writeConn) close(broken bool) {
	c.stopCheckpoints()
	<-c.checkpointsDone
	if !broken {
		c.conn.ExecContext(context.Background(), "PRAGMA wal_autocheckpoint = 1000")
		c.conn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
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
