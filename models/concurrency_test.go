package models

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentImports runs writers in parallel against one SQLite file: none of them may see "database is
// locked", and every write must land.
func TestConcurrentImports(t *testing.T) {
	const writers, importsEach = 8, 50
	ctx := context.Background()
	db := openTestDB(t)
	mustImport(t, db, "projects: [{id: shared}]")

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		reports []ImportReport
	)
	for w := range writers {
		wg.Go(func() {
			for i := range importsEach {
				// Each import updates the writer's own stack and adds one more stack of its own.
				manifest := fmt.Sprintf(`
projects:
  - id: shared
    stacks:
      - name: writer%d
        description: update %d
        status: %s
        services:
          - {name: svc, state: DEPLOYED, status: RUNNING, domains: [w%d-%d.example.com], image: {name: app, tag: v%d}}
      - name: writer%d-import%d
`, w, i, LifecycleStatuses()[i%len(LifecycleStatuses())], w, i, i, w, i)
				file, err := DecodeManifest(fmt.Sprintf("writer%d-%d.yaml", w, i), strings.NewReader(manifest))
				if err == nil {
					var report ImportReport
					report, err = Import(ctx, db, file)
					mu.Lock()
					reports = append(reports, report)
					mu.Unlock()
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()

	for i, err := range errs {
		if i == 5 {
			t.Errorf("… and %d more errors", len(errs)-5)
			break
		}
		t.Errorf("import error: %v", err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}

	var created, updated int
	for _, r := range reports {
		created += r.StacksCreated
		updated += r.StacksUpdated
	}
	if total := writers * importsEach; created != writers+total || updated != total-writers {
		t.Errorf("reports: %d stacks created, %d updated; want %d and %d", created, updated, writers+total, total-writers)
	}
	if got, want := countRows(t, db), (rowCounts{Projects: 1, Stacks: writers * (importsEach + 1), Services: writers}); got != want {
		t.Errorf("rows = %+v, want %+v", got, want)
	}
	for w := range writers {
		stack := findTestStack(t, db, "shared", fmt.Sprintf("writer%d", w))
		last := importsEach - 1
		if want := fmt.Sprintf("update %d", last); stack.Description != want {
			t.Errorf("writer%d: description %q, want %q", w, stack.Description, want)
		}
		if want := LifecycleStatuses()[last%len(LifecycleStatuses())]; stack.Status != want {
			t.Errorf("writer%d: status %s, want %s", w, stack.Status, want)
		}
		for i := range importsEach {
			findTestStack(t, db, "shared", fmt.Sprintf("writer%d-import%d", w, i))
		}
	}
}
