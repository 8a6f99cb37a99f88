package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// FleetMetrics is the state of the whole fleet that the metrics endpoint exports, read in three statements.
type FleetMetrics struct {
	// Stacks counts the stacks of each project by lifecycle status and run status; combinations without stacks
	// are left out.
	Stacks []StackCount
	// Products says of every product, in creation order, whether it is stable.
	Products []ProductStability
	// Failed lists the stacks in a failed lifecycle status or with a FAULT run status, and since when.
	Failed []FailedStack
}

// StackCount is how many stacks of a project are in one lifecycle status and one run status.
type StackCount struct {
	ProjectID string
	Lifecycle string
	RunStatus string
	Stacks    int
}

// ProductStability is one product's is_stable.
type ProductStability struct {
	Name   string
	Stable bool
}

// FailedStack is a stack in a failed state. Status is its lifecycle status (one of the *_FAILED ones) or RunFault;
// a stack in both appears twice.
type FailedStack struct {
	ProjectID string
	Name      string
	Status    string
	Since     time.Time
}

// LoadFleetMetrics reads the fleet's counts, the products' stability and the failed stacks. The counts come from
// the kept run status and its index, so no statement aggregates over services.
func LoadFleetMetrics(ctx context.Context, db *gorm.DB) (FleetMetrics, error) {
	db = db.WithContext(ctx)
	var m FleetMetrics
	err := scanRows(db.Raw(`SELECT project_id, status, run_status, COUNT(*) FROM stacks
		GROUP BY project_id, status, run_status ORDER BY project_id, status, run_status`), func(rows *sql.Rows) error {
		var c StackCount
		if err := rows.Scan(&c.ProjectID, &c.Lifecycle, &c.RunStatus, &c.Stacks); err != nil {
			return err
		}
		m.Stacks = append(m.Stacks, c)
		return nil
	})
	if err != nil {
		return FleetMetrics{}, fmt.Errorf("count stacks: %w", err)
	}
	err = scanRows(db.Raw(`SELECT p.name, SUM(CASE WHEN s.run_status = 'RUNNING' THEN 0 ELSE 1 END) FROM products p
		JOIN product_stacks ps ON ps.product_pk = p.pk JOIN stacks s ON s.pk = ps.stack_pk
		GROUP BY p.pk, p.name ORDER BY p.pk`), func(rows *sql.Rows) error {
		var p ProductStability
		var notRunning int
		if err := rows.Scan(&p.Name, &notRunning); err != nil {
			return err
		}
		p.Stable = notRunning == 0
		m.Products = append(m.Products, p)
		return nil
	})
	if err != nil {
		return FleetMetrics{}, fmt.Errorf("read product stability: %w", err)
	}
	// A failed lifecycle status has its own time of change. A FAULT run status dates from the oldest ERROR event
	// of the stack's services since their newest event of another kind (the fault reports since it last changed
	// for the better); with no such event left (pruned), from the stack's last update.
	failed := []string{LifecycleDeploymentFailed, LifecycleRollbackFailed, LifecycleDeletionFailed}
	err = scanRows(db.Raw(`SELECT s.project_id, s.name, s.status, s.status_changed_at FROM stacks s
		WHERE s.status IN ? ORDER BY s.project_id, s.name`, failed), func(rows *sql.Rows) error {
		var f FailedStack
		if err := rows.Scan(&f.ProjectID, &f.Name, &f.Status, &f.Since); err != nil {
			return err
		}
		m.Failed = append(m.Failed, f)
		return nil
	})
	if err != nil {
		return FleetMetrics{}, fmt.Errorf("read failed stacks: %w", err)
	}
	// The event is joined by its pk (events are numbered in time order) so that its time keeps its column's type.
	err = scanRows(db.Raw(`SELECT s.project_id, s.name, s.update_time, e.event_time FROM stacks s
		LEFT JOIN stack_events e ON e.pk = (SELECT MIN(f.pk) FROM stack_events f WHERE f.stack_pk = s.pk
			AND f.resource_type = 'service' AND f.event_type = 'ERROR' AND f.pk > COALESCE((SELECT MAX(o.pk)
				FROM stack_events o WHERE o.stack_pk = s.pk AND o.resource_type = 'service' AND o.event_type <> 'ERROR'), 0))
		WHERE s.run_status = ? ORDER BY s.project_id, s.name`, RunFault), func(rows *sql.Rows) error {
		f := FailedStack{Status: RunFault}
		var since sql.Null[time.Time]
		if err := rows.Scan(&f.ProjectID, &f.Name, &f.Since, &since); err != nil {
			return err
		}
		if since.Valid {
			f.Since = since.V
		}
		m.Failed = append(m.Failed, f)
		return nil
	})
	if err != nil {
		return FleetMetrics{}, fmt.Errorf("read faulty stacks: %w", err)
	}
	return m, nil
}
