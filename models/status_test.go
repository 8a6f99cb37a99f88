package models

import (
	"strings"
	"testing"
)

func TestStackRunStatus(t *testing.T) {
	tests := []struct {
		name     string
		services []string
		want     string
	}{
		{"no services", nil, RunNotRunning},
		{"empty service list", []string{}, RunNotRunning},
		{"one running", []string{RunRunning}, RunRunning},
		{"all running", []string{RunRunning, RunRunning, RunRunning}, RunRunning},
		{"one fault", []string{RunFault}, RunFault},
		{"fault among running", []string{RunRunning, RunFault, RunRunning}, RunFault},
		{"fault first among running", []string{RunFault, RunRunning}, RunFault},
		{"fault last among running", []string{RunRunning, RunRunning, RunFault}, RunFault},
		{"fault among not running", []string{RunNotRunning, RunFault}, RunFault},
		{"fault among partially running", []string{RunPartiallyRunning, RunFault}, RunFault},
		{"fault among every status", []string{RunRunning, RunNotRunning, RunPartiallyRunning, RunFault}, RunFault},
		{"all fault", []string{RunFault, RunFault}, RunFault},
		{"one not running", []string{RunNotRunning}, RunNotRunning},
		{"all not running", []string{RunNotRunning, RunNotRunning}, RunNotRunning},
		{"running and not running", []string{RunRunning, RunNotRunning}, RunPartiallyRunning},
		{"not running and running", []string{RunNotRunning, RunRunning, RunRunning}, RunPartiallyRunning},
		{"one partially running", []string{RunPartiallyRunning}, RunPartiallyRunning},
		{"partially running among running", []string{RunRunning, RunPartiallyRunning}, RunPartiallyRunning},
		{"partially running among not running", []string{RunNotRunning, RunPartiallyRunning}, RunPartiallyRunning},
		{"all partially running", []string{RunPartiallyRunning, RunPartiallyRunning}, RunPartiallyRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StackRunStatus(tt.services); got != tt.want {
				t.Errorf("StackRunStatus(%q) = %s, want %s", tt.services, got, tt.want)
			}
		})
	}
}

func TestStackIsDeployed(t *testing.T) {
	type deployedCase struct {
		name   string
		states []string
		want   bool
	}
	tests := []deployedCase{
		{"no services", nil, false},
		{"empty service list", []string{}, false},
		{"one deployed", []string{StateDeployed}, true},
		{"all deployed", []string{StateDeployed, StateDeployed, StateDeployed}, true},
	}
	// Every other state, alone or among deployed services, makes the stack not deployed.
	for _, other := range ServiceStates() {
		if other == StateDeployed {
			continue
		}
		tests = append(tests,
			deployedCase{"only " + other, []string{other}, false},
			deployedCase{"deployed and one " + other, []string{StateDeployed, other, StateDeployed}, false},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StackIsDeployed(tt.states); got != tt.want {
				t.Errorf("StackIsDeployed(%q) = %v, want %v", tt.states, got, tt.want)
			}
		})
	}
}

func TestProductIsStable(t *testing.T) {
	tests := []struct {
		name   string
		layers [][]string
		want   bool
	}{
		{"one running stack", [][]string{{RunRunning}}, true},
		{"every stack of every layer running", [][]string{{RunRunning, RunRunning}, {RunRunning}, {RunRunning, RunRunning, RunRunning}}, true},
		{"a faulty stack in the first layer", [][]string{{RunFault, RunRunning}, {RunRunning}}, false},
		{"a stack not running in the last layer", [][]string{{RunRunning}, {RunRunning, RunNotRunning}}, false},
		{"a partially running stack in a middle layer", [][]string{{RunRunning}, {RunPartiallyRunning}, {RunRunning}}, false},
		{"no stack running", [][]string{{RunNotRunning}, {RunNotRunning}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ProductIsStable(tt.layers); got != tt.want {
				t.Errorf("ProductIsStable(%q) = %v, want %v", tt.layers, got, tt.want)
			}
		})
	}
}

func TestIsFailedLifecycle(t *testing.T) {
	failed := map[string]bool{
		LifecycleDeploymentFailed: true,
		LifecycleRollbackFailed:   true,
		LifecycleDeletionFailed:   true,
	}
	if got := len(LifecycleStatuses()); got != 9 {
		t.Fatalf("LifecycleStatuses() has %d statuses, want the 9 of DESIGN.md", got)
	}
	for _, status := range LifecycleStatuses() {
		t.Run(status, func(t *testing.T) {
			if got := IsFailedLifecycle(status); got != failed[status] {
				t.Errorf("IsFailedLifecycle(%s) = %v, want %v", status, got, failed[status])
			}
		})
	}
}

func TestEnumListsMatchDesign(t *testing.T) {
	tests := []struct {
		name string
		got  []string
		want string
	}{
		{"service states", ServiceStates(), "CREATING SCALING AUTO-UPDATING MANUAL-UPDATING STARTING STOPPING STOPPED DEPLOYED"},
		{"run statuses", RunStatuses(), "RUNNING PARTIALLY-RUNNING NOT-RUNNING FAULT"},
		{"lifecycle statuses", LifecycleStatuses(), "CREATION_COMPLETE DEPLOYMENT_IN_PROGRESS DEPLOYMENT_FAILED DEPLOYMENT_COMPLETE " +
			"ROLLBACK_IN_PROGRESS ROLLBACK_FAILED ROLLBACK_COMPLETE DELETION_IN_PROGRESS DELETION_FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(tt.got, " "); got != tt.want {
				t.Errorf("got %s\nwant %s", got, tt.want)
			}
		})
	}
}
