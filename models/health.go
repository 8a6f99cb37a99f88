package models

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// AppliedSchemaVersion returns the newest migration recorded in the database; it equals SchemaVersion once the
// database is up to date.
func AppliedSchemaVersion(ctx context.Context, db *gorm.DB) (int, error) {
	var version int
	if err := db.WithContext(ctx).Raw(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version).Error; err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return version, nil
}

// WatcherState is what readiness and the metrics read of a change watcher.
type WatcherState struct {
	// Running is true from the watcher's start until it returns.
	Running bool
	// LastPoll is when the watcher last read the database without an error; zero before the first read.
	LastPoll time.Time
	// Err is the last poll's error, nil when it succeeded.
	Err error
	// Version is the newest change the watcher has seen.
	Version int64
}

// watcherHealth keeps a watcher's state for readers on other goroutines.
type watcherHealth struct {
	mu    sync.Mutex
	state WatcherState
}

func (h *watcherHealth) get() WatcherState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}

func (h *watcherHealth) update(fn func(*WatcherState)) {
	h.mu.Lock()
	fn(&h.state)
	h.mu.Unlock()
}

// polled records the outcome of one look at the database.
func (h *watcherHealth) polled(err error, version int64) {
	h.update(func(s *WatcherState) {
		s.Err = err
		if err == nil {
			s.LastPoll = time.Now()
			s.Version = max(s.Version, version)
		}
	})
}

// State returns the watcher's current state.
func (w *Watcher) State() WatcherState {
	return w.health.get()
}
