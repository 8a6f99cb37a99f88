package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// eventsOf returns a stack's events, oldest first, as "resource_type resource_name EVENT_TYPE: message".
func eventsOf(t testing.TB, db *gorm.DB, stackPK int64) []string {
	t.Helper()
	var rows []StackEvent
	if err := db.Where("stack_pk = ?", stackPK).Order("event_time, pk").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	events := []string{}
	for _, e := range rows {
		events = append(events, fmt.Sprintf("%s %s %s: %s", e.ResourceType, e.ResourceName, e.EventType, e.EventMessage))
	}
	return events
}

func ptrTo[T any](v T) *T { return &v }

func TestCreateStackRefusals(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if _, err := CreateStack(ctx, db, "proj", NewStack{Name: "web", Description: "the web tier"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		project, name, description string
		wantField                  string // "" for a conflict
	}{
		{"proj", "web", "", ""},
		{"pr", "web2", "", "project_id"},
		{"proj", "9web", "", "stack_name"},
		{"proj", "", "", "stack_name"},
		{"proj", "web2", strings.Repeat("x", 1025), "description"},
	}
	for _, tt := range tests {
		_, err := CreateStack(ctx, db, tt.project, NewStack{Name: tt.name, Description: tt.description})
		var fe *FieldError
		var conflict *ConflictError
		switch {
		case tt.wantField == "" && !errors.As(err, &conflict):
			t.Errorf("CreateStack(%q, %q) = %v, want a conflict", tt.project, tt.name, err)
		case tt.wantField != "" && (!errors.As(err, &fe) || fe.Field != tt.wantField):
			t.Errorf("CreateStack(%q, %q) = %v, want an error naming %s", tt.project, tt.name, err, tt.wantField)
		}
	}
	if got := countRows(t, db); got.Stacks != 1 {
		t.Errorf("%d stacks after refused creates", got.Stacks)
	}
}

// Each kind of change records its event, in the same transaction as the change.
func TestStackWritesRecordEvents(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	stack, err := CreateStack(ctx, db, "proj", NewStack{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		write func() error
		want  []string // the events it adds
	}{
		{"status", func() error {
			return UpdateStack(ctx, db, "proj", "web", StackPatch{Status: ptrTo(LifecycleDeploymentInProgress)})
		}, []string{"stack web UPDATE_IN_PROGRESS: CREATION_COMPLETE → DEPLOYMENT_IN_PROGRESS"}},
		{"failure with a message", func() error {
			return UpdateStack(ctx, db, "proj", "web", StackPatch{StackID: &stack.StackID, Status: ptrTo(LifecycleDeploymentFailed), StatusMessage: ptrTo("image pull failed")})
		}, []string{"stack web UPDATE_FAILED: DEPLOYMENT_IN_PROGRESS → DEPLOYMENT_FAILED: image pull failed"}},
		{"a new message only", func() error {
			return UpdateStack(ctx, db, "proj", "web", StackPatch{StatusMessage: ptrTo("registry down")})
		}, []string{"stack web LOG: status message: registry down"}},
		{"the same again", func() error {
			return UpdateStack(ctx, db, "proj", "web", StackPatch{Status: ptrTo(LifecycleDeploymentFailed), StatusMessage: ptrTo("registry down")})
		}, nil},
		{"description and status at once", func() error {
			return UpdateStack(ctx, db, "proj", "web", StackPatch{Description: ptrTo("web tier"), Status: ptrTo(LifecycleRollbackComplete)})
		}, []string{"stack web UPDATE_COMPLETE: DEPLOYMENT_FAILED → ROLLBACK_COMPLETE", "stack web LOG: description changed"}},
		{"deletion failed", func() error {
			return UpdateStack(ctx, db, "proj", "web", StackPatch{Status: ptrTo(LifecycleDeletionFailed)})
		}, []string{"stack web DELETION_FAILED: ROLLBACK_COMPLETE → DELETION_FAILED"}},
		{"a service created", func() error {
			_, err := PutService(ctx, db, "proj", "web", "nginx", ServiceSpec{State: StateDeployed, Status: RunRunning, Image: Image{Name: "nginx"}})
			return err
		}, []string{"service nginx CREATION_COMPLETE: created: DEPLOYED, RUNNING, image nginx:latest"}},
		{"a service reported unchanged", func() error {
			_, err := PutService(ctx, db, "proj", "web", "nginx", ServiceSpec{State: StateDeployed, Status: RunRunning, Domains: []string{}, Image: Image{Name: "nginx", Tag: "latest"}})
			return err
		}, nil},
		{"a service failing", func() error {
			_, err := PutService(ctx, db, "proj", "web", "nginx", ServiceSpec{State: StateDeployed, Status: RunFault, Image: Image{Name: "nginx"}})
			return err
		}, []string{"service nginx ERROR: RUNNING → FAULT"}},
		{"a service updating", func() error {
			_, err := PutService(ctx, db, "proj", "web", "nginx", ServiceSpec{State: "AUTO-UPDATING", Status: RunRunning, Domains: []string{"a.example.com"}, Image: Image{Name: "nginx", Tag: "2"}})
			return err
		}, []string{`service nginx UPDATE_IN_PROGRESS: FAULT → RUNNING, state DEPLOYED → AUTO-UPDATING, image nginx:latest → nginx:2, domains ["a.example.com"]`}},
		{"a service stopped", func() error {
			_, err := PutService(ctx, db, "proj", "web", "nginx", ServiceSpec{State: StateStopped, Status: RunNotRunning, Domains: []string{"a.example.com"}, Image: Image{Name: "nginx", Tag: "2"}})
			return err
		}, []string{"service nginx UPDATE_COMPLETE: RUNNING → NOT-RUNNING, state AUTO-UPDATING → STOPPED"}},
		{"a service deleted", func() error {
			return DeleteService(ctx, db, "proj", "web", "nginx")
		}, []string{"service nginx DELETION_COMPLETE: deleted"}},
		{"an unknown service deleted", func() error {
			if err := DeleteService(ctx, db, "proj", "web", "nginx"); !isNotFound(err) {
				return fmt.Errorf("got %v, want not found", err)
			}
			return nil
		}, nil},
		{"a refused patch", func() error {
			if err := UpdateStack(ctx, db, "proj", "web", StackPatch{StackID: ptrTo("0b7c3f1e-5a2d-4c8e-9f10-2a3b4c5d6e7f"), Description: ptrTo("x")}); err == nil {
				return errors.New("a foreign stack_id was accepted")
			}
			return nil
		}, nil},
	}
	want := []string{"stack web CREATION_COMPLETE: created in CREATION_COMPLETE"}
	for _, step := range steps {
		if err := step.write(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		want = append(want, step.want...)
		if got := eventsOf(t, db, stack.PK); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("after %s the events are\n%s\nwant\n%s", step.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if got := findTestStack(t, db, "proj", "web"); got.Status != LifecycleDeletionFailed || got.StatusMessage != "" || got.Description != "web tier" {
		t.Errorf("the stack at the end: %+v", got)
	}
}

func TestDeleteStackTakesItsEventsAndServices(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	stack, err := CreateStack(ctx, db, "proj", NewStack{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PutService(ctx, db, "proj", "web", "nginx", ServiceSpec{State: StateDeployed, Status: RunRunning, Image: Image{Name: "nginx"}}); err != nil {
		t.Fatal(err)
	}
	keep, _ := CreateStack(ctx, db, "proj", NewStack{Name: "keep"})
	if err := DeleteStack(ctx, db, "proj", "web", &keep.StackID); err == nil {
		t.Fatal("deleted with another stack's id")
	}
	if err := DeleteStack(ctx, db, "proj", "web", &stack.StackID); err != nil {
		t.Fatal(err)
	}
	if got := eventsOf(t, db, stack.PK); len(got) != 0 {
		t.Errorf("events of the deleted stack remain: %v", got)
	}
	if got := countRows(t, db); got.Stacks != 1 || got.Services != 0 {
		t.Errorf("rows after the delete: %+v", got)
	}
	if got := eventsOf(t, db, keep.PK); len(got) != 1 {
		t.Errorf("the other stack's events: %v", got)
	}
	again, err := CreateStack(ctx, db, "proj", NewStack{Name: "web"})
	if err != nil || again.StackID == stack.StackID || again.PK == stack.PK {
		t.Errorf("re-created: %+v %v (the deleted was %s, pk %d)", again, err, stack.StackID, stack.PK)
	}
	if got := eventsOf(t, db, again.PK); len(got) != 1 {
		t.Errorf("the new stack's events: %v", got)
	}
}

// An import records its events with the manifest's times, each with the time since its resource's previous
// event; a failed import records none.
func TestImportRecordsEventsWithElapsedSeconds(t *testing.T) {
	db := openTestDB(t)
	mustImport(t, db, `
projects:
  - id: proj
    stacks:
      - name: web
        create_time: 2024-01-01T00:00:00Z
        services: [{name: nginx, state: DEPLOYED, status: RUNNING, image: {name: nginx}}]
`)
	mustImport(t, db, `
projects:
  - id: proj
    stacks:
      - name: web
        status: DEPLOYMENT_IN_PROGRESS
        update_time: 2024-01-01T01:00:00Z
`)
	mustImport(t, db, `
projects:
  - id: proj
    stacks:
      - name: web
        status: DEPLOYMENT_FAILED
        status_message: quota exceeded
        update_time: 2024-01-01T01:01:30Z
        services: [{name: nginx, state: DEPLOYED, status: FAULT, image: {name: nginx}}]
`)
	_, err := Import(context.Background(), db, decodeManifest(t, "bad.yaml", `
projects:
  - id: proj
    stacks:
      - {name: web, status: DEPLOYMENT_COMPLETE, update_time: "2024-01-01T02:00:00Z"}
      - {name: bad, create_time: "2024-01-01T02:00:00Z", update_time: "2023-01-01T00:00:00Z"}
`))
	if err == nil {
		t.Fatal("an import with update_time before create_time succeeded")
	}
	stack := findTestStack(t, db, "proj", "web")
	var rows []StackEvent
	db.Where("stack_pk = ?", stack.PK).Order("pk").Find(&rows)
	type row struct {
		at      string
		what    string
		elapsed int64
	}
	want := []row{
		{"2024-01-01T00:00:00Z", "stack web CREATION_COMPLETE: created in CREATION_COMPLETE", 0},
		{"2024-01-01T00:00:00Z", "service nginx CREATION_COMPLETE: created: DEPLOYED, RUNNING, image nginx:latest", 0},
		{"2024-01-01T01:00:00Z", "stack web UPDATE_IN_PROGRESS: CREATION_COMPLETE → DEPLOYMENT_IN_PROGRESS", 3600},
		{"2024-01-01T01:01:30Z", "stack web UPDATE_FAILED: DEPLOYMENT_IN_PROGRESS → DEPLOYMENT_FAILED: quota exceeded", 90},
		{"2024-01-01T01:01:30Z", "service nginx ERROR: RUNNING → FAULT", 3690},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(rows), len(want), rows)
	}
	for i, e := range rows {
		got := row{e.EventTime.UTC().Format(time.RFC3339), fmt.Sprintf("%s %s %s: %s", e.ResourceType, e.ResourceName, e.EventType, e.EventMessage), e.ElapsedSeconds}
		if got != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got, want[i])
		}
	}
	// Importing the same manifest again changes nothing and records nothing.
	mustImport(t, db, `
projects:
  - id: proj
    stacks:
      - name: web
        status: DEPLOYMENT_FAILED
        status_message: quota exceeded
        update_time: 2024-01-01T01:01:30Z
        services: [{name: nginx, state: DEPLOYED, status: FAULT, image: {name: nginx}}]
`)
	if got := eventsOf(t, db, stack.PK); len(got) != len(want) {
		t.Errorf("a repeated import recorded events: %v", got)
	}
}

func TestProductWrites(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	mustImport(t, db, "projects: [{id: proj, stacks: [{name: a}, {name: b}]}, {id: other, stacks: [{name: c}]}]")
	if _, err := ProductProject(ctx, db, ProductSpec{Name: "p"}); err == nil {
		t.Error("ProductProject guessed a project among two")
	}
	if err := SaveProduct(ctx, db, ProductSpec{Name: "p", ProjectID: "proj", Layers: [][]string{{"a"}, {"b"}}}, true); err != nil {
		t.Fatal(err)
	}
	var conflict *ConflictError
	if err := SaveProduct(ctx, db, ProductSpec{Name: "p", ProjectID: "proj", Layers: [][]string{{"a"}}}, true); !errors.As(err, &conflict) {
		t.Errorf("creating p twice: %v", err)
	}
	if err := SaveProduct(ctx, db, ProductSpec{Name: "q", ProjectID: "proj", Layers: [][]string{{"a"}}}, false); !isNotFound(err) {
		t.Errorf("replacing an unknown product: %v", err)
	}
	if project, err := ProductProject(ctx, db, ProductSpec{Name: "p"}); err != nil || project != "proj" {
		t.Errorf("the existing product's project: %q %v", project, err)
	}
	// A stack of another project is not a stack of the product's.
	var fe *FieldError
	if err := SaveProduct(ctx, db, ProductSpec{Name: "p", ProjectID: "proj", Layers: [][]string{{"c"}}}, false); !errors.As(err, &fe) || fe.Field != "stack_deps[0][0]" {
		t.Errorf("a stack of another project: %v", err)
	}
	if err := SaveProduct(ctx, db, ProductSpec{Name: "p", ProjectID: "proj", Layers: [][]string{{"b", "a"}}}, false); err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, db); got.Products != 1 || got.ProductStacks != 2 {
		t.Errorf("rows: %+v", got)
	}
	if err := DeleteStack(ctx, db, "proj", "a", nil); err == nil {
		t.Error("deleted a stack of a product")
	}
	if err := DeleteProduct(ctx, db, "p"); err != nil {
		t.Fatal(err)
	}
	if err := DeleteProduct(ctx, db, "p"); !isNotFound(err) {
		t.Errorf("deleting p again: %v", err)
	}
	if got := countRows(t, db); got.Products != 0 || got.ProductStacks != 0 || got.Stacks != 3 {
		t.Errorf("rows after the delete: %+v", got)
	}
	if err := DeleteStack(ctx, db, "proj", "a", nil); err != nil {
		t.Errorf("deleting a stack of no product: %v", err)
	}
}
