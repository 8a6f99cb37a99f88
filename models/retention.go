package models

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// pruneBatch is how many events one pruning transaction deletes: small enough that the writes queued behind it
// wait milliseconds, not seconds.
const pruneBatch = 500

// prunePause lets queued writes commit between two pruning batches.
const prunePause = 10 * time.Millisecond

// PruneEvents deletes the events older than before, pruneBatch at a time, each batch a write of its own that
// records a change (so cached event lists refresh). It returns how many it deleted.
func PruneEvents(ctx context.Context, db *gorm.DB, before time.Time) (int64, error) {
	var total int64
	for {
		var deleted int64
		err := writeTransaction(ctx, db, func(tx *gorm.DB) error {
			result := tx.Exec(`DELETE FROM stack_events WHERE pk IN
				(SELECT pk FROM stack_events WHERE event_time < ? ORDER BY pk LIMIT ?)`, before, pruneBatch)
			if result.Error != nil {
				return result.Error
			}
			deleted = result.RowsAffected
			if deleted == 0 {
				return nil
			}
			return recordChanges(tx, Change{})
		})
		if err != nil {
			return total, fmt.Errorf("prune events: %w", err)
		}
		total += deleted
		if deleted < pruneBatch {
			return total, nil
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(prunePause):
		}
	}
}

// pruneEvery is how often the retention loop looks for events past the cut.
const pruneEvery = time.Hour

// KeepEvents prunes the events older than keep now and then every pruneEvery, until ctx ends.
func KeepEvents(ctx context.Context, db *gorm.DB, log *slog.Logger, keep time.Duration) {
	ticker := time.NewTicker(pruneEvery)
	defer ticker.Stop()
	for {
		deleted, err := PruneEvents(ctx, db, Now().Add(-keep))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("retention: prune events", "error", err)
		case deleted > 0:
			log.Info("retention: pruned events", "deleted", deleted, "older_than", Now().Add(-keep).Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// ParseRetention reads a retention period: a number of days ("90d"), or a Go duration ("36h"). Empty or "0"
// means keep everything (zero).
func ParseRetention(text string) (time.Duration, error) {
	if text == "" || text == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(text, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q: give a whole number of days, such as 90d", text)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: give days (90d) or a duration (36h)", text)
	}
	return d, nil
}
