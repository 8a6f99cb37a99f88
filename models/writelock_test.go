package models

import (
	"context"
	"fmt"
	"sync"
	"testing"
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
