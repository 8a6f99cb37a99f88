package fleet

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"stackboard/models"
	"stackboard/models/testdb"
)

// generateTestFleet makes a fleet of a named size, failing the test on any error.
func generateTestFleet(t testing.TB, name string, seed uint64, now time.Time) Fleet {
	t.Helper()
	size, err := ParseSize(name)
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := Generate(size, seed, now)
	if err != nil {
		t.Fatalf("Generate(%s, %d): %v", name, seed, err)
	}
	return fleet
}

// generatedTestDB fills a fresh database with the S fleet of seed 1 and returns both.
func generatedTestDB(t testing.TB) (*gorm.DB, Fleet) {
	t.Helper()
	db := openTestDB(t)
	fleet := generateTestFleet(t, "S", 1, models.Now())
	if _, err := Fill(context.Background(), db, fleet); err != nil {
		t.Fatalf("Fill: %v", err)
	}
	return db, fleet
}

// openTestDB opens a fresh, migrated database of the test's own (see testdb) and closes it when the test ends.
func openTestDB(t testing.TB) *gorm.DB {
	t.Helper()
	dsn := testdb.DSN(t)
	db, err := models.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := models.Close(db); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// fleetManifest describes a fleet as a manifest, failing the test when it cannot.
func fleetManifest(t testing.TB, f Fleet) models.Manifest {
	t.Helper()
	m, err := f.Manifest()
	if err != nil {
		t.Fatalf("Manifest: %v", err)
	}
	return m
}

// mustImport decodes and imports an inline manifest, failing the test on any error.
func mustImport(t testing.TB, db *gorm.DB, text string) {
	t.Helper()
	file, err := models.DecodeManifest("test.yaml", strings.NewReader(text))
	if err != nil {
		t.Fatalf("DecodeManifest: %v", err)
	}
	if _, err := models.Import(context.Background(), db, file); err != nil {
		t.Fatalf("Import: %v", err)
	}
}

// loadDemo fills db with the embedded demo data set.
func loadDemo(t testing.TB, db *gorm.DB) {
	t.Helper()
	if loaded, err := models.LoadDemo(context.Background(), db); err != nil || !loaded {
		t.Fatalf("LoadDemo: %v, %v", loaded, err)
	}
}

// rowCounts is how many rows each table of the data model holds.
type rowCounts struct {
	Projects, Stacks, Services, Products, ProductStacks int
}

func countRows(t testing.TB, db *gorm.DB) rowCounts {
	t.Helper()
	return rowCounts{tableCount(t, db, "projects"), tableCount(t, db, "stacks"), tableCount(t, db, "services"),
		tableCount(t, db, "products"), tableCount(t, db, "product_stacks")}
}

func manifestYAML(t testing.TB, m models.Manifest) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := models.EncodeManifest(&buf, m); err != nil {
		t.Fatalf("EncodeManifest: %v", err)
	}
	return buf.Bytes()
}

// exportWithoutTimes exports a database as YAML without the stacks' times, which generated manifests leave out.
func exportWithoutTimes(t testing.TB, db *gorm.DB) []byte {
	t.Helper()
	m, err := models.Export(context.Background(), db)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	for i := range m.Projects {
		for j := range m.Projects[i].Stacks {
			m.Projects[i].Stacks[j].CreateTime, m.Projects[i].Stacks[j].UpdateTime = nil, nil
		}
	}
	return manifestYAML(t, m)
}

func tableCount(t testing.TB, db *gorm.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Raw("SELECT COUNT(*) FROM " + table).Scan(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestParseFleetSize(t *testing.T) {
	tests := []struct {
		name   string
		stacks int
		err    string
	}{
		{"S", 100, ""},
		{"m", 1_000, ""},
		{"L", 10_000, ""},
		{"X", 0, `unknown fleet size "X" (one of S, M, L)`},
		{"", 0, "unknown fleet size"},
	}
	for _, tt := range tests {
		size, err := ParseSize(tt.name)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSize(%q): error %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || size.Stacks != tt.stacks {
			t.Errorf("ParseSize(%q) = %+v, %v; want %d stacks", tt.name, size, err, tt.stacks)
		}
	}
}

func TestGenerateFillsExactCounts(t *testing.T) {
	db, _ := generatedTestDB(t)
	tests := []struct {
		table string
		want  int
	}{
		{"projects", 2},
		{"stacks", 100},
		{"services", 400},
		{"products", 10},
		{"product_stacks", 10 * stacksPerProduct},
		{"stack_events", 2_000},
		{"changes", 1},
	}
	for _, tt := range tests {
		if got := tableCount(t, db, tt.table); got != tt.want {
			t.Errorf("%s holds %d rows, want %d", tt.table, got, tt.want)
		}
	}
}

func TestGeneratedFleetsHaveTheirSizesCounts(t *testing.T) {
	for _, name := range []string{"S", "M"} {
		f := generateTestFleet(t, name, 1, models.Now())
		size := f.Size
		got := []int{len(f.Projects), len(f.Stacks), len(f.Services), len(f.Products), len(f.ProductStacks), len(f.Events)}
		want := []int{size.Projects, size.Stacks, size.Services, size.Products, size.Products * stacksPerProduct, size.Events}
		if !slices.Equal(got, want) {
			t.Errorf("%s: projects, stacks, services, products, placements, events = %v, want %v", name, got, want)
		}
	}
}

// Every status appears in both sizes, in proportions a real fleet would have.
func TestGeneratedFleetsCoverEveryStatus(t *testing.T) {
	emitted := []string{models.EventCreationComplete, models.EventUpdateInProgress, models.EventUpdateComplete, models.EventUpdateFailed,
		models.EventDeletionInProgress, models.EventDeletionFailed, models.EventDeletionComplete, models.EventLog, models.EventError}
	for _, name := range []string{"S", "M"} {
		f := generateTestFleet(t, name, 1, models.Now())
		lifecycles, states, runs, stackRuns, types := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
		byStack := make([][]string, len(f.Stacks))
		for _, s := range f.Services {
			states[s.State]++
			runs[s.Status]++
			byStack[s.StackPK-1] = append(byStack[s.StackPK-1], s.Status)
		}
		empty := 0
		for i, s := range f.Stacks {
			lifecycles[s.Status]++
			stackRuns[models.StackRunStatus(byStack[i])]++
			if len(byStack[i]) == 0 {
				empty++
			}
		}
		for _, e := range f.Events {
			types[e.EventType]++
		}
		for _, check := range []struct {
			what  string
			all   []string
			count map[string]int
		}{
			{"lifecycle status", models.LifecycleStatuses(), lifecycles},
			{"service state", models.ServiceStates(), states},
			{"service run status", models.RunStatuses(), runs},
			{"stack run status", models.RunStatuses(), stackRuns},
			{"event type", emitted, types},
		} {
			for _, value := range check.all {
				if check.count[value] == 0 {
					t.Errorf("%s: no %s is %s (%v)", name, check.what, value, check.count)
				}
			}
		}
		settled := lifecycles[models.LifecycleDeploymentComplete] + lifecycles[models.LifecycleCreationComplete]
		if share := float64(settled) / float64(len(f.Stacks)); share < 0.75 || share > 0.9 {
			t.Errorf("%s: %.0f%% of stacks are DEPLOYMENT_COMPLETE or CREATION_COMPLETE, want most but not all", name, 100*share)
		}
		if share := float64(runs[models.RunRunning]) / float64(len(f.Services)); share < 0.85 || share > 0.98 {
			t.Errorf("%s: %.0f%% of services are RUNNING", name, 100*share)
		}
		if empty == 0 || empty > len(f.Stacks)/20 {
			t.Errorf("%s: %d stacks have no services, want a few", name, empty)
		}
	}
}

func TestGenerateIsRepeatable(t *testing.T) {
	now := models.Now()
	first := manifestYAML(t, fleetManifest(t, generateTestFleet(t, "S", 1, now)))
	tests := []struct {
		seed uint64
		now  time.Time
		same bool
	}{
		{1, now, true},
		{1, now.Add(-72 * time.Hour), true}, // manifests carry no times
		{2, now, false},
	}
	for _, tt := range tests {
		fleet := generateTestFleet(t, "S", tt.seed, tt.now)
		if got := manifestYAML(t, fleetManifest(t, fleet)); bytes.Equal(got, first) != tt.same {
			t.Errorf("seed %d, now %s: manifest equal to seed 1's: %v, want %v", tt.seed, tt.now, !tt.same, tt.same)
		}
	}
	a, b := generateTestFleet(t, "S", 7, now), generateTestFleet(t, "S", 7, now)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("the same seed and time made different fleets")
	}
	for _, s := range a.Stacks {
		if err := models.ValidateStackID("stack_id", s.StackID); err != nil {
			t.Fatal(err)
		}
	}
}

// The manifest imports cleanly, and the imported, the filled and the described fleets are one and the same.
func TestGeneratedManifestImports(t *testing.T) {
	filled, fleet := generatedTestDB(t)
	manifest := manifestYAML(t, fleetManifest(t, fleet))
	file, err := models.DecodeManifest("generated.yaml", bytes.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	imported := openTestDB(t)
	report, err := models.Import(context.Background(), imported, file)
	if err != nil {
		t.Fatalf("models.Import: %v", err)
	}
	if report.ProjectsCreated != 2 || report.StacksCreated != 100 || report.ProductsCreated != 10 {
		t.Errorf("models.Import: %s", report)
	}
	if got, want := countRows(t, imported), countRows(t, filled); got != want {
		t.Errorf("imported counts %+v, filled %+v", got, want)
	}
	if got := exportWithoutTimes(t, imported); !bytes.Equal(got, manifest) {
		t.Errorf("the imported database exports differently from the manifest")
	}
	if got := exportWithoutTimes(t, filled); !bytes.Equal(got, manifest) {
		t.Errorf("the filled database exports differently from the manifest")
	}
}

func TestGenerateRefusesANonEmptyDatabase(t *testing.T) {
	tests := []struct {
		name string
		fill func(t *testing.T, db *gorm.DB)
	}{
		{"demo", func(t *testing.T, db *gorm.DB) { loadDemo(t, db) }},
		{"a project without stacks", func(t *testing.T, db *gorm.DB) { mustImport(t, db, "projects:\n  - id: proj-1\n") }},
		{"generated before", func(t *testing.T, db *gorm.DB) {
			if _, err := Fill(context.Background(), db, generateTestFleet(t, "S", 3, models.Now())); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTestDB(t)
			tt.fill(t, db)
			before, events := countRows(t, db), tableCount(t, db, "stack_events")
			_, err := Fill(context.Background(), db, generateTestFleet(t, "S", 1, models.Now()))
			if err == nil || !strings.Contains(err.Error(), "already holds") || !strings.Contains(err.Error(), "nothing was changed") {
				t.Errorf("Fill: %v, want a refusal", err)
			}
			if after := countRows(t, db); after != before || tableCount(t, db, "stack_events") != events {
				t.Errorf("the refusal changed the counts from %+v to %+v", before, after)
			}
		})
	}
}

func TestGeneratedProductsFollowTheRules(t *testing.T) {
	db, fleet := generatedTestDB(t)
	var rows []struct {
		Product        string
		ProductProject string
		StackProject   string
		StackPK        int64
		Layer          int
		Ordinal        int
	}
	err := db.Raw(`SELECT p.name AS product, p.project_id AS product_project, s.project_id AS stack_project,
			ps.stack_pk, ps.layer, ps.ordinal
		FROM product_stacks ps JOIN products p ON p.pk = ps.product_pk JOIN stacks s ON s.pk = ps.stack_pk
		ORDER BY p.pk, ps.layer, ps.ordinal`).Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	layers := make(map[string][]int)
	seen := make(map[string][]int64)
	for _, r := range rows {
		if r.StackProject != r.ProductProject {
			t.Errorf("product %s of project %s holds a stack of project %s", r.Product, r.ProductProject, r.StackProject)
		}
		if slices.Contains(seen[r.Product], r.StackPK) {
			t.Errorf("product %s holds stack %d twice", r.Product, r.StackPK)
		}
		seen[r.Product] = append(seen[r.Product], r.StackPK)
		if want := len(layers[r.Product]) % generatedLayerWidth; r.Ordinal != want {
			t.Errorf("product %s: layer %d ordinal %d, want %d", r.Product, r.Layer, r.Ordinal, want)
		}
		layers[r.Product] = append(layers[r.Product], r.Layer)
	}
	want := []int{1, 1, 1, 2, 2, 2, 3, 3, 3}
	for name, got := range layers {
		if !slices.Equal(got, want) {
			t.Errorf("product %s has layers %v, want 3 layers of 3 stacks", name, got)
		}
	}
	if len(layers) != 10 {
		t.Errorf("%d products hold stacks, want 10", len(layers))
	}
	// Stacks may be shared between products, and some stacks are in none.
	products := make(map[int64]int)
	for _, ps := range fleet.ProductStacks {
		products[ps.StackPK]++
	}
	shared := 0
	for _, n := range products {
		if n > 1 {
			shared++
		}
	}
	if shared == 0 || len(products) == len(fleet.Stacks) {
		t.Errorf("%d of %d stacks are in products, %d in more than one; want some shared and some in none", len(products), len(fleet.Stacks), shared)
	}
}

// Events look as if the app had recorded them: in time order, elapsed seconds per resource, the last lifecycle
// event agreeing with the stack's status and status_changed_at, the last event with its update_time.
func TestGeneratedEventsAreConsistent(t *testing.T) {
	now := models.Now()
	db := openTestDB(t)
	fleet := generateTestFleet(t, "S", 1, now)
	if _, err := Fill(context.Background(), db, fleet); err != nil {
		t.Fatal(err)
	}
	var stacks []models.Stack
	if err := db.Order("pk").Find(&stacks).Error; err != nil {
		t.Fatal(err)
	}
	var events []models.StackEvent
	if err := db.Order("stack_pk, event_time, pk").Find(&events).Error; err != nil {
		t.Fatal(err)
	}
	var services []models.Service
	if err := db.Order("stack_pk, ordinal").Find(&services).Error; err != nil {
		t.Fatal(err)
	}
	eventsOf := make(map[int64][]models.StackEvent)
	for _, e := range events {
		eventsOf[e.StackPK] = append(eventsOf[e.StackPK], e)
	}
	servicesOf := make(map[int64][]models.Service)
	for _, s := range services {
		servicesOf[s.StackPK] = append(servicesOf[s.StackPK], s)
	}
	oldest := now.Add(-30 * 24 * time.Hour)
	for _, s := range stacks {
		list := eventsOf[s.PK]
		if len(list) == 0 || list[0].ResourceType != models.ResourceStack || list[0].EventMessage != "created in CREATION_COMPLETE" ||
			!list[0].EventTime.Equal(s.CreateTime) {
			t.Errorf("%s: the first event is not its creation at %s: %+v", s.Name, s.CreateTime, list[0])
			continue
		}
		previous := make(map[string]time.Time)
		var lastLifecycle models.StackEvent
		lastOf := make(map[string]models.StackEvent)
		for i, e := range list {
			if e.EventTime.Before(oldest) || e.EventTime.After(now) {
				t.Errorf("%s: event at %s is not in the last 30 days", s.Name, e.EventTime)
			}
			if i > 0 && e.EventTime.Before(list[i-1].EventTime) {
				t.Errorf("%s: events go back in time", s.Name)
			}
			if !slices.Contains(models.EventTypes(), e.EventType) {
				t.Errorf("%s: unknown event type %s", s.Name, e.EventType)
			}
			key := e.ResourceType + "/" + e.ResourceName
			var want int64
			if p, ok := previous[key]; ok {
				want = int64(e.EventTime.Sub(p).Seconds())
			}
			if e.ElapsedSeconds != want {
				t.Errorf("%s: %s %s has elapsed_seconds %d, want %d", s.Name, key, e.EventType, e.ElapsedSeconds, want)
			}
			previous[key] = e.EventTime
			if e.ResourceType == models.ResourceStack && e.EventType != models.EventLog {
				lastLifecycle = e
			}
			if e.ResourceType == models.ResourceService {
				lastOf[e.ResourceName] = e
			}
		}
		if got, want := lastLifecycle.EventType, models.LifecycleEventType(s.Status); got != want {
			t.Errorf("%s is %s but its last lifecycle event is %s %q", s.Name, s.Status, got, lastLifecycle.EventMessage)
		}
		if s.Status != models.LifecycleCreationComplete && !strings.Contains(lastLifecycle.EventMessage, "→ "+s.Status) {
			t.Errorf("%s is %s but its last lifecycle event says %q", s.Name, s.Status, lastLifecycle.EventMessage)
		}
		if !lastLifecycle.EventTime.Equal(s.StatusChangedAt) {
			t.Errorf("%s: status changed at %s, its last lifecycle event is at %s", s.Name, s.StatusChangedAt, lastLifecycle.EventTime)
		}
		if last := list[len(list)-1]; !last.EventTime.Equal(s.UpdateTime) {
			t.Errorf("%s: updated at %s, its last event is at %s", s.Name, s.UpdateTime, last.EventTime)
		}
		if models.IsFailedLifecycle(s.Status) != (s.StatusMessage != "") ||
			s.StatusMessage != "" && !strings.HasSuffix(lastLifecycle.EventMessage, ": "+s.StatusMessage) {
			t.Errorf("%s (%s): status message %q, last lifecycle event %q", s.Name, s.Status, s.StatusMessage, lastLifecycle.EventMessage)
		}
		for _, svc := range servicesOf[s.PK] {
			last, ok := lastOf[svc.Name]
			created := fmt.Sprintf("created: %s, %s, image %s:%s", svc.State, svc.Status, svc.ImageName, svc.ImageTag)
			switch {
			case !ok:
				t.Errorf("%s: service %s has no events", s.Name, svc.Name)
			case last.EventType == models.EventCreationComplete && last.EventMessage != created:
				t.Errorf("%s: service %s is %s but was created %q", s.Name, svc.Name, created, last.EventMessage)
			case last.EventType != models.EventCreationComplete && last.EventType != models.ServiceEventType(svc):
				t.Errorf("%s: service %s is %s/%s but its last event is %s %q", s.Name, svc.Name, svc.State, svc.Status, last.EventType, last.EventMessage)
			}
		}
	}
}

// The app's own queries read a generated database.
func TestGeneratedDatabaseAnswersQueries(t *testing.T) {
	ctx := context.Background()
	db, fleet := generatedTestDB(t)
	products, err := models.FindProducts(ctx, db, models.ProductFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(products) != 10 {
		t.Fatalf("ListProducts: %d products, want 10", len(products))
	}
	stable := 0
	for _, p := range products {
		if p.IsStable {
			stable++
		}
		if len(p.StackDeps) != generatedLayers {
			t.Errorf("%s has %d layers", p.ProductName, len(p.StackDeps))
		}
	}
	if stable < 5 || stable == 10 {
		t.Errorf("%d of 10 products are stable, want most but not all", stable)
	}
	total := 0
	for _, p := range fleet.Projects {
		list, err := models.FindStacks(ctx, db, p.ID, models.StackFilter{})
		if err != nil {
			t.Fatal(err)
		}
		total += len(list.Stacks)
		for i := 1; i < len(list.Stacks); i++ {
			if list.Stacks[i].CreateTime.After(list.Stacks[i-1].CreateTime.Time) {
				t.Fatalf("ListStacks(%s) is not newest first", p.ID)
			}
		}
	}
	if total != 100 {
		t.Errorf("ListStacks over every project: %d stacks, want 100", total)
	}
	var failed models.Stack
	for _, s := range fleet.Stacks {
		if s.Status == models.LifecycleDeploymentFailed {
			failed = s
			break
		}
	}
	page, err := models.ListEvents(ctx, db, failed.ProjectID, failed.Name, models.EventQuery{Limit: 3})
	if err != nil || len(page.StackEvents) != 3 || page.NextMarker == nil {
		t.Fatalf("ListEvents(%s): %+v, %v", failed.Name, page, err)
	}
	if e := page.StackEvents[0]; e.EventType != models.EventUpdateFailed || !strings.Contains(e.EventMessage, failed.StatusMessage) {
		t.Errorf("the newest event of %s is %+v, want its failure", failed.Name, e)
	}
	timeline, err := models.ProductTimeline(ctx, db, products[0].ProductName, models.TimelineLength)
	if err != nil || len(timeline) != models.TimelineLength {
		t.Errorf("ProductTimeline: %d events, %v", len(timeline), err)
	}
}

// A generated database keeps each stack's run status equal to the roll-up of its services, as writes do.
func TestGeneratedStacksKeepTheirRunStatus(t *testing.T) {
	db, _ := generatedTestDB(t)
	var stacks []models.Stack
	if err := db.Order("pk").Find(&stacks).Error; err != nil {
		t.Fatal(err)
	}
	var services []models.Service
	if err := db.Order("stack_pk, ordinal").Find(&services).Error; err != nil {
		t.Fatal(err)
	}
	statuses := make(map[int64][]string)
	for _, s := range services {
		statuses[s.StackPK] = append(statuses[s.StackPK], s.Status)
	}
	wrong, running := 0, 0
	for _, s := range stacks {
		if s.RunStatus != models.StackRunStatus(statuses[s.PK]) {
			wrong++
		}
		if s.RunStatus == models.RunRunning {
			running++
		}
	}
	if wrong != 0 || running == 0 {
		t.Errorf("%d stacks keep a run status their services do not roll up to; %d are RUNNING", wrong, running)
	}
}
