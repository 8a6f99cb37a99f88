package models

import "strings"

// Service deployment states.
const (
	StateCreating       = "CREATING"
	StateScaling        = "SCALING"
	StateAutoUpdating   = "AUTO-UPDATING"
	StateManualUpdating = "MANUAL-UPDATING"
	StateStarting       = "STARTING"
	StateStopping       = "STOPPING"
	StateStopped        = "STOPPED"
	StateDeployed       = "DEPLOYED"
)

// Run statuses of services and, rolled up, of stacks.
const (
	RunRunning          = "RUNNING"
	RunPartiallyRunning = "PARTIALLY-RUNNING"
	RunNotRunning       = "NOT-RUNNING"
	RunFault            = "FAULT"
)

// Stack lifecycle statuses.
const (
	LifecycleCreationComplete     = "CREATION_COMPLETE"
	LifecycleDeploymentInProgress = "DEPLOYMENT_IN_PROGRESS"
	LifecycleDeploymentFailed     = "DEPLOYMENT_FAILED"
	LifecycleDeploymentComplete   = "DEPLOYMENT_COMPLETE"
	LifecycleRollbackInProgress   = "ROLLBACK_IN_PROGRESS"
	LifecycleRollbackFailed       = "ROLLBACK_FAILED"
	LifecycleRollbackComplete     = "ROLLBACK_COMPLETE"
	LifecycleDeletionInProgress   = "DELETION_IN_PROGRESS"
	LifecycleDeletionFailed       = "DELETION_FAILED"
)

// ServiceStates lists every service deployment state.
func ServiceStates() []string {
	return []string{StateCreating, StateScaling, StateAutoUpdating, StateManualUpdating, StateStarting,
		StateStopping, StateStopped, StateDeployed}
}

// RunStatuses lists every run status.
func RunStatuses() []string {
	return []string{RunRunning, RunPartiallyRunning, RunNotRunning, RunFault}
}

// LifecycleStatuses lists every stack lifecycle status.
func LifecycleStatuses() []string {
	return []string{LifecycleCreationComplete, LifecycleDeploymentInProgress, LifecycleDeploymentFailed,
		LifecycleDeploymentComplete, LifecycleRollbackInProgress, LifecycleRollbackFailed,
		LifecycleRollbackComplete, LifecycleDeletionInProgress, LifecycleDeletionFailed}
}

// IsFailedLifecycle reports whether a lifecycle status is one of the *_FAILED ones, which carry a status message.
func IsFailedLifecycle(status string) bool {
	return strings.HasSuffix(status, "_FAILED")
}

// StackRunStatus rolls the run statuses of a stack's services up into the stack's run status.
func StackRunStatus(serviceStatuses []string) string {
	if len(serviceStatuses) == 0 {
		return RunNotRunning
	}
	running, notRunning := 0, 0
	for _, status := range serviceStatuses {
		switch status {
		case RunFault:
			return RunFault
		case RunRunning:
			running++
		case RunNotRunning:
			notRunning++
		}
	}
	switch len(serviceStatuses) {
	case running:
		return RunRunning
	case notRunning:
		return RunNotRunning
	}
	return RunPartiallyRunning
}

// StackIsDeployed reports whether a stack counts as deployed: it has services and every one is DEPLOYED.
func StackIsDeployed(serviceStates []string) bool {
	if len(serviceStates) == 0 {
		return false
	}
	for _, state := range serviceStates {
		if state != StateDeployed {
			return false
		}
	}
	return true
}

// ProductIsStable reports whether a product is stable: every stack in every layer is RUNNING.
func ProductIsStable(stackRunStatuses [][]string) bool {
	for _, layer := range stackRunStatuses {
		for _, status := range layer {
			if status != RunRunning {
				return false
			}
		}
	}
	return true
}
