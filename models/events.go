package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Event types, as the RFS ListStackEvents API names them.
const (
	EventLog                = "LOG"
	EventError              = "ERROR"
	EventDrift              = "DRIFT"
	EventSummary            = "SUMMARY"
	EventCreationInProgress = "CREATION_IN_PROGRESS"
	EventCreationFailed     = "CREATION_FAILED"
	EventCreationComplete   = "CREATION_COMPLETE"
	EventDeletionInProgress = "DELETION_IN_PROGRESS"
	EventDeletionFailed     = "DELETION_FAILED"
	EventDeletionComplete   = "DELETION_COMPLETE"
	EventDeletionSkipped    = "DELETION_SKIPPED"
	EventUpdateInProgress   = "UPDATE_IN_PROGRESS"
	EventUpdateFailed       = "UPDATE_FAILED"
	EventUpdateComplete     = "UPDATE_COMPLETE"
)

// EventTypes lists every event type.
func EventTypes() []string {
	return []string{EventLog, EventError, EventDrift, EventSummary, EventCreationInProgress, EventCreationFailed,
		EventCreationComplete, EventDeletionInProgress, EventDeletionFailed, EventDeletionComplete, EventDeletionSkipped,
		EventUpdateInProgress, EventUpdateFailed, EventUpdateComplete}
}

// Resource types of events.
const (
	ResourceStack   = "stack"
	ResourceService = "service"
)

// LifecycleEventType is the event type that a stack's move into a lifecycle status records.
func LifecycleEventType(status string) string {
	switch status {
	case LifecycleCreationComplete:
		return EventCreationComplete
	case LifecycleDeploymentInProgress, LifecycleRollbackInProgress:
		return EventUpdateInProgress
	case LifecycleDeploymentFailed, LifecycleRollbackFailed:
		return EventUpdateFailed
	case LifecycleDeletionInProgress:
		return EventDeletionInProgress
	case LifecycleDeletionFailed:
		return EventDeletionFailed
	}
	return EventUpdateComplete
}

// stackEvents lists the events that turning stack before into after records; before is nil for a new stack.
func stackEvents(before *Stack, after Stack) []StackEvent {
	event := func(eventType, message string) StackEvent {
		return StackEvent{StackPK: after.PK, EventTime: after.UpdateTime, ResourceType: ResourceStack,
			ResourceName: after.Name, EventType: eventType, EventMessage: message}
	}
	withMessage := func(text string) string {
		if IsFailedLifecycle(after.Status) && after.StatusMessage != "" {
			return text + ": " + after.StatusMessage
		}
		return text
	}
	if before == nil {
		return []StackEvent{event(LifecycleEventType(after.Status), withMessage("created in "+after.Status))}
	}
	var events []StackEvent
	if before.Status != after.Status {
		events = append(events, event(LifecycleEventType(after.Status), withMessage(before.Status+" → "+after.Status)))
	} else if before.StatusMessage != after.StatusMessage && after.StatusMessage != "" {
		events = append(events, event(EventLog, "status message: "+after.StatusMessage))
	}
	if before.Description != after.Description {
		events = append(events, event(EventLog, "description changed"))
	}
	if before.Metadata != after.Metadata {
		events = append(events, event(EventLog, "metadata changed"))
	}
	if before.EnableDeletionProtection != after.EnableDeletionProtection {
		events = append(events, event(EventLog, "deletion protection "+onOff(after.EnableDeletionProtection)))
	}
	if before.EnableAutoRollback != after.EnableAutoRollback {
		events = append(events, event(EventLog, "auto-rollback "+onOff(after.EnableAutoRollback)))
	}
	return events
}

// onOff says whether a setting was switched on or off.
func onOff(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}

// serviceEvents lists the events that replacing a stack's services old by new records.
func serviceEvents(stack Stack, old, new []Service, at time.Time) []StackEvent {
	event := func(name, eventType, message string) StackEvent {
		return StackEvent{StackPK: stack.PK, EventTime: at, ResourceType: ResourceService, ResourceName: name,
			EventType: eventType, EventMessage: message}
	}
	byName := make(map[string]Service, len(old))
	for _, s := range old {
		byName[s.Name] = s
	}
	var events []StackEvent
	for _, s := range new {
		previous, existed := byName[s.Name]
		delete(byName, s.Name)
		if !existed {
			events = append(events, event(s.Name, EventCreationComplete,
				fmt.Sprintf("created: %s, %s, image %s:%s", s.State, s.Status, s.ImageName, s.ImageTag)))
			continue
		}
		var changes []string
		if previous.Status != s.Status {
			changes = append(changes, previous.Status+" → "+s.Status)
		}
		if previous.State != s.State {
			changes = append(changes, "state "+previous.State+" → "+s.State)
		}
		if previous.ImageName != s.ImageName || previous.ImageTag != s.ImageTag {
			changes = append(changes, fmt.Sprintf("image %s:%s → %s:%s", previous.ImageName, previous.ImageTag, s.ImageName, s.ImageTag))
		}
		if previous.Domains != s.Domains {
			changes = append(changes, domainsChange(previous.Domains, s.Domains))
		}
		if len(changes) > 0 {
			events = append(events, event(s.Name, ServiceEventType(s), strings.Join(changes, ", ")))
		}
	}
	for _, s := range old {
		if _, gone := byName[s.Name]; gone {
			events = append(events, event(s.Name, EventDeletionComplete, "deleted"))
		}
	}
	return events
}

// Beyond these, an event says how a service's domains changed rather than copying the list: a list of thousands
// copied into every event would grow the history by megabytes.
const (
	maxListedDomains     = 4
	maxListedDomainBytes = 200
)

// domainsChange describes a change of a service's domains (stored as JSON arrays): the new list when it is short,
// else what was added and removed, a few of each by name.
func domainsChange(before, after string) string {
	var old, now []string
	_ = json.Unmarshal([]byte(before), &old)
	_ = json.Unmarshal([]byte(after), &now)
	if len(now) <= maxListedDomains && len(after) <= maxListedDomainBytes {
		return "domains " + after
	}
	had := make(map[string]bool, len(old))
	for _, d := range old {
		had[d] = true
	}
	has := make(map[string]bool, len(now))
	var added, removed []string
	for _, d := range now {
		has[d] = true
		if !had[d] {
			added = append(added, d)
		}
	}
	for _, d := range old {
		if !has[d] {
			removed = append(removed, d)
		}
	}
	text := "domains:"
	if len(added) > 0 {
		text += fmt.Sprintf(" %d added (%s)", len(added), someOf(added))
	}
	if len(removed) > 0 {
		if len(added) > 0 {
			text += ","
		}
		text += fmt.Sprintf(" %d removed (%s)", len(removed), someOf(removed))
	}
	if len(added) == 0 && len(removed) == 0 {
		text += " reordered"
	}
	return text + fmt.Sprintf("; %d in all", len(now))
}

// someOf names the first few items of a list, and says when there are more.
func someOf(items []string) string {
	const shown = 3
	if len(items) <= shown {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:shown], ", ") + ", …"
}

// ServiceEventType is the event type of a service's change into its current state and status.
func ServiceEventType(s Service) string {
	switch {
	case s.Status == RunFault:
		return EventError
	case s.State != StateDeployed && s.State != StateStopped:
		return EventUpdateInProgress
	}
	return EventUpdateComplete
}

// recordEvents writes events inside the caller's transaction, each with the seconds since its resource's
// previous event.
func recordEvents(tx *gorm.DB, events []StackEvent) error {
	last := make(map[string]time.Time)
	for i := range events {
		e := &events[i]
		key := e.ResourceType + "/" + e.ResourceName
		previous, ok := last[key]
		if !ok {
			err := querySQL(tx, func(rows *sql.Rows) error {
				ok = true
				return rows.Scan(&previous)
			}, `SELECT event_time FROM stack_events WHERE stack_pk = ? AND resource_type = ? AND resource_name = ?
				ORDER BY event_time DESC, pk DESC LIMIT 1`, e.StackPK, e.ResourceType, e.ResourceName)
			if err != nil {
				return fmt.Errorf("record event: %w", err)
			}
		}
		if ok && e.EventTime.After(previous) {
			e.ElapsedSeconds = int64(e.EventTime.Sub(previous).Seconds())
		}
		last[key] = e.EventTime
	}
	if len(events) == 0 {
		return nil
	}
	rows := make([][]any, len(events))
	for i, e := range events {
		rows[i] = []any{e.StackPK, e.EventTime, e.ResourceType, e.ResourceName, e.EventType, e.EventMessage, e.ElapsedSeconds}
	}
	if err := insertRows(tx, "stack_events", []string{"stack_pk", "event_time", "resource_type", "resource_name",
		"event_type", "event_message", "elapsed_seconds"}, rows); err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	return nil
}

// EventQuery pages and filters a stack's events.
type EventQuery struct {
	// StackID, when given, must be the stack's id (RFS refuses another with 400).
	StackID *string
	// Marker continues after the event it names (from the previous page's next_marker).
	Marker string
	Limit  int
	// Filter is RFS's: conditions "key==value" on event_type, resource_type or resource_name, joined by ","
	// (and) and "|" (or), "," binding tighter.
	Filter string
}

// Limits of event paging.
const (
	DefaultEventLimit = DefaultPageLimit
	MaxEventLimit     = MaxPageLimit
)

// EventView is one event as ListStackEvents shows it.
type EventView struct {
	ResourceType   string    `json:"resource_type"`
	ResourceName   string    `json:"resource_name"`
	Time           Timestamp `json:"time"`
	EventType      string    `json:"event_type"`
	EventMessage   string    `json:"event_message"`
	ElapsedSeconds int64     `json:"elapsed_seconds"`
	// StackName is shown on timelines that merge several stacks.
	StackName string `json:"-"`
}

// EventPage is one page of a stack's events, newest first; NextMarker is null on the last page. PageInfo repeats
// it where RFS's clients read it.
type EventPage struct {
	StackEvents []EventView `json:"stack_events"`
	NextMarker  *string     `json:"next_marker"`
	PageInfo    PageInfo    `json:"page_info"`
	// StackID names the stack, for the page's live updates.
	StackID string `json:"-"`
}

type filterCondition struct {
	column, value string
}

// EventFilterOf is the RFS filter that keeps events of one type and one resource: what the events page's form
// asks for; either may be empty, and both empty keep every event.
func EventFilterOf(eventType, resourceName string) string {
	var conditions []string
	if eventType != "" {
		conditions = append(conditions, "event_type=="+eventType)
	}
	if resourceName != "" {
		conditions = append(conditions, "resource_name=="+resourceName)
	}
	return strings.Join(conditions, ",")
}

// parseEventFilter reads an RFS filter into groups of conditions: any group may match, all of a group must.
func parseEventFilter(filter string) ([][]filterCondition, error) {
	if filter == "" {
		return nil, nil
	}
	if err := CheckLength("filter", "", len(filter), 0, MaxEventFilterLength); err != nil {
		return nil, err
	}
	var groups [][]filterCondition
	for _, group := range strings.Split(filter, "|") {
		var conditions []filterCondition
		for _, condition := range strings.Split(group, ",") {
			key, value, ok := strings.Cut(strings.TrimSpace(condition), "==")
			if !ok || value == "" {
				return nil, &FieldError{"filter", ReasonInvalid, fmt.Sprintf("%q is not a condition like event_type==LOG", clip(condition))}
			}
			switch key {
			case "event_type":
				if !slices.Contains(EventTypes(), value) {
					return nil, &FieldError{"filter", ReasonInvalid, fmt.Sprintf("%q is not an event type (one of %s)", clip(value), strings.Join(EventTypes(), ", "))}
				}
			case "resource_type", "resource_name":
			default:
				return nil, &FieldError{"filter", ReasonInvalid, fmt.Sprintf("%q cannot be filtered on (event_type, resource_type or resource_name can)", clip(key))}
			}
			conditions = append(conditions, filterCondition{key, value})
		}
		groups = append(groups, conditions)
	}
	return groups, nil
}

// ListEvents returns one page of a stack's events, newest first, in two SQL statements (three with a marker).
func ListEvents(ctx context.Context, db *gorm.DB, projectID, stackName string, q EventQuery) (EventPage, error) {
	if q.Limit == 0 {
		q.Limit = DefaultEventLimit
	}
	if q.Limit < 1 || q.Limit > MaxEventLimit {
		return EventPage{}, &FieldError{"limit", ReasonInvalid, fmt.Sprintf("%d is not between 1 and %d", q.Limit, MaxEventLimit)}
	}
	groups, err := parseEventFilter(q.Filter)
	if err != nil {
		return EventPage{}, err
	}
	if err := validateGivenStackID("stack_id", q.StackID); err != nil {
		return EventPage{}, err
	}
	db = db.WithContext(ctx)
	stack, err := findStack(db, projectID, stackName)
	if err != nil {
		return EventPage{}, err
	}
	if err := checkStackID("stack_id", q.StackID, stack); err != nil {
		return EventPage{}, err
	}
	query := db.Where("stack_pk = ?", stack.PK)
	if len(groups) > 0 {
		var clauses []string
		var args []any
		for _, group := range groups {
			var parts []string
			for _, c := range group {
				parts = append(parts, c.column+" = ?")
				args = append(args, c.value)
			}
			clauses = append(clauses, "("+strings.Join(parts, " AND ")+")")
		}
		query = query.Where(strings.Join(clauses, " OR "), args...)
	}
	if q.Marker != "" {
		marker, err := strconv.ParseInt(q.Marker, 10, 64)
		if err != nil || marker <= 0 {
			return EventPage{}, &FieldError{"marker", ReasonInvalid, fmt.Sprintf("%q is not a marker from next_marker", clip(q.Marker))}
		}
		stackPK := stack.PK
		// A marker must name one of this stack's events: any other would silently answer an empty last page.
		var found int64
		if err := db.Model(&StackEvent{}).Where("pk = ? AND stack_pk = ?", marker, stackPK).Count(&found).Error; err != nil {
			return EventPage{}, fmt.Errorf("list events: %w", err)
		}
		if found == 0 {
			return EventPage{}, &FieldError{"marker", ReasonInvalid, fmt.Sprintf("%q is not a marker from next_marker", clip(q.Marker))}
		}
		query = query.Where(`event_time < (SELECT event_time FROM stack_events WHERE pk = ? AND stack_pk = ?)
			OR (event_time = (SELECT event_time FROM stack_events WHERE pk = ? AND stack_pk = ?) AND pk < ?)`,
			marker, stackPK, marker, stackPK, marker)
	}
	var rows []StackEvent
	if err := query.Order("event_time DESC, pk DESC").Limit(q.Limit + 1).Find(&rows).Error; err != nil {
		return EventPage{}, fmt.Errorf("list events: %w", err)
	}
	page := EventPage{StackEvents: []EventView{}, StackID: stack.StackID}
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		next := strconv.FormatInt(rows[len(rows)-1].PK, 10)
		page.NextMarker = &next
	}
	for _, row := range rows {
		page.StackEvents = append(page.StackEvents, newEventView(row, stackName))
	}
	page.PageInfo = newPageInfo(page.NextMarker, len(page.StackEvents))
	return page, nil
}

func newEventView(row StackEvent, stackName string) EventView {
	return EventView{
		ResourceType:   row.ResourceType,
		ResourceName:   row.ResourceName,
		Time:           Timestamp{row.EventTime},
		EventType:      row.EventType,
		EventMessage:   row.EventMessage,
		ElapsedSeconds: row.ElapsedSeconds,
		StackName:      stackName,
	}
}

// TimelineLength is how many events a stack or product page shows before "more".
const TimelineLength = 20

// recentEvents returns the newest events of the stacks that stackPKs (a list or a subquery) names, with their
// stacks' names, in one SQL statement.
func recentEvents(db *gorm.DB, stackPKs any, limit int) ([]EventView, error) {
	var rows []struct {
		StackEvent
		StackName string
	}
	err := db.Table("stack_events AS e").Select("e.*, s.name AS stack_name").
		Joins("JOIN stacks s ON s.pk = e.stack_pk").
		Where("e.stack_pk IN (?)", stackPKs).
		Order("e.event_time DESC, e.pk DESC").Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list recent events: %w", err)
	}
	events := make([]EventView, len(rows))
	for i, row := range rows {
		events[i] = newEventView(row.StackEvent, row.StackName)
	}
	return events, nil
}

// ProductTimeline returns the newest events of every stack of a product, merged, in one SQL statement.
func ProductTimeline(ctx context.Context, db *gorm.DB, productName string, limit int) ([]EventView, error) {
	db = db.WithContext(ctx)
	stacks := db.Table("product_stacks").Select("stack_pk").
		Where("product_pk = (?)", db.Table("products").Select("pk").Where("name = ?", productName))
	return recentEvents(db, stacks, limit)
}
