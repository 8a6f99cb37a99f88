package views

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"stackboard/models"
)

// durationText says how long a duration is, rounded for people: "40 s", "14 min", "3 h", "5 d".
func durationText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(max(0, int(d.Seconds()))) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " d"
}

// since says how long ago t was, relative to now.
func since(t, now time.Time) string {
	return durationText(now.Sub(t))
}

// shareClass is the class that gives a bar segment its width, part of whole in whole percents: the page's
// Content-Security-Policy refuses style attributes, so app.css has one class per percent.
func shareClass(part, whole int) string {
	if whole <= 0 || part <= 0 {
		return "share-0"
	}
	return "share-" + strconv.Itoa(min(100, (part*100+whole/2)/whole))
}

// plural returns "1 stack" or "3 stacks".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// barLabel says what a status bar shows, for screen readers: "3 FAULT, 20 RUNNING run status".
func barLabel(counts []models.StatusCount, what string) string {
	parts := make([]string, len(counts))
	for i, c := range counts {
		parts[i] = strconv.Itoa(c.Count) + " " + c.Status
	}
	if len(parts) == 0 {
		return "no stacks"
	}
	return "stacks by " + what + ": " + strings.Join(parts, ", ")
}

// prettyJSON indents JSON for reading; what cannot be indented is shown as it is.
func prettyJSON(raw []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

// statusMessageSuffix is ": message", or nothing without a message.
func statusMessageSuffix(message string) string {
	if message == "" {
		return ""
	}
	return ": " + message
}

// fleetTotal is how many stacks the projects of the header's menu hold.
func fleetTotal(fleet models.Fleet) int {
	n := 0
	for _, p := range fleet.Projects {
		n += p.Stacks
	}
	return n
}
