package models

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SortKey names what a list can be sorted by.
type SortKey string

// The sort keys of the lists; each list says which of them it takes.
const (
	// SortSeverity is broken first (then, for stacks, the longest in its state first).
	SortSeverity SortKey = "severity"
	SortName     SortKey = "name"
	// SortCreated is the oldest first.
	SortCreated SortKey = "created"
	// SortUpdated is the least recently updated first.
	SortUpdated SortKey = "updated"
	// SortInState is the shortest time in the current state first.
	SortInState SortKey = "in_state"
)

// The sort keys each list takes.
var (
	ProductSortKeys = []SortKey{SortSeverity, SortName, SortCreated, SortUpdated, SortInState}
	StackSortKeys   = []SortKey{SortSeverity, SortName, SortCreated, SortUpdated, SortInState}
	ServiceSortKeys = []SortKey{SortSeverity, SortName}
)

// Sort is the order a list is asked for: a key, reversed when Desc. The zero Sort is the list's documented
// order (the one its JSON has without parameters).
type Sort struct {
	Key  SortKey
	Desc bool
}

// BrokenFirst is the order pages open in.
var BrokenFirst = Sort{Key: SortSeverity}

// IsZero reports whether the sort is the documented order.
func (s Sort) IsZero() bool {
	return s.Key == ""
}

// String is the sort as the sort parameter spells it: "name", "-created"; "" for the documented order.
func (s Sort) String() string {
	if s.Desc {
		return "-" + string(s.Key)
	}
	return string(s.Key)
}

// Toggled is the order a column header asks for: this key reversed when the list is already sorted by it,
// else the key ascending.
func (s Sort) Toggled(key SortKey) Sort {
	if s.Key == key {
		return Sort{Key: key, Desc: !s.Desc}
	}
	return Sort{Key: key}
}

// ParseSort reads the sort parameter ("name", "-severity"): empty is the zero Sort; a key the list does not take
// is refused, naming those it takes.
func ParseSort(value string, keys []SortKey) (Sort, error) {
	if value == "" {
		return Sort{}, nil
	}
	key, desc := strings.CutPrefix(value, "-")
	if slices.Contains(keys, SortKey(key)) {
		return Sort{Key: SortKey(key), Desc: desc}, nil
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = string(k)
	}
	return Sort{}, &FieldError{"sort", ReasonInvalid, fmt.Sprintf("%q is not one of %s (prefixed with - for descending)",
		clip(value), strings.Join(names, ", "))}
}

// orderTerm is one expression of an ORDER BY and its direction.
type orderTerm struct {
	expr string
	desc bool
}

// orderSQL is the ORDER BY of terms, every direction reversed when desc.
func orderSQL(terms []orderTerm, desc bool) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		dir := " ASC"
		if t.desc != desc {
			dir = " DESC"
		}
		parts[i] = t.expr + dir
	}
	return strings.Join(parts, ", ")
}

// stackOrder is the ORDER BY of a sorted list of stacks (the table stacks, or the alias given).
func stackOrder(s Sort, alias string) string {
	col := func(c string) string { return alias + "." + c }
	var terms []orderTerm
	switch s.Key {
	case SortSeverity:
		terms = []orderTerm{{stackSeveritySQL(alias), false}, {col("status_changed_at"), false}}
	case SortName:
		terms = []orderTerm{{col("name"), false}, {col("project_id"), false}}
	case SortCreated:
		terms = []orderTerm{{col("create_time"), false}}
	case SortUpdated:
		terms = []orderTerm{{col("update_time"), false}}
	case SortInState:
		terms = []orderTerm{{col("status_changed_at"), true}}
	}
	return orderSQL(append(terms, orderTerm{col("pk"), false}), s.Desc)
}

// brokenFirstKey is a stack's place in stackOrder(BrokenFirst): its severity, then the time it entered its state
// (in Unix nanoseconds), then its pk, for lists sorted in memory as the database sorts them.
type brokenFirstKey struct {
	severity  Severity
	changedAt int64
	pk        int64
}

// compare orders two stacks as stackOrder(BrokenFirst) does.
func (k brokenFirstKey) compare(other brokenFirstKey) int {
	switch {
	case k.severity != other.severity:
		return cmp.Compare(k.severity, other.severity)
	case k.changedAt != other.changedAt:
		return cmp.Compare(k.changedAt, other.changedAt)
	}
	return cmp.Compare(k.pk, other.pk)
}

// productOrder is the ORDER BY of a sorted list of products; products' updated and in-state times are those of
// their most recently changed stack.
func productOrder(s Sort) string {
	latest := func(column string) string {
		return `(SELECT MAX(s.` + column + `) FROM product_stacks ps JOIN stacks s ON s.pk = ps.stack_pk WHERE ps.product_pk = products.pk)`
	}
	var terms []orderTerm
	switch s.Key {
	case SortSeverity:
		terms = []orderTerm{{productSeveritySQL(), false}}
	case SortName:
		terms = []orderTerm{{"products.name", false}}
	case SortUpdated:
		terms = []orderTerm{{latest("update_time"), false}}
	case SortInState:
		terms = []orderTerm{{latest("status_changed_at"), true}}
	}
	return orderSQL(append(terms, orderTerm{"products.pk", false}), s.Desc)
}

// SortServices orders a stack's services for a sort (the zero Sort keeps the declared order), in place.
func SortServices(services []ServiceStatus, s Sort) {
	var cmp func(a, b ServiceStatus) int
	switch s.Key {
	case SortSeverity:
		cmp = func(a, b ServiceStatus) int { return int(ServiceSeverity(a)) - int(ServiceSeverity(b)) }
	case SortName:
		cmp = func(a, b ServiceStatus) int { return strings.Compare(a.ServiceName, b.ServiceName) }
	default:
		return
	}
	slices.SortStableFunc(services, func(a, b ServiceStatus) int {
		if s.Desc {
			return cmp(b, a)
		}
		return cmp(a, b)
	})
}

// positionPrefix starts the next marker of a sorted list: the position of the next row. (The documented orders
// page by key, which stays right while rows come and go; a sorted list's rows move, so it pages by position.)
const positionPrefix = "p"

// positionMarker is the next marker of a sorted list whose next row is at offset.
func positionMarker(offset int) string {
	return positionPrefix + strconv.Itoa(offset)
}

// parsePosition reads a sorted list's next marker.
func parsePosition(value string) (int, error) {
	digits, ok := strings.CutPrefix(value, positionPrefix)
	offset, err := strconv.Atoi(digits)
	if !ok || err != nil || offset < 0 || strconv.Itoa(offset) != digits {
		return 0, &FieldError{"marker", ReasonInvalid, fmt.Sprintf("%q is not a marker from next_marker of this sort", clip(value))}
	}
	return offset, nil
}
