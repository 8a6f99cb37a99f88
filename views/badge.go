package views

import (
	"fmt"
	"html"
	"strings"

	"stackboard/models"
)

// Badge colours, those of shields.io.
const (
	badgeGreen  = "#4c1"
	badgeYellow = "#dfb317"
	badgeRed    = "#e05d44"
	badgeGrey   = "#9f9f9f"
	badgeBlue   = "#007ec6"
	badgeLabel  = "#555"
)

// StackBadgeStatus is what a stack's badge says and in which colour: a failed or running lifecycle operation
// when there is one (it matters more than the containers), else the run status.
func StackBadgeStatus(lifecycle, run string) (text, colour string) {
	switch {
	case models.IsFailedLifecycle(lifecycle):
		return lifecycle, badgeRed
	case strings.HasSuffix(lifecycle, "_IN_PROGRESS"):
		return lifecycle, badgeBlue
	}
	switch run {
	case models.RunRunning:
		return run, badgeGreen
	case models.RunPartiallyRunning:
		return run, badgeYellow
	case models.RunFault:
		return run, badgeRed
	}
	return run, badgeGrey
}

// ProductBadgeStatus is what a product's badge says and in which colour.
func ProductBadgeStatus(stable bool) (text, colour string) {
	if stable {
		return "stable", badgeGreen
	}
	return "unstable", badgeRed
}

// textWidth estimates the width of text in 11 px Verdana, as shields does without measuring fonts.
func textWidth(text string) int {
	width := 0
	for _, r := range text {
		switch {
		case strings.ContainsRune("ijlt.,:;!|' ", r):
			width += 4
		case strings.ContainsRune("mwMW", r):
			width += 10
		case r >= 'A' && r <= 'Z', r == '_', r == '-':
			width += 8
		default:
			width += 7
		}
	}
	return width
}

// BadgeSVG draws a shields-style badge: the label on grey, the message on its colour, with a title for screen
// readers.
func BadgeSVG(label, message, colour string) []byte {
	lw, mw := textWidth(label)+10, textWidth(message)+10
	l, m := html.EscapeString(label), html.EscapeString(message)
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" width="%[1]d" height="20" role="img" aria-label="%[4]s: %[5]s">`+
		`<title>%[4]s: %[5]s</title>`+
		`<linearGradient id="s" x2="0" y2="100%%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`+
		`<clipPath id="r"><rect width="%[1]d" height="20" rx="3" fill="#fff"/></clipPath>`+
		`<g clip-path="url(#r)"><rect width="%[2]d" height="20" fill="%[7]s"/><rect x="%[2]d" width="%[3]d" height="20" fill="%[6]s"/><rect width="%[1]d" height="20" fill="url(#s)"/></g>`+
		`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">`+
		`<text x="%[8]d" y="14">%[4]s</text><text x="%[9]d" y="14">%[5]s</text></g></svg>`,
		lw+mw, lw, mw, l, m, colour, badgeLabel, lw/2, lw+mw/2)
}

// BadgeMarkdown is the Markdown that embeds a badge linking to its page.
func BadgeMarkdown(alt, badgeURL, pageURL string) string {
	return "[![" + alt + "](" + badgeURL + ")](" + pageURL + ")"
}
