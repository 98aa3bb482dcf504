package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"fim/baseline"
	"fim/check"
	"fim/config"
	"fim/diff"
)

// globList is a repeatable flag whose values are kept whole: a glob's own commas
// ("/etc/{passwd,shadow}") do not split it, as they would in a StringSliceFlag.
type globList []string

func (g *globList) Set(s string) error { *g = append(*g, s); return nil }
func (g *globList) String() string     { return strings.Join(*g, " ") }

func acceptCommand() *cli.Command {
	return &cli.Command{
		Name:  "accept",
		Usage: "walk like check, then accept the selected differences into the baseline",
		Description: `Walks what the baseline recorded, as check does, and writes a new baseline in
which only the selected differences are accepted: their current state replaces the
recorded one (an accepted remove drops the record, an accepted create adds it). Every
other difference keeps its old record, so the next check reports it again.

A difference is selected when it matches a --path (on its path or, for a rename or
move, its old path), a --type and --explained, where those are given. --explained takes
what the package manager explains (see check: provenance): a file whose content is what
its package shipped, and a remove by a package's removal or upgrade; mismatches,
unowned and unknown changes stay in the report. Each line of check's report is
one difference: a removed directory's entries are removes of their own ('/d' and
'/d/**' select them all); an accepted rename or move of a directory takes along what
moved with it unchanged. Without --path, --type or --explained nothing is accepted
(exit 16).

Prints the accepted differences in --format on stdout and, on stderr, how many remain.
Records the user and time in the baseline's accept history (fim info). A signed
baseline needs --sign. The new baseline replaces the old one atomically.

Exit status: 0 when the baseline is written (or nothing matched, and it is left as it
was), 16 on a usage error, 17 if the baseline is unusable, 18 on any other error. The
report is delivered before the baseline is written: when it cannot be (--output fails),
the baseline is left as it was and the exit status is 18.`,
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			configFlag, dbFlag, rootFlag, workersFlag,
			&cli.GenericFlag{Name: "path", Value: &globList{}, Usage: "accept the differences at recorded paths matching `GLOB` (repeatable; '*' stops at '/', '**' crosses it)"},
			&cli.StringSliceFlag{Name: "type", Usage: "accept the differences of kind `KIND`: create, change, remove, chmod, rename, move (repeatable)"},
			&cli.BoolFlag{Name: "explained", Usage: "accept the differences the package manager explains: content that matches its package, and removes by a package's removal or upgrade"},
			&cli.BoolFlag{Name: "dry-run", Usage: "say what would be accepted; write nothing"},
			reportFormatFlag, outputFlag, redactFlag, noProvenanceFlag, showExplainedFlag,
			&cli.StringSliceFlag{Name: "ignore", Usage: "attributes not to compare, as in check"},
			verifyFlag, maxAgeFlag, minGenerationFlag, generationFileFlag, signFlag,
		},
		Action: runAccept,
	}
}

// selector is what --path and --type select, with the flags that selected it, for the
// accept history.
type selector struct {
	check.Selector
	selected []string
}

func selectorFlags(c *cli.Context) (*selector, error) {
	s := &selector{Selector: check.Selector{AnyKind: true}}
	for _, p := range *c.Generic("path").(*globList) {
		g, err := config.CompileGlob(p)
		if err != nil {
			return nil, usageErr("--path: %v", err)
		}
		s.Globs = append(s.Globs, g)
		s.selected = append(s.selected, "--path="+p)
	}
	if types := c.StringSlice("type"); len(types) > 0 {
		kinds, err := diff.ParseKinds(types)
		if err != nil {
			return nil, usageErr("--type: %v", err)
		}
		s.Kinds, s.AnyKind = kinds, false
		for _, k := range types {
			s.selected = append(s.selected, "--type="+k)
		}
	}
	if c.Bool("explained") {
		if c.Bool("no-provenance") {
			return nil, usageErr("--explained needs provenance: drop --no-provenance")
		}
		s.Explained = true
		s.selected = append(s.selected, "--explained")
	}
	if len(s.selected) == 0 {
		return nil, usageErr("accept: nothing selected: give --path GLOB or --type KIND, or --explained (--path '**' accepts every difference)")
	}
	return s, nil
}

func runAccept(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usageErr("accept takes no PATH: select differences with --path GLOB")
	}
	sel, err := selectorFlags(c)
	if err != nil {
		return err
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
	dry := c.Bool("dry-run")
	// Take the lock before reading, so that no other writer replaces the baseline
	// between this read and the write.
	var w *baseline.Writer
	if _, err := os.Stat(db); err == nil && !dry {
		if w, err = baseline.Create(db); err != nil {
			return err
		}
		defer w.Abort() // no-op after a commit
	}
	k, err := openChecked(c, db, signer)
	if err != nil {
		return err
	}
	defer k.close()
	if k.b.Signed() && signer == nil && !dry {
		return usageErr("%s is signed: accept needs --sign KEYFILE to sign the new baseline", db)
	}
	ch := check.NewChanges(extraIgnore)
	var warn warnings
	wo := k.walker(c, &warn)
	if w != nil {
		wo.Own = w.Files()
	}
	ch.Events, err = check.Compare(c.Context, check.Options{
		Baseline: k.b.Reader, Compiled: k.b.Compiled, DB: db, Ignore: extraIgnore, Seen: ch.Seen, Walker: wo,
		Provenance: k.prov,
	})
	if err != nil {
		return err
	}
	accepted, take := ch.Select(&sel.Selector)
	remain := len(ch.Events) - len(accepted)
	if len(accepted) == 0 {
		fmt.Fprintf(os.Stderr, "fim: no difference matches (%d in all): %s unchanged\n", len(ch.Events), db)
		return nil
	}
	info := k.rep.info(false, warn.n)
	if dry {
		if err := k.rep.emit(accepted, info); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "fim: dry run: would accept %d of %d differences, %d would remain; %s unchanged\n",
			len(accepted), len(ch.Events), remain, db)
		return nil
	}

	w.Signer = signer
	w.KeyBase = k.b.Meta().KeyBase
	if err := ch.Write(w, k.b.Reader, take); err != nil {
		return fmt.Errorf("baseline not updated: %w", err)
	}
	meta, err := newMeta(k.b.Policy)
	if err != nil {
		return err
	}
	meta = k.b.Successor(meta)
	name, uid := currentUser()
	meta.AddAcceptance(baseline.Acceptance{Time: info.Time, User: name, UID: uid, Selectors: sel.selected,
		Accepted: len(accepted), Remaining: remain})
	// The report goes out before the commit, as with check --update: a difference
	// whose acceptance could not be reported stays a difference.
	if err := k.rep.emit(accepted, info); err != nil {
		return fmt.Errorf("baseline not updated: %w", err)
	}
	snap := k.snapshotPackages(c, db, k.prov.Snapshot())
	defer snap.Abort()
	if snap != nil {
		meta.Packages = snap.Digest()
	}
	if err := w.Commit(meta); err != nil {
		return fmt.Errorf("baseline not updated: %w", err)
	}
	k.fresh.saw(meta.Generation)
	if err := snap.Commit(); err != nil {
		return err
	}
	if err := k.fresh.record(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "fim: accepted %d of %d differences into %s; %d remain\n", len(accepted), len(ch.Events), db, remain)
	return nil
}

// currentUser names the user fim runs as.
func currentUser() (string, int) {
	uid := os.Getuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username, uid
	}
	return "", uid
}
