package models

import (
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// CommitObserver is told of every group commit: how many writes it held and how long the transaction took.
type CommitObserver func(writes int, took time.Duration)

// commitObserver holds a committer's observer; commits read it from any goroutine.
type commitObserver struct {
	fn atomic.Pointer[CommitObserver]
}

func (o *commitObserver) observe(writes int, took time.Duration) {
	if fn := o.fn.Load(); fn != nil {
		(*fn)(writes, took)
	}
}

// ObserveCommits has fn told of every commit of db's group committer and reports whether db has one (SQLite
// does; on PostgreSQL every write commits on its own).
func ObserveCommits(db *gorm.DB, fn CommitObserver) bool {
	committer, ok := db.Config.Plugins[committerName].(*groupCommitter)
	if ok {
		committer.observer.fn.Store(&fn)
	}
	return ok
}
