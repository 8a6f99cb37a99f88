package models

import (
	"slices"
	"strconv"
	"strings"
)

// Severity places a status in the one order every list and badge uses, from the worst to the best: broken
// things first.
type Severity int

// The severities, worst first.
const (
	SeverityFailed Severity = iota
	SeverityBlocked
	SeverityProgress
	SeverityStopped
	SeverityOK
)

// StatusBlocked is the pseudo-status of a stack that waits on a lower layer of a product that is not all RUNNING.
const StatusBlocked = "BLOCKED"

// String names the severity as pages (CSS classes) and JSON show it.
func (s Severity) String() string {
	return [...]string{"failed", "blocked", "progress", "stopped", "ok"}[s]
}

// SeverityOf places any lifecycle status, run status, service state or event type in the severity order.
func SeverityOf(status string) Severity {
	switch {
	case status == RunFault || status == EventError || strings.HasSuffix(status, "_FAILED"):
		return SeverityFailed
	case status == StatusBlocked:
		return SeverityBlocked
	case status == RunNotRunning || status == StateStopped || status == LifecycleCreationComplete,
		status == EventLog || status == EventSummary || status == EventDrift || status == EventDeletionSkipped:
		return SeverityStopped
	case status == RunPartiallyRunning || strings.HasSuffix(status, "_IN_PROGRESS") || strings.HasSuffix(status, "ING") && status != RunRunning:
		return SeverityProgress
	}
	return SeverityOK
}

// StackSeverity is a stack's place in the order: the worse of its lifecycle status and its run status.
func StackSeverity(lifecycle, runStatus string) Severity {
	return min(SeverityOf(lifecycle), SeverityOf(runStatus))
}

// ServiceSeverity is a service's place in the order: the worse of its deployment state and its run status.
func ServiceSeverity(s ServiceStatus) Severity {
	return min(SeverityOf(s.State), SeverityOf(s.Status))
}

// ProductSeverity is a product's place in the order, that of its worst stack; a product with a stack waiting on a
// lower layer ranks as blocked unless one of its stacks has failed.
func ProductSeverity(p ProductStatus) Severity {
	worst := SeverityOK
	blocked := false
	for i, layer := range p.StackDeps {
		for _, s := range layer {
			worst = min(worst, StackSeverity(s.Lifecycle, s.Status))
			if s.Status != RunRunning && i < len(p.StackDeps)-1 {
				blocked = true
			}
		}
	}
	if blocked && worst > SeverityBlocked {
		return SeverityBlocked
	}
	return worst
}

// bySeverity returns statuses in severity order, worst first, keeping their order inside one severity.
func bySeverity(statuses []string) []string {
	return slices.SortedStableFunc(slices.Values(statuses), func(a, b string) int {
		return int(SeverityOf(a)) - int(SeverityOf(b))
	})
}

// RunStatusesBySeverity lists the run statuses from the worst to the best.
func RunStatusesBySeverity() []string {
	return bySeverity(RunStatuses())
}

// LifecycleStatusesBySeverity lists the lifecycle statuses from the worst to the best: failures, work in
// progress, then settled states.
func LifecycleStatusesBySeverity() []string {
	return bySeverity(LifecycleStatuses())
}

// stackSeveritySQL is StackSeverity in SQL over the stacks row alias, made from the same rule so that the
// database sorts as the pages colour.
func stackSeveritySQL(alias string) string {
	var b strings.Builder
	b.WriteString("(CASE")
	for rank := SeverityFailed; rank < SeverityOK; rank++ {
		var conds []string
		if in := statusesOf(LifecycleStatuses(), rank); in != "" {
			conds = append(conds, alias+".status IN ("+in+")")
		}
		if in := statusesOf(RunStatuses(), rank); in != "" {
			conds = append(conds, alias+".run_status IN ("+in+")")
		}
		if len(conds) == 0 {
			continue
		}
		b.WriteString(" WHEN " + strings.Join(conds, " OR ") + " THEN " + strconv.Itoa(int(rank)))
	}
	b.WriteString(" ELSE " + strconv.Itoa(int(SeverityOK)) + " END)")
	return b.String()
}

// statusesOf is the SQL list of those statuses whose severity is rank, or "" when none is.
func statusesOf(statuses []string, rank Severity) string {
	var quoted []string
	for _, s := range statuses {
		if SeverityOf(s) == rank {
			quoted = append(quoted, "'"+s+"'")
		}
	}
	return strings.Join(quoted, ", ")
}

// productSeveritySQL is ProductSeverity in SQL for the products row: its worst stack, or blocked when a stack
// below the top layer is not RUNNING (so the layers above wait) and none has failed.
func productSeveritySQL() string {
	worst := `(SELECT MIN(` + stackSeveritySQL("s") + `) FROM product_stacks ps JOIN stacks s ON s.pk = ps.stack_pk
		WHERE ps.product_pk = products.pk)`
	blocked := `EXISTS (SELECT 1 FROM product_stacks lo JOIN stacks ls ON ls.pk = lo.stack_pk
		WHERE lo.product_pk = products.pk AND ls.run_status <> 'RUNNING'
		AND lo.layer < (SELECT MAX(hi.layer) FROM product_stacks hi WHERE hi.product_pk = products.pk))`
	return `(CASE WHEN ` + worst + ` = ` + strconv.Itoa(int(SeverityFailed)) + ` THEN ` + strconv.Itoa(int(SeverityFailed)) +
		` WHEN ` + blocked + ` THEN ` + strconv.Itoa(int(SeverityBlocked)) +
		` ELSE COALESCE(` + worst + `, ` + strconv.Itoa(int(SeverityOK)) + `) END)`
}

// countsBySeverity lists the statuses that have a count, worst first, as the summary cards show them.
func countsBySeverity(counts map[string]int, bySeverity []string) []StatusCount {
	var out []StatusCount
	for _, status := range bySeverity {
		if counts[status] > 0 {
			out = append(out, StatusCount{status, counts[status]})
		}
	}
	return out
}
