package web

import (
	"strings"
	"testing"
)

// The debug and metrics listeners answer without a token: an address other machines reach needs its -open flag,
// and the refusal names the flag, the address and a loopback one to use instead.
func TestSideListenersAreLoopbackUnlessOpened(t *testing.T) {
	for _, tt := range []struct {
		listener SideListener
		addr     string
		open     bool
		want     string // "" for accepted
	}{
		{DebugListener, "127.0.0.1:6060", false, ""},
		{DebugListener, "localhost:6060", false, ""},
		{DebugListener, "[::1]:6060", false, ""},
		{DebugListener, "0.0.0.0:6060", true, ""},
		{DebugListener, "0.0.0.0:6060", false, "refusing to serve profiles on --debug-addr 0.0.0.0:6060, which other machines can reach; use a loopback address (127.0.0.1:6060) or pass --debug-open"},
		{MetricsListener, "127.0.0.1:9102", false, ""},
		{MetricsListener, "10.0.0.5:9102", true, ""},
		{MetricsListener, ":9102", false, "refusing to serve metrics without a token on --metrics-addr :9102, which other machines can reach; use a loopback address (127.0.0.1:9102) or pass --metrics-open"},
		{MetricsListener, "[::]:9102", false, "pass --metrics-open"},
		{MetricsListener, "metrics.example.com:9102", false, "pass --metrics-open"},
		{MetricsListener, "127.0.0.1", false, "use a loopback address (127.0.0.1:PORT)"},
	} {
		err := tt.listener.Check(tt.addr, tt.open)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("--%s %s (open %v): refused: %v", tt.listener.Flag(), tt.addr, tt.open, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("--%s %s (open %v): %v, want %q", tt.listener.Flag(), tt.addr, tt.open, err, tt.want)
		}
	}
}
