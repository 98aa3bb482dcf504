package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"fim/diff"
	"fim/severity"
)

// SeverityRule is one rule of the severity table as configured (the severity key) and
// as stored with the policy. A rule whose name is a built-in rule's replaces it; one
// that gives only a name and a level or max keeps the built-in's conditions. A level
// of "off" turns a built-in rule off. See package severity for how rules combine.
type SeverityRule struct {
	Name     string   `json:"name"`
	Paths    []string `json:"paths,omitempty"`    // globs on the recorded path or old path (CompileGlob)
	Events   []string `json:"events,omitempty"`   // kinds (diff.ParseKind)
	Changed  []string `json:"changed,omitempty"`  // attributes (diff.ParseAttr), any of which changed
	Gained   []string `json:"gained,omitempty"`   // gains (severity.ParseGain), any of which the entry gained
	Verdicts []string `json:"verdicts,omitempty"` // package verdicts (severity.Verdicts)
	Level    string   `json:"level,omitempty"`    // info … critical, or off: the level a match raises the event to
	Max      string   `json:"max,omitempty"`      // info … critical: the level a match caps the event at
}

func (r SeverityRule) clone() SeverityRule {
	r.Paths = slices.Clone(r.Paths)
	r.Events = slices.Clone(r.Events)
	r.Changed = slices.Clone(r.Changed)
	r.Gained = slices.Clone(r.Gained)
	r.Verdicts = slices.Clone(r.Verdicts)
	return r
}

// conditional reports whether r gives any condition.
func (r *SeverityRule) conditional() bool {
	return len(r.Paths)+len(r.Events)+len(r.Changed)+len(r.Gained)+len(r.Verdicts) > 0
}

// Directories of programs and libraries, as globs of what lies below them. Patterns
// are written out rather than as {a,b} alternatives: a pattern's literal beginning is
// what rules most paths out quickly (severity.Path).
var (
	libDirs    = []string{"/lib", "/lib32", "/lib64", "/libx32", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32"}
	systemDirs = below(append([]string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/libexec", "/usr/local", "/boot"}, libDirs...),
		"/**")
	hiddenInSystem = below([]string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/usr", "/etc", "/boot"},
		"/.*", "/**/.*")
)

// below returns each directory joined with each of the patterns.
func below(dirs []string, patterns ...string) []string {
	var out []string
	for _, d := range dirs {
		for _, p := range patterns {
			out = append(out, d+p)
		}
	}
	return out
}

// DefaultSeverity is fim's built-in severity table, in evaluation order. README
// documents it; a change here is a change there.
var DefaultSeverity = []SeverityRule{
	{Name: "default", Level: "low"},
	{Name: "setuid-gained", Gained: []string{"setuid"}, Level: "critical"},
	{Name: "setgid-gained", Gained: []string{"setgid"}, Level: "critical"},
	{Name: "capability-gained", Gained: []string{"capability"}, Level: "high"},
	{Name: "world-writable-gained", Gained: []string{"world_writable"}, Level: "high"},
	{Name: "system-executable-new", Paths: systemDirs, Gained: []string{"executable"}, Level: "high"},
	{Name: "system-file-changed", Paths: systemDirs, Events: []string{"change", "remove"}, Level: "medium"},
	{Name: "hidden-in-system-dir", Paths: hiddenInSystem, Events: []string{"create", "rename", "move"}, Level: "medium"},
	{Name: "ld-preload", Paths: []string{"/etc/ld.so.preload"}, Level: "critical"},
	{Name: "ld-config", Paths: []string{"/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/ld.so.conf.d/**"}, Level: "high"},
	{Name: "accounts", Paths: []string{"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"}, Level: "high"},
	{Name: "sudoers", Paths: []string{"/etc/sudoers", "/etc/sudoers.d", "/etc/sudoers.d/**"}, Level: "high"},
	{Name: "ssh-access", Paths: []string{"**/authorized_keys", "**/authorized_keys2", "/etc/ssh/sshd_config",
		"/etc/ssh/sshd_config.d/**"}, Level: "high"},
	{Name: "cron", Paths: []string{"/etc/crontab", "/etc/anacrontab", "/etc/cron.*", "/etc/cron.*/**",
		"/var/spool/cron", "/var/spool/cron/**", "/etc/at.allow", "/etc/at.deny"}, Level: "high"},
	{Name: "pam", Paths: append([]string{"/etc/pam.conf", "/etc/pam.d", "/etc/pam.d/**", "/etc/security/**"},
		below(libDirs, "/security/**", "/*/security/**")...), Level: "high"},
	{Name: "systemd-unit", Paths: append([]string{"/etc/systemd/**", "/etc/init.d/**", "/etc/rc.local", "**/.config/systemd/user/**"},
		below([]string{"/lib/systemd", "/usr/lib/systemd"}, "/system/**", "/user/**", "/system-generators/**")...), Level: "high"},
	{Name: "shell-profile", Paths: []string{"/etc/profile", "/etc/profile.d/**", "/etc/bash.bashrc", "/etc/bashrc",
		"/etc/environment", "/etc/zsh/**", "/etc/zshrc", "/etc/zprofile", "/etc/zshenv", "**/.bashrc", "**/.bash_profile",
		"**/.bash_login", "**/.bash_logout", "**/.profile", "**/.zshrc", "**/.zprofile", "**/.zshenv", "**/.zlogin"}, Level: "medium"},
	{Name: "log-rewritten", Changed: []string{"prefix"}, Level: "high"},
	{Name: "package-mismatch", Verdicts: []string{"mismatch"}, Level: "high"},
	{Name: "package-tampered", Verdicts: []string{"tampered"}, Level: "critical"},
	{Name: "package-explained", Verdicts: []string{"match", "listed", "removed", "database"}, Max: "info"},
}

// severityTable merges the configured rules into the built-in ones: a rule named as a
// built-in replaces it in place (keeping its conditions when it gives none), others
// follow in their order.
func severityTable(configured []SeverityRule) []SeverityRule {
	out := make([]SeverityRule, len(DefaultSeverity), len(DefaultSeverity)+len(configured))
	for i := range DefaultSeverity {
		out[i] = DefaultSeverity[i].clone()
	}
	for _, r := range configured {
		i := slices.IndexFunc(out[:len(DefaultSeverity)], func(d SeverityRule) bool { return d.Name == r.Name })
		if i < 0 {
			out = append(out, r.clone())
			continue
		}
		if !r.conditional() {
			r.Paths, r.Events, r.Changed, r.Gained, r.Verdicts = out[i].Paths, out[i].Events, out[i].Changed, out[i].Gained, out[i].Verdicts
		}
		out[i] = r.clone()
	}
	return out
}

// SeverityTable returns the severity table of the configuration's rules laid over the
// built-in ones, as a policy made from it compiles it.
func (c *Config) SeverityTable() (*severity.Table, error) { return compileSeverity(c.Severity) }

// compileSeverity compiles the table of the built-in rules with the configured ones.
func compileSeverity(configured []SeverityRule) (*severity.Table, error) {
	seen := map[string]bool{}
	for _, r := range configured {
		if seen[r.Name] {
			return nil, fmt.Errorf("rule %q: duplicate name", r.Name)
		}
		seen[r.Name] = true
	}
	rules := severityTable(configured)
	t := &severity.Table{Rules: make([]severity.Rule, 0, len(rules))}
	for i := range rules {
		r, on, err := rules[i].compile()
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", rules[i].Name, err)
		}
		if on {
			t.Rules = append(t.Rules, r)
		}
	}
	return t, nil
}

// severityChecks check each value of a severity rule, by its key, as compile does.
var severityChecks = map[string]func(string) error{
	"name": func(s string) error {
		if s == "" {
			return errors.New("empty name")
		}
		return nil
	},
	"paths": func(s string) error {
		_, err := CompileGlob(s)
		return err
	},
	"events": func(s string) error {
		_, err := diff.ParseKind(s)
		return err
	},
	"changed": func(s string) error {
		_, err := diff.ParseAttr(s)
		return err
	},
	"gained": func(s string) error {
		_, err := severity.ParseGain(s)
		return err
	},
	"verdicts": checkVerdict,
	"level": func(s string) error {
		if s == "off" {
			return nil
		}
		_, err := diff.ParseSeverity(s)
		return err
	},
	"max": func(s string) error {
		_, err := diff.ParseSeverity(s)
		return err
	},
}

func checkVerdict(v string) error {
	if !slices.Contains(severity.Verdicts, v) {
		return fmt.Errorf("unknown verdict %q (want one of %s)", v, strings.Join(severity.Verdicts, ", "))
	}
	return nil
}

// compile validates a rule and compiles it; on is false for a rule turned off.
func (r *SeverityRule) compile() (rule severity.Rule, on bool, err error) {
	rule.Name = r.Name
	if r.Name == "" {
		return rule, false, errors.New("name: required")
	}
	switch {
	case r.Level != "" && r.Max != "":
		return rule, false, errors.New("give level or max, not both")
	case r.Level == "off":
		return rule, false, nil
	case r.Level != "":
		if rule.Level, err = diff.ParseSeverity(r.Level); err != nil {
			return rule, false, fmt.Errorf("level: %w (or off)", err)
		}
	case r.Max != "":
		if rule.Max, err = diff.ParseSeverity(r.Max); err != nil {
			return rule, false, fmt.Errorf("max: %w", err)
		}
	default:
		return rule, false, errors.New("level or max: required")
	}
	for _, p := range r.Paths {
		g, err := CompileGlob(p)
		if err != nil {
			return rule, false, fmt.Errorf("paths: %w", err)
		}
		rule.Paths = append(rule.Paths, severity.NewPath(g, p))
	}
	if len(r.Events) > 0 {
		if rule.Kinds, err = diff.ParseKinds(r.Events); err != nil {
			return rule, false, fmt.Errorf("events: %w", err)
		}
	}
	if rule.Changed, err = diff.ParseAttrs(r.Changed); err != nil {
		return rule, false, fmt.Errorf("changed: %w", err)
	}
	for _, s := range r.Gained {
		g, err := severity.ParseGain(s)
		if err != nil {
			return rule, false, fmt.Errorf("gained: %w", err)
		}
		rule.Gained = append(rule.Gained, g)
	}
	for _, v := range r.Verdicts {
		if err := checkVerdict(v); err != nil {
			return rule, false, fmt.Errorf("verdicts: %w", err)
		}
		rule.Verdicts = append(rule.Verdicts, v)
	}
	return rule, true, nil
}
