package models

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Change is one row of the change feed: every write names what it touched, in the same transaction, so that
// any process serving the database can tell its pages what to refresh.
type Change struct {
	PK          int64 `gorm:"column:pk;primaryKey"`
	ChangedAt   time.Time
	ProjectID   string
	StackID     string `gorm:"column:stack_id"`
	ProductName string
}

// recordChanges appends to the change feed inside the caller's transaction.
func recordChanges(tx *gorm.DB, changes ...Change) error {
	if len(changes) == 0 {
		return nil
	}
	if err := orderChanges(tx); err != nil {
		return err
	}
	now := Now()
	rows := make([][]any, len(changes))
	for i, c := range changes {
		rows[i] = []any{now, c.ProjectID, c.StackID, c.ProductName}
	}
	if err := insertRows(tx, "changes", []string{"changed_at", "project_id", "stack_id", "product_name"}, rows); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	return nil
}

// changeOrderLock is the PostgreSQL advisory lock that writers of the change feed hold until they commit.
const changeOrderLock = 0x73746b62 // "stkb"

// orderChanges makes the change feed's keys commit in order on PostgreSQL, as they do on SQLite, where one writer
// commits at a time: a transaction takes a key only while it holds a lock it keeps until it ends, so a reader that
// sees a key sees every smaller one that will ever commit. Readers of the feed (the watcher, the fragments) then
// need only remember the newest key they read. Writers record their changes last, so they hold it only while they
// commit; taking it again in one transaction is free.
func orderChanges(tx *gorm.DB) error {
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	if err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, changeOrderLock).Error; err != nil {
		return fmt.Errorf("take the change feed's order: %w", err)
	}
	return nil
}

// insertRows appends rows to a table in one INSERT. The feeds every write appends to use it rather than GORM's
// Create, which reflects over each row and reads the keys back: on a status report that was a third of the time.
func insertRows(tx *gorm.DB, table string, columns []string, rows [][]any) error {
	const most = 500 // rows per statement, well inside SQLite's limit on parameters
	for len(rows) > most {
		if err := insertRows(tx, table, columns, rows[:most]); err != nil {
			return err
		}
		rows = rows[most:]
	}
	if len(rows) == 0 {
		return nil
	}
	placeholders := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
	values := make([]string, len(rows))
	args := make([]any, 0, len(rows)*len(columns))
	for i, row := range rows {
		values[i] = placeholders
		args = append(args, row...)
	}
	return tx.Exec("INSERT INTO "+table+" ("+strings.Join(columns, ", ")+") VALUES "+strings.Join(values, ", "), args...).Error
}

// ChangeSet says what changed since the watcher last looked.
type ChangeSet struct {
	// Version grows with every change; equal versions mean equal data.
	Version int64
	// Everything is set when too much changed to list; every page should refresh.
	Everything bool
	Projects   []string
	StackIDs   []string
	// Products lists the products that changed or hold a stack that changed.
	Products []string
}

// mostListedStacks bounds the stacks a ChangeSet lists before it says "everything".
const mostListedStacks = 500

// changeRetention is how long the change feed keeps its rows; watchers read them within a second.
const changeRetention = time.Hour

// Watcher notices changes made by this process or any other one: on SQLite it checks PRAGMA data_version on one
// connection of its own (a cheap read that changes whenever another connection commits), elsewhere the newest row
// of the change feed; only then does it read the feed.
type Watcher struct {
	db       *gorm.DB
	log      *slog.Logger
	interval time.Duration
	version  int64
	// Checked, when set, is called after every look that succeeded: the watcher is current up to then.
	Checked func()
}

// NewWatcher returns a watcher that looks every interval.
func NewWatcher(db *gorm.DB, log *slog.Logger, interval time.Duration) *Watcher {
	return &Watcher{db: db, log: log, interval: interval}
}

// CurrentVersion returns the version of the newest change in the database.
func CurrentVersion(ctx context.Context, db *gorm.DB) (int64, error) {
	var version int64
	if err := db.WithContext(ctx).Raw(`SELECT COALESCE(MAX(pk), 0) FROM changes`).Scan(&version).Error; err != nil {
		return 0, fmt.Errorf("read change version: %w", err)
	}
	return version, nil
}

// Run watches until ctx ends, calling notify with each set of changes, from one goroutine. It returns the first
// error it meets reading the database; the caller decides how to retry.
func (w *Watcher) Run(ctx context.Context, notify func(ChangeSet)) error {
	version, err := CurrentVersion(ctx, w.db)
	if err != nil {
		return err
	}
	w.version = version
	var conn *sql.Conn
	if w.db.Dialector.Name() == "sqlite" {
		sqlDB, err := w.db.DB()
		if err != nil {
			return err
		}
		if conn, err = sqlDB.Conn(ctx); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		defer conn.Close()
	}
	var dataVersion int64
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	lastTrim := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if conn != nil {
			var current int64
			if err := conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&current); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("watch: read data_version: %w", err)
			}
			if current == dataVersion {
				w.checked()
				continue
			}
			dataVersion = current
		}
		set, err := w.since(ctx, w.version)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watch: read the change feed: %w", err)
		}
		w.checked()
		if set.Version > w.version {
			w.version = set.Version
			// The watcher is a goroutine of its own: a panic in a listener must not end the process.
			if err := recovered(func() error { notify(set); return nil }); err != nil {
				w.log.Error("watch: notify", "error", err)
			}
		}
		if time.Since(lastTrim) > time.Minute {
			lastTrim = time.Now()
			if err := w.db.WithContext(ctx).Where("changed_at < ?", Now().Add(-changeRetention)).Delete(&Change{}).Error; err != nil && ctx.Err() == nil {
				w.log.Warn("watch: trim the change feed", "error", err)
			}
			if err := forgetOldRequests(ctx, w.db); err != nil && ctx.Err() == nil {
				w.log.Warn("watch: forget old requests", "error", err)
			}
		}
	}
}

func (w *Watcher) checked() {
	if w.Checked != nil {
		w.Checked()
	}
}

// since reads the changes after version and works out which products they touch.
func (w *Watcher) since(ctx context.Context, version int64) (ChangeSet, error) {
	db := w.db.WithContext(ctx)
	var rows []Change
	if err := db.Where("pk > ?", version).Order("pk").Find(&rows).Error; err != nil {
		return ChangeSet{}, err
	}
	set := ChangeSet{Version: version}
	for _, row := range rows {
		set.Version = max(set.Version, row.PK)
		appendNew(&set.Projects, row.ProjectID)
		appendNew(&set.StackIDs, row.StackID)
		appendNew(&set.Products, row.ProductName)
	}
	if len(set.StackIDs) > mostListedStacks {
		return ChangeSet{Version: set.Version, Everything: true}, nil
	}
	if len(set.StackIDs) > 0 {
		var products []string
		err := db.Raw(`SELECT DISTINCT p.name FROM products p
			JOIN product_stacks ps ON ps.product_pk = p.pk
			JOIN stacks s ON s.pk = ps.stack_pk
			WHERE s.stack_id IN ?`, set.StackIDs).Scan(&products).Error
		if err != nil {
			return ChangeSet{}, err
		}
		for _, p := range products {
			appendNew(&set.Products, p)
		}
	}
	return set, nil
}

func appendNew(list *[]string, value string) {
	if value != "" && !slices.Contains(*list, value) {
		*list = append(*list, value)
	}
}

// TopicAll is the live-update topic that fires on every change.
const TopicAll = "products"

// ProjectTopic is the live-update topic of a project's stack list.
func ProjectTopic(projectID string) string { return "project-" + projectID }

// StackTopic is the live-update topic of one stack, by its stack_id (unique, unlike names over time).
func StackTopic(stackID string) string { return "stack-" + stackID }

// ProductTopic is the live-update topic of one product.
func ProductTopic(name string) string { return "product-" + name }

// Topics lists the live-update topics the changes fire.
func (c ChangeSet) Topics() []string {
	topics := []string{TopicAll}
	for _, p := range c.Projects {
		topics = append(topics, ProjectTopic(p))
	}
	for _, s := range c.StackIDs {
		topics = append(topics, StackTopic(s))
	}
	for _, p := range c.Products {
		topics = append(topics, ProductTopic(p))
	}
	return topics
}

// CheckTopicsVisible refuses, with a ForbiddenError, a subscription to topics of projects outside visible: a
// project's topic names it, a stack's and a product's topic stand for the project that holds them. TopicAll is
// open to everyone; the changes it carries are narrowed per reader.
func CheckTopicsVisible(ctx context.Context, db *gorm.DB, topics, visible []string) error {
	var stackIDs, products []string
	for _, t := range topics {
		switch {
		case t == TopicAll:
		case strings.HasPrefix(t, "project-"):
			if !slices.Contains(visible, strings.TrimPrefix(t, "project-")) {
				return topicForbidden(t)
			}
		case strings.HasPrefix(t, "stack-"):
			stackIDs = append(stackIDs, strings.TrimPrefix(t, "stack-"))
		case strings.HasPrefix(t, "product-"):
			products = append(products, strings.TrimPrefix(t, "product-"))
		default:
			return topicForbidden(t)
		}
	}
	type owned struct {
		Name      string
		ProjectID string
	}
	check := func(query string, names []string, topic func(string) string) error {
		if len(names) == 0 {
			return nil
		}
		var rows []owned
		if err := db.WithContext(ctx).Raw(query, names).Scan(&rows).Error; err != nil {
			return fmt.Errorf("check topics: %w", err)
		}
		found := make(map[string]bool, len(rows))
		for _, row := range rows {
			if !slices.Contains(visible, row.ProjectID) {
				return topicForbidden(topic(row.Name))
			}
			found[row.Name] = true
		}
		for _, name := range names {
			if !found[name] {
				return topicForbidden(topic(name))
			}
		}
		return nil
	}
	if err := check(`SELECT stack_id AS name, project_id FROM stacks WHERE stack_id IN ?`, stackIDs, StackTopic); err != nil {
		return err
	}
	return check(`SELECT name, project_id FROM products WHERE name IN ?`, products, ProductTopic)
}

func topicForbidden(topic string) error {
	return &ForbiddenError{Reason: "Forbidden: topic " + topic + " is not in a project this token may read"}
}
