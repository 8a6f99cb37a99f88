package models

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// validationCase is one value given to a validator and what the validator must say about it: ok, or a
// *FieldError with this reason whose problem contains every one of the given substrings.
type validationCase struct {
	name    string
	value   string
	ok      bool
	reason  Reason
	problem []string
}

func valid(name, value string) validationCase {
	return validationCase{name: name, value: value, ok: true}
}

func refused(name, value string, reason Reason, problem ...string) validationCase {
	return validationCase{name: name, value: value, reason: reason, problem: problem}
}

// checkValidation runs validate(field, value) for each case and checks the outcome.
func checkValidation(t *testing.T, field string, validate func(field, value string) error, cases []validationCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Helper()
			err := validate(field, tc.value)
			if tc.ok {
				if err != nil {
					t.Fatalf("%q: unexpected error %v", clip(tc.value), err)
				}
				return
			}
			assertFieldError(t, err, field, tc.reason, tc.problem...)
		})
	}
}

// assertFieldError checks that err is a *FieldError naming field, with the given reason and a problem that
// contains every substring, and that its message is "field: problem".
func assertFieldError(t *testing.T, err error, field string, reason Reason, problem ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a *FieldError on %s", field)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %T (%v), want a *FieldError", err, err)
	}
	if fe.Field != field {
		t.Errorf("Field = %q, want %q", fe.Field, field)
	}
	if fe.Reason != reason {
		t.Errorf("Reason = %d, want %d (%v)", fe.Reason, reason, err)
	}
	if want := field + ": " + fe.Problem; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	for _, part := range problem {
		if !strings.Contains(fe.Problem, part) {
			t.Errorf("Problem = %q, want it to contain %q", fe.Problem, part)
		}
	}
}

func TestValidateProjectID(t *testing.T) {
	checkValidation(t, "project_id", ValidateProjectID, []validationCase{
		valid("3 characters, the shortest", "abc"),
		valid("64 characters, the longest", strings.Repeat("a", 64)),
		valid("the spec's hex id", "ba2b9930c977f71edaeaa3a5e96a8ff1"),
		valid("letters, digits, underscore and hyphen", "Payments_prod-2"),
		valid("leading digit", "1abc"),
		valid("leading underscore", "_abc"),
		valid("leading hyphen", "-abc"),
		valid("upper case", "PROD"),
		refused("empty", "", ReasonMissing, "is required"),
		refused("1 character", "a", ReasonTooShort, `"a" is 1 characters long; at least 3 are needed`),
		refused("2 characters", "ab", ReasonTooShort, `"ab" is 2 characters long; at least 3 are needed`),
		refused("65 characters", strings.Repeat("a", 65), ReasonTooLong, "is 65 characters long; at most 64 are allowed"),
		refused("space", "my project", ReasonInvalid, `"my project" may contain only letters, digits, '_' and '-'`),
		refused("dot", "my.project", ReasonInvalid, "may contain only"),
		refused("slash", "a/b/c", ReasonInvalid, "may contain only"),
		refused("trailing newline", "abc\n", ReasonInvalid, "may contain only"),
		refused("non-ASCII letter", "prøject", ReasonInvalid, "may contain only"),
		refused("3 non-ASCII letters", "ééé", ReasonInvalid, "may contain only"),
		// 33 characters but 66 bytes: a character problem, not a length one.
		refused("33 non-ASCII letters", strings.Repeat("é", 33), ReasonInvalid, "may contain only"),
		refused("65 non-ASCII letters", strings.Repeat("é", 65), ReasonTooLong, "is 65 characters long; at most 64 are allowed"),
		refused("1 non-ASCII letter", "é", ReasonTooShort, "is 1 characters long; at least 3 are needed"),
	})
}

func TestValidateName(t *testing.T) {
	checkValidation(t, "stack_name", ValidateName, []validationCase{
		valid("1 letter, the shortest", "a"),
		valid("128 characters, the longest", "a"+strings.Repeat("b", 127)),
		valid("letters, digits, underscore and hyphen", "my_second-stack2"),
		valid("upper case", "Web"),
		valid("lower case of the same", "web"),
		refused("empty", "", ReasonMissing, "is required"),
		refused("129 characters", "a"+strings.Repeat("b", 128), ReasonTooLong, "is 129 characters long; at most 128 are allowed"),
		refused("129 non-ASCII letters", strings.Repeat("é", 129), ReasonTooLong, "is 129 characters long"),
		refused("leading digit", "1stack", ReasonInvalid, `"1stack" must start with a letter and contain only letters, digits, '_' and '-'`),
		refused("leading underscore", "_stack", ReasonInvalid, "must start with a letter"),
		refused("leading hyphen", "-stack", ReasonInvalid, "must start with a letter"),
		refused("only a digit", "7", ReasonInvalid, "must start with a letter"),
		refused("space", "my stack", ReasonInvalid, "must start with a letter"),
		refused("dot", "my.stack", ReasonInvalid, "must start with a letter"),
		refused("colon", "nginx:latest", ReasonInvalid, "must start with a letter"),
		refused("non-ASCII first letter", "équipe", ReasonInvalid, "must start with a letter"),
		refused("non-ASCII inside", "stäck", ReasonInvalid, "must start with a letter"),
		refused("emoji", "stack🚀", ReasonInvalid, "must start with a letter"),
	})
}

func TestValidateDescription(t *testing.T) {
	checkValidation(t, "description", ValidateDescription, []validationCase{
		valid("empty", ""),
		valid("the spec's", "my second stack"),
		valid("1024 characters, the longest", strings.Repeat("x", 1024)),
		valid("1024 non-ASCII characters (2048 bytes)", strings.Repeat("é", 1024)),
		valid("newlines and punctuation", "line one\nline two: done!"),
		refused("1025 characters", strings.Repeat("x", 1025), ReasonTooLong, "is 1025 characters long; at most 1024 are allowed"),
		refused("1025 non-ASCII characters", strings.Repeat("中", 1025), ReasonTooLong, "is 1025 characters long"),
		refused("invalid UTF-8", "caf\xe9", ReasonInvalid, "is not valid UTF-8"),
	})
}

func TestValidateStackID(t *testing.T) {
	checkValidation(t, "stack_id", ValidateStackID, []validationCase{
		valid("the spec's", "4d4f4ece-b291-4c71-8083-bec9b8a44de0"),
		valid("upper-case hex", "4D4F4ECE-B291-4C71-8083-BEC9B8A44DE0"),
		refused("empty", "", ReasonMissing, "is required"),
		refused("35 characters", "4d4f4ece-b291-4c71-8083-bec9b8a44de", ReasonInvalid, "is not a UUID of 36 characters"),
		refused("37 characters", "4d4f4ece-b291-4c71-8083-bec9b8a44de00", ReasonInvalid, "is not a UUID of 36 characters"),
		refused("32 hex digits without hyphens", "4d4f4eceb2914c718083bec9b8a44de0", ReasonInvalid, "is not a UUID of 36 characters"),
		refused("in braces", "{4d4f4ece-b291-4c71-8083-bec9b8a44de0}", ReasonInvalid, "is not a UUID of 36 characters"),
		refused("URN form", "urn:uuid:4d4f4ece-b291-4c71-8083-bec9b8a44de0", ReasonInvalid, "is not a UUID of 36 characters"),
		refused("36 characters, not hex", "zzzzzzzz-b291-4c71-8083-bec9b8a44de0", ReasonInvalid, `"zzzzzzzz-b291-4c71-8083-bec9b8a44de0" is not a UUID`),
		refused("36 characters, hyphens misplaced", "4d4f4eceb-291-4c71-8083-bec9b8a44de0", ReasonInvalid, "is not a UUID"),
	})
}

func TestValidateEnums(t *testing.T) {
	validators := []struct {
		name     string
		validate func(field, value string) error
		what     string
		allowed  []string
		// foreign is a value of another enum, which this one must refuse.
		foreign string
	}{
		{"lifecycle status", ValidateLifecycleStatus, "lifecycle status", LifecycleStatuses(), RunRunning},
		{"service state", ValidateServiceState, "service state", ServiceStates(), RunRunning},
		{"run status", ValidateRunStatus, "run status", RunStatuses(), StateDeployed},
	}
	for _, v := range validators {
		t.Run(v.name, func(t *testing.T) {
			list := "(one of " + strings.Join(v.allowed, ", ") + ")"
			var cases []validationCase
			for _, value := range v.allowed {
				cases = append(cases,
					valid(value, value),
					refused("lower-case "+value, strings.ToLower(value), ReasonInvalid,
						fmt.Sprintf("%q is not a %s %s", strings.ToLower(value), v.what, list)),
					refused("padded "+value, " "+value, ReasonInvalid, "is not a "+v.what),
				)
			}
			cases = append(cases,
				refused("empty", "", ReasonMissing, "is required "+list),
				refused("misspelt", v.allowed[0][1:], ReasonInvalid, fmt.Sprintf("%q is not a %s %s", v.allowed[0][1:], v.what, list)),
				refused("another enum's "+v.foreign, v.foreign, ReasonInvalid, fmt.Sprintf("%q is not a %s", v.foreign, v.what)),
			)
			checkValidation(t, "status", v.validate, cases)
		})
	}
}

func TestValidateEnumQuotesTheIssueExample(t *testing.T) {
	err := ValidateLifecycleStatus("status", "RUNING")
	want := `status: "RUNING" is not a lifecycle status (one of CREATION_COMPLETE, DEPLOYMENT_IN_PROGRESS, ` +
		`DEPLOYMENT_FAILED, DEPLOYMENT_COMPLETE, ROLLBACK_IN_PROGRESS, ROLLBACK_FAILED, ROLLBACK_COMPLETE, ` +
		`DELETION_IN_PROGRESS, DELETION_FAILED)`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestValidateLayers(t *testing.T) {
	project := map[string]bool{"memcached": true, "kodo": true, "mongodb": true, "web": true, "Web": true}
	inProject := func(name string) bool { return project[name] }
	tests := []struct {
		name    string
		layers  [][]string
		ok      bool
		field   string
		reason  Reason
		problem string
	}{
		{name: "one layer of one stack", layers: [][]string{{"memcached"}}, ok: true},
		{name: "the spec's kodo product", layers: [][]string{{"memcached"}, {"kodo"}}, ok: true},
		{name: "parallel stacks in a layer", layers: [][]string{{"memcached", "mongodb"}, {"kodo"}}, ok: true},
		{name: "names differing only in case are two stacks", layers: [][]string{{"web", "Web"}}, ok: true},
		{name: "no layers", layers: nil,
			field: "layers", reason: ReasonMissing, problem: "a product needs at least one layer"},
		{name: "an empty list of layers", layers: [][]string{},
			field: "layers", reason: ReasonMissing, problem: "a product needs at least one layer"},
		{name: "an empty first layer", layers: [][]string{{}},
			field: "layers[0]", reason: ReasonMissing, problem: "layer 1 has no stacks; every layer needs at least one"},
		{name: "an empty second layer", layers: [][]string{{"memcached"}, {}},
			field: "layers[1]", reason: ReasonMissing, problem: "layer 2 has no stacks"},
		{name: "a stack twice in one layer", layers: [][]string{{"memcached", "memcached"}},
			field: "layers[0][1]", reason: ReasonInvalid, problem: `stack "memcached" is already in this product at layers[0][0]; a stack appears at most once`},
		{name: "a stack in two layers", layers: [][]string{{"memcached", "mongodb"}, {"kodo", "mongodb"}},
			field: "layers[1][1]", reason: ReasonInvalid, problem: `stack "mongodb" is already in this product at layers[0][1]`},
		{name: "a stack not in the project", layers: [][]string{{"memcached"}, {"redis"}},
			field: "layers[1][0]", reason: ReasonInvalid, problem: `stack "redis" does not exist in the product's project`},
		{name: "a stack of another case than the project's", layers: [][]string{{"MEMCACHED"}},
			field: "layers[0][0]", reason: ReasonInvalid, problem: `stack "MEMCACHED" does not exist`},
		{name: "a bad stack name", layers: [][]string{{"memcached", "1kodo"}},
			field: "layers[0][1]", reason: ReasonInvalid, problem: `"1kodo" must start with a letter`},
		{name: "an empty stack name", layers: [][]string{{"memcached"}, {""}},
			field: "layers[1][0]", reason: ReasonMissing, problem: "is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateLayers("layers", tt.layers, inProject)
			if tt.ok {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			assertFieldError(t, err, tt.field, tt.reason, tt.problem)
		})
	}
}

func TestValidateDomain(t *testing.T) {
	checkValidation(t, "domains[0]", ValidateDomain, []validationCase{
		valid("the spec's", "fulichao.io.kodo.spocktest.qiniu.io"),
		valid("one label", "localhost"),
		valid("with a port", "api.example.com:8443"),
		valid("253 characters, the longest", strings.Repeat("a", 253)),
		refused("empty", "", ReasonMissing, "is empty"),
		refused("254 characters", strings.Repeat("a", 254), ReasonTooLong, "is 254 characters long; at most 253 are allowed"),
		refused("space", "my host.example.com", ReasonInvalid, `"my host.example.com" is not a host name`),
		refused("tab", "a\tb", ReasonInvalid, "is not a host name"),
		refused("newline", "example.com\n", ReasonInvalid, "is not a host name"),
		refused("a URL", "https://example.com", ReasonInvalid, "is not a host name"),
	})
}

func TestValidateImage(t *testing.T) {
	tests := []struct {
		name      string
		imageName string
		tag       string
		ok        bool
		field     string
		reason    Reason
		problem   string
	}{
		{name: "the spec's", imageName: "spocktest/memcached", tag: "latest", ok: true},
		{name: "no tag (defaults to latest)", imageName: "nginx", tag: "", ok: true},
		{name: "a dotted tag", imageName: "nginx", tag: "1.25-alpine", ok: true},
		{name: "a registry with a port", imageName: "registry.local:5000/team/app", tag: "v1", ok: true},
		{name: "255-character name, the longest", imageName: strings.Repeat("n", 255), tag: "v1", ok: true},
		{name: "128-character tag, the longest", imageName: "nginx", tag: strings.Repeat("t", 128), ok: true},
		{name: "no name", imageName: "", tag: "latest",
			field: "image.name", reason: ReasonMissing, problem: "is required"},
		{name: "256-character name", imageName: strings.Repeat("n", 256), tag: "v1",
			field: "image.name", reason: ReasonInvalid, problem: "is not an image name"},
		{name: "a space in the name", imageName: "my image", tag: "v1",
			field: "image.name", reason: ReasonInvalid, problem: `"my image" is not an image name`},
		{name: "129-character tag", imageName: "nginx", tag: strings.Repeat("t", 129),
			field: "image.tag", reason: ReasonInvalid, problem: "is not an image tag"},
		{name: "a colon in the tag", imageName: "nginx", tag: "1.25:alpine",
			field: "image.tag", reason: ReasonInvalid, problem: `"1.25:alpine" is not an image tag`},
		{name: "a space in the tag", imageName: "nginx", tag: "1.25 alpine",
			field: "image.tag", reason: ReasonInvalid, problem: "is not an image tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateImage("image", tt.imageName, tt.tag)
			if tt.ok {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			assertFieldError(t, err, tt.field, tt.reason, tt.problem)
		})
	}
}

func TestFieldErrorWithinPrefixesTheField(t *testing.T) {
	inner := &FieldError{Field: "state", Reason: ReasonInvalid, Problem: `"UP" is not a service state`}
	outer := inner.Within("services[2]")
	assertFieldError(t, outer, "services[2].state", ReasonInvalid, `"UP" is not a service state`)
	if inner.Field != "state" {
		t.Errorf("Within changed the original: Field = %q", inner.Field)
	}
}

func TestValuesInMessagesAreClipped(t *testing.T) {
	err := ValidateName("name", "1"+strings.Repeat("x", 500))
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a *FieldError", err)
	}
	if len(fe.Problem) > 200 || !strings.Contains(fe.Problem, "…") {
		t.Errorf("Problem is %d bytes long, want the value clipped with …: %q", len(fe.Problem), fe.Problem)
	}
}

func TestNotFoundErrorMessage(t *testing.T) {
	err := error(&NotFoundError{Kind: "stack", Name: "web"})
	if got, want := err.Error(), `stack "web" not found`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// The search text of both lists is checked by the one text rule: its length, and no NUL (which PostgreSQL
// cannot take as a parameter).
func TestListSearchTextLimits(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		reason  Reason
		problem string
	}{
		{"the longest", strings.Repeat("q", MaxQueryLength), 0, ""},
		{"one too long", strings.Repeat("q", MaxQueryLength+1), ReasonTooLong, "is 201 characters long; at most 200 are allowed"},
		{"200 non-ASCII letters", strings.Repeat("é", MaxQueryLength), 0, ""},
		{"a NUL", "a\x00b", ReasonInvalid, "contains a NUL character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, err := range []error{ProductFilter{Query: tt.query}.Validate(), StackFilter{Query: tt.query}.Validate()} {
				if tt.problem == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					continue
				}
				assertFieldError(t, err, "q", tt.reason, tt.problem)
			}
		})
	}
}
