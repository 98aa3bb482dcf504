package report

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
