package models

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"stackboard/models/testdb"
)

// Writes that queue up together commit together, but each stands alone: one that fails is rolled back without
// taking the others with it, and each caller hears its own outcome.
func TestGroupedWritesSucceedAndFailAlone(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if _, err := CreateStack(ctx, db, "shop", NewStack{Name: "taken"}); err != nil {
		t.Fatal(err)
	}
	const writers = 40
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("stack-%d", i)
			if i%4 == 0 {
				name = "taken" // refused: the name exists
			}
			_, errs[i] = CreateStack(ctx, db, "shop", NewStack{Name: name})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%4 == 0 && err == nil {
			t.Errorf("writer %d created a second stack named taken", i)
		}
		if i%4 != 0 && err != nil {
			t.Errorf("writer %d failed beside a failing write: %v", i, err)
		}
	}
	var stacks, events int64
	db.Model(&Stack{}).Count(&stacks)
	db.Model(&StackEvent{}).Count(&events)
	if stacks != 1+writers*3/4 {
		t.Errorf("%d stacks, want %d", stacks, 1+writers*3/4)
	}
	var perStack []int64
	db.Raw(`SELECT COUNT(*) FROM stack_events GROUP BY stack_pk`).Scan(&perStack)
	for _, n := range perStack {
		if n != perStack[0] {
			t.Errorf("stacks have %v events each; a failed write left some behind or took some away", perStack)
			break
		}
	}
}

// A write whose caller has gone away before its turn is not made.
func TestAbandonedWritesAreNotMade(t *testing.T) {
	db := openTestDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CreateStack(ctx, db, "shop", NewStack{Name: "never"}); err == nil {
		t.Error("a write for a cancelled request was made")
	}
	var stacks int64
	db.Model(&Stack{}).Count(&stacks)
	if stacks != 0 {
		t.Errorf("%d stacks after an abandoned write", stacks)
	}
}

// While writes keep coming, the group committer's connection prepares each statement once: database/sql would
// prepare a statement first seen in a transaction again in every later one, which cost a status report an eighth
// of its CPU. A write that fails does not spoil the connection for the next.
func TestWritesPrepareEachStatementOnce(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	committer, ok := db.Config.Plugins[committerName].(*groupCommitter)
	if !ok {
		t.Skip("no group committer on " + db.Dialector.Name())
	}
	if _, err := CreateStack(ctx, db, "shop", NewStack{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	const writes = 40
	for i := range writes {
		status := []string{"DEPLOYMENT_IN_PROGRESS", "DEPLOYMENT_COMPLETE"}[i%2]
		if err := UpdateStack(ctx, db, "shop", "web", StackPatch{Status: &status}); err != nil {
			t.Fatal(err)
		}
		if _, err := CreateStack(ctx, db, "shop", NewStack{Name: "web"}); err == nil {
			t.Fatal("a second stack named web was created")
		}
	}
	committer.mu.Lock()
	conn := committer.conn
	committer.mu.Unlock()
	if conn == nil {
		t.Fatal("the write connection was given back between writes a few milliseconds apart")
	}
	conn.mu.Lock()
	prepared := conn.prepared
	conn.mu.Unlock()
	t.Logf("%d statements prepared", prepared)
	// A status report and a refused create are about a dozen different statements, with BEGIN and COMMIT.
	if prepared == 0 || prepared > 20 {
		t.Errorf("%d statements prepared for %d writes, want each of a dozen or so once", prepared, 2*writes)
	}
	var events int64
	db.Model(&StackEvent{}).Count(&events)
	if events != 1+writes {
		t.Errorf("%d events, want %d (one created, one per status change)", events, 1+writes)
	}
}

// The write connection checkpoints the log itself, right after a commit, so that the log starts again while
// readers never stop and writes never pause: checkpoints on another connection, beside the writes, never caught up
// with the log's end, and it grew past 600 MB in 10 s.
func TestTheLogStaysSmallUnderWritesAndReads(t *testing.T) {
	path := testdb.DSN(t)
	if IsPostgres(path) {
		t.Skip("SQLite's write-ahead log")
	}
	db := openTestDBAt(t, path)
	db.Config.Plugins[committerName].(*groupCommitter).checkpointEvery = 64
	ctx := context.Background()
	if _, err := CreateStack(ctx, db, "shop", NewStack{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
				var n int64
				db.Model(&Stack{}).Count(&n)
			}
		}()
	}
	const writesEach = 600
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range writesEach {
				status := []string{"DEPLOYMENT_IN_PROGRESS", "DEPLOYMENT_COMPLETE"}[(i+w)%2]
				if err := UpdateStack(ctx, db, "shop", "web", StackPatch{Status: &status}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	info, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// Started again every 64 pages (256 KiB) when no reader holds an older snapshot; readers delay some restarts
	// (a few MB at worst seen). Never started again, 2,400 writes' log is about 40 MB.
	if info.Size() > 24<<20 {
		t.Errorf("the log is %d bytes after %d writes beside readers, want it started again every 64 pages", info.Size(), 4*writesEach)
	}
}

// Committed pages reach the database file itself soon after a commit, while the write connection's own
// checkpoint is still far off: the background checkpoint copies them ahead of it.
func TestCommittedPagesReachTheDatabaseFileInTheBackground(t *testing.T) {
	path := testdb.DSN(t)
	if IsPostgres(path) {
		t.Skip("SQLite's write-ahead log")
	}
	db := openTestDBAt(t, path)
	db.Config.Plugins[committerName].(*groupCommitter).checkpointEvery = 1 << 30
	if _, err := CreateStack(context.Background(), db, "shop", NewStack{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	// A copy of the database file alone, without its log, holds what was copied back into it.
	copied := filepath.Join(t.TempDir(), "copy.db")
	inFile := func() bool {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(copied, data, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(copied + "-wal")
		os.Remove(copied + "-shm")
		file, err := sql.Open("sqlite3", copied)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		var n int
		err = file.QueryRow(`SELECT COUNT(*) FROM stacks WHERE name = 'web'`).Scan(&n)
		return err == nil && n == 1
	}
	deadline := time.Now().Add(5 * time.Second)
	for !inFile() {
		if time.Now().After(deadline) {
			t.Fatal("the stack written 5 s ago is still only in the log")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
