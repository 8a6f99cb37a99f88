package handlers

import (
	"net/http"

	"gorm.io/gorm"
)

// Health answers whether the server can reach its database.
type Health struct {
	DB  *gorm.DB
	Out Responder
	// Watcher reports why the change watcher is not current, or nil while it is.
	Watcher func() error
}

// healthStatus is the body of GET /healthz.
type healthStatus struct {
	Status string `json:"status"`
}

// Check answers GET /healthz with {"status":"ok"}, or 503 when the database does not answer or the change watcher
// is down (the server then cannot see other processes' writes).
func (h Health) Check(w http.ResponseWriter, r *http.Request) error {
	sqlDB, err := h.DB.DB()
	if err == nil {
		err = sqlDB.PingContext(r.Context())
	}
	if err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Message: "database unavailable", Err: err}
	}
	if h.Watcher != nil {
		if err := h.Watcher(); err != nil {
			return &Error{Status: http.StatusServiceUnavailable, Message: "change watcher down: " + err.Error(), Err: err}
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	return h.Out.Respond(w, r, View{Data: healthStatus{Status: "ok"}})
}
