package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"

	"fim/config"
	"fim/mtree"
	"fim/tarball"
	"fim/tree"
	"fim/walk"
)

// OptionError is an option given that cannot be applied: a configuration that does
// not load, a policy that does not compile or does not fit the input it was given, an
// argument that is not a path. It is a usage error of the command that gave it.
type OptionError struct{ msg string }

func (e *OptionError) Error() string { return e.msg }

func optionErr(format string, args ...any) error {
	return &OptionError{fmt.Sprintf(format, args...)}
}

// Image is a tree read from a tar stream or an mtree specification instead of walked.
type Image struct {
	Mtree bool      // an mtree specification; else a tar stream (gzip too)
	Name  string    // the file it is read from, as named: the baseline's recorded source
	In    io.Reader // its content
	// Topmost says no path was named: the baseline of an mtree specification then
	// covers what it describes, from its topmost entries, not the whole of the root.
	Topmost bool
	// CrossMounts says the policy's cross_mounts was given; otherwise the baseline of
	// an mtree specification crosses mounts, as an mtree walk does.
	CrossMounts bool
	Warn        func(path string, err error)
}

// Source is the policy's Source of a baseline read from im.
func (im *Image) Source() string {
	if im.Mtree {
		return "mtree:" + im.Name
	}
	return "tar:" + im.Name
}

// Open opens the stream In is read from: standard input for "-", else a regular file or
// a pipe such as <(docker export …); a directory or device is refused. done closes it.
func (im *Image) Open() (done func(), err error) {
	if im.Name == "-" {
		im.In = os.Stdin
		return func() {}, nil
	}
	f, err := walk.OpenInput(im.Name, true)
	if err != nil {
		flag := "--from-tar"
		if im.Mtree {
			flag = "--from-mtree"
		}
		return nil, optionErr("%s: %v", flag, err)
	}
	im.In = f
	return func() { f.Close() }, nil
}

// ReadImage reads the entries of im that a walk of pol would record and returns them,
// in key order, with the policy to record them under: pol with its Source set, the
// attributes the image cannot carry ignored on every path and, for an mtree
// specification, its Topmost and CrossMounts adjustments. pol is not changed.
func ReadImage(ctx context.Context, pol *config.Policy, im Image) (*config.Policy, tree.Seq, error) {
	comp, err := pol.Compile()
	if err != nil {
		return nil, nil, err
	}
	sel := Walker(comp, WalkerOptions{Root: pol.Root}) // its Selects, path by path
	out := *pol
	out.Rules = slices.Clone(pol.Rules)
	var es []*tree.Entry
	var uncarried []string
	if im.Mtree {
		es, uncarried, err = readMtree(&out, sel, im)
	} else {
		es, err = readTar(ctx, &out, sel, im)
		uncarried = tarball.Uncarried()
	}
	if err != nil {
		return nil, nil, err
	}
	if out.MaxEntries > 0 && len(es) > out.MaxEntries {
		return nil, nil, fmt.Errorf("%d entries, more than --max-entries %d", len(es), out.MaxEntries)
	}
	out.Source = im.Source()
	for i := range out.Rules {
		r := &out.Rules[i]
		r.Ignore = slices.Clone(r.Ignore)
		for _, a := range uncarried {
			if !slices.Contains(r.Ignore, a) {
				r.Ignore = append(r.Ignore, a)
			}
		}
	}
	return &out, tree.Entries(es), nil
}

func readTar(ctx context.Context, pol *config.Policy, sel *walk.Walker, im Image) ([]*tree.Entry, error) {
	if pol.Root != "" {
		return nil, optionErr("--from-tar reads the image, not a tree: --root goes with fim check")
	}
	var maxSize int64
	for i, r := range pol.Rules {
		if r.FollowSymlinks {
			return nil, optionErr("--from-tar: %s: symlinks in an image are recorded, never followed", r.Path)
		}
		if i > 0 && r.MaxFileSize != maxSize {
			return nil, optionErr("--from-tar: every path needs the same max_file_size")
		}
		maxSize = r.MaxFileSize
	}
	es, err := tarball.Read(ctx, im.In, tarball.Options{MaxFileSize: maxSize, Select: sel.Selects, Warn: im.Warn})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", im.Name, err)
	}
	return es, nil
}

// readMtree imports a specification; an mtree walk crosses mounts, and so does the
// check of what it recorded, unless the policy says otherwise.
func readMtree(pol *config.Policy, sel *walk.Walker, im Image) ([]*tree.Entry, []string, error) {
	spec, err := mtree.Parse(im.In, im.Name)
	if err != nil {
		return nil, nil, err
	}
	all, uncarried, err := mtree.Entries(spec, mtree.ImportOptions{Root: pol.Root,
		Warn: func(msg string) { im.Warn(im.Name, errors.New(msg)) }})
	if err != nil {
		return nil, nil, err
	}
	if !im.CrossMounts {
		pol.CrossMounts = true
	}
	es := all[:0]
	for _, e := range all {
		if sel.Selects(e.Path) {
			es = append(es, e)
		}
	}
	if im.Topmost && len(pol.Rules) == 1 {
		// A check walks what the specification describes, from its topmost entries.
		tmpl := pol.Rules[0]
		pol.Rules = nil
		recorded := map[string]bool{}
		for _, e := range es {
			recorded[e.Path] = true
			if e.Path == "/" || !recorded[path.Dir(e.Path)] {
				r := tmpl
				r.Path = e.Path
				pol.Rules = append(pol.Rules, r)
			}
		}
	}
	return es, uncarried, nil
}
