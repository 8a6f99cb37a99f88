package handlers

import (
	"context"
	"net/http"
	"time"

	"gorm.io/gorm"

	"stackboard/models"
)

// Health answers the liveness and readiness probes.
type Health struct {
	DB  *gorm.DB
	Out Responder
	// Watcher reports why the change watcher is not current, or nil while it is.
	Watcher func() error
}

// Results of one readiness check.
const (
	checkOK   = "ok"
	checkDown = "down"
)

// healthStatus is the body of GET /healthz and GET /readyz.
type healthStatus struct {
	Status string `json:"status"`
	// Checks, on /readyz, says what each check found: "ok", or what is wrong.
	Checks *readyChecks `json:"checks,omitempty"`
}

// readyChecks are readiness's checks, in the order they run.
type readyChecks struct {
	Database   string `json:"database"`
	Migrations string `json:"migrations"`
	Watcher    string `json:"watcher"`
}

// Live answers GET /healthz with {"status":"ok"}: the process is up and serving. It does not touch the
// database, so a slow database never gets a healthy process restarted.
func (h Health) Live(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	return h.Out.Respond(w, r, View{Data: healthStatus{Status: checkOK}})
}

// readyTimeout bounds the database checks of one readiness probe.
const readyTimeout = 2 * time.Second

// Ready answers GET /readyz: 200 when the database answers, its schema is this build's, and the change watcher
// is current (else the server cannot see other processes' writes); otherwise 503. Both answers list every check.
func (h Health) Ready(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	all := readyChecks{Database: checkOK, Migrations: checkOK, Watcher: checkOK}
	checks := all
	sqlDB, err := h.DB.DB()
	if err == nil {
		err = sqlDB.PingContext(ctx)
	}
	if err != nil {
		checks.Database = checkDown + ": the database does not answer"
		checks.Migrations = checkDown + ": unknown while the database does not answer"
	} else if applied, err := models.AppliedSchemaVersion(ctx, h.DB); err != nil {
		checks.Migrations = checkDown + ": the schema version cannot be read"
	} else if applied != models.SchemaVersion() {
		checks.Migrations = checkDown + ": the schema is not this build's"
	}
	if h.Watcher == nil {
		checks.Watcher = checkDown + ": no change watcher"
	} else if err := h.Watcher(); err != nil {
		checks.Watcher = checkDown + ": " + err.Error()
	}
	status, code := checkOK, http.StatusOK
	if checks != all {
		status, code = checkDown, http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	return h.Out.Respond(w, r, View{Status: code, Data: healthStatus{Status: status, Checks: &checks}})
}
