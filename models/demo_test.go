package models

import (
	"bytes"
	"context"
	"testing"
)

// TestDemoDataCoversTheDomain pins what issue 2 asks of the demo data set.
func TestDemoDataCoversTheDomain(t *testing.T) {
	db := openTestDB(t)
	loadDemo(t, db)
	counts := countRows(t, db)
	if counts.Projects < 3 || counts.Products < 8 || counts.Stacks < 30 {
		t.Errorf("the demo has %d projects, %d products, %d stacks; want at least 3, 8 and 30", counts.Projects, counts.Products, counts.Stacks)
	}

	seen := make(map[string]bool)
	var stacks []Stack
	if err := db.Find(&stacks).Error; err != nil {
		t.Fatal(err)
	}
	for _, s := range stacks {
		seen["lifecycle "+s.Status] = true
		if IsFailedLifecycle(s.Status) && s.StatusMessage == "" {
			t.Errorf("failed stack %s/%s has no status message", s.ProjectID, s.Name)
		}
	}
	var services []Service
	if err := db.Find(&services).Error; err != nil {
		t.Fatal(err)
	}
	for _, s := range services {
		seen["state "+s.State] = true
		seen["service status "+s.Status] = true
	}
	products, err := ListProducts(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	productsOfStack := make(map[string]map[string]bool)
	unstableWithFailedFirstLayer := false
	for _, p := range products {
		for i, layer := range p.StackDeps {
			for _, s := range layer {
				seen["stack status "+s.Status] = true
				key := p.ProjectID + "/" + s.StackName
				if productsOfStack[key] == nil {
					productsOfStack[key] = make(map[string]bool)
				}
				productsOfStack[key][p.ProductName] = true
				if i == 0 && !p.IsStable && IsFailedLifecycle(s.Lifecycle) {
					unstableWithFailedFirstLayer = true
				}
			}
		}
	}
	var want []string
	for _, s := range LifecycleStatuses() {
		want = append(want, "lifecycle "+s)
	}
	for _, s := range ServiceStates() {
		want = append(want, "state "+s)
	}
	for _, s := range RunStatuses() {
		want = append(want, "service status "+s, "stack status "+s)
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("no %s in the demo", w)
		}
	}
	if !unstableWithFailedFirstLayer {
		t.Error("the demo has no unstable product whose first layer has a failed stack")
	}
	shared := 0
	for _, names := range productsOfStack {
		shared = max(shared, len(names))
	}
	if shared < 3 {
		t.Errorf("the most shared stack is in %d products, want a stack in several (at least 3)", shared)
	}
}

// TestDemoIsDeterministic pins that the demo data set gives every stack its id and times, so that two demo
// databases are identical whenever they are loaded.
func TestDemoIsDeterministic(t *testing.T) {
	db := openTestDB(t)
	loadDemo(t, db)
	exported := exportYAML(t, db)
	history, err := DecodeManifest("demo-history.yaml", bytes.NewReader(demoHistory))
	if err != nil {
		t.Fatal(err)
	}
	file, err := DecodeManifest("demo.yaml", bytes.NewReader(demoManifest))
	if err != nil {
		t.Fatal(err)
	}
	again := openTestDB(t)
	if _, err := Import(context.Background(), again, history, file); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(exported, exportYAML(t, again)) {
		t.Error("two databases loaded with demo-history.yaml and demo.yaml export differently")
	}
}

// The demo's failing and in-progress stacks have a history, so their events say how long the previous state
// lasted (issue 12: "time in previous state" was empty in every demo row).
func TestDemoEventsShowTimeInPreviousState(t *testing.T) {
	db := openTestDB(t)
	loadDemo(t, db)
	page, err := ListEvents(context.Background(), db, "search-staging", "elasticsearch", EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]int64)
	for _, e := range page.StackEvents {
		if e.ElapsedSeconds > 0 {
			got[e.ResourceType+" "+e.ResourceName+" "+e.EventType] = e.ElapsedSeconds
		}
	}
	// demo-history.yaml has the stack DEPLOYMENT_IN_PROGRESS 22 min 36 s before demo.yaml's DEPLOYMENT_FAILED.
	const was = 22*60 + 36
	if got["stack elasticsearch "+EventUpdateFailed] != was {
		t.Errorf("the elasticsearch events with a time in the previous state are %v; want the stack's %s after %d s", got, EventUpdateFailed, was)
	}
	var withElapsed int64
	if err := db.Model(&StackEvent{}).Where("elapsed_seconds > 0").Count(&withElapsed).Error; err != nil {
		t.Fatal(err)
	}
	if withElapsed < 8 {
		t.Errorf("%d demo events have a time in the previous state, want one at least for each of the 8 troubled stacks", withElapsed)
	}
}
