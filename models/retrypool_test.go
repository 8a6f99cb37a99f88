package models

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stackboard/models/testdb"
)

// Readers that go away cancel their queries, and pgx closes a connection whose query was cancelled; with every
// connection of the pool busy, the reads of those who stayed still get an answer, never "bad connection".
func TestCancelledQueriesLeaveOtherReadsAlone(t *testing.T) {
	testdb.SkipOnSQLite(t, "SQLite's connections outlive a cancelled query")
	db := openTestDB(t)
	ctx := context.Background()
	fragments := NewFragments()
	deadline := time.Now().Add(4 * time.Second)
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				gone, cancel := context.WithTimeout(ctx, time.Duration(rand.IntN(3000))*time.Microsecond)
				var n []int
				db.WithContext(gone).Raw(`SELECT 1 FROM pg_sleep(0.002)`).Scan(&n)
				cancel()
			}
		}()
	}
	var failed atomic.Int64
	var first atomic.Value
	fail := func(err error) {
		if err != nil && !errors.Is(err, context.Canceled) {
			failed.Add(1)
			first.CompareAndSwap(nil, err.Error())
		}
	}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				_, err := fragments.Stacks(ctx, db, "fleet")
				fail(err)
				_, err = FindStacks(ctx, db, "fleet", StackFilter{})
				fail(err)
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d reads of those who stayed failed, the first: %v", n, first.Load())
	}
}
