package main

import (
	"crypto/ed25519"
	"errors"
	"fim/check"
	"fim/internal/cmdline"
	"fim/provenance"
	"fim/report"

	"github.com/urfave/cli/v2"
)

// walkerOptions are the options of a walk under root, of at most maxEntries entries,
// with the --workers and --max-read-rate of a command.
func walkerOptions(c *cli.Context, root string, maxEntries int, warn *warnings) check.WalkerOptions {
	return check.WalkerOptions{Root: root, Workers: c.Int("workers"), MaxEntries: maxEntries, Warn: warn.add, ReadLimit: readLimit(c)}
}

// warnings logs per-file problems, one line each, and counts them.
type warnings struct {
	n int
}

func (w *warnings) add(path string, err error) {
	w.n++
	logf("warning: %s: %v", report.EscapeText(path), err)
}

// provenanceOptions are how a command asks the package databases what they make of
// each path: nil with --no-provenance.
func provenanceOptions(c *cli.Context) *provenance.Options {
	if c.Bool("no-provenance") {
		return nil
	}
	return &provenance.Options{Logf: logf, Workers: c.Int("workers")}
}

// stamp is what a baseline written now records of where it was made.
func stamp() check.Stamp {
	host := report.LocalHost()
	return check.Stamp{Version: version(), Host: host.Name, HostID: host.ID}
}

// openChecked opens the baseline db to be checked as o says, --verify and the
// freshness flags demand, with the tree's root (--root), the reporter and the
// package databases' annotator of its events.
func openChecked(c *cli.Context, db string, o check.OpenOptions) (*check.Checked, error) {
	k, err := demand(c, "verify").OpenChecked(db, check.CheckedOptions{OpenOptions: o, Root: c.String("root"),
		Report: reporterOptions(c, false, ownFiles(c, db)), Redact: c.Bool("redact"), Provenance: provenanceOptions(c)})
	if err != nil {
		return nil, signerErr(c, db, err)
	}
	redacting(k.Reporter.Redact)
	return k, nil
}

// demand reads what --max-age, --min-generation, --generation-file and the key flag
// keyFlag (verify or key) demand of a baseline.
func demand(c *cli.Context, keyFlag string) *check.Demand {
	return &check.Demand{KeyFlag: keyFlag, KeyFile: c.String(keyFlag), MaxAge: c.String("max-age"),
		MinGeneration: c.Uint64("min-generation"), GenerationFile: c.String("generation-file")}
}

// describeDB describes the baseline --db (or --config) names, as the key flag keyFlag
// and the freshness flags demand (check.Demand.Describe).
func describeDB(c *cli.Context, keyFlag string) (db string, d *check.Demand, in *check.Info, pub ed25519.PublicKey, err error) {
	if _, db, err = check.ConfigAndDB(c.String("config"), c.String("db")); err != nil {
		return "", nil, nil, nil, err
	}
	d = demand(c, keyFlag)
	in, pub, err = d.Describe(db)
	return db, d, in, pub, err
}

// openBaseline opens the baseline db to be compared with, as o says and --verify and
// the freshness flags demand.
func openBaseline(c *cli.Context, db string, o check.OpenOptions) (*check.Baseline, *check.Demand, error) {
	d := demand(c, "verify")
	b, err := d.Open(db, o)
	if err != nil {
		return nil, nil, signerErr(c, db, err)
	}
	return b, d, nil
}

// signerErr names the flag that an update of the signed baseline db lacks
// (check.ErrNeedsSigner); other errors are returned as they are.
func signerErr(c *cli.Context, db string, err error) error {
	if !errors.Is(err, check.ErrNeedsSigner) {
		return err
	}
	what := "--update"
	if c.Command.Name == "accept" {
		what = "accept"
	}
	return cmdline.Usagef("%s is signed: %s needs --sign KEYFILE to sign the new baseline", db, what)
}
