package report

import (
	"embed"
	"fmt"
	"slices"
)

// FormatVersion is the version of the json and ecs line formats, which every line
// carries: "fim":{"format":1} in json, fim.format in ecs. It changes, for both formats
// at once, whenever a line of the new version could fail the schema of the old one: a
// field added, removed, renamed or given another type or meaning, a value added to an
// enumeration. Lines of one version all validate against the schema of that version
// (Schema), and a consumer that knows version N can refuse any other.
const FormatVersion = 1

// lineFormat is the format version as the json format writes it.
type lineFormat struct {
	Format int `json:"format"`
}

// The schemas are files of their own, so that what fim prints, what its tests
// validate with and what a reader downloads are the same bytes.
//
//go:embed schema/json.schema.json schema/ecs.schema.json
var schemas embed.FS

// SchemaFormats are the formats that have a schema.
var SchemaFormats = []string{"json", "ecs"}

// Schema returns the JSON Schema (draft 2020-12) of one line of a format (json or ecs)
// in version FormatVersion. It is strict: an object fim writes may hold only the fields
// it lists, and its enumerations are the values fim writes.
func Schema(format string) ([]byte, error) {
	if !slices.Contains(SchemaFormats, format) {
		return nil, fmt.Errorf("no schema for format %q (want json or ecs)", format)
	}
	return schemas.ReadFile("schema/" + format + ".schema.json")
}
