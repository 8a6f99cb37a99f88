package models

import (
	"database/sql"
	"fmt"

	"gorm.io/gorm"
)

// findStack loads a stack of a project by name, or fails with a NotFoundError: the one lookup of a stack by its
// project and name, for reads and writes alike.
func findStack(tx *gorm.DB, projectID, name string) (Stack, error) {
	return selectStack(tx, projectID, name, "")
}

// lockStack loads a stack to change it, locking its row until the transaction ends (on PostgreSQL; SQLite's
// IMMEDIATE transactions already serialise writers), so racing writers never lose an update or an event.
func lockStack(tx *gorm.DB, projectID, name string) (Stack, error) {
	lock := ""
	if tx.Dialector.Name() == "postgres" {
		lock = " FOR UPDATE"
	}
	return selectStack(tx, projectID, name, lock)
}

// selectStack reads one stack by project and name; lock ends the statement.
func selectStack(tx *gorm.DB, projectID, name, lock string) (Stack, error) {
	var s Stack
	found := false
	err := querySQL(tx, func(rows *sql.Rows) error {
		found = true
		return rows.Scan(&s.PK, &s.ProjectID, &s.Name, &s.StackID, &s.Description, &s.Status, &s.StatusMessage,
			&s.Metadata, &s.CreateTime, &s.UpdateTime, &s.StatusChangedAt, &s.EnableDeletionProtection,
			&s.EnableAutoRollback, &s.RunStatus)
	}, `SELECT pk, project_id, name, stack_id, description, status, status_message, metadata, create_time,
		update_time, status_changed_at, enable_deletion_protection, enable_auto_rollback, run_status
		FROM stacks WHERE project_id = ? AND name = ? LIMIT 1`+lock, projectID, name)
	if err != nil {
		return Stack{}, fmt.Errorf("find stack %q: %w", name, err)
	}
	if !found {
		return Stack{}, &NotFoundError{Kind: KindStack, Name: name}
	}
	return s, nil
}

// stackServices loads a stack's services in their declared order: the one lookup of a stack's services.
func stackServices(tx *gorm.DB, stackPK int64) ([]Service, error) {
	var services []Service
	err := querySQL(tx, func(rows *sql.Rows) error {
		var s Service
		if err := rows.Scan(&s.PK, &s.StackPK, &s.Name, &s.Ordinal, &s.State, &s.Status, &s.Domains, &s.ImageName, &s.ImageTag); err != nil {
			return err
		}
		services = append(services, s)
		return nil
	}, `SELECT pk, stack_pk, name, ordinal, state, status, domains, image_name, image_tag
		FROM services WHERE stack_pk = ? ORDER BY ordinal`, stackPK)
	if err != nil {
		return nil, fmt.Errorf("find services: %w", err)
	}
	return services, nil
}
