package web

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"stackboard/handlers"
)

// Header names of the browser security policy.
const (
	HeaderContentSecurityPolicy = "Content-Security-Policy"
	HeaderReferrerPolicy        = "Referrer-Policy"
	HeaderContentTypeOptions    = "X-Content-Type-Options"
	HeaderFrameOptions          = "X-Frame-Options"
)

// contentSecurityPolicy lets a page load only this server's own files: no inline script or style, no eval, no
// framing by other sites, no <base> and no form that posts elsewhere. A stored value that slipped past escaping
// still could not run.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// securityHeaders go on every answer, by their canonical names; the value slices are made once and shared, as
// net/http only reads them.
var securityHeaders = []struct {
	name   string
	values []string
}{
	{HeaderContentSecurityPolicy, []string{contentSecurityPolicy}},
	{HeaderReferrerPolicy, []string{"same-origin"}},
	{HeaderContentTypeOptions, []string{"nosniff"}},
	{HeaderFrameOptions, []string{"DENY"}},
}

// secure sets the browser security headers on every answer, refuses a Host the server does not answer to, and
// refuses paths that a cleaning router would have redirected; all before routing, in the URL family's shape.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, sh := range securityHeaders {
			h[sh.name] = sh.values
		}
		if err := s.hosts.check(r.Host); err != nil {
			s.renderError(w, r, err)
			return
		}
		if err := checkPath(r.URL); err != nil {
			s.renderError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostList is the set of host names (without ports) that the server answers to; empty means any.
type hostList map[string]bool

func newHostList(hosts []string) hostList {
	if len(hosts) == 0 {
		return nil
	}
	list := make(hostList)
	for _, h := range hosts {
		list[normalHost(h)] = true
	}
	return list
}

// check refuses a Host header that is not on the list: a page on another site whose name was rebound to this
// machine's address sends its own name, so it is refused before it reaches any data.
func (l hostList) check(host string) error {
	if l == nil || l[normalHost(host)] {
		return nil
	}
	return &handlers.Error{Status: http.StatusBadRequest,
		Message: fmt.Sprintf("Bad Request: this server does not answer to host %q (see --allowed-hosts and --public-url)", clipText(host, 80))}
}

// normalHost is a Host header or a host name without its port, in lower case, without a trailing dot, and
// without an IPv6 address's brackets.
func normalHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimPrefix(strings.TrimSuffix(host, "]"), "[")
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// AllowedHosts returns the host names a server listening on addr answers to: for a loopback address the
// loopback names, for all interfaces the loopback names, this machine's name and its addresses, else the
// address's own host; plus the host of publicURL and every name in extra.
func AllowedHosts(addr, publicURL string, extra []string) ([]string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--addr %q: %w", addr, err)
	}
	loopback := []string{"127.0.0.1", "localhost", "::1"}
	var hosts []string
	ip := net.ParseIP(host)
	switch {
	case host == "localhost" || ip != nil && ip.IsLoopback():
		hosts = append(hosts, loopback...)
	case host == "" || ip != nil && ip.IsUnspecified():
		hosts = append(hosts, loopback...)
		if name, err := os.Hostname(); err == nil {
			hosts = append(hosts, name)
		}
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					hosts = append(hosts, n.IP.String())
				}
			}
		}
	default:
		hosts = append(hosts, host)
	}
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("--public-url %q is not an http:// or https:// URL with a host", publicURL)
		}
		hosts = append(hosts, u.Hostname())
	}
	for _, h := range extra {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts, nil
}

// checkPath refuses a path with empty, "." or ".." segments, or with an encoded slash or backslash: the router
// would otherwise answer such paths with a redirect to a cleaned path, and a file server could be led out of its
// folder. It refuses a malformed query string too. An API client gets a 400 in its family's shape instead.
func checkPath(u *url.URL) error {
	if encodedSlash(u) {
		return badPath(u.Path, "an encoded '/' or a '\\'")
	}
	if u.RawQuery != "" {
		if _, err := url.ParseQuery(u.RawQuery); err != nil {
			// The handlers would see a query with the bad pair quietly left out.
			return &handlers.Error{Status: http.StatusBadRequest, Message: "Bad Request: the query string is malformed: " + err.Error()}
		}
	}
	if u.Path == "/" {
		return nil
	}
	// Segment by segment, without splitting: empty ones (but a trailing slash), "." and "..".
	rest := strings.TrimPrefix(u.Path, "/")
	for {
		segment, after, more := strings.Cut(rest, "/")
		if segment == "." || segment == ".." || segment == "" && more {
			return badPath(u.Path, "empty, '.' or '..' segments")
		}
		if !more {
			return nil
		}
		rest = after
	}
}

// encodedSlash reports whether a URL's path has an encoded '/' or '\\', or a '\\'. A path that came without
// escapes (RawPath empty) escapes '\\' to %5C and '%' to %25, so only a '\\' in it can be one; the rest is
// looked for in the escaped path.
func encodedSlash(u *url.URL) bool {
	if u.RawPath == "" {
		return strings.IndexByte(u.Path, '\\') >= 0
	}
	raw := u.EscapedPath()
	return strings.IndexByte(raw, '\\') >= 0 || containsFold(raw, "%2f") || containsFold(raw, "%5c")
}

// containsFold reports whether s holds sub, an ASCII lower-case string, in any case.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func badPath(path, what string) error {
	return &handlers.Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("Bad Request: the path %q has %s", clipText(path, 120), what)}
}

// safeRedirect returns where to send a browser after signing in: a path on this server, never another site. A
// value with a scheme or host, a control character or a backslash, or a path that a browser could read as
// "//host" (in any layer of percent-encoding) sends it to the overview instead.
func safeRedirect(next string) string {
	const home = "/api/products"
	if next == "" || len(next) > 2048 {
		return home
	}
	for decoded, layer := next, 0; layer < 4; layer++ {
		for _, c := range decoded {
			if c < 0x20 || c == 0x7f || c == '\\' || c >= 0x80 && c < 0xa0 {
				return home
			}
		}
		if strings.HasPrefix(decoded, "//") || strings.HasPrefix(decoded, "/\\") || !strings.HasPrefix(decoded, "/") {
			return home
		}
		unescaped, err := url.PathUnescape(decoded)
		if err != nil {
			return home
		}
		if unescaped == decoded {
			break
		}
		decoded = unescaped
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return home
	}
	return u.RequestURI()
}

// Sign-in attempts each address may make: a steady 1 every 6 s with bursts of 10, so guessing a token over
// the form costs as much as the header path's budget allows at its tightest.
const (
	loginRate  = 1.0 / 6
	loginBurst = 10
)

// limitLogin refuses an address's sign-in attempts beyond loginRate with 429 and Retry-After.
func (s *Server) limitLogin(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if ok, wait := s.logins.allow(remoteHost(r), time.Now()); !ok {
			return s.tooMany(w, wait)
		}
		return next(w, r)
	}
}

// clipText shortens a value quoted in an error message so that a huge header cannot flood a log.
func clipText(s string, most int) string {
	if len(s) <= most {
		return s
	}
	return s[:most] + "…"
}
