package main

import (
	"crypto/ed25519"
	"fim/baseline"
	"fim/config"
	"fim/diff"
	"fim/severity"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
)

const defaultConfig = "/etc/fim/fim.yaml"

// loadConfig reads --config, or, when useDefault is set, the default file if it exists.
func loadConfig(c *cli.Context, useDefault bool) (*config.Config, error) {
	file := c.String("config")
	if file == "" {
		if !useDefault {
			return nil, nil
		}
		if _, err := os.Stat(defaultConfig); err != nil {
			return nil, nil
		}
		file = defaultConfig
	}
	if file == config.Stdin && (c.String("from-tar") == "-" || c.String("from-mtree") == "-") {
		return nil, usageErr("--config - and an image on standard input: only one can come on standard input")
	}
	cfg, err := config.Load(file)
	if err != nil {
		return nil, &exitError{exitUsage, err}
	}
	return cfg, nil
}

// dbPath resolves the baseline database path.
func dbPath(c *cli.Context, cfg *config.Config) (string, error) {
	p := c.String("db")
	if p == "" {
		p = os.Getenv("FIM_DB")
	}
	if p == "" && cfg != nil {
		p = cfg.DB
	}
	if p == "" {
		if os.Geteuid() == 0 {
			p = "/var/lib/fim/baseline.db"
		} else {
			state := os.Getenv("XDG_STATE_HOME")
			if state == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return "", usageErr("no --db given and no home directory: %v", err)
				}
				state = filepath.Join(home, ".local", "state")
			}
			p = filepath.Join(state, "fim", "baseline.db")
		}
	}
	return filepath.Abs(p)
}

// configAndDB reads --config, if given, and resolves the database it and the flags name.
func configAndDB(c *cli.Context) (*config.Config, string, error) {
	cfg, err := loadConfig(c, false)
	if err != nil {
		return nil, "", err
	}
	db, err := dbPath(c, cfg)
	return cfg, db, err
}

// severityOf returns the severity table of a configuration that has severity rules,
// which grades a check in place of the baseline's; nil for none.
func severityOf(cfg *config.Config) (*severity.Table, error) {
	if cfg == nil || cfg.Severity == nil {
		return nil, nil
	}
	t, err := cfg.SeverityTable()
	if err != nil {
		return nil, &exitError{exitUsage, err}
	}
	return t, nil
}

// loadSigner reads the --sign private key, if given.
func loadSigner(c *cli.Context) (ed25519.PrivateKey, error) {
	f := c.String("sign")
	if f == "" {
		return nil, nil
	}
	priv, err := baseline.LoadPrivateKey(f)
	if err != nil {
		return nil, usageErr("--sign: %v", err)
	}
	return priv, nil
}

// ignoreFlag parses the --ignore attribute lists.
func ignoreFlag(c *cli.Context) (diff.AttrSet, error) {
	var ignore diff.AttrSet
	for _, s := range c.StringSlice("ignore") {
		set, err := diff.ParseAttrs(strings.Split(s, ","))
		if err != nil {
			return 0, usageErr("--ignore: %v", err)
		}
		ignore |= set
	}
	return ignore, nil
}

var dbFlag = &cli.StringFlag{Name: "db", Usage: "baseline database (default $FIM_DB, the config's db, /var/lib/fim/baseline.db as root, else $XDG_STATE_HOME/fim/baseline.db)"}

var configFlag = &cli.StringFlag{Name: "config", Usage: "YAML configuration file, - for standard input (default /etc/fim/fim.yaml if present)"}

var rootFlag = &cli.StringFlag{Name: "root", Usage: "read the tree under `DIR` but record paths as if DIR were /"}

var signFlag = &cli.StringFlag{Name: "sign", Usage: "sign the baseline with the Ed25519 private key in `FILE` (see fim keygen)"}

var workersFlag = &cli.IntFlag{Name: "workers", Usage: "goroutines listing and hashing (default: four per CPU)"}

var noProvenanceFlag = &cli.BoolFlag{Name: "no-provenance", Usage: "do not ask the package databases under the root what they make of each change (see README: provenance)"}

var showExplainedFlag = &cli.BoolFlag{Name: "show-explained", Usage: "text: list each change its package explains, not one line per package"}

var minSeverityFlag = &cli.StringFlag{Name: "min-severity", Usage: "report only changes of severity `LEVEL` or above " +
	"(info, low, medium, high or critical; see README: severity); only those set the exit bits; not with --update"}

var metricsFileFlag = &cli.StringFlag{Name: "metrics-file", Usage: "after a run without error, write its figures for Prometheus to `FILE` (node_exporter's textfile collector; replaced atomically)"}

var explainedOKFlag = &cli.BoolFlag{Name: "explained-ok", Usage: "only changes the package manager does not explain set the exit bits"}

// onUsageError makes a bad flag exit with ExitUsage; each command needs it, as commands
// do not inherit the app's.
func onUsageError(_ *cli.Context, err error, _ bool) error {
	return &exitError{exitUsage, err}
}
