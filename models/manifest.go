package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Manifest is the document that `stackboard import` applies and `stackboard export` prints (YAML, or JSON).
type Manifest struct {
	Projects []ManifestProject `yaml:"projects"`
	Products []ManifestProduct `yaml:"products"`
}

// ManifestProject is a project and its stacks.
type ManifestProject struct {
	ID     string          `yaml:"id"`
	Stacks []ManifestStack `yaml:"stacks"`
}

// ManifestStack describes one stack; a field left out keeps what the database has (or its default for a new stack).
type ManifestStack struct {
	Name          string  `yaml:"name"`
	ID            *string `yaml:"id,omitempty"`
	Description   *string `yaml:"description,omitempty"`
	Status        *string `yaml:"status,omitempty"`
	StatusMessage *string `yaml:"status_message,omitempty"`
	CreateTime    *string `yaml:"create_time,omitempty"`
	UpdateTime    *string `yaml:"update_time,omitempty"`
	// EnableDeletionProtection and EnableAutoRollback are RFS's settings; nil keeps the stack's (off for a new one).
	EnableDeletionProtection *bool `yaml:"enable_deletion_protection,omitempty"`
	EnableAutoRollback       *bool `yaml:"enable_auto_rollback,omitempty"`
	// Metadata is kept as a node so that "absent" (zero Kind) differs from an explicit null.
	Metadata yaml.Node `yaml:"metadata,omitempty"`
	// Services, when given, replaces the stack's services; nil keeps them.
	Services *[]ManifestService `yaml:"services,omitempty"`
}

// ManifestService describes one service of a stack.
type ManifestService struct {
	Name    string        `yaml:"name"`
	State   string        `yaml:"state"`
	Status  string        `yaml:"status"`
	Domains []string      `yaml:"domains"`
	Image   ManifestImage `yaml:"image"`
}

// ManifestImage names a service's image; the tag defaults to "latest".
type ManifestImage struct {
	Name string `yaml:"name"`
	Tag  string `yaml:"tag"`
}

// MarshalYAML writes the image on one line: "{name: spocktest/io, tag: test}".
func (i ManifestImage) MarshalYAML() (any, error) {
	node := &yaml.Node{}
	type plain ManifestImage
	if err := node.Encode(plain(i)); err != nil {
		return nil, err
	}
	node.Style = yaml.FlowStyle
	return node, nil
}

// ManifestProduct describes a product; its layers replace the product's layers.
type ManifestProduct struct {
	Name    string `yaml:"name"`
	Project string `yaml:"project,omitempty"`
	Layers  Layers `yaml:"layers"`
}

// Layers are a product's dependency layers, each a list of stack names; they print as one line per layer.
type Layers [][]string

// MarshalYAML writes each layer as a flow sequence: "- [memcached, redis]".
func (l Layers) MarshalYAML() (any, error) {
	node := &yaml.Node{Kind: yaml.SequenceNode}
	for _, layer := range l {
		item := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		if err := item.Encode(layer); err != nil {
			return nil, err
		}
		item.Style = yaml.FlowStyle
		node.Content = append(node.Content, item)
	}
	return node, nil
}

// ManifestFile is a manifest and the name of the file it came from, used in error messages.
type ManifestFile struct {
	Name     string
	Manifest Manifest
}

// ManifestError says which file and which entry of a manifest is wrong, and why.
type ManifestError struct {
	File  string
	Entry string
	Err   error
}

// Error returns "file: entry: problem".
func (e *ManifestError) Error() string {
	if e.Entry == "" {
		return e.File + ": " + e.Err.Error()
	}
	return e.File + ": " + e.Entry + ": " + e.Err.Error()
}

// Unwrap returns the problem.
func (e *ManifestError) Unwrap() error {
	return e.Err
}

// DecodeManifest reads one manifest document, YAML or JSON, refusing unknown fields.
func DecodeManifest(name string, r io.Reader) (ManifestFile, error) {
	decoder := yaml.NewDecoder(r)
	decoder.KnownFields(true)
	var m Manifest
	if err := decoder.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return ManifestFile{}, &ManifestError{File: name, Err: errors.New("the manifest is empty")}
		}
		return ManifestFile{}, &ManifestError{File: name, Err: errors.New(strings.ReplaceAll(err.Error(), "\n ", ""))}
	}
	var extra yaml.Node
	if err := decoder.Decode(&extra); !errors.Is(err, io.EOF) {
		return ManifestFile{}, &ManifestError{File: name, Err: errors.New("holds more than one YAML document; put everything in one")}
	}
	return ManifestFile{Name: name, Manifest: m}, nil
}

// EncodeManifest writes a manifest as YAML.
func EncodeManifest(w io.Writer, m Manifest) error {
	encoder := yaml.NewEncoder(w)
	encoder.SetIndent(2)
	if err := encoder.Encode(m); err != nil {
		return err
	}
	return encoder.Close()
}

// parseManifestTime reads an RFC 3339 time and returns it in UTC, to the second.
func parseManifestTime(field, value string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, &FieldError{field, ReasonInvalid, fmt.Sprintf("%q is not an RFC 3339 time such as 2023-05-17T07:34:22Z", clip(value))}
	}
	return t.UTC().Truncate(time.Second), nil
}

// metadataJSON turns a manifest's metadata node into compact JSON, keeping the order of keys; absent and null
// both give "".
func metadataJSON(field string, node *yaml.Node) (string, error) {
	if node.Kind == 0 || node.Kind == yaml.ScalarNode && node.ShortTag() == "!!null" {
		return "", nil
	}
	if node.Kind != yaml.MappingNode {
		return "", &FieldError{field, ReasonInvalid, "must be a JSON object or null"}
	}
	var buf bytes.Buffer
	if err := writeNodeJSON(&buf, node); err != nil {
		return "", &FieldError{field, ReasonInvalid, err.Error()}
	}
	return buf.String(), nil
}

func writeNodeJSON(buf *bytes.Buffer, node *yaml.Node) error {
	switch node.Kind {
	case yaml.DocumentNode:
		return writeNodeJSON(buf, node.Content[0])
	case yaml.AliasNode:
		return writeNodeJSON(buf, node.Alias)
	case yaml.MappingNode:
		buf.WriteByte('{')
		seen := make(map[string]bool, len(node.Content)/2)
		for i := 0; i+1 < len(node.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			key := node.Content[i]
			if key.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a key must be a plain string", key.Line)
			}
			if seen[key.Value] {
				return fmt.Errorf("line %d: key %q appears twice", key.Line, key.Value)
			}
			seen[key.Value] = true
			writeJSONString(buf, key.Value)
			buf.WriteByte(':')
			if err := writeNodeJSON(buf, node.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range node.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeNodeJSON(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		return writeScalarJSON(buf, node)
	}
	return nil
}

func writeScalarJSON(buf *bytes.Buffer, node *yaml.Node) error {
	switch node.ShortTag() {
	case "!!null":
		buf.WriteString("null")
	case "!!bool":
		var b bool
		if err := node.Decode(&b); err != nil {
			return fmt.Errorf("line %d: %w", node.Line, err)
		}
		buf.WriteString(strconv.FormatBool(b))
	case "!!int":
		var n int64
		if err := node.Decode(&n); err != nil {
			return fmt.Errorf("line %d: %w", node.Line, err)
		}
		buf.WriteString(strconv.FormatInt(n, 10))
	case "!!float":
		var f float64
		if err := node.Decode(&f); err != nil {
			return fmt.Errorf("line %d: %w", node.Line, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("line %d: %s has no JSON form", node.Line, node.Value)
		}
		encoded, _ := json.Marshal(f)
		buf.Write(encoded)
	default:
		writeJSONString(buf, node.Value)
	}
	return nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	encoded, _ := json.Marshal(s)
	buf.Write(encoded)
}

// metadataNode turns stored metadata JSON back into a YAML node for export: a flow mapping, or null.
func metadataNode(stored string) (yaml.Node, error) {
	if stored == "" {
		return yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(stored), &doc); err != nil {
		return yaml.Node{}, err
	}
	node := *doc.Content[0]
	setFlowStyle(&node)
	return node, nil
}

func setFlowStyle(node *yaml.Node) {
	if node.Kind == yaml.MappingNode || node.Kind == yaml.SequenceNode {
		node.Style = yaml.FlowStyle
	}
	for _, child := range node.Content {
		setFlowStyle(child)
	}
}
