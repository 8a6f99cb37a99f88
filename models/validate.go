package models

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits of the values Stackboard accepts.
const (
	MaxNameLength        = 128
	MinProjectIDLength   = 3
	MaxProjectIDLength   = 64
	MaxDescriptionLength = 1024
)

// Reason classifies why a value was refused, so that an API can choose its error code.
type Reason int

// The reasons a value can be refused.
const (
	ReasonInvalid Reason = iota
	ReasonMissing
	ReasonTooLong
	ReasonTooShort
	ReasonUnknownField
)

// FieldError is a validation failure of one field, which it names (a path such as "layers[1][0]").
type FieldError struct {
	Field   string
	Reason  Reason
	Problem string
}

// Error returns "field: problem".
func (e *FieldError) Error() string {
	return e.Field + ": " + e.Problem
}

// Within returns a copy of e whose field path is prefixed with the path of the entry that holds it.
func (e *FieldError) Within(prefix string) *FieldError {
	return &FieldError{Field: prefix + "." + e.Field, Reason: e.Reason, Problem: e.Problem}
}

// NotFoundError says that a named thing does not exist.
type NotFoundError struct {
	Kind string
	Name string
}

// Error returns for example `stack "web" not found`.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %q not found", e.Kind, e.Name)
}

// Kinds of things that NotFoundError and ConflictError name.
const (
	KindStack           = "stack"
	KindService         = "service"
	KindProduct         = "product"
	KindClientRequestID = "Client-Request-Id"
)

// ValidateProjectID checks a project id: 3 to 64 letters, digits, '_' and '-'.
func ValidateProjectID(field, id string) error {
	n := utf8.RuneCountInString(id)
	switch {
	case id == "":
		return &FieldError{field, ReasonMissing, "is required"}
	case n > MaxProjectIDLength:
		return &FieldError{field, ReasonTooLong, fmt.Sprintf("%q is %d characters long; at most %d are allowed", clip(id), n, MaxProjectIDLength)}
	case n < MinProjectIDLength:
		return &FieldError{field, ReasonTooShort, fmt.Sprintf("%q is %d characters long; at least %d are needed", id, n, MinProjectIDLength)}
	case !allNameCharacters(id):
		return &FieldError{field, ReasonInvalid, fmt.Sprintf("%q may contain only letters, digits, '_' and '-'", clip(id))}
	}
	return nil
}

// ValidateName checks a stack, product or service name: 1 to 128 characters, a letter first, then letters,
// digits, '_' and '-'.
func ValidateName(field, name string) error {
	switch {
	case name == "":
		return &FieldError{field, ReasonMissing, "is required"}
	case utf8.RuneCountInString(name) > MaxNameLength:
		return &FieldError{field, ReasonTooLong, fmt.Sprintf("%q is %d characters long; at most %d are allowed", clip(name), utf8.RuneCountInString(name), MaxNameLength)}
	case !isASCIILetter(name[0]) || !allNameCharacters(name):
		return &FieldError{field, ReasonInvalid, fmt.Sprintf("%q must start with a letter and contain only letters, digits, '_' and '-'", clip(name))}
	}
	return nil
}

// ValidateDescription checks a description: at most 1024 characters.
func ValidateDescription(field, description string) error {
	if n := utf8.RuneCountInString(description); n > MaxDescriptionLength {
		return &FieldError{field, ReasonTooLong, fmt.Sprintf("is %d characters long; at most %d are allowed", n, MaxDescriptionLength)}
	}
	if !utf8.ValidString(description) {
		return &FieldError{field, ReasonInvalid, "is not valid UTF-8"}
	}
	return nil
}

// ValidateStackID checks a stack id: a UUID in its 36-character form.
func ValidateStackID(field, id string) error {
	if id == "" {
		return &FieldError{field, ReasonMissing, "is required"}
	}
	if len(id) != 36 {
		return &FieldError{field, ReasonInvalid, fmt.Sprintf("%q is not a UUID of 36 characters", clip(id))}
	}
	if _, err := uuid.Parse(id); err != nil {
		return &FieldError{field, ReasonInvalid, fmt.Sprintf("%q is not a UUID", id)}
	}
	return nil
}

// ValidateLifecycleStatus checks a stack lifecycle status.
func ValidateLifecycleStatus(field, status string) error {
	return validateEnum(field, status, "lifecycle status", LifecycleStatuses())
}

// ValidateServiceState checks a service deployment state.
func ValidateServiceState(field, state string) error {
	return validateEnum(field, state, "service state", ServiceStates())
}

// ValidateRunStatus checks a service run status.
func ValidateRunStatus(field, status string) error {
	return validateEnum(field, status, "run status", RunStatuses())
}

// ValidateLayers checks the structure of a product: at least one layer, at least one stack in each layer, each
// stack at most once, and each one of the product's project (inProject says whether a stack name is).
func ValidateLayers(field string, layers [][]string, inProject func(stackName string) bool) error {
	if len(layers) == 0 {
		return &FieldError{field, ReasonMissing, "a product needs at least one layer"}
	}
	seen := make(map[string]string)
	for i, layer := range layers {
		layerField := fmt.Sprintf("%s[%d]", field, i)
		if len(layer) == 0 {
			return &FieldError{layerField, ReasonMissing, fmt.Sprintf("layer %d has no stacks; every layer needs at least one", i+1)}
		}
		for j, name := range layer {
			stackField := fmt.Sprintf("%s[%d]", layerField, j)
			if err := ValidateName(stackField, name); err != nil {
				return err
			}
			if previous, ok := seen[name]; ok {
				return &FieldError{stackField, ReasonInvalid, fmt.Sprintf("stack %q is already in this product at %s; a stack appears at most once", name, previous)}
			}
			seen[name] = stackField
			if !inProject(name) {
				return &FieldError{stackField, ReasonInvalid, fmt.Sprintf("stack %q does not exist in the product's project", name)}
			}
		}
	}
	return nil
}

func validateEnum(field, value, what string, allowed []string) error {
	if value == "" {
		return &FieldError{field, ReasonMissing, fmt.Sprintf("is required (one of %s)", strings.Join(allowed, ", "))}
	}
	if !slices.Contains(allowed, value) {
		return &FieldError{field, ReasonInvalid, fmt.Sprintf("%q is not a %s (one of %s)", clip(value), what, strings.Join(allowed, ", "))}
	}
	return nil
}

func isASCIILetter(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func allNameCharacters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isASCIILetter(c) && !(c >= '0' && c <= '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// clip shortens a value quoted in an error message so that a huge input cannot flood a log.
func clip(s string) string {
	const most = 80
	if utf8.RuneCountInString(s) <= most {
		return s
	}
	return string([]rune(s)[:most]) + "…"
}
