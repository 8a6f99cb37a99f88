package models

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stackboard/models/testdb"
)

// pairManifest sets both stacks' descriptions to n in one import, one transaction: a consistent copy shows them equal.
func pairManifest(n int) string {
	return fmt.Sprintf(`projects:
  - id: backup-project
    stacks:
      - name: left
        description: "write %d"
      - name: right
        description: "write %d"
`, n, n)
}

func exportText(t *testing.T, ctx context.Context, path string) string {
	t.Helper()
	db := openTestDBAt(t, path)
	manifest, err := Export(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := EncodeManifest(&buf, manifest); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestBackupOfALiveDatabase(t *testing.T) {
	testdb.SkipOnPostgres(t, "backup copies SQLite files; PostgreSQL has pg_dump")
	ctx := context.Background()
	dir := t.TempDir()
	source := filepath.Join(dir, "live.db")
	db := openTestDBAt(t, source)
	mustImport(t, db, pairManifest(0))

	// Writers keep writing while the copy is taken.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var written atomic.Int64
	for w := range 2 {
		wg.Go(func() {
			for i := 1; !stop.Load(); i++ {
				n := w*1_000_000 + i
				if _, err := Import(ctx, db, decodeManifest(t, "pair.yaml", pairManifest(n))); err != nil {
					t.Errorf("write %d: %v", n, err)
					return
				}
				written.Add(1)
			}
		})
	}
	for written.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	during := filepath.Join(dir, "during.db")
	if err := Backup(ctx, db, during); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()

	if err := CheckIntegrity(ctx, during); err != nil {
		t.Fatal(err)
	}
	copied := exportText(t, ctx, during)
	var left, right string
	for _, line := range strings.Split(copied, "\n") {
		if strings.Contains(line, "description:") {
			if left == "" {
				left = line
			} else {
				right = line
			}
		}
	}
	if left == "" || strings.TrimSpace(left) != strings.TrimSpace(right) {
		t.Errorf("the copy taken during writes is not one moment of the data: %q and %q\n%s", left, right, copied)
	}

	// Once the writers stopped, a copy exports exactly what the live database does.
	after := filepath.Join(dir, "after.db")
	if err := Backup(ctx, db, after); err != nil {
		t.Fatal(err)
	}
	manifest, err := Export(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var live bytes.Buffer
	if err := EncodeManifest(&live, manifest); err != nil {
		t.Fatal(err)
	}
	if got := exportText(t, ctx, after); got != live.String() {
		t.Errorf("the copy's export differs from the live one:\n%s\nwant\n%s", got, live.String())
	}

	if err := Backup(ctx, db, after); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup over an existing file: %v, want a refusal", err)
	}
}

func TestBackupOnPostgresSaysPgDump(t *testing.T) {
	testdb.SkipOnSQLite(t, "the PostgreSQL answer")
	err := Backup(context.Background(), openTestDB(t), filepath.Join(t.TempDir(), "copy.db"))
	if err != ErrBackupPostgres {
		t.Errorf("Backup on PostgreSQL: %v, want %v", err, ErrBackupPostgres)
	}
}

func TestPruneEventsKeepsWhatIsNotOlderThanTheCut(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	stack, err := CreateStack(ctx, db, "proj", NewStack{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	cut := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	var events []StackEvent
	add := func(n int, at time.Time) {
		for range n {
			events = append(events, StackEvent{StackPK: stack.PK, EventTime: at, ResourceType: ResourceService,
				ResourceName: "svc", EventType: EventLog})
		}
	}
	add(1203, cut.Add(-time.Second)) // more than two batches
	add(7, cut.Add(-400*24*time.Hour))
	add(5, cut) // at the cut: not older, kept
	add(4, cut.Add(time.Hour))
	if err := db.CreateInBatches(&events, 200).Error; err != nil {
		t.Fatal(err)
	}
	var before int64
	db.Model(&StackEvent{}).Count(&before)
	versionBefore, err := CurrentVersion(ctx, db)
	if err != nil {
		t.Fatal(err)
	}

	deleted, err := PruneEvents(ctx, db, cut)
	if err != nil {
		t.Fatal(err)
	}
	if deleted != 1210 {
		t.Errorf("deleted %d events, want the 1210 older than the cut", deleted)
	}
	var left []StackEvent
	if err := db.Order("pk").Find(&left).Error; err != nil {
		t.Fatal(err)
	}
	if int64(len(left)) != before-1210 {
		t.Errorf("%d events left of %d, want %d", len(left), before, before-1210)
	}
	for _, e := range left {
		if e.EventTime.Before(cut) {
			t.Errorf("event %d of %s survived the cut %s", e.PK, e.EventTime, cut)
		}
	}
	waitVersion(t, db, fmt.Sprintf("more than %d after pruning, or cached event lists would not refresh", versionBefore),
		func(v int64) bool { return v > versionBefore })
	if again, err := PruneEvents(ctx, db, cut); err != nil || again != 0 {
		t.Errorf("pruning again deleted %d (%v), want 0", again, err)
	}
}

func TestParseRetention(t *testing.T) {
	tests := []struct {
		text string
		want time.Duration
		ok   bool
	}{
		{"", 0, true},
		{"0", 0, true},
		{"90d", 90 * 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"d", 0, false},
		{"-3d", 0, false},
		{"1.5d", 0, false},
		{"soon", 0, false},
		{"-1h", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseRetention(tt.text)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v, ok %v", tt.text, got, err, tt.want, tt.ok)
		}
	}
}
