package main

import (
	"fim/config"
	"fim/internal/cmdline"
	"fim/internal/priority"
	"fim/walk"

	"github.com/urfave/cli/v2"
)

var dbFlag = &cli.StringFlag{Name: "db", Usage: "baseline database (default $FIM_DB, the config's db, /var/lib/fim/baseline.db as root, else $XDG_STATE_HOME/fim/baseline.db)"}

var configFlag = &cli.StringFlag{Name: "config", Usage: "YAML configuration file, - for standard input (default /etc/fim/fim.yaml if present)"}

var rootFlag = &cli.StringFlag{Name: "root", Usage: "read the tree under `DIR` but record paths as if DIR were /"}

var signFlag = &cli.StringFlag{Name: "sign", Usage: "sign the baseline with the Ed25519 private key in `FILE` (see fim keygen)"}

// maxReadRateFlag is --max-read-rate, made anew for each command: its value is the
// flag's own.
func maxReadRateFlag() cli.Flag {
	return &cli.GenericFlag{Name: "max-read-rate", Value: new(config.Rate),
		Usage: "read file content at most `RATE` bytes a second, all workers together, e.g. 50MB/s (default: no limit)"}
}

// readLimit is the limit --max-read-rate sets (nil without it, or on a command without it).
func readLimit(c *cli.Context) *walk.ReadLimit {
	r, _ := c.Generic("max-read-rate").(*config.Rate)
	if r == nil {
		return nil
	}
	return walk.NewReadLimit(int64(*r))
}

var niceFlag = &cli.IntFlag{Name: "nice", Usage: "run every thread of fim at nice `N` (-20 to 19; below the current value needs CAP_SYS_NICE)"}

var ioClassFlag = &cli.StringFlag{Name: "io-class", Usage: "read the disk in I/O scheduling class `CLASS`: idle (only when no one else does) or best-effort (its lowest level)"}

// applyPriority sets --nice and --io-class on the whole process: the Before of the
// commands that take them.
func applyPriority(c *cli.Context) error {
	class, err := priority.ParseIOClass(c.String("io-class"))
	if err != nil {
		return cmdline.Usagef("--io-class: %v", err)
	}
	s := priority.Settings{Nice: c.Int("nice"), SetNice: c.IsSet("nice"), IO: class}
	if s.SetNice && (s.Nice < -20 || s.Nice > 19) {
		return cmdline.Usagef("--nice %d: want -20 to 19", s.Nice)
	}
	return priority.Apply(s)
}

var workersFlag = &cli.IntFlag{Name: "workers", Usage: "goroutines listing and hashing (default: four per CPU)"}

var noProvenanceFlag = &cli.BoolFlag{Name: "no-provenance", Usage: "do not ask the package databases under the root what they make of each change (see README: provenance)"}

var showExplainedFlag = &cli.BoolFlag{Name: "show-explained", Usage: "text: list each change its package explains, not one line per package"}

var minSeverityFlag = &cli.StringFlag{Name: "min-severity", Usage: "report only changes of severity `LEVEL` or above " +
	"(info, low, medium, high or critical; see README: severity); only those set the exit bits; not with --update"}

// updating says whether the command's --update (a check's, or a watch's in either
// mode) is on.
func updating(c *cli.Context) bool {
	v := c.String("update")
	return v != "" && v != "false"
}

var metricsFileFlag = &cli.StringFlag{Name: "metrics-file", Usage: "after a run without error, write its figures for Prometheus to `FILE` (node_exporter's textfile collector; replaced atomically)"}

var explainedOKFlag = &cli.BoolFlag{Name: "explained-ok", Usage: "only changes the package manager does not explain set the exit bits"}

// The flags that refuse a stale baseline: one replayed in place of its successor, a
// validly signed older baseline that matches files rolled back with it.

var maxAgeFlag = &cli.StringFlag{Name: "max-age", Usage: "refuse (exit 17) a baseline made longer ago than `AGE` (7d, 36h, 1d12h), or in the future"}

var minGenerationFlag = &cli.Uint64Flag{Name: "min-generation", Usage: "refuse (exit 17) a baseline of a generation below `N` (fim info shows it)"}

var generationFileFlag = &cli.StringFlag{Name: "generation-file", Usage: "with --verify: refuse a baseline of a generation below the one recorded in `FILE`, " +
	"and record there the generation of each baseline verified or written"}

// freshFlags are the flags of a command that verifies one baseline.
var freshFlags = []cli.Flag{maxAgeFlag, minGenerationFlag, generationFileFlag}

var verifyFlag = &cli.StringFlag{Name: "verify", Usage: "refuse a baseline not signed with the private key of public key `FILE`"}
