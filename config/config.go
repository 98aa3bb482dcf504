// Package config owns fim's configuration: the YAML file an operator writes, and the
// Policy compiled from it that says which paths are walked, under which limits, and
// which events and attributes are reported below each of them. The Policy is stored
// with the baseline so that a check re-walks exactly what the baseline recorded.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"fim/diff"
	"fim/walk"
)

// Config is a parsed configuration file. See the package tests and testdata/ for the
// schema; every key but paths is optional.
type Config struct {
	DB          string   // baseline database; empty means the command's default (DefaultDB)
	Root        string   // read the tree under this directory, recording paths as if it were /
	MaxEntries  int      // 0 means unlimited
	CrossMounts bool     // descend into other filesystems
	Exclude     []string // glob patterns applying below every path
	Rules       []Rule   // one per entry of paths, in file order
	Severity    []SeverityRule
	NoDiff      []string  // no_diff: patterns whose content is never kept, on top of textcopy.DefaultNoDiff
	Redact      bool      // redact: no copies kept, no diffs shown (as --redact)
	Watch       []Setting // the settings of fim watch (see WatchKeys)
}

// Policy returns the policy the configuration describes. It shares nothing with c.
func (c *Config) Policy() *Policy {
	p := &Policy{
		Root:        c.Root,
		MaxEntries:  c.MaxEntries,
		CrossMounts: c.CrossMounts,
		Exclude:     slices.Clone(c.Exclude),
		Rules:       make([]Rule, len(c.Rules)),
		NoDiff:      slices.Clone(c.NoDiff),
		Redact:      c.Redact,
	}
	for _, r := range c.Severity {
		p.Severity = append(p.Severity, r.clone())
	}
	for i, r := range c.Rules {
		p.Rules[i] = r.clone()
	}
	return p
}

// MaxFileSize is the largest configuration file read: far more than any real one, and
// a bound on what a mistaken name (a device, a log file) costs.
const MaxFileSize = 4 << 20

// Stdin is the file name that reads the configuration from standard input, as agents
// hand their modules their configuration; errors name it StdinName.
const (
	Stdin     = "-"
	StdinName = "<stdin>"
)

// Load reads and parses the configuration file, a regular file of at most MaxFileSize
// bytes, or standard input (Stdin).
func Load(file string) (*Config, error) {
	c, _, err := LoadLines(file)
	return c, err
}

// Parse parses a configuration; name is the file name used in error messages.
//
// Parsing is strict: an unknown or duplicate key, a value of the wrong type, or an
// invalid value is an error of one line naming the file, the line and the key, as in
//
//	/etc/fim/fim.yaml:7: paths[1].max_file_size: invalid size "12QB"
//
// The file is read as a YAML node tree rather than decoded into a struct with
// yaml's KnownFields: its errors are multi-line, lack the key's path, and are lost by
// Node.Decode below a custom unmarshaler. A key with a null value ("exclude:") is
// treated as absent. Anchors and aliases are resolved; merge keys ("<<") are not
// supported.
func Parse(name string, data []byte) (*Config, error) {
	c, _, err := parse(name, data)
	return c, err
}

// LoadLines is Load that also returns, for each rule's path, the line of the file it
// is configured at.
func LoadLines(file string) (*Config, map[string]int, error) {
	if file == Stdin {
		data, err := io.ReadAll(io.LimitReader(os.Stdin, MaxFileSize+1))
		switch {
		case err != nil:
			return nil, nil, fmt.Errorf("%s: %w", StdinName, err)
		case len(data) > MaxFileSize:
			return nil, nil, fmt.Errorf("%s: larger than %d MiB: not a configuration", StdinName, MaxFileSize>>20)
		}
		return parse(StdinName, data)
	}
	data, err := walk.ReadInput(file, MaxFileSize)
	if err != nil {
		return nil, nil, err // *PathError names the file
	}
	return parse(file, data)
}

func parse(name string, data []byte) (*Config, map[string]int, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("%s: no paths configured", name)
		}
		return nil, nil, yamlError(name, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, nil, yamlError(name, err)
		}
		return nil, nil, fmt.Errorf("%s:%d: only one YAML document is allowed", name, next.Line)
	}
	p := parser{name: name, lines: map[string]int{}}
	c, err := p.config(&doc)
	if err != nil {
		return nil, nil, err
	}
	return c, p.lines, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError rewrites a syntax error from the yaml package as "file:line: message".
func yamlError(name string, err error) error {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", name, m[1], m[2])
	}
	return fmt.Errorf("%s: %s", name, strings.TrimPrefix(msg, "yaml: "))
}

// parser walks the node tree of one file. Every method takes the node and the path of
// its key ("paths[1].exclude[0]") for error messages.
type parser struct {
	name  string
	lines map[string]int // recorded path -> line of its rule's path
}

// field parses the value of one known key.
type field func(v *yaml.Node, key string) error

func (p *parser) errorf(n *yaml.Node, key, format string, args ...any) error {
	if key == "" {
		return fmt.Errorf("%s:%d: "+format, append([]any{p.name, n.Line}, args...)...)
	}
	return fmt.Errorf("%s:%d: %s: "+format, append([]any{p.name, n.Line, key}, args...)...)
}

func (p *parser) config(doc *yaml.Node) (*Config, error) {
	n := doc
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	if isNull(n) {
		return nil, fmt.Errorf("%s: no paths configured", p.name)
	}
	var c Config
	seen := p.lines
	err := p.mapping(n, "", map[string]field{
		"db": func(v *yaml.Node, key string) (err error) {
			c.DB, err = p.path(v, key)
			return err
		},
		"root": func(v *yaml.Node, key string) (err error) {
			c.Root, err = p.path(v, key)
			return err
		},
		"max_entries": func(v *yaml.Node, key string) (err error) {
			c.MaxEntries, err = p.count(v, key)
			return err
		},
		"cross_mounts": func(v *yaml.Node, key string) (err error) {
			c.CrossMounts, err = p.boolean(v, key)
			return err
		},
		"exclude": func(v *yaml.Node, key string) (err error) {
			c.Exclude, err = p.patterns(v, key)
			return err
		},
		"no_diff": func(v *yaml.Node, key string) (err error) {
			c.NoDiff, err = p.patterns(v, key)
			return err
		},
		"redact": func(v *yaml.Node, key string) (err error) {
			c.Redact, err = p.boolean(v, key)
			return err
		},
		"watch": func(v *yaml.Node, key string) (err error) {
			c.Watch, err = p.settings(v, key)
			return err
		},
		"severity": func(v *yaml.Node, key string) error {
			names := map[string]int{}
			return p.list(v, key, func(v *yaml.Node, key string) error {
				r, line, err := p.severityRule(v, key)
				if err != nil {
					return err
				}
				if first, ok := names[r.Name]; ok {
					return fmt.Errorf("%s:%d: %s.name: duplicate rule %q (first at line %d)", p.name, line, key, r.Name, first)
				}
				names[r.Name] = line
				c.Severity = append(c.Severity, r)
				return nil
			})
		},
		"paths": func(v *yaml.Node, key string) error {
			return p.list(v, key, func(v *yaml.Node, key string) error {
				r, line, err := p.rule(v, key)
				if err != nil {
					return err
				}
				if first, ok := seen[r.Path]; ok {
					return fmt.Errorf("%s:%d: %s.path: duplicate path %q (first at line %d)", p.name, line, key, r.Path, first)
				}
				seen[r.Path] = line
				c.Rules = append(c.Rules, r)
				return nil
			})
		},
	})
	if err != nil {
		return nil, err
	}
	if len(c.Rules) == 0 {
		return nil, fmt.Errorf("%s: no paths configured", p.name)
	}
	return &c, nil
}

// rule parses one entry of paths and returns it with the line of its path.
func (p *parser) rule(n *yaml.Node, key string) (Rule, int, error) {
	r := Rule{IncludeHidden: true}
	line := 0
	err := p.mapping(n, key, map[string]field{
		"path": func(v *yaml.Node, key string) (err error) {
			line = v.Line
			r.Path, err = p.path(v, key)
			return err
		},
		"events": func(v *yaml.Node, key string) error {
			if v = resolve(v); v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				return p.errorf(v, key, "empty list (omit the key to report every event)")
			}
			return p.list(v, key, func(v *yaml.Node, key string) error {
				s, err := p.str(v, key)
				if err != nil {
					return err
				}
				if _, err := diff.ParseKind(s); err != nil {
					return p.errorf(v, key, "%w", err)
				}
				r.Events = append(r.Events, s)
				return nil
			})
		},
		"max_depth": func(v *yaml.Node, key string) (err error) {
			r.MaxDepth, err = p.count(v, key)
			return err
		},
		"max_file_size": func(v *yaml.Node, key string) error {
			v = resolve(v)
			if v.Kind != yaml.ScalarNode {
				return p.errorf(v, key, "want a size, got %s", describe(v))
			}
			size, err := ParseSize(v.Value)
			if err != nil {
				return p.errorf(v, key, "%w", err)
			}
			r.MaxFileSize = size
			return nil
		},
		"include_hidden": func(v *yaml.Node, key string) (err error) {
			r.IncludeHidden, err = p.boolean(v, key)
			return err
		},
		"follow_symlinks": func(v *yaml.Node, key string) (err error) {
			r.FollowSymlinks, err = p.boolean(v, key)
			return err
		},
		"growing": func(v *yaml.Node, key string) (err error) {
			r.Growing, err = p.boolean(v, key)
			return err
		},
		"content_diff": func(v *yaml.Node, key string) (err error) {
			r.ContentDiff, err = p.boolean(v, key)
			return err
		},
		"content_diff_private": func(v *yaml.Node, key string) (err error) {
			r.ContentDiffPrivate, err = p.boolean(v, key)
			return err
		},
		"content_diff_max": func(v *yaml.Node, key string) error {
			v = resolve(v)
			if v.Kind != yaml.ScalarNode {
				return p.errorf(v, key, "want a size, got %s", describe(v))
			}
			size, err := ParseSize(v.Value)
			if err == nil {
				err = checkCopyMax(size)
			}
			if err != nil {
				return p.errorf(v, key, "%w", err)
			}
			r.ContentDiffMax = size
			return nil
		},
		"exclude": func(v *yaml.Node, key string) (err error) {
			r.Exclude, err = p.patterns(v, key)
			return err
		},
		"ignore": func(v *yaml.Node, key string) error {
			return p.list(v, key, func(v *yaml.Node, key string) error {
				s, err := p.str(v, key)
				if err != nil {
					return err
				}
				if _, err := diff.ParseAttr(s); err != nil {
					return p.errorf(v, key, "%w", err)
				}
				r.Ignore = append(r.Ignore, s)
				return nil
			})
		},
	})
	if err != nil {
		return Rule{}, 0, err
	}
	if r.Path == "" {
		return Rule{}, 0, p.errorf(resolve(n), key+".path", "required")
	}
	return r, line, nil
}

// severityRule parses one entry of severity and returns it with the line of its name.
// Each value is checked where it is (severityChecks), so that its error names its line
// and key.
func (p *parser) severityRule(n *yaml.Node, key string) (SeverityRule, int, error) {
	var r SeverityRule
	line := 0
	value := func(v *yaml.Node, key, field string) (string, error) {
		s, err := p.str(v, key)
		if err != nil {
			return "", err
		}
		if err := severityChecks[field](s); err != nil {
			return "", p.errorf(v, key, "%w", err)
		}
		return s, nil
	}
	list := func(field string, dst *[]string) field {
		return func(v *yaml.Node, key string) error {
			return p.list(v, key, func(v *yaml.Node, key string) error {
				s, err := value(v, key, field)
				*dst = append(*dst, s)
				return err
			})
		}
	}
	scalar := func(field string, dst *string) field {
		return func(v *yaml.Node, key string) (err error) {
			*dst, err = value(v, key, field)
			return err
		}
	}
	err := p.mapping(n, key, map[string]field{
		"name": func(v *yaml.Node, key string) (err error) {
			line = v.Line
			r.Name, err = value(v, key, "name")
			return err
		},
		"paths":    list("paths", &r.Paths),
		"events":   list("events", &r.Events),
		"changed":  list("changed", &r.Changed),
		"gained":   list("gained", &r.Gained),
		"verdicts": list("verdicts", &r.Verdicts),
		"level":    scalar("level", &r.Level),
		"max":      scalar("max", &r.Max),
	})
	switch {
	case err != nil:
		return SeverityRule{}, 0, err
	case r.Name == "":
		return SeverityRule{}, 0, p.errorf(resolve(n), key+".name", "required")
	case r.Level != "" && r.Max != "":
		return SeverityRule{}, 0, p.errorf(resolve(n), key, "give level or max, not both")
	case r.Level == "" && r.Max == "":
		return SeverityRule{}, 0, p.errorf(resolve(n), key, "level or max: required")
	}
	return r, line, nil
}

// mapping calls the field of each key of a mapping, in file order. An unknown or
// repeated key is an error; a key whose value is null is skipped.
func (p *parser) mapping(n *yaml.Node, key string, fields map[string]field) error {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, key, "want a mapping, got %s", describe(n))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		f, ok := fields[k.Value]
		if k.Kind != yaml.ScalarNode || !ok {
			return p.errorf(k, key, "unknown key %s (want one of %s)", describe(k), strings.Join(sortedKeys(fields), ", "))
		}
		name := k.Value
		if key != "" {
			name = key + "." + name
		}
		if first, ok := seen[k.Value]; ok {
			return p.errorf(k, name, "duplicate key (first at line %d)", first)
		}
		seen[k.Value] = k.Line
		if isNull(v) {
			continue
		}
		if err := f(v, name); err != nil {
			return err
		}
	}
	return nil
}

// list calls item for each element of a sequence.
func (p *parser) list(n *yaml.Node, key string, item field) error {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return p.errorf(n, key, "want a list, got %s", describe(n))
	}
	for i, v := range n.Content {
		if err := item(v, fmt.Sprintf("%s[%d]", key, i)); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) str(n *yaml.Node, key string) (string, error) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", p.errorf(n, key, "want a string, got %s", describe(n))
	}
	return n.Value, nil
}

// path parses an absolute path and cleans it.
func (p *parser) path(n *yaml.Node, key string) (string, error) {
	s, err := p.str(n, key)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", p.errorf(n, key, "empty path")
	}
	if filepath.IsAbs(s) {
		s = filepath.Clean(s)
	}
	if err := checkPath(s); err != nil {
		return "", p.errorf(n, key, "%w", err)
	}
	return s, nil
}

// count parses a non-negative integer.
func (p *parser) count(n *yaml.Node, key string) (int, error) {
	n = resolve(n)
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		return 0, p.errorf(n, key, "want an integer, got %s", describe(n))
	}
	if err := checkCount(i); err != nil {
		return 0, p.errorf(n, key, "%w", err)
	}
	return i, nil
}

func (p *parser) boolean(n *yaml.Node, key string) (bool, error) {
	n = resolve(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		return false, p.errorf(n, key, "want true or false, got %s", describe(n))
	}
	return b, nil
}

// patterns parses a list of glob patterns, checking that each compiles.
func (p *parser) patterns(n *yaml.Node, key string) ([]string, error) {
	var out []string
	err := p.list(n, key, func(v *yaml.Node, key string) error {
		s, err := p.str(v, key)
		if err != nil {
			return err
		}
		if _, err := CompileGlob(s); err != nil {
			return p.errorf(v, key, "%w", err)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node holds, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

func sortedKeys(m map[string]field) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// DefaultDB is where the baseline is kept when nothing names it: for root (superuser)
// /var/lib/fim/baseline.db, else $XDG_STATE_HOME/fim/baseline.db, by default
// ~/.local/state/fim/baseline.db.
func DefaultDB(superuser bool) (string, error) {
	if superuser {
		return "/var/lib/fim/baseline.db", nil
	}
	state := os.Getenv("XDG_STATE_HOME")
	if state == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no home directory: %w", err)
		}
		state = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(state, "fim", "baseline.db"), nil
}
