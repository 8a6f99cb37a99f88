package models

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits of the values Stackboard accepts, over HTTP and in manifests alike; README.md lists them.
const (
	MaxNameLength          = 128
	MinProjectIDLength     = 3
	MaxProjectIDLength     = 64
	MaxDescriptionLength   = 1024
	MaxStatusMessageLength = 4096
	MaxDomainLength        = 253
	MaxImageNameLength     = 255
	MaxImageTagLength      = 128
	MaxDomainsPerService   = 64
	MaxServicesPerStack    = 256
	MaxStacksPerLayer      = 256
	MaxLayersPerProduct    = 32
	// MaxMetadataBytes is the size of a stack's metadata as compact JSON, MaxMetadataDepth how deeply its objects
	// and arrays may nest.
	MaxMetadataBytes     = 64 << 10
	MaxMetadataDepth     = 16
	MaxEventFilterLength = 512
	// MaxQueryLength is the length of a list page's search text (q).
	MaxQueryLength = 200
	// MinClientRequestIDLength and MaxClientRequestIDLength bound RFS's Client-Request-Id header.
	MinClientRequestIDLength = 36
	MaxClientRequestIDLength = 128
	// MaxManifestBytes is the size of one manifest file.
	MaxManifestBytes = 64 << 20
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

// CheckLength is the one check of a value's length against its limits: n is the length as the limit counts it
// (characters, or bytes for host names), least the shortest allowed (0: no lower limit), most the longest.
// subject, when not empty, starts the problem (a quoted value, or "header").
func CheckLength(field, subject string, n, least, most int) error {
	if subject != "" {
		subject += " "
	}
	switch {
	case n > most:
		return &FieldError{field, ReasonTooLong, fmt.Sprintf("%sis %d characters long; at most %d are allowed", subject, n, most)}
	case n < least:
		return &FieldError{field, ReasonTooShort, fmt.Sprintf("%sis %d characters long; at least %d are needed", subject, n, least)}
	}
	return nil
}

// quoted is a value as a length problem shows it: quoted and clipped.
func quoted(s string) string {
	return fmt.Sprintf("%q", clip(s))
}

// checkQuotedLength is CheckLength of a value that a problem quotes; the quote is made only for a problem, as
// every request that names a project checks its id.
func checkQuotedLength(field, value string, least, most int) error {
	if n := utf8.RuneCountInString(value); n < least || n > most {
		return CheckLength(field, quoted(value), n, least, most)
	}
	return nil
}

// ValidateProjectID checks a project id: 3 to 64 letters, digits, '_' and '-'.
func ValidateProjectID(field, id string) error {
	if id == "" {
		return &FieldError{field, ReasonMissing, "is required"}
	}
	if err := checkQuotedLength(field, id, MinProjectIDLength, MaxProjectIDLength); err != nil {
		return err
	}
	switch {
	case !allNameCharacters(id):
		return &FieldError{field, ReasonInvalid, fmt.Sprintf("%q may contain only letters, digits, '_' and '-'", clip(id))}
	}
	return nil
}

// ValidateName checks a stack, product or service name: 1 to 128 characters, a letter first, then letters,
// digits, '_' and '-'.
func ValidateName(field, name string) error {
	if name == "" {
		return &FieldError{field, ReasonMissing, "is required"}
	}
	if err := checkQuotedLength(field, name, 1, MaxNameLength); err != nil {
		return err
	}
	switch {
	case !isASCIILetter(name[0]) || !allNameCharacters(name):
		return &FieldError{field, ReasonInvalid, fmt.Sprintf("%q must start with a letter and contain only letters, digits, '_' and '-'", clip(name))}
	}
	return nil
}

// ValidateDescription checks a description: text of at most 1024 characters.
func ValidateDescription(field, description string) error {
	return ValidateText(field, description, MaxDescriptionLength)
}

// ValidateText checks free text: valid UTF-8, no NUL character (which PostgreSQL cannot store and which no
// person types), and at most most characters.
func ValidateText(field, text string, most int) error {
	if !utf8.ValidString(text) {
		return &FieldError{field, ReasonInvalid, "is not valid UTF-8"}
	}
	if strings.IndexByte(text, 0) >= 0 {
		return &FieldError{field, ReasonInvalid, "contains a NUL character"}
	}
	return CheckLength(field, "", utf8.RuneCountInString(text), 0, most)
}

// ValidateDomains checks a service's domains: at most MaxDomainsPerService, each a host name.
func ValidateDomains(field string, domains []string) error {
	if len(domains) > MaxDomainsPerService {
		return &FieldError{field, ReasonTooLong, fmt.Sprintf("lists %d domains; at most %d are allowed", len(domains), MaxDomainsPerService)}
	}
	for i, d := range domains {
		if err := ValidateDomain(fmt.Sprintf("%s[%d]", field, i), d); err != nil {
			return err
		}
	}
	return nil
}

// ValidateDomain checks a service's domain: a non-empty host name of at most 253 characters without spaces,
// slashes or control characters.
func ValidateDomain(field, domain string) error {
	if domain == "" {
		return &FieldError{field, ReasonMissing, "is empty"}
	}
	if err := CheckLength(field, "", len(domain), 1, MaxDomainLength); err != nil {
		return err
	}
	switch {
	case !utf8.ValidString(domain) || strings.ContainsFunc(domain, isSpaceOrControl) || strings.ContainsAny(domain, "/\\"):
		return &FieldError{field, ReasonInvalid, fmt.Sprintf("%q is not a host name", clip(domain))}
	}
	return nil
}

// ValidateImage checks an image reference: a name is required; name and tag have no spaces or control
// characters.
func ValidateImage(field, name, tag string) error {
	switch {
	case name == "":
		return &FieldError{field + ".name", ReasonMissing, "is required"}
	case len(name) > MaxImageNameLength || !utf8.ValidString(name) || strings.ContainsFunc(name, isSpaceOrControl):
		return &FieldError{field + ".name", ReasonInvalid, fmt.Sprintf("%q is not an image name", clip(name))}
	case len(tag) > MaxImageTagLength || !utf8.ValidString(tag) || strings.ContainsFunc(tag, isSpaceOrControl) || strings.Contains(tag, ":"):
		return &FieldError{field + ".tag", ReasonInvalid, fmt.Sprintf("%q is not an image tag", clip(tag))}
	}
	return nil
}

// ValidateServiceCount checks the number of services a stack would have.
func ValidateServiceCount(field string, n int) error {
	if n > MaxServicesPerStack {
		return &FieldError{field, ReasonTooLong, fmt.Sprintf("a stack may have at most %d services; this one would have %d", MaxServicesPerStack, n)}
	}
	return nil
}

func isSpaceOrControl(r rune) bool {
	return r <= ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == utf8.RuneError
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
	if len(layers) > MaxLayersPerProduct {
		return &FieldError{field, ReasonTooLong, fmt.Sprintf("has %d layers; at most %d are allowed", len(layers), MaxLayersPerProduct)}
	}
	seen := make(map[string]string)
	for i, layer := range layers {
		layerField := fmt.Sprintf("%s[%d]", field, i)
		if len(layer) == 0 {
			return &FieldError{layerField, ReasonMissing, fmt.Sprintf("layer %d has no stacks; every layer needs at least one", i+1)}
		}
		if len(layer) > MaxStacksPerLayer {
			return &FieldError{layerField, ReasonTooLong, fmt.Sprintf("layer %d has %d stacks; at most %d are allowed", i+1, len(layer), MaxStacksPerLayer)}
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
