package main

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"fim/baseline"
	"fim/check"
	"fim/config"
	"fim/diff"
	"fim/provenance"
	"fim/report"
	"fim/walk"
)

const defaultConfig = "/etc/fim/fim.yaml"

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// loadConfig reads --config, or the default file when it exists and explicit says so.
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
	cfg, err := config.Load(file)
	if err != nil {
		return nil, &exitError{report.ExitUsage, err}
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

// policyFromFlags builds the policy of `fim baseline` from a config file or from PATH
// arguments and the limit flags.
func policyFromFlags(c *cli.Context) (*config.Policy, *config.Config, error) {
	paths := c.Args().Slice()
	image := imageSource(c) != ""
	if image && len(paths) == 0 && c.String("config") == "" {
		paths = []string{"/"} // the whole image
	}
	cfg, err := loadConfig(c, len(paths) == 0)
	if err != nil {
		return nil, nil, err
	}
	var pol *config.Policy
	switch {
	case len(paths) > 0 && c.String("config") != "":
		return nil, nil, usageErr("give PATH arguments or --config, not both")
	case len(paths) > 0:
		tmpl := config.Rule{
			MaxDepth:       c.Int("max-depth"),
			IncludeHidden:  !c.Bool("no-hidden"),
			FollowSymlinks: c.Bool("follow-symlinks"),
		}
		if s := c.String("max-file-size"); s != "" {
			if tmpl.MaxFileSize, err = config.ParseSize(s); err != nil {
				return nil, nil, usageErr("--max-file-size: %v", err)
			}
		}
		abs := make([]string, len(paths))
		for i, p := range paths {
			if c.String("root") != "" || image {
				abs[i] = walk.CleanPath(p) // relative to the root or the image
			} else if abs[i], err = filepath.Abs(p); err != nil {
				return nil, nil, usageErr("%s: %v", p, err)
			}
		}
		pol = config.NewPolicy(abs, tmpl)
	case cfg != nil:
		for _, f := range []string{"max-depth", "max-file-size", "no-hidden", "follow-symlinks"} {
			if c.IsSet(f) {
				return nil, nil, usageErr("--%s applies to PATH arguments; set it per path in the config", f)
			}
		}
		pol = cfg.Policy()
	default:
		return nil, nil, usageErr("no PATH given and no config file (%s)", defaultConfig)
	}
	pol.Exclude = append(pol.Exclude, c.StringSlice("exclude")...)
	if c.IsSet("max-entries") {
		pol.MaxEntries = c.Int("max-entries")
	}
	if c.IsSet("cross-mounts") {
		pol.CrossMounts = c.Bool("cross-mounts")
	}
	if c.IsSet("root") {
		pol.Root = c.String("root")
	}
	if pol.Root != "" {
		if pol.Root, err = filepath.Abs(pol.Root); err != nil {
			return nil, nil, usageErr("--root: %v", err)
		}
	}
	return pol, cfg, nil
}

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

func newMeta(pol *config.Policy) (baseline.Meta, error) {
	raw, err := json.Marshal(pol)
	host := report.LocalHost()
	return baseline.Meta{FimVersion: version(), Created: time.Now().UTC(), Host: host.Name, HostID: host.ID, Policy: raw}, err
}

func runBaseline(c *cli.Context) error {
	pol, cfg, err := policyFromFlags(c)
	if err != nil {
		return err
	}
	comp, err := pol.Compile()
	if err != nil {
		return &exitError{report.ExitUsage, err}
	}
	db, err := dbPath(c, cfg)
	if err != nil {
		return err
	}
	signer, err := loadSigner(c)
	if err != nil {
		return err
	}
	var expect uint64 // for the progress line: the size of the baseline this one replaces
	var generation uint64 = 1
	var own []*os.File
	if old, err := baseline.Open(db); err == nil {
		// The new baseline continues the count of the one it replaces, so that a
		// --generation-file that saw the old one accepts it.
		expect, generation = old.Meta().Entries, old.Meta().Generation+1
		own = old.Files() // until it is replaced, the old baseline is fim's own file too
		defer old.Close()
	} else if f, err := os.OpenFile(db, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0); err == nil {
		own = append(own, f) // a file the new baseline replaces, if it could be fim's
		defer f.Close()
	}
	if snap := provenance.OpenSnapshot(db); snap != nil {
		own = append(own, snap) // replaced too, after the walk
		defer snap.Close()
	}
	start := time.Now()
	w, err := baseline.Create(db)
	if err != nil {
		return err
	}
	w.Signer = signer
	w.KeyBase = keyBase(comp)
	var warn warnings
	var files, bytes int64
	wk := walker(c, comp, pol, pol.Root, &warn, append(own, w.Files()...)...)
	entries := wk.Walk
	if imageSource(c) != "" {
		// The image's paths are not this host's: fim's own files here select nothing there.
		if entries, err = readImage(c, pol, walker(c, comp, pol, pol.Root, &warn), &warn); err != nil {
			w.Abort()
			return err
		}
	}
	meta, err := newMeta(pol)
	if err != nil {
		w.Abort()
		return err
	}
	meta.Generation = generation
	prog := startProgress("baseline", expect, c.Bool("quiet"))
	err = entries(c.Context, func(e *walk.Entry) error {
		prog.add(e)
		if e.Hashed() {
			files++
			bytes += e.Size
		}
		return w.Add(e)
	})
	prog.finish()
	if err != nil {
		w.Abort()
		return fmt.Errorf("baseline not written, %s unchanged: %w", db, err)
	}
	if err := w.Commit(meta); err != nil {
		return fmt.Errorf("baseline not written, %s unchanged: %w", db, err)
	}
	if imageSource(c) == "" && !c.Bool("no-provenance") {
		warns, err := provenance.WriteSnapshot(provenance.SnapshotPath(db), pol.Root, rootPaths(comp))
		for _, w := range append(warns, err) {
			if w != nil {
				warnLine(w)
			}
		}
	}
	if c.Bool("quiet") {
		return nil
	}
	fmt.Fprintf(os.Stderr, "fim: baseline of %d entries (%d files, %.1f MB hashed) written to %s in %.2fs",
		w.Count(), files, float64(bytes)/1e6, db, time.Since(start).Seconds())
	switch {
	case warn.n == 1:
		fmt.Fprint(os.Stderr, ", 1 warning")
	case warn.n > 1:
		fmt.Fprintf(os.Stderr, ", %d warnings", warn.n)
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

func runCheck(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usageErr("check takes no PATH: it walks what the baseline recorded")
	}
	extraIgnore, err := ignoreFlag(c)
	if err != nil {
		return err
	}
	_, db, err := configAndDB(c)
	if err != nil {
		return err
	}
	signer, err := loadSigner(c)
	if err != nil {
		return err
	}
	if signer != nil && !c.Bool("update") {
		return usageErr("--sign goes with --update (it signs the updated baseline)")
	}
	k, err := openChecked(c, db)
	if err != nil {
		return err
	}
	defer k.close()
	r, pol, comp, root, rep, fresh := k.r, k.pol, k.comp, k.root, k.rep, k.fresh
	if c.Bool("update") && r.Signed() && signer == nil {
		return usageErr("%s is signed: --update needs --sign KEYFILE to sign the new baseline", db)
	}
	if err := verifyBeforeResigning(r, signer); err != nil {
		return err
	}

	var upd *baseline.Writer
	if c.Bool("update") {
		if upd, err = baseline.Create(db); err != nil {
			return err
		}
		upd.Signer = signer
		upd.KeyBase = keyBase(comp)
		defer upd.Abort() // no-op after a commit
	}
	var warn warnings
	prog := startProgress("check", r.Meta().Entries, c.Bool("quiet"))
	events, err := check.Compare(c.Context, check.Options{
		Baseline: r, Compiled: comp, DB: db, Ignore: extraIgnore, Fast: c.Bool("fast"), Update: upd,
		Walker:     check.WalkerOptions{Root: root, Workers: c.Int("workers"), MaxEntries: pol.MaxEntries, Warn: warn.add},
		Progress:   prog.add,
		Provenance: k.provenance(c, db),
	})
	prog.finish()
	if err != nil {
		return err
	}
	if err := rep.emit(events, rep.info(false, warn.n)); err != nil {
		if upd != nil {
			return fmt.Errorf("baseline not updated: %w", err)
		}
		return err
	}
	if upd != nil {
		meta, err := newMeta(pol)
		if err != nil {
			return err
		}
		meta.Accepted = r.Meta().Accepted
		meta.Generation = r.Meta().Generation + 1
		if err := upd.Commit(meta); err != nil {
			return fmt.Errorf("baseline not updated: %w", err)
		}
		fresh.saw(meta.Generation)
	}
	if err := fresh.record(); err != nil {
		return err
	}
	if c.Bool("explained-ok") {
		events = provenance.Unexplained(events)
	}
	if code := report.ExitCode(events); code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// provenance returns the annotator of a check's events, nil with --no-provenance. It
// is closed with k.
func (k *checked) provenance(c *cli.Context, db string) *provenance.Annotator {
	if c.Bool("no-provenance") {
		return nil
	}
	k.prov = provenance.New(provenance.Options{Root: k.root, Since: k.r.Meta().Created,
		Snapshot: provenance.SnapshotPath(db), Warn: warnLine, Workers: c.Int("workers")})
	return k.prov
}

// warnLine prints a warning of its own line.
func warnLine(err error) { fmt.Fprintf(os.Stderr, "fim: warning: %v\n", err) }

// checked is a baseline opened to be checked, with what the check needs from it.
type checked struct {
	r     *baseline.Reader
	pol   *config.Policy
	comp  *config.Compiled
	root  string     // the directory the tree is read under
	rep   *reporter  // --format, --output, --redact
	fresh *freshness // --max-age, --min-generation, --generation-file
	prov  *provenance.Annotator
}

// openChecked opens the baseline db, verifies it against --verify and the freshness
// flags, and reads its policy, the root to read the tree under and the reporter to
// send events to.
func openChecked(c *cli.Context, db string) (*checked, error) {
	r, err := baseline.Open(db)
	if err != nil {
		return nil, err
	}
	k := &checked{r: r}
	if err := k.open(c, db); err != nil {
		k.close()
		return nil, err
	}
	return k, nil
}

func (k *checked) open(c *cli.Context, db string) (err error) {
	if k.fresh, err = verifyBaselines(c, k.r); err != nil {
		return err
	}
	if k.pol, k.comp, err = check.Policy(k.r); err != nil {
		return err
	}
	if k.root, err = checkRoot(c, k.pol, db); err != nil {
		return err
	}
	if k.rep, err = newReporter(c, false, rootPaths(k.comp)); err != nil {
		return err
	}
	k.rep.base = baselineInfo(k.r.Meta())
	return nil
}

func (k *checked) close() {
	if k.rep != nil {
		k.rep.close()
	}
	k.prov.Close()
	k.r.Close()
}

// verifyBeforeResigning checks a signed baseline against the key that is to sign its
// successor, so that a baseline altered since it was signed never comes out signed
// afresh. (Its records are checked against the signed digest as they are read.)
func verifyBeforeResigning(r *baseline.Reader, signer ed25519.PrivateKey) error {
	if signer == nil || !r.Signed() {
		return nil
	}
	return r.VerifySignature(signer.Public().(ed25519.PublicKey))
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
	return baseline.KeyBaseFor(rootPaths(comp))
}

// rootPaths returns the recorded paths of the configured roots.
func rootPaths(comp *config.Compiled) []string {
	var roots []string
	for _, r := range comp.Roots() {
		roots = append(roots, r.Path)
	}
	return roots
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

// colorful reports whether stdout is a terminal that wants colour.
func colorful() bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(os.Stdout)
}
