package models

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The change feed is read by key ("the rows after the last one seen") on every read of a kept list, and holds
// from none to millions of rows: SQLite must seek to the key, whatever an ANALYZE once counted. A fill gathers no
// statistics of the feed, and opening a database forgets those an earlier build's fill gathered, on every
// connection of the pool.
func TestTheChangeFeedIsReadByKeyWhateverItsStatistics(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "feed.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := FillEmpty(ctx, db, Tables{Projects: []Project{{ID: "fleet", CreatedAt: time.Now().UTC()}}}); err != nil {
		t.Fatal(err)
	}
	var feedStats int64
	if err := db.Raw(`SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'changes'`).Scan(&feedStats).Error; err != nil {
		t.Fatal(err)
	}
	if feedStats != 0 {
		t.Errorf("a fill left %d rows of statistics of the change feed", feedStats)
	}
	// What an earlier build's fill left: the feed counted when it held one row, then an hour of writes.
	if err := db.Exec(`ANALYZE changes`).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
		INSERT INTO changes (changed_at, project_id, stack_id, product_name) SELECT ?, 'fleet', '', '' FROM n`, Now()).Error; err != nil {
		t.Fatal(err)
	}
	if err := Close(db); err != nil {
		t.Fatal(err)
	}

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(db)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		// Held at once, so that each is its own connection.
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		rows, err := conn.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT pk FROM changes WHERE pk > ? ORDER BY pk LIMIT 5001`, 19990)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if len(plan) != 1 || !strings.Contains(plan[0], "INTEGER PRIMARY KEY") {
			t.Errorf("connection %d reads the feed after a key with the plan %q, want a search by its primary key", i, plan)
		}
	}
}
