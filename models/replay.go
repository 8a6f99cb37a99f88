package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ReplayWindow is how long a write's Client-Request-Id is remembered.
const ReplayWindow = 24 * time.Hour

// ReplayKey identifies a write that a client may retry: who sent it, its Client-Request-Id, and what it asked.
type ReplayKey struct {
	Principal       string
	ClientRequestID string
	Method          string
	Path            string
	BodySHA256      string
}

// StoredResponse is the answer to a write, kept so that a retry gets the same one.
type StoredResponse struct {
	Status int
	Body   []byte
	// Location is the Location header of the answer (a created thing's URL), or empty.
	Location string
}

// storedRequest is a row of the requests table.
type storedRequest struct {
	PK              int64 `gorm:"column:pk;primaryKey"`
	Principal       string
	ClientRequestID string
	Method          string
	Path            string
	BodySHA256      string `gorm:"column:body_sha256"`
	Status          int
	Response        string
	Location        string
	CreatedAt       time.Time
}

func (storedRequest) TableName() string { return "requests" }

// Replay runs write in a transaction and remembers its response under key, unless the key was seen in the last
// 24 hours: then it returns that first response without running write again (replayed is true). A key reused
// for a different request is a conflict. A nil key just runs write. Failed writes are not remembered, so they can
// be retried.
//
// The same key sent to several replicas at once runs write once: on PostgreSQL the key's advisory lock makes the
// others wait for the first to commit, and then they replay its answer (SQLite has one writer at a time anyway).
func Replay(ctx context.Context, db *gorm.DB, key *ReplayKey, write func(tx *gorm.DB) (StoredResponse, error)) (response StoredResponse, replayed bool, err error) {
	response, replayed, err = replayOnce(ctx, db, key, write)
	if table, ok := violatedUnique(err); ok && table == "requests" {
		// Remembered by another writer after this one looked (the lock makes that rare): its answer is the one.
		response, replayed, err = replayOnce(ctx, db, key, write)
	}
	return response, replayed, err
}

// replayLockClass is the first key of the PostgreSQL advisory locks that serialise writes of one
// Client-Request-Id ("rply" in ASCII); the second is a hash of the key.
const replayLockClass = 0x72706c79

func replayOnce(ctx context.Context, db *gorm.DB, key *ReplayKey, write func(tx *gorm.DB) (StoredResponse, error)) (response StoredResponse, replayed bool, err error) {
	err = writeTransaction(ctx, db, func(tx *gorm.DB) error {
		if key == nil {
			response, err = write(tx)
			return err
		}
		if tx.Dialector.Name() == "postgres" {
			if err := tx.Exec(`SELECT pg_advisory_xact_lock(?, hashtext(?))`, replayLockClass,
				key.Principal+"\n"+key.ClientRequestID).Error; err != nil {
				return fmt.Errorf("lock Client-Request-Id: %w", err)
			}
		}
		var seen []storedRequest
		err := querySQL(tx, func(rows *sql.Rows) error {
			r := storedRequest{Principal: key.Principal, ClientRequestID: key.ClientRequestID}
			if err := rows.Scan(&r.PK, &r.Method, &r.Path, &r.BodySHA256, &r.Status, &r.Response, &r.Location, &r.CreatedAt); err != nil {
				return err
			}
			seen = append(seen, r)
			return nil
		}, `SELECT pk, method, path, body_sha256, status, response, location, created_at FROM requests
			WHERE principal = ? AND client_request_id = ? LIMIT 1`, key.Principal, key.ClientRequestID)
		if err != nil {
			return err
		}
		if len(seen) > 0 {
			first := seen[0]
			if time.Since(first.CreatedAt) < ReplayWindow {
				if first.Method != key.Method || first.Path != key.Path || first.BodySHA256 != key.BodySHA256 {
					return &ConflictError{Kind: KindClientRequestID, Name: key.ClientRequestID}
				}
				response, replayed = StoredResponse{Status: first.Status, Body: []byte(first.Response), Location: first.Location}, true
				return nil
			}
			if err := tx.Delete(&first).Error; err != nil {
				return err
			}
		}
		response, err = write(tx)
		if err != nil {
			return err
		}
		return insertRows(tx, "requests", []string{"principal", "client_request_id", "method", "path", "body_sha256",
			"status", "response", "location", "created_at"}, [][]any{{key.Principal, key.ClientRequestID, key.Method,
			key.Path, key.BodySHA256, response.Status, string(response.Body), response.Location, Now()}})
	})
	if err != nil {
		return StoredResponse{}, false, err
	}
	return response, replayed, nil
}

// forgetOldRequests deletes the remembered writes older than the replay window.
func forgetOldRequests(ctx context.Context, db *gorm.DB) error {
	if err := db.WithContext(ctx).Where("created_at < ?", Now().Add(-ReplayWindow)).Delete(&storedRequest{}).Error; err != nil {
		return fmt.Errorf("forget old requests: %w", err)
	}
	return nil
}
