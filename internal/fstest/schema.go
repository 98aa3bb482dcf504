package fstest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema validates JSON documents against a JSON Schema (draft 2020-12), asserting
// its format and contentEncoding keywords as well.
type Schema struct{ s *jsonschema.Schema }

// NewSchema compiles a schema, which must itself be valid against its metaschema.
func NewSchema(t testing.TB, schema []byte) *Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.AssertContent()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatalf("schema: %v", err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	return &Schema{s}
}

// Lines validates every line of NDJSON output and returns the first violation, naming
// the line; nil when every line is valid (or there are none).
func (s *Schema) Lines(ndjson []byte) error {
	for i, line := range bytes.Split(bytes.TrimSuffix(ndjson, []byte("\n")), []byte("\n")) {
		if len(ndjson) == 0 {
			break
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
		if err != nil {
			return fmt.Errorf("line %d: %w: %s", i+1, err, line)
		}
		if err := s.s.Validate(doc); err != nil {
			return fmt.Errorf("line %d: %w\n%s", i+1, err, line)
		}
	}
	return nil
}
