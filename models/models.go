// Package models owns Stackboard's data: the GORM models, opening the database, its migrations, the queries
// that fill the views, and the domain rules (status roll-ups and validation).
package models

import "time"

// Project groups stacks; its ID is chosen by the user (for example a cloud project id).
type Project struct {
	ID        string `gorm:"primaryKey"`
	CreatedAt time.Time
}

// Stack is a set of services deployed together inside one project.
type Stack struct {
	// PK is the internal row id; it also orders stacks created in the same second.
	PK            int64 `gorm:"column:pk;primaryKey"`
	ProjectID     string
	Name          string
	StackID       string `gorm:"column:stack_id"`
	Description   string
	Status        string
	StatusMessage string
	// Metadata is a JSON object, or empty when unset.
	Metadata        string
	CreateTime      time.Time
	UpdateTime      time.Time
	StatusChangedAt time.Time
	// EnableDeletionProtection refuses DeleteStack while it is set, as RFS does.
	EnableDeletionProtection bool
	// EnableAutoRollback is RFS's setting, kept and shown for its clients; the deploy tools act on it.
	EnableAutoRollback bool
	// RunStatus is the roll-up of the services' run statuses, kept whenever they change (saveServices, and
	// refreshRunStatus for imports) so
	// that lists and counts need not aggregate every service. GORM only reads it.
	RunStatus string `gorm:"->"`
}

// Service is one container of a stack.
type Service struct {
	PK      int64 `gorm:"column:pk;primaryKey"`
	StackPK int64 `gorm:"column:stack_pk"`
	Name    string
	// Ordinal keeps the services of a stack in the order they were declared.
	Ordinal int
	State   string
	Status  string
	// Domains is a JSON array of strings.
	Domains   string
	ImageName string
	ImageTag  string
}

// Product is deployed as ordered dependency layers of stacks.
type Product struct {
	PK        int64 `gorm:"column:pk;primaryKey"`
	Name      string
	ProjectID string
	CreatedAt time.Time
}

// ProductStack places one stack in one layer of a product.
type ProductStack struct {
	ProductPK int64 `gorm:"column:product_pk;primaryKey"`
	StackPK   int64 `gorm:"column:stack_pk;primaryKey"`
	// Layer counts from 1; Ordinal orders the stacks inside the layer.
	Layer   int
	Ordinal int
}

// StackEvent records one change of a stack or of one of its services.
type StackEvent struct {
	PK           int64 `gorm:"column:pk;primaryKey"`
	StackPK      int64 `gorm:"column:stack_pk"`
	EventTime    time.Time
	ResourceType string
	ResourceName string
	EventType    string
	EventMessage string
	// ElapsedSeconds is the time since the same resource's previous event.
	ElapsedSeconds int64
}
