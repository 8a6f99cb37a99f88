package models

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// A database of the release before migration 6 keeps its stacks through the upgrade, with both RFS settings off.
func TestMigration6AddsTheRFSSettingsOff(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := gorm.Open(sqlite.Open(path+"?"+sqliteParams), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(ctx, old, 5); err != nil {
		t.Fatal(err)
	}
	if got := schemaVersions(t, old); len(got) != 5 {
		t.Fatalf("the old database is at versions %v, want 1 to 5", got)
	}
	for _, statement := range []string{
		`INSERT INTO projects (id, created_at) VALUES ('proj', '2024-01-01 00:00:00')`,
		`INSERT INTO stacks (project_id, name, stack_id, status, create_time, update_time, status_changed_at)
			VALUES ('proj', 'web', '4d4f4ece-b291-4c71-8083-bec9b8a44de0', 'DEPLOYMENT_COMPLETE',
			'2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00')`,
	} {
		if err := old.Exec(statement).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := Close(old); err != nil {
		t.Fatal(err)
	}

	db := openTestDBAt(t, path)
	if got := schemaVersions(t, db); len(got) != SchemaVersion() || SchemaVersion() < 6 {
		t.Fatalf("after the upgrade: versions %v, want 1 to %d (at least 6)", got, SchemaVersion())
	}
	stack := findTestStack(t, db, "proj", "web")
	if stack.StackID != "4d4f4ece-b291-4c71-8083-bec9b8a44de0" || stack.Status != LifecycleDeploymentComplete ||
		stack.EnableDeletionProtection || stack.EnableAutoRollback {
		t.Errorf("the old stack after the upgrade: %+v", stack)
	}
	if err := DeleteStack(ctx, db, "proj", "web", nil); err != nil {
		t.Errorf("an upgraded stack is not deletable: %v", err)
	}
}

// CreateStack and UpdateStack keep both settings; each change of one is an event, and GetStackMetadata shows them.
func TestStackSettingsAreKept(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	stack, err := CreateStack(ctx, db, "proj", NewStack{Name: "web", EnableDeletionProtection: true, EnableAutoRollback: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := findTestStack(t, db, "proj", "web"); !got.EnableDeletionProtection || !got.EnableAutoRollback {
		t.Fatalf("created: %+v", got)
	}
	steps := []struct {
		name                   string
		patch                  StackPatch
		protection, autoRevert bool
		event                  string
	}{
		{"protection off", StackPatch{EnableDeletionProtection: ptrTo(false)}, false, true, "stack web LOG: deletion protection disabled"},
		{"the same again", StackPatch{EnableDeletionProtection: ptrTo(false)}, false, true, ""},
		{"auto-rollback off", StackPatch{EnableAutoRollback: ptrTo(false)}, false, false, "stack web LOG: auto-rollback disabled"},
		{"protection on", StackPatch{StackID: &stack.StackID, EnableDeletionProtection: ptrTo(true)}, true, false, "stack web LOG: deletion protection enabled"},
		{"another patch keeps them", StackPatch{Description: ptrTo("web tier")}, true, false, "stack web LOG: description changed"},
	}
	for _, step := range steps {
		before := len(eventsOf(t, db, stack.PK))
		if err := UpdateStack(ctx, db, "proj", "web", step.patch); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		metadata, err := GetStackMetadata(ctx, db, "proj", "web", nil)
		if err != nil {
			t.Fatal(err)
		}
		if metadata.EnableDeletionProtection != step.protection || metadata.EnableAutoRollback != step.autoRevert {
			t.Errorf("%s: metadata shows protection %t, auto-rollback %t; want %t, %t", step.name,
				metadata.EnableDeletionProtection, metadata.EnableAutoRollback, step.protection, step.autoRevert)
		}
		events := eventsOf(t, db, stack.PK)
		switch {
		case step.event == "" && len(events) != before:
			t.Errorf("%s: recorded %v, want no event", step.name, events[before:])
		case step.event != "" && (len(events) != before+1 || events[before] != step.event):
			t.Errorf("%s: recorded %v, want %q", step.name, events[before:], step.event)
		}
	}
}

// Deletion protection refuses DeleteStack with a ForbiddenError until it is turned off, and changes nothing.
func TestDeletionProtectionRefusesDelete(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	stack, err := CreateStack(ctx, db, "proj", NewStack{Name: "web", EnableDeletionProtection: true})
	if err != nil {
		t.Fatal(err)
	}
	var forbidden *ForbiddenError
	err = DeleteStack(ctx, db, "proj", "web", &stack.StackID)
	if !errors.As(err, &forbidden) || forbidden.Reason != `stack "web" has deletion protection enabled; update it with enable_deletion_protection false first` {
		t.Fatalf("DeleteStack of a protected stack: %v", err)
	}
	if got := findTestStack(t, db, "proj", "web"); got.StackID != stack.StackID {
		t.Fatalf("the protected stack changed: %+v", got)
	}
	if err := UpdateStack(ctx, db, "proj", "web", StackPatch{EnableDeletionProtection: ptrTo(false)}); err != nil {
		t.Fatal(err)
	}
	if err := DeleteStack(ctx, db, "proj", "web", &stack.StackID); err != nil {
		t.Errorf("DeleteStack after turning protection off: %v", err)
	}
}

// GetStackMetadata and ListEvents check a given stack_id with the same rule as UpdateStack and DeleteStack.
func TestReadsCheckTheGivenStackID(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	web, err := CreateStack(ctx, db, "proj", NewStack{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	api, err := CreateStack(ctx, db, "proj", NewStack{Name: "api"})
	if err != nil {
		t.Fatal(err)
	}
	reads := map[string]func(stackID *string) error{
		"GetStackMetadata": func(id *string) error { _, err := GetStackMetadata(ctx, db, "proj", "web", id); return err },
		"ListEvents": func(id *string) error {
			_, err := ListEvents(ctx, db, "proj", "web", EventQuery{StackID: id})
			return err
		},
	}
	tests := []struct {
		name    string
		stackID *string
		reason  Reason
		problem string
	}{
		{"none given", nil, ReasonInvalid, ""},
		{"its own", &web.StackID, ReasonInvalid, ""},
		{"another stack's", &api.StackID, ReasonInvalid, `"` + api.StackID + `" is not the id of stack "web"`},
		{"not a UUID", ptrTo("abc"), ReasonInvalid, `"abc" is not a UUID of 36 characters`},
		{"empty", ptrTo(""), ReasonMissing, "is required"},
	}
	for read, call := range reads {
		for _, tt := range tests {
			t.Run(read+"/"+tt.name, func(t *testing.T) {
				err := call(tt.stackID)
				var fe *FieldError
				switch {
				case tt.problem == "" && err != nil:
					t.Errorf("error %v, want none", err)
				case tt.problem != "" && (!errors.As(err, &fe) || fe.Field != "stack_id" || fe.Reason != tt.reason || fe.Problem != tt.problem):
					t.Errorf("error %#v, want stack_id (reason %d): %s", err, tt.reason, tt.problem)
				}
			})
		}
	}
}

// A manifest sets the settings; the export writes them only when on, and importing it again changes nothing.
func TestManifestCarriesTheStackSettings(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	mustImport(t, db, `
projects:
  - id: shop
    stacks:
      - name: web
        id: 4d4f4ece-b291-4c71-8083-bec9b8a44de0
        create_time: 2023-05-17T07:34:22Z
        enable_deletion_protection: true
        enable_auto_rollback: true
      - name: db
        id: e830c288-ee34-48c0-ba6b-a0e6f6b48d3e
        create_time: 2023-05-17T07:34:22Z
        enable_deletion_protection: false
`)
	if web := findTestStack(t, db, "shop", "web"); !web.EnableDeletionProtection || !web.EnableAutoRollback {
		t.Errorf("web: %+v", web)
	}
	want := `projects:
  - id: shop
    stacks:
      - name: web
        id: 4d4f4ece-b291-4c71-8083-bec9b8a44de0
        description: ""
        status: CREATION_COMPLETE
        create_time: "2023-05-17T07:34:22Z"
        update_time: "2023-05-17T07:34:22Z"
        enable_deletion_protection: true
        enable_auto_rollback: true
        metadata: null
        services: []
      - name: db
        id: e830c288-ee34-48c0-ba6b-a0e6f6b48d3e
        description: ""
        status: CREATION_COMPLETE
        create_time: "2023-05-17T07:34:22Z"
        update_time: "2023-05-17T07:34:22Z"
        metadata: null
        services: []
products: []
`
	exported := exportYAML(t, db)
	if string(exported) != want {
		t.Errorf("export:\n%s\nwant:\n%s", exported, want)
	}
	if report := mustImport(t, db, string(exported)); report.Changed() {
		t.Errorf("importing the export again: %+v, want no change", report)
	}
	// Leaving a setting out keeps it; giving it changes it.
	mustImport(t, db, `projects: [{id: shop, stacks: [{name: web, description: kept}]}]`)
	if web := findTestStack(t, db, "shop", "web"); !web.EnableDeletionProtection || !web.EnableAutoRollback {
		t.Errorf("a manifest without the settings changed them: %+v", web)
	}
	mustImport(t, db, `projects: [{id: shop, stacks: [{name: web, enable_deletion_protection: false}]}]`)
	if err := DeleteStack(ctx, db, "shop", "web", nil); err != nil {
		t.Errorf("DeleteStack after the manifest turned protection off: %v", err)
	}
}
