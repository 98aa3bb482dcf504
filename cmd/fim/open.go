package main

import (
	"crypto/ed25519"
	"errors"
	"fim/baseline"
	"fim/check"
	"fim/config"
	"fim/provenance"
	"fim/report"
	"fim/walk"
	"os"

	"github.com/urfave/cli/v2"
)

// walker makes the walker of a compiled policy for a command with the --workers flag.
func walker(c *cli.Context, comp *config.Compiled, pol *config.Policy, root string, warn *warnings, own ...*os.File) *walk.Walker {
	return check.Walker(comp, check.WalkerOptions{Root: root, Workers: c.Int("workers"), MaxEntries: pol.MaxEntries, Warn: warn.add, Own: own,
		ReadLimit: readLimit(c)})
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
	root  string     // the directory the tree is read under
	rep   *reporter  // --format, --output, --redact
	fresh *freshness // --max-age, --min-generation, --generation-file
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
	k.rep.Base, k.rep.Root = baselineInfo(k.b.Meta()), k.root
	k.prov = k.b.Annotator(k.root, provenanceOptions(c))
	return nil
}

// walker returns the options of the walk of a check with the --workers flag.
func (k *checked) walker(c *cli.Context, warn *warnings) check.WalkerOptions {
	return check.WalkerOptions{Root: k.root, Workers: c.Int("workers"), MaxEntries: k.b.Policy.MaxEntries, Warn: warn.add,
		ReadLimit: readLimit(c)}
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

// openBaseline opens the baseline db to be compared with, refused unless signed with
// the --verify key and as fresh as the freshness flags demand, opened as o says
// (Signer and Replace: its successor).
func openBaseline(c *cli.Context, db string, o check.OpenOptions) (*check.Baseline, *freshness, error) {
	file := c.String("verify")
	fresh, err := freshnessFlags(c, file != "")
	if err != nil {
		return nil, nil, err
	}
	o.Fresh = fresh.want
	if file != "" {
		if o.Verify, err = baseline.LoadPublicKey(file); err != nil {
			return nil, nil, usageErr("--verify: %v", err)
		}
	}
	b, err := check.Open(db, o)
	if err != nil {
		return nil, nil, signerErr(c, db, err)
	}
	fresh.saw(b.Meta().Generation)
	return b, fresh, nil
}

// describe describes the baseline db (check.Describe) as the freshness flags demand,
// verified with the public key in the file of flag keyFlag, if given.
func describe(c *cli.Context, db, keyFlag string) (*check.Info, ed25519.PublicKey, *freshness, error) {
	fresh, err := freshnessFlags(c, c.String(keyFlag) != "")
	if err != nil {
		return nil, nil, nil, err
	}
	var pub ed25519.PublicKey
	if f := c.String(keyFlag); f != "" {
		if pub, err = baseline.LoadPublicKey(f); err != nil {
			return nil, nil, nil, usageErr("--%s: %v", keyFlag, err)
		}
	}
	in, err := check.Describe(db, pub, fresh.want)
	return in, pub, fresh, err
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
