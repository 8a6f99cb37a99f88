package models

import (
	"context"
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
func Replay(ctx context.Context, db *gorm.DB, key *ReplayKey, write func(tx *gorm.DB) (StoredResponse, error)) (response StoredResponse, replayed bool, err error) {
	err = writeTransaction(ctx, db, func(tx *gorm.DB) error {
		if key == nil {
			response, err = write(tx)
			return err
		}
		var seen []storedRequest
		if err := tx.Where("principal = ? AND client_request_id = ?", key.Principal, key.ClientRequestID).Limit(1).Find(&seen).Error; err != nil {
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
