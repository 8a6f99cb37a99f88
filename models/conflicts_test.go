package models

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"gorm.io/gorm"

	"stackboard/models/testdb"
)

// twoReplicas opens two pools on one fresh database, as two replicas have.
func twoReplicas(t *testing.T) []*gorm.DB {
	t.Helper()
	dsn := testdb.DSN(t)
	return []*gorm.DB{openTestDBAt(t, dsn), openTestDBAt(t, dsn)}
}

// racers runs fn from n goroutines released together, alternating between the pools, and returns each one's
// error.
func racers(pools []*gorm.DB, n int, fn func(db *gorm.DB, i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-start
			errs[i] = fn(pools[i%2], i)
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// The same stack created through two replicas at once: one creation wins, every other one is told the stack
// exists, on both engines; nothing fails otherwise. The project is new too, so the first writes of a project race
// as well.
func TestConcurrentCreatesOfOneStackConflict(t *testing.T) {
	pools := twoReplicas(t)
	for round := range 5 {
		project := fmt.Sprintf("race-%d", round)
		errs := racers(pools, 8, func(db *gorm.DB, _ int) error {
			_, err := CreateStack(context.Background(), db, project, NewStack{Name: "web"})
			return err
		})
		created := 0
		for i, err := range errs {
			var conflict *ConflictError
			switch {
			case err == nil:
				created++
			case errors.As(err, &conflict) && conflict.Kind == KindStack && conflict.Name == "web":
			default:
				t.Errorf("round %d writer %d: %v, want success or a stack conflict", round, i, err)
			}
		}
		if created != 1 {
			t.Errorf("round %d: %d creations of one stack succeeded, want 1", round, created)
		}
	}
}

// The first stacks of a new project, created through two replicas at once, all succeed: the project is created
// once, by whichever comes first.
func TestConcurrentFirstWritesOfAProjectSucceed(t *testing.T) {
	pools := twoReplicas(t)
	for round := range 5 {
		project := fmt.Sprintf("fresh-%d", round)
		errs := racers(pools, 8, func(db *gorm.DB, i int) error {
			_, err := CreateStack(context.Background(), db, project, NewStack{Name: fmt.Sprintf("stack%d", i)})
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d writer %d: %v", round, i, err)
			}
		}
	}
}

// One product created through two replicas at once: one creation wins, the others are told it exists.
func TestConcurrentCreatesOfOneProductConflict(t *testing.T) {
	pools := twoReplicas(t)
	mustImport(t, pools[0], "projects:\n  - id: shop\n    stacks: [{name: web}, {name: db}]\n")
	for round := range 5 {
		name := fmt.Sprintf("shop%d", round)
		errs := racers(pools, 8, func(db *gorm.DB, _ int) error {
			return SaveProduct(context.Background(), db, ProductSpec{Name: name, ProjectID: "shop",
				Layers: [][]string{{"db"}, {"web"}}}, true)
		})
		created := 0
		for i, err := range errs {
			var conflict *ConflictError
			switch {
			case err == nil:
				created++
			case errors.As(err, &conflict) && conflict.Kind == KindProduct:
			default:
				t.Errorf("round %d writer %d: %v, want success or a product conflict", round, i, err)
			}
		}
		if created != 1 {
			t.Errorf("round %d: %d creations of one product succeeded, want 1", round, created)
		}
	}
}

// Replacing one product's layers through two replicas at once never fails: each replace is whole, the last one
// wins.
func TestConcurrentProductReplacesSucceed(t *testing.T) {
	pools := twoReplicas(t)
	mustImport(t, pools[0], "projects:\n  - id: shop\n    stacks: [{name: web}, {name: db}, {name: cache}]\nproducts:\n  - {name: shop, layers: [[db], [web]]}\n")
	layouts := [][][]string{{{"db"}, {"web"}}, {{"db", "cache"}, {"web"}}, {{"cache"}, {"db"}, {"web"}}}
	errs := racers(pools, 24, func(db *gorm.DB, i int) error {
		return SaveProduct(context.Background(), db, ProductSpec{Name: "shop", Layers: layouts[i%len(layouts)]}, false)
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("replace %d: %v", i, err)
		}
	}
}

// One Client-Request-Id sent through two replicas at once: the write runs once, and every answer is that write's
// (the first, or its replay), never an error.
func TestConcurrentReplaysOfOneRequest(t *testing.T) {
	pools := twoReplicas(t)
	for round := range 5 {
		key := &ReplayKey{Principal: "", ClientRequestID: fmt.Sprintf("6a1f0c3e-2b7d-4f7e-9a53-0c1d2e3f4a%02d", round),
			Method: "POST", Path: "/v1/replayed/stacks", BodySHA256: "sum"}
		var mu sync.Mutex
		ran, replays := 0, 0
		errs := racers(pools, 8, func(db *gorm.DB, _ int) error {
			response, replayed, err := Replay(context.Background(), db, key, func(tx *gorm.DB) (StoredResponse, error) {
				stack, err := CreateStack(context.Background(), tx, fmt.Sprintf("replayed-%d", round), NewStack{Name: "web"})
				if err != nil {
					return StoredResponse{}, err
				}
				return StoredResponse{Status: 201, Body: []byte(stack.StackID)}, nil
			})
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if replayed {
				replays++
			} else {
				ran++
			}
			if response.Status != 201 || len(response.Body) != 36 {
				return fmt.Errorf("answer %d %q", response.Status, response.Body)
			}
			return nil
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: replay %d: %v", round, i, err)
			}
		}
		if ran != 1 || replays != 7 {
			t.Errorf("round %d: the write ran %d times and was replayed %d times, want 1 and 7", round, ran, replays)
		}
	}
}
