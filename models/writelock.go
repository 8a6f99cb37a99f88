package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// writeLockName is the GORM plugin name under which a SQLite database keeps its write lock.
const writeLockName = "stackboard:write-lock"

// writeLock lets one write transaction of this process at a time reach SQLite. SQLite takes one writer at a
// time anyway; without the lock, the others find the database busy and SQLite's busy handler puts them to sleep
// for up to 100 ms at a time, so concurrent writers spend most of their time asleep. Waiting here instead hands
// the database from one writer to the next at once.
type writeLock struct {
	token chan struct{}
}

func newWriteLock() *writeLock {
	return &writeLock{token: make(chan struct{}, 1)}
}

// Name names the plugin.
func (*writeLock) Name() string { return writeLockName }

// Initialize has nothing to set up: the lock is taken by writeTransaction.
func (*writeLock) Initialize(*gorm.DB) error { return nil }

// writeTransaction runs fn in a transaction; on SQLite it first waits for this process's other write
// transactions to finish (or for ctx to end). Inside a transaction it runs fn in that transaction.
func writeTransaction(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	db = db.WithContext(ctx)
	if _, inTransaction := db.Statement.ConnPool.(gorm.TxCommitter); inTransaction {
		return db.Transaction(fn)
	}
	if lock, ok := db.Config.Plugins[writeLockName].(*writeLock); ok {
		select {
		case lock.token <- struct{}{}:
			defer func() { <-lock.token }()
		case <-ctx.Done():
			return fmt.Errorf("wait for the database: %w", ctx.Err())
		}
	}
	return db.Transaction(fn)
}
