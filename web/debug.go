package web

import (
	"expvar"
	"fmt"
	"net/http"
	"net/http/pprof"
)

// DebugHandler serves the Go profiler (/debug/pprof/) and expvar (/debug/vars), for a listener of its own
// (--debug-addr) that is off by default.
func DebugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.Handle("GET /debug/vars", expvar.Handler())
	return mux
}

// CheckDebugAddress refuses a debug address other machines can reach unless open says so: profiles show the
// process's memory and command line.
func CheckDebugAddress(addr string, open bool) error {
	if open || isLoopback(addr) {
		return nil
	}
	return fmt.Errorf("refusing to serve profiles on %s, which other machines can reach; use a loopback address (127.0.0.1:6060) or pass --debug-open", addr)
}
