package models

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

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
	watcher, err := NewWatcher(ctx, watched, slog.New(slog.DiscardHandler), 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
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
	// On PostgreSQL the version may move on its own first (the demo's changes falling below every running
	// transaction), which Run announces as an empty set: wait for the set that carries the change.
	timeout := time.After(2 * time.Second)
	var set ChangeSet
	for set.Empty() {
		select {
		case set = <-sets:
		case <-timeout:
			t.Fatal("the watcher did not notice the change within 2 s")
		}
	}
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

	// Applying the same manifest again changes nothing, so nothing is announced (the version alone may move on
	// PostgreSQL, once the first import's change is older than every running transaction).
	mustImport(t, writer, "projects:\n  - id: ba2b9930c977f71edaeaa3a5e96a8ff1\n    stacks:\n      - {name: memcached, status: DEPLOYMENT_IN_PROGRESS}\n")
	for quiet := time.After(200 * time.Millisecond); ; {
		select {
		case set := <-sets:
			if !set.Empty() {
				t.Errorf("an import that changed nothing was announced: %+v", set)
			}
			continue
		case <-quiet:
		}
		break
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
	waitVersion(t, db, fmt.Sprintf("more than %d after a write", before), func(v int64) bool { return v > before })
}

// announced runs a watcher on db until the test ends and collects the stack ids it announces; ready is closed after
// its first successful look.
func announced(t *testing.T, db *gorm.DB, interval time.Duration) (stacks func() []string, ready <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	watcher, err := NewWatcher(ctx, db, slog.New(slog.DiscardHandler), interval)
	if err != nil {
		t.Fatal(err)
	}
	looked := make(chan struct{})
	var once sync.Once
	watcher.Checked = func() { once.Do(func() { close(looked) }) }
	var mu sync.Mutex
	var seen []string
	done := make(chan error, 1)
	go func() {
		done <- watcher.Run(ctx, func(set ChangeSet) {
			mu.Lock()
			seen = append(seen, set.StackIDs...)
			mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}, looked
}

// waitAnnounced waits until every one of ids is among the stacks announced.
func waitAnnounced(t *testing.T, what string, stacks func() []string, within time.Duration, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		seen := stacks()
		missing := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return slices.Contains(seen, id) })
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: stacks %v were not announced within %v (announced: %v)", what, missing, within, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// On PostgreSQL a long transaction takes its change's pk first and commits after a short one that took a later
// pk. Every watcher (each on a pool of its own, as replicas are) announces the short one at once and still the
// long one when it commits: none skips the one that committed late.
func TestWatchersSeeChangesThatCommitOutOfOrder(t *testing.T) {
	testdb.SkipOnSQLite(t, "SQLite has one writer at a time, so changes commit in pk order")
	dsn := testdb.DSN(t)
	long, short := openTestDBAt(t, dsn), openTestDBAt(t, dsn)
	var watchers []func() []string
	for range 2 {
		stacks, ready := announced(t, openTestDBAt(t, dsn), 20*time.Millisecond)
		<-ready
		watchers = append(watchers, stacks)
	}

	ctx := context.Background()
	held, release := make(chan string), make(chan struct{})
	committed := make(chan error, 1)
	go func() {
		committed <- writeTransaction(ctx, long, func(tx *gorm.DB) error {
			stack, err := CreateStack(ctx, tx, "slow-import", NewStack{Name: "imported"})
			if err != nil {
				close(held)
				return err
			}
			held <- stack.StackID
			<-release
			return nil
		})
	}()
	early, ok := <-held
	if !ok {
		t.Fatal(<-committed)
	}
	late, err := CreateStack(ctx, short, "quick-report", NewStack{Name: "reported"})
	if err != nil {
		t.Fatal(err)
	}
	var pks []int64
	if err := short.Raw(`SELECT pk FROM changes ORDER BY pk`).Scan(&pks).Error; err != nil || len(pks) != 2 {
		t.Fatalf("changes visible while the long transaction is open: %v, %v", pks, err)
	}
	// The later change is announced while the long transaction still runs: that one delays nobody. A watcher that
	// now read on past the later pk would skip the earlier one for ever.
	for i, stacks := range watchers {
		waitAnnounced(t, fmt.Sprintf("watcher %d, the long transaction still open", i), stacks, 5*time.Second, late.StackID)
	}
	time.Sleep(100 * time.Millisecond) // some more ticks
	close(release)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	var order []string
	if err := short.Raw(`SELECT stack_id FROM changes WHERE stack_id <> '' ORDER BY pk`).Scan(&order).Error; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, []string{early, late.StackID}) {
		t.Fatalf("change feed in pk order %v, want the held transaction's change %s first", order, early)
	}
	for i, stacks := range watchers {
		waitAnnounced(t, fmt.Sprintf("watcher %d", i), stacks, 5*time.Second, early, late.StackID)
	}
	// Each once: the one announced ahead is not announced again when the long transaction ends.
	time.Sleep(200 * time.Millisecond)
	for i, stacks := range watchers {
		seen := stacks()
		for _, id := range []string{early, late.StackID} {
			if n := len(slices.DeleteFunc(slices.Clone(seen), func(s string) bool { return s != id })); n != 1 {
				t.Errorf("watcher %d announced stack %s %d times, want once", i, id, n)
			}
		}
	}
}

// On PostgreSQL a watcher hears of a change by NOTIFY, long before its next tick; when its listening connection is
// lost it dials again, and the next change is heard of as fast.
func TestWatcherListensForChanges(t *testing.T) {
	testdb.SkipOnSQLite(t, "LISTEN/NOTIFY is PostgreSQL's")
	dsn := testdb.DSN(t)
	writer := openTestDBAt(t, dsn)
	stacks, ready := announced(t, openTestDBAt(t, dsn), time.Hour)
	<-ready // the first look follows the first LISTEN: no tick comes within the test
	ctx := context.Background()
	first, err := CreateStack(ctx, writer, "listened", NewStack{Name: "first"})
	if err != nil {
		t.Fatal(err)
	}
	waitAnnounced(t, "before the connection is lost", stacks, 5*time.Second, first.StackID)

	var schema string
	if err := writer.Raw(`SELECT current_schema()`).Scan(&schema).Error; err != nil {
		t.Fatal(err)
	}
	listener := func() []int64 {
		var pids []int64
		if err := writer.Raw(`SELECT pid FROM pg_stat_activity WHERE application_name = ? AND query LIKE 'LISTEN%'`,
			ListenerName+schema).Scan(&pids).Error; err != nil {
			t.Fatal(err)
		}
		return pids
	}
	lost := listener()
	if len(lost) != 1 {
		t.Fatalf("listening connections %v, want one", lost)
	}
	if err := writer.Exec(`SELECT pg_terminate_backend(?)`, lost[0]).Error; err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if pids := listener(); len(pids) == 1 && pids[0] != lost[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watcher did not listen again within 10 s (listening: %v)", listener())
		}
	}
	second, err := CreateStack(ctx, writer, "listened", NewStack{Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	waitAnnounced(t, "after the connection was lost", stacks, 5*time.Second, second.StackID)
}

// Migration 7 gives the changes a database already holds a transaction id (PostgreSQL) or 0 (SQLite); after it the
// version is read by that position, and a new change comes after it.
func TestMigration7RecordsTheChangesTransaction(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.DSN(t)
	dialector := sqlite.Open(dsn + "?" + sqliteParams)
	if testdb.Postgres() {
		dialector = postgres.Open(dsn)
	}
	old, err := gorm.Open(dialector, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(ctx, old, 6); err != nil {
		t.Fatal(err)
	}
	if err := old.Exec(`INSERT INTO changes (changed_at, project_id) VALUES (?, 'old')`, Now()).Error; err != nil {
		t.Fatal(err)
	}
	if err := Close(old); err != nil {
		t.Fatal(err)
	}

	db := openTestDBAt(t, dsn)
	var rows []Change
	if err := db.Order("pk").Find(&rows).Error; err != nil || len(rows) != 1 {
		t.Fatalf("changes after the upgrade: %+v, %v", rows, err)
	}
	if testdb.Postgres() != (rows[0].Xact > 0) {
		t.Errorf("the old change's transaction after the upgrade: %d, want an id on PostgreSQL and 0 on SQLite", rows[0].Xact)
	}
	before := max(rows[0].PK, rows[0].Xact)
	waitVersion(t, db, "after the upgrade, the old change's position", func(v int64) bool { return v == before })
	mustImport(t, db, "projects: [{id: fresh}]")
	waitVersion(t, db, fmt.Sprintf("after a new change, more than %d", before), func(v int64) bool { return v > before })
}

// waitVersion waits until the current version is as wanted. On PostgreSQL the version passes a change once every
// transaction older than it has ended, and other tests' transactions on the server may still run.
func waitVersion(t *testing.T, db *gorm.DB, want string, ok func(int64) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		version, err := CurrentVersion(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		if ok(version) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("version %d 10 s on, want %s", version, want)
		}
	}
}
