package models

import (
	"context"
	"testing"
)

// A first read that finds more of the change feed than it can follow (a restart after a busy hour) starts again
// from the data and skips to the feed's end on SQLite, instead of leaving the reads after it to walk the rest of
// the feed 5,000 rows at a time.
func TestFragmentsSkipAFeedTooLongToFollow(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	loadDemo(t, db)
	if db.Dialector.Name() == "postgres" {
		t.Skip("PostgreSQL follows its feed by transaction from the snapshot's xmin")
	}
	for range 3 {
		// 2,500 changes of one statement each time: past mostFeedRows in all.
		if err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
			INSERT INTO changes (changed_at, project_id, stack_id, product_name) SELECT ?, '', '', 'kodo' FROM n`, Now()).Error; err != nil {
			t.Fatal(err)
		}
	}
	var last int64
	if err := db.Raw(`SELECT MAX(pk) FROM changes`).Scan(&last).Error; err != nil {
		t.Fatal(err)
	}
	f := NewFragments()
	list, err := f.Products(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.seen != last {
		t.Errorf("after the first read the fragments follow the feed from change %d, want its end, %d", f.seen, last)
	}
	whole, err := FindProducts(ctx, db, ProductFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.parts) != len(whole) {
		t.Errorf("%d products from fragments, want %d", len(list.parts), len(whole))
	}
}
