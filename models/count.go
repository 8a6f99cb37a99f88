package models

import (
	"context"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// StatementCounter counts the SQL statements run through a database handle; tests and benchmarks use it to
// prove that a page runs a fixed number of statements whatever the data size.
type StatementCounter struct {
	logger.Interface
	count atomic.Int64
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

// Trace is called once for every statement.
func (c *StatementCounter) Trace(context.Context, time.Time, func() (string, int64), error) {
	c.count.Add(1)
}

// Count returns the number of statements since the last Reset.
func (c *StatementCounter) Count() int64 {
	return c.count.Load()
}

// Reset sets the count back to zero.
func (c *StatementCounter) Reset() {
	c.count.Store(0)
}
