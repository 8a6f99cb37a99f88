package models

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// The defaults of what a write leaves out, decided here and read by every write path (HTTP, import, demo,
// generator) and every reader.

// DefaultImageTag is the tag of an image reported without one.
const DefaultImageTag = "latest"

// WithDefaults returns the report with what it left out filled in: the image tag DefaultImageTag, and no
// domains as an empty list (shown as [], never null).
func (s ServiceSpec) WithDefaults() ServiceSpec {
	if s.Image.Tag == "" {
		s.Image.Tag = DefaultImageTag
	}
	if s.Domains == nil {
		s.Domains = []string{}
	}
	return s
}

// row is the service row a report describes, its defaults filled in; the caller sets its stack and ordinal.
func (s ServiceSpec) row(name string) Service {
	s = s.WithDefaults()
	return Service{Name: name, State: s.State, Status: s.Status, Domains: EncodeDomains(s.Domains),
		ImageName: s.Image.Name, ImageTag: s.Image.Tag}
}

// noDomains is how a service without domains keeps them.
const noDomains = "[]"

// EncodeDomains returns how a service row keeps its domains: a JSON array, [] for none.
func EncodeDomains(domains []string) string {
	if len(domains) == 0 {
		return noDomains
	}
	encoded, _ := json.Marshal(domains) // a []string always encodes
	return string(encoded)
}

// decodeDomains reads a service row's domains back: never nil, so that JSON shows [].
func decodeDomains(stored string) ([]string, error) {
	// Most services have no domains: no need to run the JSON decoder for them.
	if stored == noDomains || stored == "" {
		return []string{}, nil
	}
	var domains []string
	if err := json.Unmarshal([]byte(stored), &domains); err != nil {
		return nil, fmt.Errorf("stored domains %q are not a JSON array: %w", clip(stored), err)
	}
	if domains == nil {
		domains = []string{}
	}
	return domains, nil
}

// newStack is the row of a stack made at created, with the defaults of a new stack: a fresh stack_id, the
// lifecycle status CREATION_COMPLETE, and its update and status times equal to its create time.
func newStack(projectID, name string, created time.Time) Stack {
	return Stack{ProjectID: projectID, Name: name, StackID: uuid.NewString(), Status: LifecycleCreationComplete,
		CreateTime: created, UpdateTime: created, StatusChangedAt: created}
}
