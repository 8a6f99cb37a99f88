package models

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"

	"gorm.io/gorm"
)

//go:embed demo.yaml
var demoManifest []byte

// demoHistory is an earlier state of demo.yaml's troubled stacks, applied first so that their events say how long
// the previous state lasted.
//
//go:embed demo-history.yaml
var demoHistory []byte

// LoadDemo loads the demo data set when the database holds no project yet, and reports whether it did.
func LoadDemo(ctx context.Context, db *gorm.DB) (bool, error) {
	var count int64
	if err := db.WithContext(ctx).Model(&Project{}).Count(&count).Error; err != nil {
		return false, fmt.Errorf("load demo: %w", err)
	}
	if count > 0 {
		return false, nil
	}
	history, err := DecodeManifest("demo-history.yaml", bytes.NewReader(demoHistory))
	if err != nil {
		return false, fmt.Errorf("load demo: %w", err)
	}
	file, err := DecodeManifest("demo.yaml", bytes.NewReader(demoManifest))
	if err != nil {
		return false, fmt.Errorf("load demo: %w", err)
	}
	if _, err := Import(ctx, db, history, file); err != nil {
		return false, fmt.Errorf("load demo: %w", err)
	}
	return true, nil
}
