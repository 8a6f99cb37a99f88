// Package views holds the templ components of every page and partial; they render view-models and never touch
// the database.
package views

import (
	"stackboard/models"
)

// severity names the severity class of any lifecycle status, run status, service state or event type; the order
// itself is the models' one.
func severity(status string) string {
	return models.SeverityOf(status).String()
}

// statusIcon is the symbol that goes with a severity, so that status is never shown by colour alone.
func statusIcon(status string) string {
	return severityIcon(models.SeverityOf(status))
}

// severityIcon is the symbol of a severity.
func severityIcon(s models.Severity) string {
	switch s {
	case models.SeverityFailed:
		return "✕"
	case models.SeverityBlocked:
		return "‖"
	case models.SeverityProgress:
		return "◐"
	case models.SeverityStopped:
		return "○"
	}
	return "✓"
}

func badgeClass(status string) string {
	return "badge sev-" + severity(status)
}
