// Package views holds the templ components of every page and partial; they render view-models and never touch
// the database.
package views

import (
	"strings"

	"stackboard/models"
)

// Severity classes, from worst to best; one order for every status shown anywhere.
const (
	sevFailed   = "failed"
	sevBlocked  = "blocked"
	sevProgress = "progress"
	sevStopped  = "stopped"
	sevOK       = "ok"
)

// severity places any lifecycle status, run status or service state in the severity order.
func severity(status string) string {
	switch {
	case status == models.RunFault || status == models.EventError || strings.HasSuffix(status, "_FAILED"):
		return sevFailed
	case status == "BLOCKED":
		return sevBlocked
	case status == models.RunNotRunning || status == models.StateStopped || status == models.LifecycleCreationComplete,
		status == models.EventLog || status == models.EventSummary || status == models.EventDrift || status == models.EventDeletionSkipped:
		return sevStopped
	case status == models.RunPartiallyRunning || strings.HasSuffix(status, "_IN_PROGRESS") || strings.HasSuffix(status, "ING") && status != models.RunRunning:
		return sevProgress
	default:
		return sevOK
	}
}

// statusIcon is the symbol that goes with a severity, so that status is never shown by colour alone.
func statusIcon(status string) string {
	switch severity(status) {
	case sevFailed:
		return "✕"
	case sevBlocked:
		return "‖"
	case sevProgress:
		return "◐"
	case sevStopped:
		return "○"
	default:
		return "✓"
	}
}

func badgeClass(status string) string {
	return "badge sev-" + severity(status)
}
