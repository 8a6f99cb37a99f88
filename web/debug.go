package web

import (
	"expvar"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
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

// SideListener is one of the addresses beside --addr that answer without a token, named by its address flag;
// each has a flag that allows an address other machines can reach.
type SideListener string

// The side listeners: profiles show the process's memory and command line, and metrics name every project's
// products and stacks, so neither is put where other machines reach it by accident.
const (
	DebugListener   SideListener = "debug-addr"
	MetricsListener SideListener = "metrics-addr"
)

// Flag is the listener's address flag.
func (l SideListener) Flag() string {
	return string(l)
}

// what says what the listener serves, as its refusal says it.
func (l SideListener) what() string {
	if l == DebugListener {
		return "profiles"
	}
	return "metrics without a token"
}

// OpenFlag is the flag that allows the listener on an address other machines can reach.
func (l SideListener) OpenFlag() string {
	return strings.TrimSuffix(l.Flag(), "-addr") + "-open"
}

// Check refuses an address other machines can reach unless open (the OpenFlag) says so.
func (l SideListener) Check(addr string, open bool) error {
	if open || isLoopback(addr) {
		return nil
	}
	example := "127.0.0.1:" + portOf(addr)
	return fmt.Errorf("refusing to serve %s on --%s %s, which other machines can reach; use a loopback address (%s) or pass --%s",
		l.what(), l.Flag(), addr, example, l.OpenFlag())
}

// portOf is the port of a listen address, or "PORT" when it has none.
func portOf(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "" {
		return port
	}
	return "PORT"
}
