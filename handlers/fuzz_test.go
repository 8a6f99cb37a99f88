package handlers

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"stackboard/models"
)

// Every JSON body decoder refuses with a FieldError (never a panic), accepts only objects, and what it accepts
// is valid UTF-8 with the documented field names. Run longer with make fuzz.
func FuzzDecodeBodies(f *testing.F) {
	for _, seed := range []string{
		`{"stack_name":"web","description":"d"}`, `{"stack_id":null,"description":"x","status":"DEPLOYMENT_FAILED","status_message":"m"}`,
		`{"state":"DEPLOYED","status":"RUNNING","domains":["a.example.com"],"image":{"name":"nginx","tag":"1"}}`,
		`{"product_name":"p","project_id":"proj","stack_deps":[[{"stack_name":"a"}],[{"stack_name":"b"}]]}`,
		"null", "[]", `"x"`, "1", "{", "{\"description\":\"\xff\"}", `{"Stack_Name":"x"}`, `{"description":"a\u0000"}`, "{} {}",
	} {
		f.Add(seed)
	}
	targets := []func() any{
		func() any { return new(createStackBody) }, func() any { return new(updateStackBody) },
		func() any { return new(serviceBody) }, func() any { return new(productBody) },
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range targets {
			v := target()
			err := decodeJSON([]byte(body), v)
			if err != nil {
				var fe *models.FieldError
				if !errors.As(err, &fe) || fe.Field == "" {
					t.Errorf("%q: %v is not a FieldError naming a field", body, err)
				}
				continue
			}
			if !strings.HasPrefix(strings.TrimSpace(body), "{") {
				t.Errorf("%q was accepted though it is not an object", body)
			}
			if !utf8.ValidString(body) {
				t.Errorf("%q was accepted though it is not UTF-8", body)
			}
			if _, err := json.Marshal(v); err != nil {
				t.Errorf("%q decoded into a value that does not encode: %v", body, err)
			}
		}
	})
}
