package models

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// committerName is the GORM plugin name under which a SQLite database keeps its group committer.
const committerName = "stackboard:group-committer"

// Most writes one SQLite transaction takes from the queue.
const mostWritesPerCommit = 128

// groupCommitter runs this process's write transactions on SQLite: one writer at a time, and the writes that
// queued up meanwhile together in one transaction, each in its own savepoint, with one commit. SQLite takes one
// writer at a time anyway; letting each write fight for the lock puts the losers to sleep in SQLite's busy
// handler for up to 100 ms, and committing each one on its own writes the same index pages again and again. A
// failing write rolls back to its savepoint and does not touch the others; a failing commit fails them all.
type groupCommitter struct {
	db *gorm.DB

	mu      sync.Mutex
	queue   []*pendingWrite
	running bool

	// conn is the connection the committing writer writes on while writes keep coming; only the committing
	// writer touches it, and it goes back to the pool when no write came for connIdleTime.
	conn *writeConn
	idle *time.Timer
	// closed is set once the database is closed: the committer opens no connection after it.
	closed bool
	// checkpointEvery is how many pages of log the write connection lets grow before it checkpoints.
	checkpointEvery int

	// backfill wakes backfillLog after a commit; stop ends it, and backfilled waits for it.
	backfill   chan struct{}
	stop       chan struct{}
	stopOnce   sync.Once
	backfilled sync.WaitGroup

	observer commitObserver
}

// pendingWrite is one write waiting for its transaction.
type pendingWrite struct {
	ctx context.Context
	fn  func(tx *gorm.DB) error
	// logger is the asking handle's: its statements are traced where the handle's other statements are (a
	// testdb.StatementCounter sees the write it asked for), not by the committer's own handle.
	logger logger.Interface
	err    error
	done   chan struct{}
}

// Name names the plugin.
func (*groupCommitter) Name() string { return committerName }

// Initialize remembers the database the committer writes to and starts copying its log back.
func (c *groupCommitter) Initialize(db *gorm.DB) error {
	c.db = db
	c.backfill = make(chan struct{}, 1)
	c.stop = make(chan struct{})
	c.backfilled.Add(1)
	go c.backfillLog()
	return nil
}

// backfillEvery is the shortest time between two background checkpoints.
const backfillEvery = 200 * time.Millisecond

// backfillLog copies committed pages from the log into the database file in the background, at most every
// backfillEvery while writes come. Only the write connection's own checkpoint, right after a commit, can start the
// log again (see checkpointPages), but it then finds most pages copied and synced already: it holds the writes up
// for tens of milliseconds instead of hundreds (syncing the copy took 45% of a status-report loop's time at L on a
// 2-core VM). A failed background checkpoint is left to the write connection's.
func (c *groupCommitter) backfillLog() {
	defer c.backfilled.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.backfill:
		}
		if pool, err := c.db.DB(); err == nil {
			pool.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		}
		select {
		case <-c.stop:
			return
		case <-time.After(backfillEvery):
		}
	}
}

// writeTransaction runs fn in a write transaction: on SQLite through the group committer, elsewhere in a
// transaction of its own. Inside a transaction it runs fn as part of that transaction. It returns once fn's changes are
// committed, or with fn's error (its changes rolled back).
func writeTransaction(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	if _, inTransaction := db.Statement.ConnPool.(gorm.TxCommitter); inTransaction {
		// Part of a bigger write, which rolls back as a whole when this part fails: no savepoint of its own. The
		// transaction keeps its own context: SQLite rolls back a whole transaction when one of its writes is
		// interrupted, so a client going away must not interrupt a batch that holds other clients' writes.
		return fn(db)
	}
	db = db.WithContext(ctx)
	committer, ok := db.Config.Plugins[committerName].(*groupCommitter)
	if !ok {
		return db.Transaction(fn)
	}
	return committer.write(ctx, db.Logger, fn)
}

// write queues fn and waits for its commit. The first writer to find nobody committing commits for everyone
// queued, until the queue is empty.
func (c *groupCommitter) write(ctx context.Context, log logger.Interface, fn func(tx *gorm.DB) error) error {
	w := &pendingWrite{ctx: ctx, fn: fn, logger: log, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, w)
	lead := !c.running
	c.running = true
	c.mu.Unlock()
	if lead {
		c.commitAll()
	}
	<-w.done
	return w.err
}

// commitAll commits batches from the queue until it is empty.
func (c *groupCommitter) commitAll() {
	for {
		c.mu.Lock()
		n := min(len(c.queue), mostWritesPerCommit)
		if n == 0 {
			c.running = false
			if c.idle == nil {
				c.idle = time.AfterFunc(connIdleTime, c.closeIdle)
			} else {
				c.idle.Reset(connIdleTime)
			}
			c.mu.Unlock()
			return
		}
		batch := c.queue[:n:n]
		c.queue = c.queue[n:]
		c.mu.Unlock()
		c.commit(batch)
	}
}

// commit runs one batch in one transaction.
func (c *groupCommitter) commit(batch []*pendingWrite) {
	start := time.Now()
	err := c.transaction(context.WithoutCancel(batch[0].ctx), func(tx *gorm.DB) error {
		for _, w := range batch {
			if err := w.ctx.Err(); err != nil {
				w.err = fmt.Errorf("write abandoned: %w", err)
				continue
			}
			traced := tx.Session(&gorm.Session{Logger: w.logger})
			if len(batch) == 1 {
				w.err = runWrite(traced, w.fn)
				return w.err
			}
			if err := execSQL(tx, "SAVEPOINT write"); err != nil {
				return err
			}
			w.err = runWrite(traced, w.fn)
			if w.err != nil {
				if err := execSQL(tx, "ROLLBACK TO SAVEPOINT write"); err != nil {
					return err
				}
			}
			if err := execSQL(tx, "RELEASE SAVEPOINT write"); err != nil {
				return err
			}
		}
		return nil
	})
	// Observed before the writers hear back, so that what a writer reads of the metrics includes its own commit.
	c.observer.observe(len(batch), time.Since(start))
	if err == nil {
		select {
		case c.backfill <- struct{}{}:
		default:
		}
	}
	for _, w := range batch {
		if err != nil && w.err == nil {
			w.err = fmt.Errorf("commit: %w", err)
		}
		close(w.done)
	}
}

// errDatabaseClosed is the answer to a write after the database was closed.
var errDatabaseClosed = errors.New("sql: database is closed")

// connIdleTime is how long the write connection stays open after the last write.
const connIdleTime = time.Second

// close waits for the committing writer, gives the write connection back, and refuses connections after it, so
// that no write outlives the database's Close on a connection it held.
func (c *groupCommitter) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stopOnce.Do(func() { close(c.stop) })
	c.backfilled.Wait()
	for !c.releaseConn() {
		time.Sleep(time.Millisecond)
	}
}

// closeIdle gives the write connection back to the pool unless a writer is committing.
func (c *groupCommitter) closeIdle() {
	c.releaseConn()
}

// releaseConn gives the write connection (if any) back to the pool and reports true, or reports false while a
// writer is committing on it.
func (c *groupCommitter) releaseConn() bool {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return false
	}
	conn := c.conn
	c.conn = nil
	c.mu.Unlock()
	if conn != nil {
		conn.close(false)
	}
	return true
}

// transaction runs fn in one transaction on the committer's write connection, opening it when there is none.
func (c *groupCommitter) transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if c.conn == nil {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return errDatabaseClosed
		}
		pool, err := c.db.DB()
		if err != nil {
			return err
		}
		if c.conn, err = openWriteConn(ctx, pool, c.checkpointEvery); err != nil {
			return err
		}
	}
	if err := c.conn.begin(ctx); err != nil {
		c.dropConn()
		return fmt.Errorf("begin: %w", err)
	}
	tx := c.db.Session(&gorm.Session{Context: ctx, NewDB: true})
	tx.Statement.ConnPool = c.conn
	err := fn(tx)
	if err == nil {
		if err = c.conn.Commit(); err == nil {
			return nil
		}
		err = fmt.Errorf("end the transaction: %w", err)
	}
	if rollbackErr := c.conn.Rollback(); rollbackErr != nil {
		c.dropConn()
	}
	return err
}

// dropConn throws away a write connection that may be left inside a transaction.
func (c *groupCommitter) dropConn() {
	c.conn.close(true)
	c.conn = nil
}

// runWrite runs one write, turning a panic into its error so that the batch's other writes still commit.
func runWrite(tx *gorm.DB, fn func(tx *gorm.DB) error) error {
	return recovered(func() error { return fn(tx) })
}
