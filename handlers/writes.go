package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"gorm.io/gorm"

	"stackboard/models"
)

// MaxBodyBytes bounds the body of a write.
const MaxBodyBytes = 1 << 20

// headerClientRequestID names the header that makes a write replayable.
const headerClientRequestID = "Client-Request-Id"

// readBody reads a write's body, refusing one over MaxBodyBytes with 413.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("Request Entity Too Large: the body may be at most %d bytes", MaxBodyBytes)}
	}
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Message: "the body could not be read", Err: err}
	}
	return body, nil
}

// decodeJSON reads a JSON object into v: malformed JSON is a 400, an unknown field a 400 that names it.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &models.FieldError{Field: "body", Reason: models.ReasonMissing, Problem: "a JSON object is required"}
	}
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.DisallowUnknownFields()
	err := decoder.Decode(v)
	if err == nil && decoder.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &models.FieldError{Field: field, Reason: models.ReasonUnknownField, Problem: "is not a known field"}
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return &models.FieldError{Field: field, Reason: models.ReasonInvalid, Problem: "must be a JSON " + jsonTypeName(typeErr.Type)}
	}
	return &models.FieldError{Field: "body", Reason: models.ReasonInvalid, Problem: "is not a valid JSON object: " + err.Error()}
}

// jsonTypeName names the JSON type that a Go type is decoded from, so that errors never show Go's type names.
func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return "number"
}

// Writes runs the change a write asks for and answers it, once per Client-Request-Id: a retry within 24 h gets
// the first answer and changes nothing.
type Writes struct {
	DB  *gorm.DB
	Out Responder
}

// Result is what a write made: the status, where the new resource lives (for Location), and the JSON body (nil
// for none). It is stored with the replay record, so a retry is answered exactly the same.
type Result struct {
	Status   int
	Location string
	Body     any
}

// change is the work of one write, inside its transaction.
type change func(tx *gorm.DB) (Result, error)

// Do runs change for the request whose body was read, and answers it.
func (h Writes) Do(w http.ResponseWriter, r *http.Request, body []byte, run change) error {
	var key *models.ReplayKey
	if id := r.Header.Get(headerClientRequestID); id != "" {
		sum := sha256.Sum256(body)
		key = &models.ReplayKey{
			Principal: requestOf(r).Access.Principal(), ClientRequestID: id,
			Method: r.Method, Path: r.URL.RequestURI(), BodySHA256: hex.EncodeToString(sum[:]),
		}
	}
	response, replayed, err := models.Replay(r.Context(), h.DB, key, func(tx *gorm.DB) (models.StoredResponse, error) {
		result, err := run(tx)
		if err != nil {
			return models.StoredResponse{}, err
		}
		stored := models.StoredResponse{Status: result.Status, Location: result.Location}
		if result.Body != nil {
			if stored.Body, err = json.Marshal(result.Body); err != nil {
				return models.StoredResponse{}, err
			}
		}
		return stored, nil
	})
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set("X-Replayed", "true")
	}
	if response.Location != "" {
		w.Header().Set("Location", response.Location)
	}
	view := View{Status: response.Status}
	if response.Body != nil {
		view.Data = json.RawMessage(response.Body)
	}
	return h.Out.Respond(w, r, view)
}
