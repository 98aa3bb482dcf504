package main

import (
	"errors"
	"fim/check"
	"fim/config"
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

// checked is a baseline opened to be checked, with what the check needs from it.
type checked struct {
	b     *check.Baseline
	root  string        // the directory the tree is read under
	rep   *reporter     // --format, --output, --redact
	fresh *check.Demand // --verify, --max-age, --min-generation, --generation-file
	prov  *provenance.Annotator
}

// openChecked opens the baseline db as o, --verify and the freshness flags demand, and
// finds the root to read the tree under and the reporter to send events to.
func openChecked(c *cli.Context, db string, o check.OpenOptions) (*checked, error) {
	b, fresh, err := openBaseline(c, db, o)
	if err != nil {
		return nil, err
	}
	k := &checked{b: b, fresh: fresh}
	if err := k.open(c, db); err != nil {
		k.close()
		return nil, err
	}
	return k, nil
}

func (k *checked) open(c *cli.Context, db string) (err error) {
	if k.root, err = checkRoot(c, k.b.Policy, db); err != nil {
		return err
	}
	if k.rep, err = newReporter(c, false, check.RootPaths(k.b.Compiled), ownFiles(c, db)); err != nil {
		return err
	}
	k.rep.Base, k.rep.Root = k.b.Reported(), k.root
	k.prov = k.b.Annotator(k.root, provenanceOptions(c))
	return nil
}

func (k *checked) close() {
	if k.rep != nil {
		k.rep.close()
	}
	k.prov.Close()
	k.b.Close()
}

// checkRoot returns the directory a check of the baseline db reads the tree under: the
// stored root, or --root. A baseline read from an image needs --root.
func checkRoot(c *cli.Context, pol *config.Policy, db string) (string, error) {
	root, err := check.Root(pol, c.String("root"))
	if errors.Is(err, check.ErrNeedsRoot) {
		return "", usageErr("%s was read from %s, not from this host: give --root DIR, the unpacked tree to check", db, pol.Source)
	}
	if err != nil {
		return "", usageErr("--root: %v", err)
	}
	return root, nil
}

// demand reads what --max-age, --min-generation, --generation-file and the key flag
// keyFlag (verify or key) demand of a baseline.
func demand(c *cli.Context, keyFlag string) *check.Demand {
	return &check.Demand{KeyFlag: keyFlag, KeyFile: c.String(keyFlag), MaxAge: c.String("max-age"),
		MinGeneration: c.Uint64("min-generation"), GenerationFile: c.String("generation-file")}
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
	return usageErr("%s is signed: %s needs --sign KEYFILE to sign the new baseline", db, what)
}
