package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"gorm.io/gorm"
)

func TestParseEventFilter(t *testing.T) {
	tests := []struct {
		filter string
		want   string // the groups, or "error: <field>"
	}{
		{"", "[]"},
		{"event_type==LOG", "[[{event_type LOG}]]"},
		{"resource_type==service,event_type==CREATION_COMPLETE", "[[{resource_type service} {event_type CREATION_COMPLETE}]]"},
		{"event_type==UPDATE_FAILED|resource_name==nginx", "[[{event_type UPDATE_FAILED}] [{resource_name nginx}]]"},
		{"a==b", "error"},
		{"event_type=LOG", "error"},
		{"event_type==", "error"},
		{"event_type==log", "error"}, // event types are upper case
		{"event_type==LOG,", "error"},
		{"|event_type==LOG", "error"},
	}
	for _, tt := range tests {
		groups, err := parseEventFilter(tt.filter)
		got := fmt.Sprint(groups)
		if groups == nil {
			got = "[]"
		}
		var fe *FieldError
		if err != nil {
			got = "error"
			if !errors.As(err, &fe) || fe.Field != "filter" {
				t.Errorf("%q: %v does not name filter", tt.filter, err)
			}
		}
		if got != tt.want {
			t.Errorf("parseEventFilter(%q) = %s, want %s", tt.filter, got, tt.want)
		}
	}
}

// ListEvents pages through events of the same second in a stable order, each exactly once.
func TestListEventsPagesThroughTies(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	stack, err := CreateStack(ctx, db, "proj", NewStack{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var events []StackEvent
	for i := range 25 {
		// Five events in each of five seconds, inserted out of time order.
		events = append(events, StackEvent{StackPK: stack.PK, EventTime: at.Add(time.Duration(4-i%5) * time.Second), ResourceType: ResourceService,
			ResourceName: "svc" + strconv.Itoa(i), EventType: EventLog, EventMessage: strconv.Itoa(i)})
	}
	if err := db.Create(&events).Error; err != nil {
		t.Fatal(err)
	}
	all, err := ListEvents(ctx, db, "proj", "web", EventQuery{Limit: MaxEventLimit})
	if err != nil || len(all.StackEvents) != 26 || all.NextMarker != nil {
		t.Fatalf("all: %d events, marker %v, %v", len(all.StackEvents), all.NextMarker, err)
	}
	for i := 1; i < len(all.StackEvents); i++ {
		if all.StackEvents[i].Time.After(all.StackEvents[i-1].Time.Time) {
			t.Fatalf("event %d is newer than event %d", i, i-1)
		}
	}
	for _, limit := range []int{1, 3, 5, 7, 26, 27} {
		var walked []EventView
		query := EventQuery{Limit: limit}
		for pages := 0; ; pages++ {
			page, err := ListEvents(ctx, db, "proj", "web", query)
			if err != nil {
				t.Fatalf("limit %d: %v", limit, err)
			}
			walked = append(walked, page.StackEvents...)
			if page.NextMarker == nil || pages > 100 {
				break
			}
			query.Marker = *page.NextMarker
		}
		if fmt.Sprint(walked) != fmt.Sprint(all.StackEvents) {
			t.Errorf("limit %d walked\n%v\nwant\n%v", limit, walked, all.StackEvents)
		}
	}
	// The default limit, and the refusals.
	if page, err := ListEvents(ctx, db, "proj", "web", EventQuery{}); err != nil || len(page.StackEvents) != 26 {
		t.Errorf("default limit: %d %v", len(page.StackEvents), err)
	}
	for _, q := range []EventQuery{{Limit: -1}, {Limit: MaxEventLimit + 1}, {Marker: "x"}, {Marker: "-3"}, {Marker: "424242"}, {Filter: "nope"}} {
		var fe *FieldError
		if _, err := ListEvents(ctx, db, "proj", "web", q); !errors.As(err, &fe) {
			t.Errorf("%+v: %v, want a field error", q, err)
		}
	}
	if _, err := ListEvents(ctx, db, "proj", "nope", EventQuery{}); !isNotFound(err) {
		t.Errorf("unknown stack: %v", err)
	}
}

// Replay applies a write once per key, answers retries with the first response, refuses a key reused for
// another request, forgets failures, and forgets everything after the replay window.
func TestReplay(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	runs := 0
	write := func(status int, fail error) func(tx *gorm.DB) (StoredResponse, error) {
		return func(tx *gorm.DB) (StoredResponse, error) {
			runs++
			if fail != nil {
				return StoredResponse{}, fail
			}
			return StoredResponse{Status: status, Body: []byte(`{"n":` + strconv.Itoa(runs) + `}`), Location: "/x/" + strconv.Itoa(runs)}, nil
		}
	}
	key := ReplayKey{Principal: "token:ci", ClientRequestID: "id-1", Method: "POST", Path: "/v1/p/stacks", BodySHA256: "aa"}

	response, replayed, err := Replay(ctx, db, &key, write(201, nil))
	if err != nil || replayed || response.Status != 201 || string(response.Body) != `{"n":1}` || response.Location != "/x/1" {
		t.Fatalf("first: %+v %v %v", response, replayed, err)
	}
	response, replayed, err = Replay(ctx, db, &key, write(201, nil))
	if err != nil || !replayed || runs != 1 || response.Status != 201 || string(response.Body) != `{"n":1}` || response.Location != "/x/1" {
		t.Errorf("retry: %+v %v %v after %d runs", response, replayed, err, runs)
	}
	for _, other := range []ReplayKey{
		{Principal: "token:ci", ClientRequestID: "id-1", Method: "PATCH", Path: key.Path, BodySHA256: key.BodySHA256},
		{Principal: "token:ci", ClientRequestID: "id-1", Method: key.Method, Path: "/v1/q/stacks", BodySHA256: key.BodySHA256},
		{Principal: "token:ci", ClientRequestID: "id-1", Method: key.Method, Path: key.Path, BodySHA256: "bb"},
	} {
		var conflict *ConflictError
		if _, _, err := Replay(ctx, db, &other, write(201, nil)); !errors.As(err, &conflict) || conflict.Kind != "Client-Request-Id" {
			t.Errorf("%+v: %v, want a conflict", other, err)
		}
	}
	if runs != 1 {
		t.Errorf("conflicting writes ran: %d runs", runs)
	}
	// Another principal has its own ids; no key just runs.
	other := key
	other.Principal = "token:admin"
	if _, replayed, err := Replay(ctx, db, &other, write(201, nil)); err != nil || replayed || runs != 2 {
		t.Errorf("another principal: %v %v, %d runs", replayed, err, runs)
	}
	if _, replayed, err := Replay(ctx, db, nil, write(200, nil)); err != nil || replayed || runs != 3 {
		t.Errorf("no key: %v %v, %d runs", replayed, err, runs)
	}
	if _, replayed, err := Replay(ctx, db, nil, write(200, nil)); err != nil || replayed || runs != 4 {
		t.Errorf("no key again: %v %v, %d runs", replayed, err, runs)
	}

	// A failed write is not remembered, and whatever it did is rolled back.
	failing := key
	failing.ClientRequestID = "id-2"
	boom := errors.New("boom")
	_, _, err = Replay(ctx, db, &failing, func(tx *gorm.DB) (StoredResponse, error) {
		if _, err := CreateStack(ctx, tx, "proj", NewStack{Name: "half"}); err != nil {
			return StoredResponse{}, err
		}
		return StoredResponse{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failing write: %v", err)
	}
	if got := countRows(t, db); got.Stacks != 0 || got.Projects != 0 {
		t.Errorf("the failed write left rows: %+v", got)
	}
	var events int64
	db.Model(&StackEvent{}).Count(&events)
	if events != 0 {
		t.Errorf("the failed write left %d events", events)
	}
	if _, replayed, err := Replay(ctx, db, &failing, write(201, nil)); err != nil || replayed {
		t.Errorf("retry of the failed write: %v %v", replayed, err)
	}

	// After the window, the id is free again.
	if err := db.Model(&storedRequest{}).Where("client_request_id = ?", "id-1").Update("created_at", Now().Add(-ReplayWindow-time.Minute)).Error; err != nil {
		t.Fatal(err)
	}
	before := runs
	response, replayed, err = Replay(ctx, db, &key, write(201, nil))
	if err != nil || replayed || runs != before+1 {
		t.Errorf("after the window: %+v %v %v", response, replayed, err)
	}
	if response, replayed, _ = Replay(ctx, db, &key, write(201, nil)); !replayed || response.Location != "/x/"+strconv.Itoa(before+1) {
		t.Errorf("the renewed id does not replay its new answer: %+v %v", response, replayed)
	}
	// forgetOldRequests trims what is older than the window.
	db.Model(&storedRequest{}).Where("principal = ?", "token:admin").Update("created_at", Now().Add(-ReplayWindow-time.Minute))
	if err := forgetOldRequests(ctx, db); err != nil {
		t.Fatal(err)
	}
	var left int64
	db.Model(&storedRequest{}).Count(&left)
	if left != 2 {
		t.Errorf("%d remembered requests after trimming, want 2", left)
	}
}
