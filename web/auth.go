package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"golang.org/x/time/rate"
	"gopkg.in/yaml.v3"

	"stackboard/handlers"
	"stackboard/models"
	"stackboard/views"
)

// Header and cookie names of authentication.
const (
	HeaderAuthToken     = "X-Auth-Token"
	HeaderAuthorization = "Authorization"
	sessionCookie       = "stackboard_session"
	sessionLifetime     = 12 * time.Hour
)

// TokenConfig is one entry of the tokens file.
type TokenConfig struct {
	Name string `yaml:"name"`
	// SHA256 is the hex SHA-256 of the token's secret; the secret itself is never stored.
	SHA256   string   `yaml:"sha256"`
	Projects []string `yaml:"projects"`
	Role     string   `yaml:"role"`
}

// LoadTokens reads and checks a tokens file: a YAML list of tokens.
func LoadTokens(path string) ([]TokenConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	var tokens []TokenConfig
	decoder := yaml.NewDecoder(strings.NewReader(string(data)))
	decoder.KnownFields(true)
	if err := decoder.Decode(&tokens); err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	seen := make(map[string]bool)
	for i, t := range tokens {
		entry := fmt.Sprintf("%s: [%d]", path, i)
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("%s.name: is required", entry)
		case seen[t.Name]:
			return nil, fmt.Errorf("%s.name: %q appears twice", entry, t.Name)
		case len(t.SHA256) != 64 || !isHex(t.SHA256):
			return nil, fmt.Errorf("%s.sha256: must be the 64 hex digits of the secret's SHA-256 (sha256sum)", entry)
		case t.Role != handlers.RoleRead && t.Role != handlers.RoleWrite:
			return nil, fmt.Errorf("%s.role: %q is neither read nor write", entry, t.Role)
		case len(t.Projects) == 0:
			return nil, fmt.Errorf(`%s.projects: list project ids, or ["*"] for all`, entry)
		}
		for j, p := range t.Projects {
			if p != "*" {
				if err := models.ValidateProjectID("projects", p); err != nil {
					return nil, fmt.Errorf("%s.projects[%d]: %v", entry, j, err)
				}
			}
		}
		seen[t.Name] = true
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("tokens file %s lists no tokens", path)
	}
	return tokens, nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// auth is the server's access policy: its tokens, whether reads need one, and browsers' sessions.
type auth struct {
	tokens        []authToken
	readsRequired bool
	mu            sync.Mutex
	sessions      map[string]session
}

type authToken struct {
	token handlers.Token
	hash  []byte
}

type session struct {
	token   handlers.Token
	expires time.Time
}

func newAuth(configs []TokenConfig, readsRequired bool) *auth {
	a := &auth{readsRequired: readsRequired, sessions: make(map[string]session)}
	for _, c := range configs {
		hash, _ := hex.DecodeString(strings.ToLower(c.SHA256))
		a.tokens = append(a.tokens, authToken{handlers.Token{Name: c.Name, Projects: c.Projects, Role: c.Role}, hash})
	}
	return a
}

// lookup finds the token whose secret this is, comparing hashes in constant time with every token.
func (a *auth) lookup(secret string) (handlers.Token, bool) {
	sum := sha256.Sum256([]byte(secret))
	var found handlers.Token
	ok := false
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.hash) == 1 {
			found, ok = t.token, true
		}
	}
	return found, ok
}

// secretFrom returns the token a request sent in X-Auth-Token or Authorization: Bearer.
func secretFrom(r *http.Request) string {
	if secret := r.Header.Get(HeaderAuthToken); secret != "" {
		return secret
	}
	if scheme, secret, ok := strings.Cut(r.Header.Get(HeaderAuthorization), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(secret)
	}
	return ""
}

func (a *auth) newSession(t handlers.Token) string {
	raw := make([]byte, 32)
	rand.Read(raw)
	id := base64.RawURLEncoding.EncodeToString(raw)
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	for key, s := range a.sessions {
		if now.After(s.expires) {
			delete(a.sessions, key)
		}
	}
	a.sessions[id] = session{token: t, expires: now.Add(sessionLifetime)}
	return id
}

func (a *auth) session(id string) (handlers.Token, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[id]
	if !ok || time.Now().After(s.expires) {
		return handlers.Token{}, false
	}
	return s.token, true
}

func (a *auth) endSession(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, id)
}

// errUnknownToken is the answer to a token that matches none.
var errUnknownToken = &handlers.Error{Status: http.StatusUnauthorized, Message: "Unauthorized: the token is not known"}

// access works out who sent the request: its token (X-Auth-Token or Bearer) or its browser session. A token that
// matches none is refused, and guessing costs the guesser from the same budget as writes.
func (s *Server) access(w http.ResponseWriter, r *http.Request) (handlers.Access, error) {
	if s.auth == nil {
		return handlers.Access{}, nil
	}
	access := handlers.Access{Required: true, ReadsRequired: s.auth.readsRequired}
	if secret := secretFrom(r); secret != "" {
		token, ok := s.auth.lookup(secret)
		if !ok {
			if s.limiter != nil {
				if allowed, wait := s.limiter.allow("addr:"+remoteHost(r), time.Now()); !allowed {
					return access, s.tooMany(w, wait)
				}
			}
			return access, errUnknownToken
		}
		access.Token = &token
	} else if cookie, err := r.Cookie(sessionCookie); err == nil {
		if token, ok := s.auth.session(cookie.Value); ok {
			access.Token, access.Session = &token, true
		}
	}
	return access, nil
}

// login answers GET /login with the sign-in form and POST /login by checking the token and starting a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	next := safeRedirect(r.URL.Query().Get("next"))
	if s.auth == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	problem := ""
	status := http.StatusOK
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			return &handlers.Error{Status: http.StatusBadRequest, Message: "the form could not be read", Err: err}
		}
		next = safeRedirect(r.PostForm.Get("next"))
		if token, ok := s.auth.lookup(r.PostForm.Get("token")); ok {
			http.SetCookie(w, &http.Cookie{
				Name: sessionCookie, Value: s.auth.newSession(token), Path: "/", HttpOnly: true,
				SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(sessionLifetime.Seconds()),
			})
			http.Redirect(w, r, next, http.StatusSeeOther)
			return nil
		}
		problem = "That token is not known. Check it and try again."
		status = http.StatusUnauthorized
	}
	return s.out.Respond(w, r, handlers.View{
		Status:  status,
		Data:    map[string]string{"message": "sign in with a token: POST /login with form field token"},
		Page:    loginPage(next, problem),
		Partial: loginPage(next, problem),
	})
}

// logout ends the browser's session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if cookie, err := r.Cookie(sessionCookie); err == nil && s.auth != nil {
		s.auth.endSession(cookie.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// rateLimiter allows each client (token, or address) a steady rate of writes with bursts, one
// golang.org/x/time/rate limiter per client.
type rateLimiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	seen  map[string]*clientLimiter
}

type clientLimiter struct {
	limiter *rate.Limiter
	last    time.Time
}

// mostClients bounds the clients the limiter remembers; beyond it, those idle for a minute are forgotten (their
// bucket would be full again by then anyway).
const mostClients = 100_000

func newRateLimiter(perSecond float64, burst int) *rateLimiter {
	return &rateLimiter{rate: rate.Limit(perSecond), burst: max(burst, 1), seen: make(map[string]*clientLimiter)}
}

// allow takes one request from client's bucket; when empty it says how long until the next one is allowed.
func (l *rateLimiter) allow(client string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) > mostClients {
		for key, c := range l.seen {
			if now.Sub(c.last) > time.Minute {
				delete(l.seen, key)
			}
		}
	}
	c, ok := l.seen[client]
	if !ok {
		c = &clientLimiter{limiter: rate.NewLimiter(l.rate, l.burst)}
		l.seen[client] = c
	}
	c.last = now
	reservation := c.limiter.ReserveN(now, 1)
	if delay := reservation.DelayFrom(now); delay > 0 {
		// Refused requests take nothing from the bucket.
		reservation.CancelAt(now)
		return false, delay
	}
	return true, 0
}

// isWrite reports whether a method changes data.
func isWrite(method string) bool {
	return !slices.Contains([]string{http.MethodGet, http.MethodHead, http.MethodOptions}, method)
}

// tooMany is the 429 that says, in Retry-After, how many seconds to wait.
func (s *Server) tooMany(w http.ResponseWriter, wait time.Duration) error {
	seconds := int(wait.Seconds()) + 1
	w.Header().Set(HeaderRetryAfter, fmt.Sprint(seconds))
	return &handlers.Error{Status: http.StatusTooManyRequests, Message: fmt.Sprintf("Too Many Requests: retry in %d s", seconds)}
}

func remoteHost(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndex(host, ":"); i > 0 {
		host = host[:i]
	}
	return host
}

// CheckListenAddress refuses to serve a non-loopback address without tokens unless insecureOpen says so.
func CheckListenAddress(addr string, withTokens, insecureOpen bool) error {
	if withTokens || insecureOpen || isLoopback(addr) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s without --tokens: anyone who reaches it could change data; pass --tokens FILE, or --insecure-open to serve openly anyway", addr)
}

// isLoopback reports whether a listen address only accepts connections from this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loginPage(next, problem string) templ.Component {
	return views.LoginPage(next, problem)
}
