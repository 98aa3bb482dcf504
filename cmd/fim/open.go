package main

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fim/baseline"
	"fim/check"
	"fim/config"
	"fim/provenance"
	"fim/report"
	"fim/walk"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"
)

// walker makes the walker of a compiled policy for a command with the --workers flag.
func walker(c *cli.Context, comp *config.Compiled, pol *config.Policy, root string, warn *warnings, own ...*os.File) *walk.Walker {
	return check.Walker(comp, check.WalkerOptions{Root: root, Workers: c.Int("workers"), MaxEntries: pol.MaxEntries, Warn: warn.add, Own: own})
}

// warnings prints per-file problems to stderr, one line each, and counts them.
type warnings struct {
	n int
}

func (w *warnings) add(path string, err error) {
	w.n++
	fmt.Fprintf(os.Stderr, "fim: warning: %s: %v\n", report.EscapeText(path), err)
}

// warnLine prints a warning of its own line.
func warnLine(err error) { fmt.Fprintf(os.Stderr, "fim: warning: %v\n", err) }

// annotator returns the package provenance of a command's events (nil with
// --no-provenance): what the package databases under root make of them, for a baseline
// kept at db ("": none, no package snapshot) whose meta is meta (its package snapshot's
// digest, and when it was taken: since).
func annotator(c *cli.Context, root, db string, meta baseline.Meta, since time.Time) *provenance.Annotator {
	if c.Bool("no-provenance") {
		return nil
	}
	return provenance.New(provenance.Options{Root: root, Since: since, Snapshot: provenance.SnapshotPath(db),
		SnapshotDigest: meta.Packages, Warn: warnLine, Workers: c.Int("workers")})
}

// warnAll prints warns and err, if set, as warnings.
func warnAll(warns []error, err error) {
	for _, w := range append(warns, err) {
		if w != nil {
			warnLine(w)
		}
	}
}

func newMeta(pol *config.Policy) (baseline.Meta, error) {
	raw, err := json.Marshal(pol)
	host := report.LocalHost()
	return baseline.Meta{FimVersion: version(), Created: time.Now().UTC(), Host: host.Name, HostID: host.ID, Policy: raw}, err
}

// checked is a baseline opened to be checked, with what the check needs from it.
type checked struct {
	b     *check.Baseline
	root  string     // the directory the tree is read under
	rep   *reporter  // --format, --output, --redact
	fresh *freshness // --max-age, --min-generation, --generation-file
	prov  *provenance.Annotator
}

// openChecked opens the baseline db as --verify and the freshness flags demand (signer:
// the key that is to sign its successor), and finds the root to read the tree under and
// the reporter to send events to.
func openChecked(c *cli.Context, db string, signer ed25519.PrivateKey) (*checked, error) {
	b, fresh, err := openBaseline(c, db, signer)
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
	if k.rep, err = newReporter(c, false, check.RootPaths(k.b.Compiled)); err != nil {
		return err
	}
	k.rep.base = baselineInfo(k.b.Meta())
	k.prov = annotator(c, k.root, db, k.b.Meta(), k.b.Meta().Created)
	return nil
}

// walker returns the options of the walk of a check with the --workers flag.
func (k *checked) walker(c *cli.Context, warn *warnings) check.WalkerOptions {
	return check.WalkerOptions{Root: k.root, Workers: c.Int("workers"), MaxEntries: k.b.Policy.MaxEntries, Warn: warn.add}
}

// snapshotPackages writes the package snapshot of the baseline that replaces this one
// at db (check.PackageSnapshot), keeping what keep lists; nil, to keep the old snapshot
// (the meta's Successor keeps its digest), with --no-provenance or when it cannot be
// written (a warning).
func (k *checked) snapshotPackages(c *cli.Context, db string, keep *provenance.Snapshot) *provenance.PendingSnapshot {
	if k.prov == nil {
		return nil
	}
	p, warns, err := check.PackageSnapshot(db, k.root, k.b.Compiled, keep)
	warnAll(warns, err)
	return p
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

// keyBase is the part of every recorded path that the baseline's keys leave out.
func keyBase(comp *config.Compiled) string {
	return baseline.KeyBaseFor(check.RootPaths(comp))
}

// openBaseline opens the baseline db to be compared with, refused unless signed with
// the --verify key and as fresh as the freshness flags demand; signer is the key that
// is to sign its successor (nil: none).
func openBaseline(c *cli.Context, db string, signer ed25519.PrivateKey) (*check.Baseline, *freshness, error) {
	file := c.String("verify")
	fresh, err := freshnessFlags(c, file != "")
	if err != nil {
		return nil, nil, err
	}
	o := check.OpenOptions{Fresh: fresh.want, Signer: signer}
	if file != "" {
		if o.Verify, err = baseline.LoadPublicKey(file); err != nil {
			return nil, nil, usageErr("--verify: %v", err)
		}
	}
	b, err := check.Open(db, o)
	if err != nil {
		return nil, nil, err
	}
	fresh.saw(b.Meta().Generation)
	return b, fresh, nil
}
