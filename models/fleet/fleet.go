package fleet

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"stackboard/models"
)

// Size says how big a generated fleet is; Generate meets every count exactly.
type Size struct {
	Name     string
	Projects int
	Stacks   int
	Services int
	Products int
	Events   int
}

// Sizes lists the sizes `stackboard generate --size` knows, smallest first.
func Sizes() []Size {
	return []Size{
		{Name: "S", Projects: 2, Stacks: 100, Services: 400, Products: 10, Events: 2_000},
		{Name: "M", Projects: 5, Stacks: 1_000, Services: 4_000, Products: 100, Events: 20_000},
		{Name: "L", Projects: 20, Stacks: 10_000, Services: 50_000, Products: 1_000, Events: 200_000},
	}
}

// ParseSize returns the fleet size of that name (S, M or L, in either case).
func ParseSize(name string) (Size, error) {
	var names []string
	for _, size := range Sizes() {
		if strings.EqualFold(name, size.Name) {
			return size, nil
		}
		names = append(names, size.Name)
	}
	return Size{}, fmt.Errorf("unknown fleet size %q (one of %s)", name, strings.Join(names, ", "))
}

// Every generated product has this shape: enough to show layers and gates, small enough to read.
const (
	generatedLayers     = 3
	generatedLayerWidth = 3
	stacksPerProduct    = generatedLayers * generatedLayerWidth
	// maxGeneratedServices bounds the services of one stack; the pool of service names holds at least this many.
	maxGeneratedServices = 12
	// generatedHistory is how far back the generated events reach.
	generatedHistory = 30 * 24 * 3600
	// generateStream is the second PCG word: fixed, so that the seed alone decides the fleet.
	generateStream = 0x5374_6163_6b62_6f61
)

// Fleet is a made-up fleet held in memory, row for row what Fill writes and Manifest describes. Projects are
// ordered by id; stacks, products and events are in creation order, each row's PK its index plus one; services are
// grouped by stack, each stack's in declared order.
type Fleet struct {
	Size Size
	models.Tables
}

// Generate makes a realistic fleet of the given size. The same seed always makes the same fleet; now only
// anchors its times, which all fall in the 30 days before it.
func Generate(size Size, seed uint64, now time.Time) (Fleet, error) {
	if err := checkFleetSize(size); err != nil {
		return Fleet{}, err
	}
	g := &fleetGenerator{
		rng:   rand.New(rand.NewPCG(seed, generateStream)),
		size:  size,
		now:   now.UTC().Truncate(time.Second),
		fleet: Fleet{Size: size},
	}
	g.planProjects()
	g.planStacks()
	if err := g.planServices(); err != nil {
		return Fleet{}, err
	}
	if err := g.planEventBudgets(); err != nil {
		return Fleet{}, err
	}
	if err := g.writeStacks(); err != nil {
		return Fleet{}, err
	}
	g.writeProducts()
	g.writeProjects()
	return g.fleet, nil
}

func checkFleetSize(s Size) error {
	envs := len(generatedEnvs)
	switch {
	case s.Projects < 1 || s.Projects > len(generatedTeams)*envs:
		return fmt.Errorf("a fleet has 1 to %d projects, not %d", len(generatedTeams)*envs, s.Projects)
	case s.Stacks < stacksPerProduct*s.Projects:
		return fmt.Errorf("%d projects need at least %d stacks, not %d", s.Projects, stacksPerProduct*s.Projects, s.Stacks)
	case s.Products < 0 || s.Services < 0 || s.Events < 0:
		return errors.New("a fleet's counts cannot be negative")
	}
	return nil
}

// Manifest describes the fleet as a manifest that Import accepts. It carries no times, so that the same seed gives
// the same document byte for byte; Import stamps the stacks with the time of the import.
func (f Fleet) Manifest() (models.Manifest, error) {
	return f.Tables.Manifest(false)
}

// Report counts the rows Fill wrote.
type Report struct {
	Projects, Stacks, Services, Products, Events int
}

// String summarises the report for people.
func (r Report) String() string {
	return fmt.Sprintf("%d projects, %d stacks, %d services, %d products, %d events",
		r.Projects, r.Stacks, r.Services, r.Products, r.Events)
}

// Fill writes a generated fleet into an empty database (see models.FillEmpty, which refuses any other).
func Fill(ctx context.Context, db *gorm.DB, f Fleet) (Report, error) {
	if err := models.FillEmpty(ctx, db, f.Tables); err != nil {
		return Report{}, err
	}
	return Report{Projects: len(f.Projects), Stacks: len(f.Stacks), Services: len(f.Services),
		Products: len(f.Products), Events: len(f.Events)}, nil
}

// Name parts of generated fleets.

var generatedTeams = []string{"payments", "checkout", "search", "identity", "catalog", "messaging", "analytics",
	"billing", "logistics", "media", "ads", "fraud", "notifications", "inventory", "pricing", "shipping"}

// generatedEnvs are in the order projects are handed out: most projects are production ones.
var generatedEnvs = []string{"prod", "staging", "dev", "qa"}

var generatedRegions = []string{"eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1"}

// pciTeams handle card data; their stacks say so in their metadata.
var pciTeams = []string{"payments", "billing", "fraud", "checkout"}

var generatedProductWords = []string{"storefront", "ledger", "atlas", "orion", "helios", "nimbus", "beacon", "harbor",
	"compass", "pulse", "quasar", "zephyr", "aurora", "cobalt", "delta", "ember", "falcon", "granite", "horizon",
	"iris", "jade", "kodo", "lumen", "meridian", "nova", "onyx", "prism", "quartz", "rover", "sierra", "tundra",
	"vertex", "willow", "yukon", "zenith", "cascade", "summit", "lighthouse", "keystone", "anchor"}

// stackKind is a kind of stack: its name stem, its layer in products (1 data, 2 backend, 3 edge), a description,
// and its services in declared order.
type stackKind struct {
	base     string
	tier     int
	desc     string
	services []string
}

var generatedStackKinds = []stackKind{
	{"memcached", 1, "Memcached pool in front of the product catalogue", []string{"memcached", "metrics-exporter"}},
	{"redis-cache", 1, "Redis cache with Sentinel fail-over", []string{"redis", "sentinel", "metrics-exporter"}},
	{"session-store", 1, "Redis that keeps web sessions for 24 hours", []string{"redis", "sentinel"}},
	{"orders-db", 1, "PostgreSQL primary for orders, behind PgBouncer, backed up hourly", []string{"postgres", "pgbouncer", "backup", "metrics-exporter"}},
	{"ledger-db", 1, "PostgreSQL for the double-entry ledger", []string{"postgres", "pgbouncer", "backup"}},
	{"events-kafka", 1, "Kafka cluster for domain events", []string{"broker", "zookeeper", "schema-registry"}},
	{"search-cluster", 1, "Elasticsearch cluster for product search", []string{"elasticsearch", "kibana"}},
	{"job-queue", 1, "RabbitMQ for background jobs", []string{"rabbitmq", "metrics-exporter"}},
	{"profile-store", 1, "MongoDB replica set for customer profiles", []string{"mongodb", "backup"}},
	{"config-etcd", 1, "etcd holding feature flags and runtime configuration", []string{"etcd", "backup"}},
	{"metrics-store", 1, "ClickHouse for product analytics", []string{"clickhouse", "backup"}},
	{"checkout-api", 2, "Checkout API: takes orders from the storefront and hands them to the ledger", []string{"api", "worker", "migrate"}},
	{"ledger-service", 2, "Double-entry ledger and nightly reconciliation", []string{"api", "worker", "scheduler"}},
	{"order-service", 2, "Order lifecycle: placement, changes, cancellation", []string{"api", "consumer", "migrate"}},
	{"user-profile", 2, "Customer profiles, addresses and preferences", []string{"api", "grpc"}},
	{"pricing-engine", 2, "Computes prices, discounts and taxes", []string{"grpc", "worker"}},
	{"fraud-scorer", 2, "Scores payments for fraud before capture", []string{"grpc", "worker", "consumer"}},
	{"inventory-sync", 2, "Keeps stock levels in step with the warehouses", []string{"worker", "scheduler"}},
	{"search-indexer", 2, "Feeds catalogue changes into the search cluster", []string{"indexer", "consumer"}},
	{"notification-worker", 2, "Sends e-mail, SMS and push notifications", []string{"worker", "consumer", "scheduler"}},
	{"payment-gateway", 2, "Talks to the card processors", []string{"api", "worker"}},
	{"catalog-api", 2, "models.Product catalogue API", []string{"api", "worker", "cron"}},
	{"billing-worker", 2, "Invoices and subscription renewals", []string{"worker", "scheduler"}},
	{"recommendation-api", 2, "\"Customers also bought\" recommendations", []string{"api", "worker"}},
	{"shipping-rates", 2, "Carrier rates and delivery estimates", []string{"api", "cron"}},
	{"auth-service", 2, "Sign-in, tokens and sessions", []string{"api", "grpc", "migrate"}},
	{"storefront-web", 3, "The public shop front", []string{"web", "nginx", "bff"}},
	{"admin-console", 3, "Back-office console for support staff", []string{"web", "api"}},
	{"api-gateway", 3, "Public API gateway: routing, rate limits, API keys", []string{"gateway", "envoy"}},
	{"mobile-bff", 3, "Backend for the mobile apps", []string{"bff", "nginx"}},
	{"partner-portal", 3, "Portal where partners manage their listings", []string{"web", "api", "worker"}},
	{"status-page", 3, "Public status page", []string{"web"}},
	{"edge-proxy", 3, "TLS termination and caching at the edge", []string{"envoy", "nginx"}},
}

// generatedSidecars pad any stack beyond its kind's services; generatedExtraServices pad the team's own stacks
// (layers 2 and 3), and there are at least maxGeneratedServices of them.
var (
	generatedSidecars      = []string{"log-shipper", "metrics-exporter", "otel-collector", "config-reloader", "vault-agent", "backup"}
	generatedExtraServices = []string{"log-shipper", "metrics-exporter", "otel-collector", "config-reloader",
		"vault-agent", "cron", "envoy", "nginx", "scheduler", "backup", "migrate", "admin"}
)

// serviceKind says where a service's image comes from: image "" is the owning team's own build of the stack.
type serviceKind struct {
	name    string
	image   string
	version string
	domain  bool
}

var generatedServiceKinds = []serviceKind{
	{"api", "", "", true}, {"web", "", "", true}, {"gateway", "", "", true}, {"bff", "", "", true},
	{"admin", "", "", true}, {"worker", "", "", false}, {"scheduler", "", "", false}, {"consumer", "", "", false},
	{"grpc", "", "", false}, {"cron", "", "", false}, {"migrate", "", "", false}, {"indexer", "", "", false},
	{"memcached", "mirror/memcached", "1.6.22", false}, {"redis", "mirror/redis", "7.2.4", false},
	{"sentinel", "mirror/redis", "7.2.4", false}, {"postgres", "mirror/postgres", "16.2.0", false},
	{"pgbouncer", "mirror/pgbouncer", "1.22.0", false}, {"broker", "mirror/kafka", "3.6.1", false},
	{"zookeeper", "mirror/zookeeper", "3.8.3", false}, {"schema-registry", "mirror/schema-registry", "7.6.0", false},
	{"elasticsearch", "mirror/elasticsearch", "8.12.2", false}, {"kibana", "mirror/kibana", "8.12.2", true},
	{"rabbitmq", "mirror/rabbitmq", "3.12.12", false}, {"mongodb", "mirror/mongo", "7.0.6", false},
	{"etcd", "mirror/etcd", "3.5.12", false}, {"clickhouse", "mirror/clickhouse", "24.2.1", false},
	{"nginx", "mirror/nginx", "1.25.4", false}, {"envoy", "mirror/envoy", "1.29.2", false},
	{"log-shipper", "platform/fluent-bit", "2.2.2", false}, {"metrics-exporter", "platform/prometheus-exporter", "0.15.0", false},
	{"otel-collector", "platform/otel-collector", "0.96.0", false}, {"config-reloader", "platform/config-reloader", "0.12.0", false},
	{"vault-agent", "platform/vault-agent", "1.15.6", false}, {"backup", "platform/backup-agent", "1.8.3", false},
}

// generatedLifecycles are the shares of the stack lifecycle statuses, in percent, and how many variants each has
// (every variant appears once the fleet is big enough).
var generatedLifecycles = []struct {
	status   string
	percent  float64
	variants int
}{
	{models.LifecycleDeploymentComplete, 66, 1},
	{models.LifecycleCreationComplete, 17, 1},
	{models.LifecycleRollbackComplete, 3, 1},
	{models.LifecycleDeploymentInProgress, 4, 4},
	{models.LifecycleDeploymentFailed, 3, 2},
	{models.LifecycleRollbackInProgress, 1.5, 1},
	{models.LifecycleRollbackFailed, 1.5, 1},
	{models.LifecycleDeletionInProgress, 2, 1},
	{models.LifecycleDeletionFailed, 2, 1},
}

// Variants of an in-progress deployment: which service is in flight, and how.
const (
	inFlightRolling  = iota // a rolling update, part-way through
	inFlightCreating        // a new service is being created
	inFlightStarting        // a service restarts with a new image
	inFlightScaling         // a service scales out
)

// healthy marks a settled stack that nothing went wrong with after its last deployment.
const healthy = -1

// Ways a settled stack goes wrong after its last deployment.
const (
	degradedFault        = iota // a service crashes
	degradedScaling             // a service scales out
	degradedStopped             // someone stopped a service
	degradedAutoUpdating        // a service updates itself
	degradedDown                // every service stopped
	degradedFlapping            // a service lost some of its instances
	degradedVariants
)

// failureMessages are the status messages of a *_FAILED status: the service's name, then maybe its image.
func failureMessages(status string) []string {
	switch status {
	case models.LifecycleDeploymentFailed:
		return []string{
			"service %s: health check failed 5 times in a row (HTTP 503 on /healthz)",
			"service %s: image %s could not be pulled: manifest unknown",
			"service %s: container exited with code 137 (OOMKilled) while starting",
			"service %s: readiness probe timed out after 300s",
		}
	case models.LifecycleRollbackFailed:
		return []string{
			"rollback of service %s timed out after 600s (image %s)",
			"rollback of service %s failed: volume data-0 is still attached to the old instance (image %s)",
		}
	}
	return []string{
		"service %s did not stop within 300s",
		"could not release volume data-0 of service %s: device busy",
	}
}

// fleetGenerator holds the one random source and the plans while a fleet is being made. Times in plans are
// seconds relative to now (negative: in the past), so that nothing random depends on now.
type fleetGenerator struct {
	rng      *rand.Rand
	size     Size
	now      time.Time
	projects []projectPlan
	stacks   []stackPlan
	fleet    Fleet
}

type projectPlan struct {
	id, team, env, region string
	stacks                []int
}

type stackPlan struct {
	project   int
	kind      *stackKind
	name      string
	host      string
	stackID   string
	lifecycle string
	variant   int
	empty     bool
	createdAt int64
	// settledAt is when the stack's lifecycle status last changed (for CREATION_COMPLETE: its creation).
	settledAt int64
	services  []simService
	// late marks the last service as created by the stack's in-progress deployment.
	late    bool
	budget  int
	running bool
}

func (g *fleetGenerator) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + g.rng.Int64N(hi-lo+1)
}

// logBetween draws from lo to hi with as many draws in every decade: recent events are dense, old ones sparse.
func (g *fleetGenerator) logBetween(lo, hi int64) int64 {
	lo = max(lo, 1)
	if hi <= lo {
		return lo
	}
	v := int64(math.Exp(math.Log(float64(lo)) + g.rng.Float64()*(math.Log(float64(hi))-math.Log(float64(lo)))))
	return min(max(v, lo), hi)
}

func (g *fleetGenerator) uuid() string {
	var u uuid.UUID
	binary.LittleEndian.PutUint64(u[:8], g.rng.Uint64())
	binary.LittleEndian.PutUint64(u[8:], g.rng.Uint64())
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u.String()
}

// apportion splits total into whole shares proportional to weights, by largest remainder.
func apportion(total int, weights []float64) []int {
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	shares := make([]int, len(weights))
	if sum <= 0 || total <= 0 {
		return shares
	}
	order := make([]int, len(weights))
	remainders := make([]float64, len(weights))
	given := 0
	for i, w := range weights {
		exact := float64(total) * w / sum
		shares[i] = int(exact)
		remainders[i] = exact - float64(shares[i])
		given += shares[i]
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return remainders[order[a]] > remainders[order[b]] })
	for k := 0; given < total; k++ {
		shares[order[k%len(order)]]++
		given++
	}
	return shares
}

// raiseTo lifts every share to at least its minimum, taking from the largest shares that can spare some.
func raiseTo(shares, minimum []int) {
	for i := range shares {
		for shares[i] < minimum[i] {
			donor := -1
			for j := range shares {
				if j != i && shares[j] > minimum[j] && (donor < 0 || shares[j] > shares[donor]) {
					donor = j
				}
			}
			if donor < 0 {
				return
			}
			shares[donor]--
			shares[i]++
		}
	}
}

func (g *fleetGenerator) planProjects() {
	n := g.size.Projects
	teams := slices.Clone(generatedTeams)
	g.rng.Shuffle(len(teams), func(i, j int) { teams[i], teams[j] = teams[j], teams[i] })
	left := n
	for e, env := range generatedEnvs {
		count := left
		if e < len(generatedEnvs)-1 {
			count = min(int(math.Ceil(float64(left)*0.6)), len(teams))
		}
		count = min(count, len(teams))
		for _, team := range teams[:count] {
			g.projects = append(g.projects, projectPlan{id: team + "-" + env, team: team, env: env,
				region: generatedRegions[g.rng.IntN(len(generatedRegions))]})
		}
		left -= count
	}
	slices.SortFunc(g.projects, func(a, b projectPlan) int { return strings.Compare(a.id, b.id) })
}

func (g *fleetGenerator) planStacks() {
	weights := make([]float64, len(g.projects))
	for i, p := range g.projects {
		switch p.env {
		case "prod":
			weights[i] = 1 + g.rng.Float64()
		case "staging":
			weights[i] = 0.4 + 0.4*g.rng.Float64()
		default:
			weights[i] = 0.2 + 0.3*g.rng.Float64()
		}
	}
	counts := apportion(g.size.Stacks, weights)
	minimum := make([]int, len(counts))
	for i := range minimum {
		minimum[i] = stacksPerProduct
	}
	raiseTo(counts, minimum)
	var kindsOf [4][]int
	for k, kind := range generatedStackKinds {
		kindsOf[kind.tier] = append(kindsOf[kind.tier], k)
	}
	for p, count := range counts {
		for range count {
			// About as many stacks of every layer, a few more backends.
			tier := 3
			if r := g.rng.Float64(); r < 0.34 {
				tier = 1
			} else if r < 0.70 {
				tier = 2
			}
			kinds := kindsOf[tier]
			g.stacks = append(g.stacks, stackPlan{project: p, kind: &generatedStackKinds[kinds[g.rng.IntN(len(kinds))]]})
		}
	}
	g.planLifecycles()
	g.planTimes()
	// Creation order decides the stacks' row ids and the numbers in their names (checkout-api-1 came before -2).
	slices.SortStableFunc(g.stacks, func(a, b stackPlan) int { return cmp.Compare(a.createdAt, b.createdAt) })
	numbers := make(map[string]int)
	for i := range g.stacks {
		s := &g.stacks[i]
		p := &g.projects[s.project]
		key := p.id + "/" + s.kind.base
		numbers[key]++
		n := strconv.Itoa(numbers[key])
		s.name = s.kind.base + "-" + n
		stem, _, _ := strings.Cut(s.kind.base, "-")
		s.host = stem + "-" + n
		s.stackID = g.uuid()
		p.stacks = append(p.stacks, i)
	}
}

func (g *fleetGenerator) planLifecycles() {
	n := len(g.stacks)
	weights := make([]float64, len(generatedLifecycles))
	minimum := make([]int, len(generatedLifecycles))
	for i, l := range generatedLifecycles {
		weights[i] = l.percent
		minimum[i] = l.variants
	}
	counts := apportion(n, weights)
	raiseTo(counts, minimum)
	order := g.rng.Perm(n)
	k := 0
	for i, l := range generatedLifecycles {
		for v := range counts[i] {
			s := &g.stacks[order[k]]
			k++
			s.lifecycle = l.status
			s.variant = v % l.variants
		}
	}
	// Settled stacks: a few are empty (just created), some went wrong after their last deployment.
	var created, settled []int
	for _, i := range order {
		switch g.stacks[i].lifecycle {
		case models.LifecycleCreationComplete:
			created = append(created, i)
			settled = append(settled, i)
		case models.LifecycleDeploymentComplete, models.LifecycleRollbackComplete:
			settled = append(settled, i)
		}
	}
	empty := min(max(1, int(math.Round(0.02*float64(n)))), len(created)/2)
	for _, i := range created[:empty] {
		g.stacks[i].empty = true
	}
	var candidates []int
	for _, i := range settled {
		g.stacks[i].variant = healthy
		if !g.stacks[i].empty {
			candidates = append(candidates, i)
		}
	}
	degraded := min(max(degradedVariants, int(math.Round(0.07*float64(len(candidates))))), len(candidates)/2)
	for k, j := range g.rng.Perm(len(candidates))[:degraded] {
		g.stacks[candidates[j]].variant = k % degradedVariants
	}
}

// planTimes picks when each stack was created and when its lifecycle status last changed.
func (g *fleetGenerator) planTimes() {
	const minute, hour, day = 60, 3600, 86400
	for i := range g.stacks {
		s := &g.stacks[i]
		var age int64
		switch r := g.rng.Float64(); {
		case s.empty:
			age = g.logBetween(10*minute, 3*day)
		case r < 0.65:
			age = g.between(7*day, generatedHistory-hour)
		case r < 0.9:
			age = g.between(day, 7*day)
		default:
			age = g.between(hour, day)
		}
		var settled int64
		switch s.lifecycle {
		case models.LifecycleCreationComplete:
			settled = age
		case models.LifecycleDeploymentInProgress, models.LifecycleRollbackInProgress, models.LifecycleDeletionInProgress:
			settled = g.between(2*minute, 50*minute)
			if g.rng.IntN(20) == 0 { // stuck
				settled = g.logBetween(2*hour, 2*day)
			}
		case models.LifecycleDeploymentFailed, models.LifecycleRollbackFailed, models.LifecycleDeletionFailed:
			settled = g.logBetween(15*minute, 5*day)
		default:
			settled = g.logBetween(30*minute, min(age, 20*day))
		}
		if s.lifecycle != models.LifecycleCreationComplete && settled > age*9/10 {
			settled = age * int64(2+g.rng.IntN(7)) / 10
		}
		s.createdAt, s.settledAt = -age, -settled
	}
}

func findServiceKind(name string) serviceKind {
	for _, k := range generatedServiceKinds {
		if k.name == name {
			return k
		}
	}
	return serviceKind{name: name}
}

func (g *fleetGenerator) appVersion() string {
	major := []int{0, 1, 1, 1, 2, 2, 3}[g.rng.IntN(7)]
	return fmt.Sprintf("%d.%d.%d", major, g.rng.IntN(20), g.rng.IntN(10))
}

func (g *fleetGenerator) planServices() error {
	var filled []int
	pools := make([][]string, len(g.stacks))
	most := make([]int, len(g.stacks))
	capacity := 0
	for i := range g.stacks {
		s := &g.stacks[i]
		if s.empty {
			continue
		}
		filled = append(filled, i)
		// Data stacks run off-the-shelf images: they get sidecars, not more of the team's own builds.
		pools[i] = generatedExtraServices
		if s.kind.tier == 1 {
			pools[i] = generatedSidecars
		}
		names := slices.Clone(s.kind.services)
		for _, extra := range pools[i] {
			if !slices.Contains(names, extra) {
				names = append(names, extra)
			}
		}
		most[i] = min(len(names), maxGeneratedServices)
		capacity += most[i]
	}
	total := g.size.Services
	if total < len(filled) || total > capacity {
		return fmt.Errorf("%d services do not fit %d stacks of 1 to %d services", total, len(filled), maxGeneratedServices)
	}
	counts := make([]int, len(g.stacks))
	sum := 0
	for _, i := range filled {
		counts[i] = min(max(len(g.stacks[i].kind.services)-1+g.rng.IntN(3), 1), most[i])
		sum += counts[i]
	}
	for sum < total {
		if i := filled[g.rng.IntN(len(filled))]; counts[i] < most[i] {
			counts[i]++
			sum++
		}
	}
	for sum > total {
		if i := filled[g.rng.IntN(len(filled))]; counts[i] > 1 {
			counts[i]--
			sum--
		}
	}
	for i := range g.stacks {
		s := &g.stacks[i]
		if counts[i] == 0 {
			continue
		}
		p := g.projects[s.project]
		names := slices.Clone(s.kind.services)
		if len(names) > counts[i] {
			names = names[:counts[i]]
		}
		if len(names) < counts[i] {
			extras := slices.Clone(pools[i])
			g.rng.Shuffle(len(extras), func(a, b int) { extras[a], extras[b] = extras[b], extras[a] })
			for _, extra := range extras {
				if len(names) == counts[i] {
					break
				}
				if !slices.Contains(names, extra) {
					names = append(names, extra)
				}
			}
		}
		version := g.appVersion()
		hasDomain := false
		for k, name := range names {
			kind := findServiceKind(name)
			svc := simService{name: name, state: models.StateDeployed, status: models.RunRunning, domains: models.EncodeDomains(nil)}
			if kind.image == "" {
				svc.app = true
				svc.image = "registry.example.com/" + p.team + "/" + s.kind.base
				if k > 0 {
					svc.image += "-" + name
				}
				svc.tag = version
			} else {
				svc.image, svc.tag = "registry.example.com/"+kind.image, kind.version
			}
			if kind.domain {
				host := s.host
				if hasDomain {
					host = name + "-" + s.host
				}
				hasDomain = true
				zone := p.team + ".example.com"
				if p.env != "prod" {
					zone = p.team + "." + p.env + ".example.com"
				}
				domains := []string{host + "." + zone}
				if g.rng.IntN(5) == 0 {
					domains = append(domains, s.name+"."+p.team+".svc.cluster.local")
				}
				svc.domains = models.EncodeDomains(domains)
			}
			svc.prevTag = svc.tag
			s.services = append(s.services, svc)
		}
		s.late = s.lifecycle == models.LifecycleDeploymentInProgress && s.variant == inFlightCreating
	}
	return nil
}

// early is how many services a stack has from its creation on.
func (s *stackPlan) early() int {
	if s.late {
		return len(s.services) - 1
	}
	return len(s.services)
}

// updated lists the services a deployment changes: the team's own builds, or else the main service.
func (s *stackPlan) updated() []int {
	var ids []int
	for i, svc := range s.services[:s.early()] {
		if svc.app {
			ids = append(ids, i)
		}
	}
	if len(ids) == 0 && s.early() > 0 {
		ids = []int{0}
	}
	return ids
}

// fixedEvents is how many events a stack's creation, last lifecycle change and later trouble take; the events
// budget of the fleet pays for these first.
func (s *stackPlan) fixedEvents() int {
	n, u := len(s.services), len(s.updated())
	count := 1 + s.early()
	switch s.lifecycle {
	case models.LifecycleDeploymentComplete:
		count += 2 + 2*u
	case models.LifecycleRollbackComplete:
		count += 4 + 3*u
	case models.LifecycleDeploymentInProgress:
		if s.variant == inFlightRolling {
			count += 2 * u
		} else {
			count += 2
		}
	case models.LifecycleDeploymentFailed:
		count += 2 + 2*u
	case models.LifecycleRollbackInProgress:
		count += 4 + 2*u
	case models.LifecycleRollbackFailed:
		count += 6 + 2*u
	case models.LifecycleDeletionInProgress:
		count += 2 + n/2
	case models.LifecycleDeletionFailed:
		count += 2 + n
	}
	switch s.variant {
	case healthy:
	case degradedDown:
		if isSettled(s.lifecycle) {
			count += n
		}
	default:
		if isSettled(s.lifecycle) {
			count++
		}
	}
	return count
}

func isSettled(lifecycle string) bool {
	return lifecycle == models.LifecycleCreationComplete || lifecycle == models.LifecycleDeploymentComplete || lifecycle == models.LifecycleRollbackComplete
}

// planEventBudgets gives every stack its fixed events and shares the rest out, more to older and bigger stacks.
func (g *fleetGenerator) planEventBudgets() error {
	fixed := 0
	weights := make([]float64, len(g.stacks))
	for i := range g.stacks {
		s := &g.stacks[i]
		s.budget = s.fixedEvents()
		fixed += s.budget
		if !s.empty {
			days := float64(-s.createdAt) / 86400
			weights[i] = float64(1+s.early()) * math.Pow(1+days, 0.7) * (0.5 + g.rng.Float64())
		}
	}
	if fixed > g.size.Events {
		return fmt.Errorf("%d events are too few for %d stacks and %d services; they need at least %d", g.size.Events, g.size.Stacks, g.size.Services, fixed)
	}
	for i, extra := range apportion(g.size.Events-fixed, weights) {
		g.stacks[i].budget += extra
	}
	return nil
}

// simService is one service as a stack's history goes along.
type simService struct {
	name, state, status, image, tag, domains string
	// prevTag is the tag before the last image change: what a rollback returns to.
	prevTag string
	app     bool
}

// simEvent is an event before it has a time: gap is the wanted seconds since the previous event of its episode.
type simEvent struct {
	gap                                            int64
	resourceType, resourceName, eventType, message string
}

// stackSim plays a stack's history forward, producing events shaped exactly as events.go records them.
type stackSim struct {
	g         *fleetGenerator
	plan      *stackPlan
	lifecycle string
	message   string
	services  []simService
	episode   []simEvent
}

func (s *stackSim) gap(lo, hi int64) int64 { return s.g.between(lo, hi) }

func (s *stackSim) stackEvent(gap int64, eventType, message string) {
	s.episode = append(s.episode, simEvent{gap, models.ResourceStack, s.plan.name, eventType, message})
}

// setStatus moves the stack to a lifecycle status, as UpdateStack records it.
func (s *stackSim) setStatus(gap int64, status, message string) {
	text := s.lifecycle + " → " + status
	if models.IsFailedLifecycle(status) && message != "" {
		text += ": " + message
	}
	s.lifecycle, s.message = status, message
	s.stackEvent(gap, models.LifecycleEventType(status), text)
}

func (s *stackSim) createService(gap int64, i int) {
	svc := s.services[i]
	s.episode = append(s.episode, simEvent{gap, models.ResourceService, svc.name, models.EventCreationComplete,
		fmt.Sprintf("created: %s, %s, image %s:%s", svc.state, svc.status, svc.image, svc.tag)})
}

// changeService reports a service's new state, status and tag, as serviceEvents records it.
func (s *stackSim) changeService(gap int64, i int, state, status, tag string) {
	svc := &s.services[i]
	var changes []string
	if svc.status != status {
		changes = append(changes, svc.status+" → "+status)
	}
	if svc.state != state {
		changes = append(changes, "state "+svc.state+" → "+state)
	}
	if svc.tag != tag {
		changes = append(changes, fmt.Sprintf("image %s:%s → %s:%s", svc.image, svc.tag, svc.image, tag))
		svc.prevTag = svc.tag
	}
	svc.state, svc.status, svc.tag = state, status, tag
	s.episode = append(s.episode, simEvent{gap, models.ResourceService, svc.name, models.ServiceEventType(models.Service{State: state, Status: status}),
		strings.Join(changes, ", ")})
}

func (s *stackSim) take() []simEvent {
	episode := s.episode
	s.episode = nil
	return episode
}

// bumpVersion raises a version: kind 0 the patch, 1 the minor, 2 the major number.
func bumpVersion(tag string, kind int) string {
	parts := strings.SplitN(tag, ".", 3)
	numbers := make([]int, 3)
	for i := range min(len(parts), 3) {
		numbers[i], _ = strconv.Atoi(parts[i])
	}
	switch kind {
	case 2:
		numbers = []int{numbers[0] + 1, 0, 0}
	case 1:
		numbers = []int{numbers[0], numbers[1] + 1, 0}
	default:
		numbers[2]++
	}
	return fmt.Sprintf("%d.%d.%d", numbers[0], numbers[1], numbers[2])
}

func (s *stackSim) bumpKind() int {
	switch r := s.g.rng.IntN(20); {
	case r == 0:
		return 2
	case r < 6:
		return 1
	}
	return 0
}

// deploy rolls new versions out: in two steps per service (updating, then deployed) or, for small changes, one.
func (s *stackSim) deploy(twoSteps bool) {
	s.setStatus(0, models.LifecycleDeploymentInProgress, "")
	kind := s.bumpKind()
	for _, i := range s.plan.updated() {
		tag := bumpVersion(s.services[i].tag, kind)
		if twoSteps {
			s.changeService(s.gap(15, 90), i, models.StateManualUpdating, models.RunPartiallyRunning, tag)
			s.changeService(s.gap(20, 240), i, models.StateDeployed, models.RunRunning, tag)
		} else {
			s.changeService(s.gap(20, 180), i, models.StateDeployed, models.RunRunning, tag)
		}
	}
	s.setStatus(s.gap(5, 60), models.LifecycleDeploymentComplete, "")
}

func (s *stackSim) failureMessage(status string, i int) string {
	messages := failureMessages(status)
	text := messages[s.g.rng.IntN(len(messages))]
	svc := s.services[i]
	if strings.Count(text, "%s") == 2 {
		return fmt.Sprintf(text, svc.name, svc.image+":"+svc.tag)
	}
	return fmt.Sprintf(text, svc.name)
}

// failDeployment rolls a release out whose last service breaks, leaving the stack DEPLOYMENT_FAILED.
func (s *stackSim) failDeployment(faultState string) int {
	s.setStatus(0, models.LifecycleDeploymentInProgress, "")
	kind := s.bumpKind()
	updated := s.plan.updated()
	last := updated[len(updated)-1]
	for _, i := range updated {
		tag := bumpVersion(s.services[i].tag, kind)
		s.changeService(s.gap(15, 90), i, models.StateManualUpdating, models.RunPartiallyRunning, tag)
		if i == last {
			s.changeService(s.gap(60, 600), i, faultState, models.RunFault, tag)
		} else {
			s.changeService(s.gap(20, 240), i, models.StateDeployed, models.RunRunning, tag)
		}
	}
	s.setStatus(s.gap(5, 60), models.LifecycleDeploymentFailed, s.failureMessage(models.LifecycleDeploymentFailed, last))
	return last
}

// rollBack is a failed release and its complete rollback.
func (s *stackSim) rollBack() {
	s.failDeployment(models.StateDeployed)
	s.setStatus(s.gap(30, 900), models.LifecycleRollbackInProgress, "")
	updated := s.plan.updated()
	for k := len(updated) - 1; k >= 0; k-- {
		i := updated[k]
		s.changeService(s.gap(20, 240), i, models.StateDeployed, models.RunRunning, s.services[i].prevTag)
	}
	s.setStatus(s.gap(5, 60), models.LifecycleRollbackComplete, "")
}

// middle plays one episode that leaves every service deployed and running, costing at most budget events, and
// returns its cost.
func (s *stackSim) middle(budget int) int {
	type option struct {
		weight float64
		cost   int
		play   func()
	}
	early := s.plan.early()
	u := len(s.plan.updated())
	var options []option
	add := func(weight float64, cost int, allowed bool, play func()) {
		if allowed && cost <= budget {
			options = append(options, option{weight, cost, play})
		}
	}
	random := func() int { return s.g.rng.IntN(early) }
	settledByDeploys := s.plan.lifecycle != models.LifecycleCreationComplete
	add(5, 2+2*u, settledByDeploys, func() { s.deploy(true) })
	add(3, 2+u, settledByDeploys, func() { s.deploy(false) })
	add(0.6, 4+3*u, settledByDeploys && u > 0, s.rollBack)
	add(4, 1, !settledByDeploys && early > 0, func() {
		i := random()
		s.changeService(0, i, models.StateDeployed, models.RunRunning, bumpVersion(s.services[i].tag, s.bumpKind()))
	})
	add(1.5, 2, early > 0, func() {
		i := random()
		s.changeService(0, i, models.StateDeployed, models.RunFault, s.services[i].tag)
		s.changeService(s.gap(120, 3600), i, models.StateDeployed, models.RunRunning, s.services[i].tag)
	})
	add(1, 2, early > 0, func() {
		i := random()
		s.changeService(0, i, models.StateScaling, models.RunPartiallyRunning, s.services[i].tag)
		s.changeService(s.gap(30, 1200), i, models.StateDeployed, models.RunRunning, s.services[i].tag)
	})
	add(0.4, 2, early > 0, func() {
		main := s.services[0]
		canary := simService{name: "canary", state: models.StateDeployed, status: models.RunRunning, image: main.image, tag: bumpVersion(main.tag, 0)}
		s.services = append(s.services, canary)
		s.createService(0, len(s.services)-1)
		s.services = s.services[:len(s.services)-1]
		s.episode = append(s.episode, simEvent{s.gap(1800, 6*3600), models.ResourceService, "canary", models.EventDeletionComplete, "deleted"})
	})
	add(0.3, 1, true, func() {
		if s.g.rng.IntN(2) == 0 {
			s.stackEvent(0, models.EventLog, "description changed")
		} else {
			s.stackEvent(0, models.EventLog, "metadata changed")
		}
	})
	total := 0.0
	for _, o := range options {
		total += o.weight
	}
	r := s.g.rng.Float64() * total
	for _, o := range options {
		if r < o.weight {
			o.play()
			return o.cost
		}
		r -= o.weight
	}
	last := options[len(options)-1]
	last.play()
	return last.cost
}

// finale plays the stack's last lifecycle change and returns the index of that change's event in the episode (or
// -1 when the lifecycle never changed).
func (s *stackSim) finale() int {
	p := s.plan
	updated := p.updated()
	switch p.lifecycle {
	case models.LifecycleDeploymentComplete:
		s.deploy(true)
	case models.LifecycleRollbackComplete:
		s.rollBack()
	case models.LifecycleDeploymentFailed:
		state := models.StateDeployed
		if p.variant == 1 {
			state = models.StateStarting
		}
		s.failDeployment(state)
	case models.LifecycleRollbackInProgress, models.LifecycleRollbackFailed:
		last := s.failDeployment(models.StateDeployed)
		s.setStatus(s.gap(30, 600), models.LifecycleRollbackInProgress, "")
		anchor := len(s.episode) - 1
		svc := s.services[last]
		s.changeService(s.gap(20, 240), last, models.StateManualUpdating, models.RunPartiallyRunning, svc.prevTag)
		if p.lifecycle == models.LifecycleRollbackInProgress {
			return anchor
		}
		s.changeService(s.gap(300, 900), last, models.StateManualUpdating, models.RunFault, s.services[last].tag)
		s.setStatus(s.gap(5, 60), models.LifecycleRollbackFailed, s.failureMessage(models.LifecycleRollbackFailed, last))
	case models.LifecycleDeploymentInProgress:
		s.setStatus(0, models.LifecycleDeploymentInProgress, "")
		kind := s.bumpKind()
		switch p.variant {
		case inFlightRolling:
			for k, i := range updated {
				tag := bumpVersion(s.services[i].tag, kind)
				s.changeService(s.gap(15, 90), i, models.StateManualUpdating, models.RunPartiallyRunning, tag)
				if k < len(updated)-1 {
					s.changeService(s.gap(20, 240), i, models.StateDeployed, models.RunRunning, tag)
				}
			}
		case inFlightCreating:
			i := len(s.services) - 1
			s.services[i].state, s.services[i].status = models.StateCreating, models.RunNotRunning
			s.createService(s.gap(15, 90), i)
		case inFlightStarting:
			i := updated[0]
			s.changeService(s.gap(15, 90), i, models.StateStarting, models.RunNotRunning, bumpVersion(s.services[i].tag, kind))
		case inFlightScaling:
			i := updated[0]
			s.changeService(s.gap(15, 90), i, models.StateScaling, models.RunPartiallyRunning, s.services[i].tag)
		}
		return 0
	case models.LifecycleDeletionInProgress:
		s.setStatus(0, models.LifecycleDeletionInProgress, "")
		n := len(s.services)
		stopped := n / 2
		for k := range stopped {
			s.changeService(s.gap(5, 60), n-1-k, models.StateStopped, models.RunNotRunning, s.services[n-1-k].tag)
		}
		s.changeService(s.gap(5, 60), n-1-stopped, models.StateStopping, models.RunPartiallyRunning, s.services[n-1-stopped].tag)
		return 0
	case models.LifecycleDeletionFailed:
		s.setStatus(0, models.LifecycleDeletionInProgress, "")
		n := len(s.services)
		for k := n - 1; k > 0; k-- {
			s.changeService(s.gap(5, 60), k, models.StateStopped, models.RunNotRunning, s.services[k].tag)
		}
		s.changeService(s.gap(60, 300), 0, models.StateStopping, models.RunFault, s.services[0].tag)
		s.setStatus(s.gap(240, 600), models.LifecycleDeletionFailed, s.failureMessage(models.LifecycleDeletionFailed, 0))
	default:
		return -1
	}
	return len(s.episode) - 1
}

// degrade plays what went wrong with a settled stack after its last deployment.
func (s *stackSim) degrade() {
	p := s.plan
	if p.variant == healthy || !isSettled(p.lifecycle) {
		return
	}
	n := len(s.services)
	i := s.g.rng.IntN(n)
	svc := s.services[i]
	switch p.variant {
	case degradedFault:
		s.changeService(0, i, models.StateDeployed, models.RunFault, svc.tag)
	case degradedScaling:
		s.changeService(0, i, models.StateScaling, models.RunPartiallyRunning, svc.tag)
	case degradedStopped:
		s.changeService(0, n-1, models.StateStopped, models.RunNotRunning, s.services[n-1].tag)
	case degradedAutoUpdating:
		s.changeService(0, i, models.StateAutoUpdating, models.RunRunning, bumpVersion(svc.tag, 0))
	case degradedDown:
		for k := n - 1; k >= 0; k-- {
			s.changeService(s.gap(1, 20), k, models.StateStopped, models.RunNotRunning, s.services[k].tag)
		}
	case degradedFlapping:
		s.changeService(0, i, models.StateDeployed, models.RunPartiallyRunning, svc.tag)
	}
}

// stackHistory is a stack's events in order, in episodes whose times are set together.
type stackHistory struct {
	creation []simEvent
	middle   [][]simEvent
	finale   []simEvent
	anchor   int
	post     []simEvent
}

func (h *stackHistory) count() int {
	n := len(h.creation) + len(h.finale) + len(h.post)
	for _, e := range h.middle {
		n += len(e)
	}
	return n
}

// history plays a stack's life within its budget of events.
func (g *fleetGenerator) history(p *stackPlan) (stackHistory, *stackSim, error) {
	s := &stackSim{g: g, plan: p, lifecycle: models.LifecycleCreationComplete, services: slices.Clone(p.services)}
	var h stackHistory
	s.stackEvent(0, models.LifecycleEventType(models.LifecycleCreationComplete), "created in "+models.LifecycleCreationComplete)
	for i := range p.early() {
		s.createService(0, i)
	}
	h.creation = s.take()
	for left := p.budget - p.fixedEvents(); left > 0; {
		left -= s.middle(left)
		h.middle = append(h.middle, s.take())
	}
	h.anchor = s.finale()
	h.finale = s.take()
	s.degrade()
	h.post = s.take()
	if h.count() != p.budget || s.lifecycle != p.lifecycle {
		return h, nil, fmt.Errorf("internal error: stack %s played %d events ending %s, planned %d ending %s",
			p.name, h.count(), s.lifecycle, p.budget, p.lifecycle)
	}
	return h, s, nil
}

func sumGaps(events []simEvent) int64 {
	var sum int64
	for i, e := range events {
		if i > 0 {
			sum += e.gap
		}
	}
	return sum
}

// squeeze returns the gaps of an episode's events (the first one's is 0), shrunk in proportion to fit in room.
func squeeze(events []simEvent, room int64) []int64 {
	gaps := make([]int64, len(events))
	span := sumGaps(events)
	room = max(room, 0)
	for i, e := range events {
		if i == 0 {
			continue
		}
		gaps[i] = e.gap
		if span > room {
			gaps[i] = e.gap * room / span
		}
	}
	return gaps
}

// timeline gives every event of a history its time (seconds relative to now), and returns the time of the stack's
// last lifecycle change.
func (g *fleetGenerator) timeline(p *stackPlan, h *stackHistory) ([]int64, int64) {
	t0 := p.createdAt
	times := make([]int64, 0, h.count())
	for range h.creation {
		times = append(times, t0)
	}
	// The last lifecycle change happens at settledAt; the events of its episode before it lead up to it.
	var finale []int64
	finaleStart, statusAt := t0+(-t0)*int64(50+g.rng.IntN(46))/100, t0
	if len(h.finale) > 0 {
		anchor := p.settledAt
		statusAt = anchor
		before := squeeze(h.finale[:h.anchor+1], (anchor-t0)/2)
		after := squeeze(h.finale[h.anchor:], -anchor-1)
		var lead int64
		for _, gap := range before {
			lead += gap
		}
		t := anchor - lead
		finaleStart = t
		for i := range h.finale {
			switch {
			case i == 0:
			case i <= h.anchor:
				t += before[i]
			default:
				t += after[i-h.anchor]
			}
			finale = append(finale, t)
		}
	}
	finaleEnd := finaleStart
	if len(finale) > 0 {
		finaleEnd = finale[len(finale)-1]
	}
	// Episodes before it share the time since creation, with random pauses between them.
	start := t0 + min(1, max(finaleStart-t0, 0))
	room := max(finaleStart-start, 0)
	var spans, used int64
	for _, e := range h.middle {
		spans += sumGaps(e)
	}
	squeezed := make([][]int64, len(h.middle))
	for i, e := range h.middle {
		share := sumGaps(e)
		if spans > room {
			share = share * room / spans
		}
		squeezed[i] = squeeze(e, share)
		for _, gap := range squeezed[i] {
			used += gap
		}
	}
	pauses := make([]int64, len(h.middle))
	for i := range pauses {
		pauses[i] = g.between(0, room-used)
	}
	slices.Sort(pauses)
	var before int64 // the episodes' time before the current one
	for i := range h.middle {
		t := start + pauses[i] + before
		for _, gap := range squeezed[i] {
			t += gap
			before += gap
			times = append(times, t)
		}
	}
	times = append(times, finale...)
	// What went wrong afterwards happened some time between then and now, more likely lately.
	if len(h.post) > 0 {
		window := -finaleEnd
		gaps := squeeze(h.post, window/2)
		var span int64
		for _, gap := range gaps {
			span += gap
		}
		ago := min(g.logBetween(min(span+30, window), window), window)
		t := -ago
		for _, gap := range gaps {
			t += gap
			times = append(times, t)
		}
	}
	return times, statusAt
}

// writeStacks plays every stack's history and turns the plans into rows.
func (g *fleetGenerator) writeStacks() error {
	f := &g.fleet
	var times []int64
	for i := range g.stacks {
		p := &g.stacks[i]
		h, sim, err := g.history(p)
		if err != nil {
			return err
		}
		at, statusAt := g.timeline(p, &h)
		pk := int64(i + 1)
		statuses := make([]string, len(sim.services))
		for k, svc := range sim.services {
			statuses[k] = svc.status
			f.Services = append(f.Services, models.Service{PK: int64(len(f.Services) + 1), StackPK: pk, Name: svc.name, Ordinal: k,
				State: svc.state, Status: svc.status, Domains: svc.domains, ImageName: svc.image, ImageTag: svc.tag})
		}
		p.running = models.StackRunStatus(statuses) == models.RunRunning
		stack := models.Stack{PK: pk, ProjectID: g.projects[p.project].id, Name: p.name, StackID: p.stackID,
			Description: g.description(p), Status: sim.lifecycle, Metadata: g.metadata(p),
			CreateTime: g.at(p.createdAt), StatusChangedAt: g.at(statusAt)}
		if models.IsFailedLifecycle(sim.lifecycle) {
			stack.StatusMessage = sim.message
		}
		// Elapsed seconds count from the same resource's previous event, as recordEvents does.
		last := make(map[string]int64)
		all := slices.Clone(h.creation)
		for _, e := range h.middle {
			all = append(all, e...)
		}
		all = append(append(all, h.finale...), h.post...)
		latest := p.createdAt
		for k, e := range all {
			key := e.resourceType + "/" + e.resourceName
			var elapsed int64
			if previous, ok := last[key]; ok && at[k] > previous {
				elapsed = at[k] - previous
			}
			last[key] = at[k]
			latest = max(latest, at[k])
			times = append(times, at[k])
			f.Events = append(f.Events, models.StackEvent{StackPK: pk, EventTime: g.at(at[k]), ResourceType: e.resourceType,
				ResourceName: e.resourceName, EventType: e.eventType, EventMessage: e.message, ElapsedSeconds: elapsed})
		}
		stack.UpdateTime = g.at(latest)
		f.Stacks = append(f.Stacks, stack)
	}
	// Rows go in in time order, as a live system would have written them; ties keep each stack's own order.
	order := make([]int32, len(f.Events))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(times[a], times[b]) })
	sorted := make([]models.StackEvent, len(f.Events))
	for i, k := range order {
		sorted[i] = f.Events[k]
		sorted[i].PK = int64(i + 1)
	}
	f.Events = sorted
	return nil
}

func (g *fleetGenerator) at(relative int64) time.Time {
	return g.now.Add(time.Duration(relative) * time.Second)
}

func (g *fleetGenerator) description(p *stackPlan) string {
	if g.rng.IntN(12) == 0 {
		return ""
	}
	project := g.projects[p.project]
	if project.env == "prod" {
		return p.kind.desc
	}
	return p.kind.desc + " (" + project.env + ")"
}

func (g *fleetGenerator) metadata(p *stackPlan) string {
	if g.rng.IntN(4) == 0 {
		return ""
	}
	project := g.projects[p.project]
	tier := []string{"", "data", "backend", "edge"}[p.kind.tier]
	var b strings.Builder
	fmt.Fprintf(&b, `{"owner":"team-%s","tier":"%s","oncall":"%s-oncall","repo":"git.example.com/%s/%s","region":"%s","replicas":%d`,
		project.team, tier, project.team, project.team, p.kind.base, project.region, 1+g.rng.IntN(6))
	if slices.Contains(pciTeams, project.team) {
		b.WriteString(`,"pci":true`)
	}
	b.WriteString("}")
	return b.String()
}

// stackPool hands out a project's stacks of one tier and health: unused ones first, then (or, now and then, by
// choice) ones that other products already hold.
type stackPool struct {
	members []int
	next    int
}

func (g *fleetGenerator) pick(pool *stackPool, share float64, taken func(int) bool) int {
	if pool.next > 0 && g.rng.Float64() < share {
		for range 4 {
			if i := pool.members[g.rng.IntN(pool.next)]; !taken(i) {
				return i
			}
		}
	}
	for pool.next < len(pool.members) {
		i := pool.members[pool.next]
		pool.next++
		if !taken(i) {
			return i
		}
	}
	for range 8 {
		if len(pool.members) == 0 {
			break
		}
		if i := pool.members[g.rng.IntN(len(pool.members))]; !taken(i) {
			return i
		}
	}
	return -1
}

// writeProducts builds 3 layers of 3 stacks per product from its project's stacks: data stacks below, edge
// stacks on top. Most products are stable; an unstable one holds a stack or two that are not running.
func (g *fleetGenerator) writeProducts() {
	weights := make([]float64, len(g.projects))
	for i, p := range g.projects {
		weights[i] = float64(len(p.stacks))
	}
	perProject := apportion(g.size.Products, weights)
	unstable := make([]bool, g.size.Products)
	for _, i := range g.rng.Perm(g.size.Products)[:g.size.Products/5] {
		unstable[i] = true
	}
	shares := [4]float64{0, 0.25, 0.08, 0.10}
	type draft struct {
		product models.Product
		at      int64
		stacks  []int
	}
	var drafts []draft
	names := make(map[string]bool)
	for p := range g.projects {
		project := &g.projects[p]
		// pools[tier][0] holds running stacks, [1] the others an unstable product may hold (not being deleted).
		var pools [4][2]stackPool
		for _, i := range project.stacks {
			s := &g.stacks[i]
			switch {
			case s.running:
				pools[s.kind.tier][0].members = append(pools[s.kind.tier][0].members, i)
			case !strings.HasPrefix(s.lifecycle, "DELETION"):
				pools[s.kind.tier][1].members = append(pools[s.kind.tier][1].members, i)
			}
		}
		for tier := 1; tier <= 3; tier++ {
			for h := range 2 {
				m := pools[tier][h].members
				g.rng.Shuffle(len(m), func(a, b int) { m[a], m[b] = m[b], m[a] })
			}
		}
		for range perProject[p] {
			var broken []int
			if unstable[len(drafts)] {
				broken = append(broken, g.rng.IntN(stacksPerProduct))
				if g.rng.IntN(10) < 3 {
					broken = append(broken, g.rng.IntN(stacksPerProduct))
				}
			}
			var chosen []int
			taken := func(i int) bool { return slices.Contains(chosen, i) }
			for slot := range stacksPerProduct {
				tier := slot/generatedLayerWidth + 1
				health := 0
				if slices.Contains(broken, slot) {
					health = 1
				}
				i := g.pick(&pools[tier][health], shares[tier], taken)
				for other := 1; i < 0 && other <= 3; other++ {
					i = g.pick(&pools[other][health], shares[other], taken)
				}
				for k := 0; i < 0 && k < len(project.stacks); k++ {
					if !taken(project.stacks[k]) {
						i = project.stacks[k]
					}
				}
				chosen = append(chosen, i)
			}
			newest := int64(math.MinInt64)
			for _, i := range chosen {
				newest = max(newest, g.stacks[i].createdAt)
			}
			at := min(newest+g.between(300, max(300, -newest/3)), 0)
			drafts = append(drafts, draft{models.Product{Name: g.productName(project, names), ProjectID: project.id}, at, chosen})
		}
	}
	slices.SortStableFunc(drafts, func(a, b draft) int { return cmp.Compare(a.at, b.at) })
	for k, d := range drafts {
		pk := int64(k + 1)
		d.product.PK, d.product.CreatedAt = pk, g.at(d.at)
		g.fleet.Products = append(g.fleet.Products, d.product)
		for slot, i := range d.stacks {
			g.fleet.ProductStacks = append(g.fleet.ProductStacks, models.ProductStack{ProductPK: pk, StackPK: int64(i + 1),
				Layer: slot/generatedLayerWidth + 1, Ordinal: slot % generatedLayerWidth})
		}
	}
}

func (g *fleetGenerator) productName(p *projectPlan, taken map[string]bool) string {
	name := p.team + "-" + generatedProductWords[g.rng.IntN(len(generatedProductWords))]
	if p.env != "prod" {
		name += "-" + p.env
	}
	unique := name
	for n := 2; taken[unique]; n++ {
		unique = name + "-" + strconv.Itoa(n)
	}
	taken[unique] = true
	return unique
}

// writeProjects dates every project a little before its first stack.
func (g *fleetGenerator) writeProjects() {
	for _, p := range g.projects {
		first := int64(0)
		for _, i := range p.stacks {
			first = min(first, g.stacks[i].createdAt)
		}
		g.fleet.Projects = append(g.fleet.Projects, models.Project{ID: p.id, CreatedAt: g.at(first - g.between(3600, 3*86400))})
	}
}
