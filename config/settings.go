package config

import (
	"flag"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"go.yaml.in/yaml/v3"
)

// WatchKeys maps each key of the configuration's watch mapping to the flag of fim watch
// it sets: every command-line setting of watch has one, but --config and --db (the
// top-level db). A flag given on the command line wins over its key.
var WatchKeys = map[string]string{
	"workers":               "workers",
	"max_read_rate":         "max-read-rate",
	"nice":                  "nice",
	"io_class":              "io-class",
	"backend":               "backend",
	"interval":              "interval",
	"format":                "format",
	"output":                "output",
	"redact":                "redact",
	"min_severity":          "min-severity",
	"batch_size":            "batch-size",
	"batch_timeout":         "batch-timeout",
	"queue_events":          "queue-events",
	"dedup_window":          "dedup-window",
	"ignore":                "ignore",
	"update":                "update",
	"update_every":          "update-every",
	"spool":                 "spool",
	"spool_max":             "spool-max",
	"sign":                  "sign",
	"no_provenance":         "no-provenance",
	"no_process":            "no-process",
	"listen":                "listen",
	"max_events_per_minute": "max-events-per-minute",
	"heartbeat":             "heartbeat",
	"color":                 "color",
	"header":                "header",
	"ca":                    "ca",
	"cert":                  "cert",
	"key":                   "key",
	"gzip":                  "gzip",
}

// Setting is one key of the watch mapping: the flag it sets and the values it gives the
// flag, as the command line would (a list gives a repeatable flag each of its items).
// Where is "FILE:LINE: watch.KEY", for the errors of the flag's own parser.
type Setting struct {
	Key, Flag string
	Values    []string
	Where     string
}

// settings parses the watch mapping: each key of WatchKeys, a scalar or a list of
// scalars, in file order.
func (p *parser) settings(n *yaml.Node, key string) ([]Setting, error) {
	var out []Setting
	fields := map[string]field{}
	for k, flag := range WatchKeys {
		fields[k] = func(v *yaml.Node, name string) error {
			s := Setting{Key: k, Flag: flag, Where: fmt.Sprintf("%s:%d: %s", p.name, v.Line, name)}
			scalar := func(v *yaml.Node, name string) error {
				if v = resolve(v); v.Kind != yaml.ScalarNode {
					return p.errorf(v, name, "want a value, got %s", describe(v))
				}
				s.Values = append(s.Values, v.Value)
				return nil
			}
			var err error
			if resolve(v).Kind == yaml.SequenceNode {
				err = p.list(v, name, scalar)
			} else {
				err = scalar(v, name)
			}
			out = append(out, s)
			return err
		}
	}
	if err := p.mapping(n, key, fields); err != nil {
		return nil, err
	}
	return out, nil // in file order, as mapping takes the keys
}

// Reloadable are the keys of the watch mapping a running fim watch takes on SIGHUP;
// any other change of the configuration needs a restart.
var Reloadable = []string{"batch_size", "batch_timeout", "dedup_window", "max_events_per_minute", "heartbeat", "min_severity", "redact"}

// Reloaded returns the values the flags of the Reloadable keys take with c, by key, as
// a watch started with c would have them: a flag given on the command line keeps that
// value (given, by flag name), else it takes its key's value, parsed by the flag
// itself in fs, else its default, fs's. fs holds every such flag at its default; the
// keys' values are set in it. A value the flag does not take is an error naming the
// file, the line and the key.
func (c *Config) Reloaded(fs *flag.FlagSet, given map[string]any) (map[string]any, error) {
	v := map[string]any{}
	for _, k := range Reloadable {
		name := WatchKeys[k]
		if val, ok := given[name]; ok {
			v[k] = val
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			return nil, fmt.Errorf("--%s: no such flag", name)
		}
		for _, s := range c.Watch {
			for _, val := range s.Values {
				if s.Flag != name {
					break
				}
				if err := f.Value.Set(val); err != nil {
					return nil, fmt.Errorf("%s: invalid value %q for --%s: %v", s.Where, val, name, err)
				}
			}
		}
		v[k] = f.Value.(flag.Getter).Get()
	}
	return v, nil
}

// Changes compares c with the configuration next that replaces it: the keys of the
// watch mapping whose values differ (added and removed ones too), in WatchKeys' sorted
// order, and the other top-level keys that differ, in the order of the file format
// (db, root, then the keys of the policy: PolicyKeys).
func (c *Config) Changes(next *Config) (watch, top []string) {
	values := func(c *Config) map[string][]string {
		m := map[string][]string{}
		for _, s := range c.Watch {
			m[s.Key] = s.Values
		}
		return m
	}
	old, now := values(c), values(next)
	for _, k := range slices.Sorted(maps.Keys(WatchKeys)) {
		if !slices.Equal(old[k], now[k]) {
			watch = append(watch, k)
		}
	}
	for _, f := range []struct {
		key  string
		a, b any
	}{
		{"db", c.DB, next.DB}, {"root", c.Root, next.Root},
		{"max_entries", c.MaxEntries, next.MaxEntries}, {"cross_mounts", c.CrossMounts, next.CrossMounts},
		{"exclude", c.Exclude, next.Exclude}, {"paths", c.Rules, next.Rules}, {"severity", c.Severity, next.Severity},
		{"no_diff", c.NoDiff, next.NoDiff}, {"redact", c.Redact, next.Redact},
	} {
		if !reflect.DeepEqual(f.a, f.b) {
			top = append(top, f.key)
		}
	}
	return watch, top
}

// PolicyKeys are the top-level keys of the configuration that make up its policy
// (Config.Policy), which a running fim watch of the configuration's policy takes on
// SIGHUP; db and root need a restart.
var PolicyKeys = []string{"max_entries", "cross_mounts", "exclude", "paths", "severity", "no_diff", "redact"}

// Preset gives each flag of fim watch that the command line leaves unset (isSet) the
// values of its key in the watch mapping, in file order, with set, the flag's own
// parser; a nil c gives none. A value the flag does not take is an error naming the
// file, the line and the key.
func (c *Config) Preset(isSet func(flag string) bool, set func(flag, value string) error) error {
	if c == nil {
		return nil
	}
	for _, s := range c.Watch {
		if isSet(s.Flag) {
			continue
		}
		for _, v := range s.Values {
			if err := set(s.Flag, v); err != nil {
				return fmt.Errorf("%s: invalid value %q for --%s: %v", s.Where, v, s.Flag, err)
			}
		}
	}
	return nil
}

// Given returns the values the command line gives (isSet, value) the flags of the
// Reloadable keys, by flag name: what Reloaded keeps over the configuration's.
func Given(isSet func(flag string) bool, value func(flag string) any) map[string]any {
	given := map[string]any{}
	for _, k := range Reloadable {
		if name := WatchKeys[k]; isSet(name) {
			given[name] = value(name)
		}
	}
	return given
}
