package models

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"stackboard/models/testdb"
)

// A change written through another connection pool (as another process would) reaches the watcher, naming the
// project, the stack and every product that holds the stack.
func TestWatcherSeesChangesFromAnotherConnection(t *testing.T) {
	path := testdb.DSN(t)
	watched := openTestDBAt(t, path)
	writer := openTestDBAt(t, path)
	loadDemo(t, writer)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sets := make(chan ChangeSet, 16)
	done := make(chan error, 1)
	watcher := NewWatcher(watched, slog.New(slog.DiscardHandler), 20*time.Millisecond)
	go func() { done <- watcher.Run(ctx, func(set ChangeSet) { sets <- set }) }()
	time.Sleep(100 * time.Millisecond) // let the watcher take its first look

	mustImport(t, writer, `
projects:
  - id: ba2b9930c977f71edaeaa3a5e96a8ff1
    stacks:
      - name: memcached
        status: DEPLOYMENT_IN_PROGRESS
`)
	memcached := findTestStack(t, writer, "ba2b9930c977f71edaeaa3a5e96a8ff1", "memcached")
	select {
	case set := <-sets:
		if !slices.Equal(set.Projects, []string{"ba2b9930c977f71edaeaa3a5e96a8ff1"}) || !slices.Equal(set.StackIDs, []string{memcached.StackID}) {
			t.Errorf("changes %+v, want the project and stack %s", set, memcached.StackID)
		}
		slices.Sort(set.Products)
		if !slices.Equal(set.Products, []string{"kodo", "kodo-console", "memcached"}) {
			t.Errorf("products %v, want every product holding memcached", set.Products)
		}
		topics := set.Topics()
		for _, want := range []string{TopicAll, ProjectTopic("ba2b9930c977f71edaeaa3a5e96a8ff1"), StackTopic(memcached.StackID), ProductTopic("kodo")} {
			if !slices.Contains(topics, want) {
				t.Errorf("topics %v lack %s", topics, want)
			}
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the watcher did not notice the change within 2 s")
	}

	// Applying the same manifest again changes nothing, so nothing is announced.
	mustImport(t, writer, "projects:\n  - id: ba2b9930c977f71edaeaa3a5e96a8ff1\n    stacks:\n      - {name: memcached, status: DEPLOYMENT_IN_PROGRESS}\n")
	select {
	case set := <-sets:
		t.Errorf("an import that changed nothing was announced: %+v", set)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v", err)
	}
}

func TestChangeVersionGrowsWithEveryWrite(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	before, err := CurrentVersion(ctx, db)
	if err != nil || before != 0 {
		t.Fatalf("empty database: version %d, %v", before, err)
	}
	mustImport(t, db, "projects:\n  - id: shop\n    stacks:\n      - name: web\n")
	after, err := CurrentVersion(ctx, db)
	if err != nil || after <= before {
		t.Errorf("version %d after a write, was %d (%v)", after, before, err)
	}
}
