package views

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"stackboard/models"
)

// A stack's kept row is copied while the stack shows the same age in its state, and rendered again once the age
// it shows has moved on, though nothing was written.
func TestAKeptStackRowShowsTheCurrentAge(t *testing.T) {
	changed := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	kept := &models.RenderedRow{}
	render := func(description string, now time.Time) string {
		t.Helper()
		page := StacksListPage{
			List: models.StackList{ProjectID: "fleet", Stacks: []models.StackSummary{{StackName: "web", Description: description,
				Status: models.LifecycleDeploymentComplete, RunStatus: models.RunRunning, StatusChangedAt: changed}}},
			Now:  now,
			Rows: []*models.RenderedRow{kept},
		}
		var out bytes.Buffer
		if err := StackRows(page).Render(context.Background(), &out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for _, step := range []struct {
		description string
		now         time.Time
		want        []string
	}{
		{"first", changed.Add(5 * time.Minute), []string{"first", "data-since>5 min<"}},
		// Same age: the kept row, though the description passed differs (a changed stack gets a new RenderedRow).
		{"second", changed.Add(5*time.Minute + 30*time.Second), []string{"first", "data-since>5 min<"}},
		{"third", changed.Add(3 * time.Hour), []string{"third", "data-since>3 h<"}},
	} {
		got := render(step.description, step.now)
		for _, want := range step.want {
			if !strings.Contains(got, want) {
				t.Errorf("at %s the row is\n%s\nwant it to hold %q", step.now.Sub(changed), got, want)
			}
		}
	}
}
