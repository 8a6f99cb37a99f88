package models

import (
	"fmt"

	"gorm.io/gorm"
)

// findStack loads a stack of a project by name, or fails with a NotFoundError: the one lookup of a stack by its
// project and name, for reads and writes alike.
func findStack(tx *gorm.DB, projectID, name string) (Stack, error) {
	var stacks []Stack
	if err := tx.Where("project_id = ? AND name = ?", projectID, name).Limit(1).Find(&stacks).Error; err != nil {
		return Stack{}, fmt.Errorf("find stack %q: %w", name, err)
	}
	if len(stacks) == 0 {
		return Stack{}, &NotFoundError{Kind: KindStack, Name: name}
	}
	return stacks[0], nil
}

// stackServices loads a stack's services in their declared order: the one lookup of a stack's services.
func stackServices(tx *gorm.DB, stackPK int64) ([]Service, error) {
	var services []Service
	if err := tx.Where("stack_pk = ?", stackPK).Order("ordinal").Find(&services).Error; err != nil {
		return nil, fmt.Errorf("find services: %w", err)
	}
	return services, nil
}
