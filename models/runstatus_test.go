package models

import (
	"context"
	"testing"
)

// Every way services change keeps the stack's stored run status equal to the roll-up of its services: lists,
// counts and filters read the stored one.
func TestKeptRunStatusFollowsEveryServiceWrite(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	check := func(step, wantStatus string) {
		t.Helper()
		var rows []struct {
			Name, RunStatus, RolledUp string
		}
		err := db.Raw(`SELECT name, run_status, (SELECT ` + runStatusSQL + ` FROM services sv WHERE sv.stack_pk = stacks.pk) AS rolled_up FROM stacks`).Scan(&rows).Error
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			if row.RunStatus != row.RolledUp {
				t.Errorf("after %s: %s keeps %s but its services roll up to %s", step, row.Name, row.RunStatus, row.RolledUp)
			}
			if row.Name == "api" && row.RunStatus != wantStatus {
				t.Errorf("after %s: api is %s, want %s", step, row.RunStatus, wantStatus)
			}
		}
	}
	image := Image{Name: "example/api", Tag: "v1"}
	if _, err := CreateStack(ctx, db, "shop", NewStack{Name: "api"}); err != nil {
		t.Fatal(err)
	}
	check("creating a stack", "NOT-RUNNING")
	for _, step := range []struct {
		name, service, status, want string
	}{
		{"a first RUNNING service", "web", "RUNNING", "RUNNING"},
		{"a second, FAULT service", "worker", "FAULT", "FAULT"},
		{"the fault mended", "worker", "RUNNING", "RUNNING"},
		{"one service stopping", "web", "NOT-RUNNING", "PARTIALLY-RUNNING"},
	} {
		if _, err := PutService(ctx, db, "shop", "api", step.service, ServiceSpec{State: "DEPLOYED", Status: step.status, Image: image}); err != nil {
			t.Fatal(err)
		}
		check(step.name, step.want)
	}
	if err := DeleteService(ctx, db, "shop", "api", "worker"); err != nil {
		t.Fatal(err)
	}
	check("deleting the running service", "NOT-RUNNING")
	mustImport(t, db, `projects:
  - id: shop
    stacks:
      - name: api
        services:
          - {name: web, state: DEPLOYED, status: RUNNING, image: {name: example/api, tag: v2}}
      - name: db
        services:
          - {name: postgres, state: DEPLOYED, status: FAULT, image: {name: postgres, tag: "16"}}
      - {name: empty}
`)
	check("an import", "RUNNING")
	mustImport(t, db, "projects:\n  - id: shop\n    stacks:\n      - {name: api, services: []}\n")
	check("an import that empties a stack", "NOT-RUNNING")
}
