package testdb

import (
	"context"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// StatementCounter counts the SQL statements run through a database handle, reads and writes alike (a write
// queued for SQLite's group committer runs on the committer's transaction but is traced by the handle that asked
// for it); tests and benchmarks use it to prove that a page runs a fixed number of statements whatever the data
// size.
type StatementCounter struct {
	logger.Interface
	mu         sync.Mutex
	statements []string
}

// CountStatements returns a handle on the same database whose statements c counts.
func CountStatements(db *gorm.DB) (*gorm.DB, *StatementCounter) {
	c := &StatementCounter{Interface: logger.Discard}
	return db.Session(&gorm.Session{Logger: c}), c
}

// LogMode keeps counting whatever level is asked for.
func (c *StatementCounter) LogMode(logger.LogLevel) logger.Interface {
	return c
}

// Trace is called once for every statement, after it ran.
func (c *StatementCounter) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	statement, _ := fc()
	c.mu.Lock()
	c.statements = append(c.statements, statement)
	c.mu.Unlock()
}

// Count returns the number of statements since the last Reset.
func (c *StatementCounter) Count() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(len(c.statements))
}

// Statements returns the statements since the last Reset, in the order they ran, for messages that say which.
func (c *StatementCounter) Statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.statements...)
}

// Reset sets the count back to zero.
func (c *StatementCounter) Reset() {
	c.mu.Lock()
	c.statements = nil
	c.mu.Unlock()
}
