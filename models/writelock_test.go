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
