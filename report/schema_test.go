package report

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
)

// schemaOf compiles the schema of a format.
func schemaOf(t testing.TB, format string) *fstest.Schema {
	t.Helper()
	b, err := Schema(format)
	if err != nil {
		t.Fatal(err)
	}
	return fstest.NewSchema(t, b)
}

// schemaDoc decodes the schema of a format.
func schemaDoc(t *testing.T, format string) map[string]any {
	t.Helper()
	b, err := Schema(format)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("schema %s: %v", format, err)
	}
	return doc
}

// TestSchemaGoldens validates every golden report of the line formats against its
// schema.
func TestSchemaGoldens(t *testing.T) {
	for _, format := range SchemaFormats {
		s := schemaOf(t, format)
		eachGolden(t, format, func(t *testing.T, name string, out []byte) {
			if err := s.Lines(out); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
}

// TestSchemaRealTree validates what the line formats make of a walk of a real tree of
// hostile names, and of the same events redacted.
func TestSchemaRealTree(t *testing.T) {
	dir, events := walkTree(t, hostileNames)
	for _, format := range SchemaFormats {
		s := schemaOf(t, format)
		for _, evs := range [][]diff.Event{events, Redact(events, []string{dir})} {
			out := render(t, renderer(t, format), evs, checkInfo)
			if err := s.Lines(out); err != nil {
				t.Errorf("%s: %v", format, err)
			}
		}
	}
}

// TestSchemaCatchesViolations breaks a valid line of each format in one way at a time
// and checks that the schema refuses every broken line: the validation of the golden
// reports cannot pass for want of looking.
func TestSchemaCatchesViolations(t *testing.T) {
	type mutation struct {
		desc   string
		mutate func(m map[string]any)
	}
	set := func(key string, v any) func(map[string]any) {
		return func(m map[string]any) {
			keys := strings.Split(key, ".")
			for _, k := range keys[:len(keys)-1] {
				m = m[k].(map[string]any)
			}
			if v == nil {
				delete(m, keys[len(keys)-1])
			} else {
				m[keys[len(keys)-1]] = v
			}
		}
	}
	cases := map[string][]mutation{
		"json": {
			{"extra field", set("extra", 1.0)},
			{"extra field in an entry", set("file.owner", "root")},
			{"extra field in fim", set("fim.schema", "x")},
			{"size as a string", set("file.size", "1070")},
			{"no changed list", set("changed", nil)},
			{"no format version", set("fim", nil)},
			{"another format version", set("fim.format", 2.0)},
			{"unknown event type", set("type", "explode")},
			{"unknown attribute", set("changed", []any{"colour"})},
			{"unknown entry type", set("before.type", "char_device")},
			{"time that is not RFC 3339", set("time", "yesterday")},
			{"base64 that is not", set("path_b64", "not base64!")},
			{"mode in decimal", set("file.mode", "420")},
		},
		"ecs": {
			{"extra field", set("threat", map[string]any{})},
			{"extra field in fim", set("fim.note", "x")},
			{"a hash that is not ECS's", set("file.hash", map[string]any{"sha256": strings.Repeat("0", 64), "blake3": "x"})},
			{"size as a string", set("file.size", "1070")},
			{"uid as a number", set("file.uid", 0.0)},
			{"no event.id", set("event.id", nil)},
			{"another format version", set("fim.format", 2.0)},
			{"unknown action", set("event.action", "exploded")},
			{"json's entry type", set("file.type", "chardev")},
			{"another ECS version", set("ecs.version", "1.12.0")},
			{"stat without its mode", set("file.mode", nil)},
		},
	}
	for _, format := range SchemaFormats {
		s := schemaOf(t, format)
		// A change: it has an entry before and after.
		line := render(t, renderer(t, format), formatEvents()[4:5], checkInfo)
		if err := s.Lines(line); err != nil {
			t.Fatalf("%s: the line to break is not valid to begin with: %v", format, err)
		}
		if len(cases[format]) == 0 {
			t.Fatalf("no violations of %s", format)
		}
		for _, c := range cases[format] {
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			c.mutate(m)
			broken, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Lines(broken); err == nil {
				t.Errorf("%s: %s passes the schema: %s", format, c.desc, broken)
			}
		}
	}
}

// TestSchemaEnums checks that the enumerations and constants of the schemas are the
// values fim's code can write, in its order, so the two cannot drift apart.
func TestSchemaEnums(t *testing.T) {
	var kinds, attrs, types, flags, ecsEventTypes, ecsActions []string
	for _, k := range diff.ReportKinds() {
		kinds = append(kinds, k.String())
	}
	for a := diff.Attr(0); ; a++ {
		if b, err := diff.ParseAttr(a.String()); err != nil || b != a {
			break
		}
		attrs = append(attrs, a.String())
	}
	for i := range 256 {
		if ty, ok := tree.ParseType(tree.Type(i).String()); ok && ty == tree.Type(i) {
			types = append(types, ty.String())
		}
	}
	for _, f := range flagNames {
		flags = append(flags, f.name)
	}
	for _, k := range ecsKinds {
		if !slices.Contains(ecsEventTypes, k.typ) {
			ecsEventTypes = append(ecsEventTypes, k.typ)
		}
		if !slices.Contains(ecsActions, k.action) {
			ecsActions = append(ecsActions, k.action)
		}
	}
	verdicts := constants(t, "../diff", func(_, typ string) bool { return typ == "Verdict" })
	var severities []string
	for sv := diff.SeverityInfo; sv <= diff.SeverityCritical; sv++ {
		severities = append(severities, sv.String())
	}
	sources := constants(t, "../watch", func(name, _ string) bool { return strings.HasPrefix(name, "Source") })
	enums := []struct {
		format, def string
		want        []string
	}{
		{"json", "kind", kinds},
		{"json", "attribute", attrs},
		{"json", "entryType", types},
		{"json", "flag", flags},
		{"json", "verdict", verdicts},
		{"json", "severity", severities},
		{"ecs", "severity", severities},
		{"json", "source", sources},
		{"ecs", "kind", kinds},
		{"ecs", "ecsEventType", ecsEventTypes},
		{"ecs", "ecsAction", ecsActions},
		{"ecs", "ecsFileType", ecsTypes[:]},
		{"json", "noDiff", tree.NoCopyNames()},
		{"ecs", "noDiff", tree.NoCopyNames()},
	}
	for _, e := range enums {
		got := defOf(t, e.format, e.def)["enum"]
		if want := anySlice(e.want); len(e.want) < 2 || !reflect.DeepEqual(got, want) {
			t.Errorf("%s schema: %s enum %v, want %v", e.format, e.def, got, want)
		}
	}
	if got, want := defOf(t, "ecs", "riskScore")["enum"], anySlice(riskScore[diff.SeverityInfo:]); !reflect.DeepEqual(got, want) {
		t.Errorf("ecs schema: riskScore enum %v, want %v", got, want)
	}

	consts := []struct {
		format string
		path   []string // from the schema's root
		want   any
	}{
		{"json", []string{"$defs", "format"}, float64(FormatVersion)},
		{"ecs", []string{"$defs", "format"}, float64(FormatVersion)},
		{"ecs", []string{"properties", "ecs", "properties", "version"}, ecsVersion},
		{"ecs", []string{"properties", "event", "properties", "dataset"}, ecsDataset},
	}
	for _, c := range consts {
		v := any(schemaDoc(t, c.format))
		for _, k := range c.path {
			v = v.(map[string]any)[k]
		}
		if got := v.(map[string]any)["const"]; got != c.want {
			t.Errorf("%s schema: %s const %v, want %v", c.format, strings.Join(c.path, "."), got, c.want)
		}
	}
	for _, format := range SchemaFormats {
		if id, want := schemaDoc(t, format)["$id"], "urn:fim:schema:"+format+":"+strconv.Itoa(FormatVersion); id != want {
			t.Errorf("%s schema: $id %v, want %s", format, id, want)
		}
	}
}

// TestSchemaShared checks that the definitions both schemas have are the same: the
// json format's entries, processes, baseline and the rest that ecs puts under fim.
func TestSchemaShared(t *testing.T) {
	j, e := schemaDoc(t, "json")["$defs"].(map[string]any), schemaDoc(t, "ecs")["$defs"].(map[string]any)
	n := 0
	for name, def := range j {
		if other, ok := e[name]; ok {
			n++
			if !reflect.DeepEqual(def, other) {
				t.Errorf("$defs.%s differs between the json and ecs schemas", name)
			}
		}
	}
	if n < len(j) {
		t.Errorf("the ecs schema has %d of the json schema's %d definitions", n, len(j))
	}
}

func TestSchemaUnknownFormat(t *testing.T) {
	for _, format := range []string{"text", "sarif", "", "../schema/json", "json.schema.json"} {
		if _, err := Schema(format); err == nil {
			t.Errorf("a schema for format %q", format)
		}
	}
}

// defOf returns one of the definitions ($defs) of a format's schema.
func defOf(t *testing.T, format, name string) map[string]any {
	t.Helper()
	def, ok := schemaDoc(t, format)["$defs"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("%s schema: no $defs.%s", format, name)
	}
	return def
}

func anySlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// constants returns, in the order they are declared, the values of the string
// constants of the package in dir (its non-test files) that keep selects by name and
// declared type ("" when untyped).
func constants(t *testing.T, dir string, keep func(name, typ string) bool) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				typ := ""
				if id, ok := vs.Type.(*ast.Ident); ok {
					typ = id.Name
				}
				for i, n := range vs.Names {
					lit, ok := valueAt(vs.Values, i).(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING || !keep(n.Name, typ) {
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, v)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no such constants in %s", dir)
	}
	return out
}

func valueAt(values []ast.Expr, i int) ast.Expr {
	if i < len(values) {
		return values[i]
	}
	return nil
}

// renderer returns the renderer of a format's name.
func renderer(t *testing.T, name string) Renderer {
	t.Helper()
	f, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return f.Render
}
