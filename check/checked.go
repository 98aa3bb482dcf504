package check

import (
	"errors"

	"fim/provenance"
)

// CheckedOptions say how a baseline is opened to be checked (fim check, fim accept).
type CheckedOptions struct {
	OpenOptions
	// Root is the directory the tree is read under (--root); "" for the baseline's own.
	Root string
	// Report is the reporter the events go to; its Root and Baseline are the
	// baseline's, and with Redact, its Redact the baseline's configured roots.
	Report ReporterOptions
	Redact bool
	// Provenance is how the package databases under the root are asked about each
	// change (Baseline.Annotator); nil for not at all.
	Provenance *provenance.Options
}

// Checked is a baseline opened to be checked: the tree's root, the reporter of the
// events and what the package databases make of them.
type Checked struct {
	*Baseline
	Root       string
	Reporter   *Reporter
	Provenance *provenance.Annotator
	Demand     *Demand // what the baseline proved, and the generation file to record it in
}

// OpenChecked opens the baseline db as d demands and o says, and what its check needs:
// the root of the tree (TreeRoot), the reporter and the annotator, in that order.
func (d *Demand) OpenChecked(db string, o CheckedOptions) (*Checked, error) {
	b, err := d.Open(db, o.OpenOptions)
	if err != nil {
		return nil, err
	}
	k := &Checked{Baseline: b, Demand: d}
	if k.Root, err = b.TreeRoot(o.Root); err == nil {
		o.Report.Root, o.Report.Baseline = k.Root, b.Reported()
		if o.Redact {
			o.Report.Redact = RootPaths(b.Compiled)
		}
		k.Reporter, err = NewReporter(o.Report)
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	k.Provenance = b.Annotator(k.Root, o.Provenance)
	return k, nil
}

// Close closes the reporter, the annotator and the baseline.
func (k *Checked) Close() {
	k.Reporter.Close()
	k.Provenance.Close()
	k.Baseline.Close()
}

// TreeRoot returns the directory a check of b reads the tree under: root if given,
// made absolute, else the one b was made under. A baseline read from an image needs
// root: it is an *OptionError, as is a root that cannot be made absolute.
func (b *Baseline) TreeRoot(root string) (string, error) {
	root, err := Root(b.Policy, root)
	if errors.Is(err, ErrNeedsRoot) {
		return "", optionErr("%s was read from %s, not from this host: give --root DIR, the unpacked tree to check", b.Path(), b.Policy.Source)
	}
	if err != nil {
		return "", optionErr("--root: %v", err)
	}
	return root, nil
}
