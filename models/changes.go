package models

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// Change is one row of the change feed: every write names what it touched, in the same transaction, so that
// any process serving the database can tell its pages what to refresh.
type Change struct {
	PK int64 `gorm:"column:pk;primaryKey"`
	// Xact is the id of the transaction that wrote the change, on PostgreSQL (a column default); 0 on SQLite.
	Xact        int64 `gorm:"->"`
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
	now := Now()
	rows := make([][]any, len(changes))
	for i, c := range changes {
		rows[i] = []any{now, c.ProjectID, c.StackID, c.ProductName}
	}
	if err := insertRows(tx, "changes", []string{"changed_at", "project_id", "stack_id", "product_name"}, rows); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	if tx.Dialector.Name() == "postgres" {
		// Delivered at commit, to every watcher listening: they read the feed at once instead of at their next
		// tick. The payload names the schema, so that watchers of other schemas on the database ignore it.
		if err := tx.Exec(`SELECT pg_notify(?, current_schema())`, changesChannel).Error; err != nil {
			return fmt.Errorf("record change: notify: %w", err)
		}
	}
	return nil
}

// changesChannel is the PostgreSQL notification channel that every recorded change wakes.
const changesChannel = "stackboard_changes"

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
	return execSQL(tx, "INSERT INTO "+table+" ("+strings.Join(columns, ", ")+") VALUES "+strings.Join(values, ", "), args...)
}

// ChangeSet says what changed since the watcher last looked.
type ChangeSet struct {
	// Version names the data the watcher has announced, up to and with this set: equal versions mean equal data,
	// on every process that reads the database (see DataVersion).
	Version string
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

// Watcher notices changes made by this process or any other one, and reads each change exactly once.
//
// On SQLite it checks PRAGMA data_version on one connection of its own (a cheap read that changes whenever another
// connection commits) and then reads the feed past the last pk it read: one writer at a time commits in pk order.
//
// On PostgreSQL pk order is not commit order: a long transaction (an import) takes its pk early and commits after
// shorter ones with higher pks, which a reader of "pk > last" would skip for ever. So each change records its
// transaction's id, and the watcher reads only changes of transactions below its snapshot's xmin: every one of
// those has ended, so none can still appear below what was read. A change that committed while an older
// transaction still runs (anywhere on the server: xmin is the cluster's) is announced at once too, read ahead by
// pk, so that a long import elsewhere delays no page; the data version names both (see feedPosition).
// LISTEN/NOTIFY wakes the watcher at each commit that recorded changes; the tick stays as the fallback, and a lost
// listening connection is dialled again.
type Watcher struct {
	db       *gorm.DB
	log      *slog.Logger
	interval time.Duration
	// Checked, when set, is called after every look that succeeded: the watcher is current up to then.
	Checked func()
	// from is where the watcher starts: every change up to it is in the data the caller already has.
	from feedPosition
}

// NewWatcher returns a watcher that looks every interval and announces the changes visible after this call: read it
// before the state (a cache) that it keeps up to date, so that nothing between is lost.
func NewWatcher(ctx context.Context, db *gorm.DB, log *slog.Logger, interval time.Duration) (*Watcher, error) {
	from := feedPosition{announced: map[int64]bool{}}
	if db.Dialector.Name() == "postgres" {
		// One statement, one snapshot: the settled version, and the changes visible ahead of it.
		var start struct {
			Version, Early int64
			Ahead          string
		}
		err := db.WithContext(ctx).Raw(`SELECT
			(SELECT COALESCE(MAX(xact), 0) FROM changes WHERE xact < s.xmin) AS version,
			(SELECT COALESCE(MAX(pk), 0) FROM changes) AS early,
			(SELECT COALESCE(string_agg(pk::text, ','), '') FROM changes WHERE xact >= s.xmin) AS ahead
			FROM (SELECT ` + settledXact + ` AS xmin) s`).Scan(&start).Error
		if err != nil {
			return nil, fmt.Errorf("read change version: %w", err)
		}
		from.version, from.early = start.Version, start.Early
		for _, pk := range strings.FieldsFunc(start.Ahead, func(r rune) bool { return r == ',' }) {
			n, err := strconv.ParseInt(pk, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("read change version: %w", err)
			}
			from.announced[n] = true
		}
	} else {
		version, err := CurrentVersion(ctx, db)
		if err != nil {
			return nil, err
		}
		from.version = version
	}
	return &Watcher{db: db, log: log, interval: interval, from: from}, nil
}

// Version is the data version the watcher starts from.
func (w *Watcher) Version() string {
	return w.from.dataVersion()
}

// CurrentVersion returns the version of the newest change a watcher reading now would announce.
func CurrentVersion(ctx context.Context, db *gorm.DB) (int64, error) {
	query := `SELECT COALESCE(MAX(pk), 0) FROM changes`
	if db.Dialector.Name() == "postgres" {
		query = `SELECT COALESCE(MAX(xact), 0) FROM changes WHERE xact < ` + settledXact
	}
	var version int64
	if err := db.WithContext(ctx).Raw(query).Scan(&version).Error; err != nil {
		return 0, fmt.Errorf("read change version: %w", err)
	}
	return version, nil
}

// settledXact is, on PostgreSQL, the lowest transaction id still running when the statement's snapshot was
// taken: every transaction below it has committed or rolled back.
const settledXact = `pg_snapshot_xmin(pg_current_snapshot())::text::bigint`

// Run watches until ctx ends, calling notify with each set of changes after its start, from one goroutine; also with
// an empty set (nothing to announce) when only the data version moved. It returns the first error it meets reading
// the database; the caller decides how to retry.
func (w *Watcher) Run(ctx context.Context, notify func(ChangeSet)) error {
	pos := w.from
	last := pos.dataVersion()
	wake := make(chan struct{}, 1)
	var conn *sql.Conn
	switch w.db.Dialector.Name() {
	case "postgres":
		listenCtx, stopListening := context.WithCancel(ctx)
		listening := make(chan struct{})
		defer func() { stopListening(); <-listening }()
		go func() {
			defer close(listening)
			w.listen(listenCtx, wake)
		}()
	case "sqlite":
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
		case <-wake:
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
		set, next, err := w.since(ctx, pos)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watch: read the change feed: %w", err)
		}
		pos = next
		w.checked()
		if !set.Empty() || set.Version != last {
			last = set.Version
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

// feedPosition is how far a watcher has read the change feed.
type feedPosition struct {
	// version is the newest change read in order: a pk on SQLite; on PostgreSQL a transaction id below which every
	// change has been read.
	version int64
	// early is, on PostgreSQL, the newest pk read ahead of version: a change that committed while an older
	// transaction still ran is announced at once, and not again when version passes it.
	early int64
	// announced holds the pks of the changes announced ahead of version.
	announced map[int64]bool
}

// dataVersion names what has been announced: the version, and the changes announced ahead of it if any.
func (pos feedPosition) dataVersion() string {
	version := strconv.FormatInt(pos.version, 10)
	if len(pos.announced) == 0 {
		return version
	}
	pks := slices.Sorted(maps.Keys(pos.announced))
	h := fnv.New64a()
	for _, pk := range pks {
		h.Write(binary.LittleEndian.AppendUint64(nil, uint64(pk)))
	}
	return version + "." + strconv.FormatUint(h.Sum64(), 36)
}

// since reads the changes after pos and works out which products they touch.
func (w *Watcher) since(ctx context.Context, pos feedPosition) (ChangeSet, feedPosition, error) {
	db := w.db.WithContext(ctx)
	type feedRow struct {
		Change
		Settled bool
	}
	var rows []feedRow
	onPostgres := db.Dialector.Name() == "postgres"
	var err error
	if onPostgres {
		// One statement, so one snapshot: the settled changes in order, and ahead of them those that committed
		// already (a change is visible only once committed). Reading ahead by pk may miss one that commits late;
		// it is announced when it settles.
		err = db.Raw(`SELECT c.*, c.xact < s.xmin AS settled FROM changes c, (SELECT `+settledXact+` AS xmin) s
			WHERE c.xact > ? AND (c.xact < s.xmin OR c.pk > ?) ORDER BY c.xact, c.pk`, pos.version, pos.early).Scan(&rows).Error
	} else {
		err = db.Model(&Change{}).Select("*, TRUE AS settled").Where("pk > ?", pos.version).Order("pk").Scan(&rows).Error
	}
	if err != nil {
		return ChangeSet{}, pos, err
	}
	pos.announced = maps.Clone(pos.announced)
	var set ChangeSet
	for _, row := range rows {
		switch {
		case !onPostgres:
			pos.version = max(pos.version, row.PK)
		case row.Settled:
			pos.version = max(pos.version, row.Xact)
			if pos.announced[row.PK] {
				delete(pos.announced, row.PK)
				continue
			}
		default:
			pos.announced[row.PK] = true
		}
		pos.early = max(pos.early, row.PK)
		appendNew(&set.Projects, row.ProjectID)
		appendNew(&set.StackIDs, row.StackID)
		appendNew(&set.Products, row.ProductName)
	}
	set.Version = pos.dataVersion()
	if len(set.StackIDs) > mostListedStacks {
		return ChangeSet{Version: set.Version, Everything: true}, pos, nil
	}
	if len(set.StackIDs) > 0 {
		var products []string
		err := db.Raw(`SELECT DISTINCT p.name FROM products p
			JOIN product_stacks ps ON ps.product_pk = p.pk
			JOIN stacks s ON s.pk = ps.stack_pk
			WHERE s.stack_id IN ?`, set.StackIDs).Scan(&products).Error
		if err != nil {
			return ChangeSet{}, pos, err
		}
		for _, p := range products {
			appendNew(&set.Products, p)
		}
	}
	return set, pos, nil
}

// Empty reports whether the set announces nothing (only, perhaps, a new version).
func (c ChangeSet) Empty() bool {
	return !c.Everything && len(c.Projects) == 0 && len(c.StackIDs) == 0 && len(c.Products) == 0
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

// Delays before dialling a lost listening connection again, doubling from the first to the most.
const (
	listenRetryFirst = 250 * time.Millisecond
	listenRetryMost  = 30 * time.Second
)

// listen holds a PostgreSQL connection of its own that LISTENs on changesChannel, and wakes the watcher at every
// notification of its schema, until ctx ends. A lost connection is logged and dialled again: meanwhile the
// watcher's tick still finds every change, only later.
func (w *Watcher) listen(ctx context.Context, wake chan<- struct{}) {
	dialector, ok := w.db.Dialector.(*postgres.Dialector)
	if !ok || dialector.Config == nil || dialector.Config.DSN == "" {
		w.log.Warn("watch: no connection string to listen with; changes are seen at each tick")
		return
	}
	delay := listenRetryFirst
	for ctx.Err() == nil {
		err := w.listenOnce(ctx, dialector.Config.DSN, wake, func() { delay = listenRetryFirst })
		if ctx.Err() != nil {
			return
		}
		w.log.Warn("watch: listening for changes failed; changes are seen at each tick until it is back", "error", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, listenRetryMost)
	}
}

// ListenerName is the application_name of a watcher's listening connection, followed by its schema: the name
// pg_stat_activity shows it under.
const ListenerName = "stackboard changes "

// listenOnce listens on one connection until it fails or ctx ends; listening is called once it listens.
func (w *Watcher) listenOnce(ctx context.Context, dsn string, wake chan<- struct{}, listening func()) error {
	var schema string
	if err := w.db.WithContext(ctx).Raw(`SELECT current_schema()`).Scan(&schema).Error; err != nil {
		return err
	}
	config, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	config.RuntimeParams["application_name"] = ListenerName + schema
	conn, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return err
	}
	listening()
	// Whatever committed while nobody listened is read now rather than at the next tick.
	signal(wake)
	for {
		notification, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if notification.Payload == schema {
			signal(wake)
		}
	}
}

// signal wakes the watcher unless a wake-up is pending already.
func signal(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}
