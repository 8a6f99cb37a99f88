package handlers

import (
	"context"
	"net/http"
	"slices"
)

// Roles a token can have.
const (
	RoleRead  = "read"
	RoleWrite = "write"
)

// Token is an API token as the tokens file describes it (its secret is kept only as a SHA-256 hash).
type Token struct {
	Name string
	// Projects lists the project ids the token reaches; "*" reaches every project.
	Projects []string
	Role     string
}

// reaches reports whether the token may act on a project.
func (t Token) reaches(projectID string) bool {
	return slices.Contains(t.Projects, "*") || slices.Contains(t.Projects, projectID)
}

// Access is who made a request and what the server requires of them.
type Access struct {
	// Required is set when the server has a tokens file: writes then need a write token.
	Required bool
	// ReadsRequired is set when reads need a token too.
	ReadsRequired bool
	// Token is the request's token; nil when it sent none.
	Token *Token
	// Session is set when the token came with a browser's session (signed in at /login), which pages show and
	// offer to end.
	Session bool
}

// Principal names the sender for per-client state (replays): the token's name, or "" without one.
func (a Access) Principal() string {
	if a.Token == nil {
		return ""
	}
	return "token:" + a.Token.Name
}

// RequireToken fails with 401 when a token is needed (for a write, or for any request when reads are protected)
// and none came, and with 403 when a write came with a read-only token.
func (a Access) RequireToken(write bool) error {
	if !a.Required || !write && !a.ReadsRequired {
		return nil
	}
	if a.Token == nil {
		return &Error{Status: http.StatusUnauthorized, Message: "Unauthorized: send a token in X-Auth-Token or Authorization: Bearer"}
	}
	if write && a.Token.Role != RoleWrite {
		return &Error{Status: http.StatusForbidden, Message: "Forbidden: token " + a.Token.Name + " may only read"}
	}
	return nil
}

// Check fails with 401 or 403 unless the request may read (or, with write, change) the project.
func (a Access) Check(projectID string, write bool) error {
	if err := a.RequireToken(write); err != nil || !a.Required || !write && !a.ReadsRequired {
		return err
	}
	if !a.Token.reaches(projectID) {
		return &Error{Status: http.StatusForbidden, Message: "Forbidden: token " + a.Token.Name + " has no access to project " + projectID}
	}
	return nil
}

// VisibleProjects lists the projects whose data the request may read; nil means all of them.
func (a Access) VisibleProjects() []string {
	if !a.Required || !a.ReadsRequired || a.Token == nil || slices.Contains(a.Token.Projects, "*") {
		return nil
	}
	return a.Token.Projects
}

// AccessFrom returns the Access the server decided for a request; without one, nothing is required.
func AccessFrom(ctx context.Context) Access {
	return RequestFrom(ctx).Access
}
