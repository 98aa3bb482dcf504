// Package mtree owns fim's exchange with BSD mtree(8) specifications: writing the entries
// of a baseline as a spec (for fim, or verified and with SHA-256 digests for stock
// mtree), reading a spec (NetBSD mtree -c and -C, bsdtar --format=mtree) and turning it
// into entries a baseline can record, with the attributes the spec does not carry.
package mtree

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// Spec is a parsed mtree specification.
type Spec struct {
	Name string // the spec's file name, for messages
	// Entries are the paths the spec names, in the order it first names them. A path
	// named again keeps its place and takes the last definition, as mtree does.
	Entries []Entry
}

// Entry is one path of a spec.
type Entry struct {
	// Path is the recorded path: "/" for the spec's ".", "/etc/passwd" for
	// ./etc/passwd; names decoded to their raw bytes.
	Path string
	Line int // line of the (last) definition
	// Keywords are the entry's keywords sorted by name, the /set values in force
	// merged in, digest synonyms under their "…digest" names (sha256 → sha256digest).
	// Values are as written: link, uname and gname are still vis-encoded.
	Keywords []Keyword
	// Unrecorded says fim's Write added the entry only to lead to recorded paths: the
	// line before it is the comment "# fim-unrecorded" (unrecordedMarker), or it has
	// fim-unrecorded among its tags, as Write marked such directories before.
	Unrecorded bool
}

// unrecordedTag marks a directory that Write adds only to lead to recorded paths.
const unrecordedTag = "fim-unrecorded"

// unrecordedMarker is the comment line Write puts before such a directory: a comment,
// not a keyword, because some mtree implementations (go-mtree) refuse a spec with tags.
const unrecordedMarker = "# " + unrecordedTag

// Keyword is one keyword=value of an entry; Value is "" for ignore, nochange and
// optional, which take none.
type Keyword struct {
	Name, Value string
}

// Keyword returns the value of the named keyword and whether the entry has it.
func (e *Entry) Keyword(name string) (string, bool) {
	for _, k := range e.Keywords {
		if k.Name == name {
			return k.Value, true
		}
	}
	return "", false
}

// keywords maps every keyword fim accepts to its canonical name. The flags keyword
// (BSD file flags), tags, cksum, rmd160digest, inode, resdevice and contents are
// accepted and not used: fim has no file flags, cannot compute the first two digests,
// and does not take the identity of a file on another machine as golden.
var keywords = map[string]string{
	"blake3digest": "blake3digest",
	"cksum":        "cksum",
	"contents":     "contents",
	"device":       "device",
	"flags":        "flags",
	"gid":          "gid",
	"gname":        "gname",
	"ignore":       "ignore",
	"inode":        "inode",
	"link":         "link",
	"md5digest":    "md5digest",
	"mode":         "mode",
	"nlink":        "nlink",
	"nochange":     "nochange",
	"optional":     "optional",
	"resdevice":    "resdevice",
	"rmd160digest": "rmd160digest",
	"sha1digest":   "sha1digest",
	"sha256digest": "sha256digest",
	"sha384digest": "sha384digest",
	"sha512digest": "sha512digest",
	"size":         "size",
	"tags":         "tags",
	"time":         "time",
	"type":         "type",
	"uid":          "uid",
	"uname":        "uname",
	// Synonyms.
	"content":         "contents",
	"md5":             "md5digest",
	"rmd160":          "rmd160digest",
	"ripemd160digest": "rmd160digest",
	"sha1":            "sha1digest",
	"sha256":          "sha256digest",
	"sha384":          "sha384digest",
	"sha512":          "sha512digest",
}

// valueless are the keywords that take no value.
var valueless = map[string]bool{"ignore": true, "nochange": true, "optional": true}

// maxLine bounds one logical line of a spec.
const maxLine = 1 << 20

// Parse reads a spec: the hierarchical form of mtree -c (relative names that descend
// into each directory, ".." lines that climb back, /set and /unset) and the full-path
// form of mtree -C and bsdtar (a path holding a '/' is relative to the root), mixed as
// mtree allows; '#' comments; lines continued with a trailing backslash; names in vis(3)
// encoding. Unlike mtree it does not insist that the first entry be "." or that the
// parents of a path be in the spec: a spec may describe some paths of a tree only.
// Names holding '*', '?' or '[' are taken literally, not as patterns. A path named again
// must keep its type. A spec that names no path (an empty file, only comments and /set
// lines: what a failed mtree -c > spec leaves) is an error. Errors read "NAME:LINE: problem".
func Parse(r io.Reader, name string) (*Spec, error) {
	p := &parser{spec: &Spec{Name: name}, index: map[string]int{}, top: true}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var logical []byte
	first, lineno := 0, 0
	for sc.Scan() {
		line := sc.Bytes()
		lineno++
		if len(logical) == 0 {
			first = lineno
		}
		cont := continued(line)
		if cont {
			line = line[:len(line)-1]
		}
		if len(logical)+len(line) > maxLine {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", name, first, maxLine)
		}
		logical = append(logical, line...)
		if cont {
			continue
		}
		if err := p.line(string(logical), first); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, first, err)
		}
		logical = logical[:0]
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line longer than %d bytes", maxLine)
		}
		return nil, fmt.Errorf("%s:%d: %w", name, lineno+1, err)
	}
	if len(logical) > 0 {
		if err := p.line(string(logical), first); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, first, err)
		}
	}
	if len(p.spec.Entries) == 0 {
		return nil, fmt.Errorf("%s: no entries: an empty specification (did the mtree that wrote it fail?)", name)
	}
	if err := p.checkParents(); err != nil {
		return nil, err
	}
	return p.spec, nil
}

// continued reports whether a line ends in a backslash that is not itself escaped.
func continued(b []byte) bool {
	n := 0
	for i := len(b) - 1; i >= 0 && b[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

type parser struct {
	spec   *Spec
	index  map[string]int // recorded path → position in spec.Entries
	set    []Keyword      // /set values in force
	cwd    string         // directory relative names are in
	top    bool           // above the root: before "." or after climbing out of it
	fields []string       // the current line's fields
	marked bool           // the previous line was unrecordedMarker
}

// line handles one logical line.
func (p *parser) line(s string, lineno int) error {
	marked := p.marked
	p.marked = strings.TrimRight(s, " \t") == unrecordedMarker
	p.fields = splitFields(p.fields[:0], stripComment(s))
	fields := p.fields
	if len(fields) == 0 {
		return nil
	}
	switch tok := fields[0]; {
	case tok == "/set":
		for _, f := range fields[1:] {
			k, v, err := keyword(f)
			if err != nil {
				return err
			}
			p.set = setKeyword(p.set, k, v)
		}
		return nil
	case tok == "/unset":
		for _, f := range fields[1:] {
			if f == "all" {
				p.set = nil
				continue
			}
			k, ok := keywords[f]
			if !ok {
				return fmt.Errorf("/unset: unknown keyword %q", f)
			}
			p.set = slices.DeleteFunc(p.set, func(kw Keyword) bool { return kw.Name == k })
		}
		return nil
	case strings.HasPrefix(tok, "/"):
		return fmt.Errorf("unknown command %q (want /set or /unset; paths are relative)", tok)
	case tok == "..":
		if len(fields) > 1 {
			return errors.New(`".." takes no keywords`)
		}
		switch {
		case p.top:
			return errors.New(`".." climbs above the root`)
		case p.cwd == "/":
			p.top = true
		default:
			p.cwd = path.Dir(p.cwd)
		}
		return nil
	}
	return p.entry(fields, lineno, marked)
}

// entry handles a line naming a path; marked says the line before was unrecordedMarker.
func (p *parser) entry(fields []string, lineno int, marked bool) error {
	tok := fields[0]
	recorded, full, err := p.resolve(tok)
	if err != nil {
		return err
	}
	kws := make([]Keyword, 0, len(p.set)+len(fields)-1)
	for _, f := range fields[1:] {
		k, v, err := keyword(f)
		if err != nil {
			return fmt.Errorf("%s: %w", shown(tok), err)
		}
		kws = setKeyword(kws, k, v)
	}
	for _, s := range p.set {
		if !slices.ContainsFunc(kws, func(kw Keyword) bool { return kw.Name == s.Name }) {
			kws = append(kws, s)
		}
	}
	slices.SortFunc(kws, func(a, b Keyword) int { return strings.Compare(a.Name, b.Name) })
	e := Entry{Path: recorded, Line: lineno, Keywords: kws, Unrecorded: marked}
	if tags, ok := e.Keyword("tags"); ok && slices.Contains(strings.Split(tags, ","), unrecordedTag) {
		e.Unrecorded = true
	}
	typ, _ := e.Keyword("type")
	if recorded == "/" && typ != "" && typ != "dir" {
		return fmt.Errorf(`%s: the root "." is a directory, not type=%s`, shown(tok), shown(typ))
	}
	if i, ok := p.index[recorded]; ok {
		old := &p.spec.Entries[i]
		if was, _ := old.Keyword("type"); was != typ {
			return fmt.Errorf("%s: redefined as type=%s (type=%s on line %d)", shown(tok), shown(typ), shown(was), old.Line)
		}
		*old = e
	} else {
		p.index[recorded] = len(p.spec.Entries)
		p.spec.Entries = append(p.spec.Entries, e)
	}
	switch {
	case typ == "dir" || recorded == "/":
		p.cwd, p.top = recorded, false
	case full:
		p.cwd, p.top = path.Dir(recorded), false
	}
	return nil
}

// resolve turns the path token of an entry into a recorded path; full says whether it
// was a full path (holding a '/'), which moves the current directory.
func (p *parser) resolve(tok string) (recorded string, full bool, err error) {
	names, err := unvisPath(tok)
	if err != nil {
		return "", false, fmt.Errorf("path %s: %w", shown(tok), err)
	}
	if len(names) == 1 {
		if names[0] == "." {
			return "/", false, nil
		}
		if err := checkName(names[0]); err != nil {
			return "", false, fmt.Errorf("name %s: %w", shown(tok), err)
		}
		if p.top {
			return "", false, fmt.Errorf(`%s: a relative name outside the tree (no "." entry before it, or ".." climbed out of it)`, shown(tok))
		}
		if p.cwd == "/" {
			return "/" + names[0], false, nil
		}
		return p.cwd + "/" + names[0], false, nil
	}
	if names[0] == "." {
		names = names[1:]
	}
	for _, name := range names {
		if err := checkName(name); err != nil {
			return "", false, fmt.Errorf("path %s: %w", shown(tok), err)
		}
	}
	return "/" + strings.Join(names, "/"), true, nil
}

// checkName refuses what cannot be one name in a directory.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a name", name)
	case strings.IndexByte(name, '/') >= 0:
		return errors.New("a name holds a '/'")
	case strings.IndexByte(name, 0) >= 0:
		return errors.New("a name holds a NUL byte")
	}
	return nil
}

// keyword parses keyword=value into the canonical name and the value.
func keyword(f string) (string, string, error) {
	k, v, hasValue := strings.Cut(f, "=")
	name, ok := keywords[k]
	if !ok {
		return "", "", fmt.Errorf("unknown keyword %q", k)
	}
	switch {
	case valueless[name] && hasValue:
		return "", "", fmt.Errorf("keyword %s takes no value", k)
	case !valueless[name] && !hasValue:
		return "", "", fmt.Errorf("keyword %s needs a value (%s=…)", k, k)
	case !valueless[name] && v == "" && name != "tags":
		return "", "", fmt.Errorf("keyword %s has an empty value", k)
	}
	return name, v, nil
}

// checkParents refuses a path below one the spec says is not a directory. Only the
// nearest ancestor in the spec is looked at: if it is a directory, its own check looks
// further up.
func (p *parser) checkParents() error {
	for i := range p.spec.Entries {
		e := &p.spec.Entries[i]
		j, ok := -1, false
		for dir := e.Path; dir != "/" && !ok; {
			dir = path.Dir(dir)
			j, ok = p.index[dir]
		}
		if !ok {
			continue
		}
		parent := &p.spec.Entries[j]
		if typ, ok := parent.Keyword("type"); ok && typ != "dir" {
			return fmt.Errorf("%s:%d: %s: inside %s, which is type=%s (line %d)", p.spec.Name, e.Line,
				specPath(e.Path), specPath(parent.Path), shown(typ), parent.Line)
		}
	}
	return nil
}

// stripComment cuts a line at its first '#' not escaped by a backslash.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '#':
			return s[:i]
		}
	}
	return s
}

// setKeyword sets keyword k of kws to v: a keyword repeated on a line takes its last value.
func setKeyword(kws []Keyword, k, v string) []Keyword {
	for i := range kws {
		if kws[i].Name == k {
			kws[i].Value = v
			return kws
		}
	}
	return append(kws, Keyword{k, v})
}

// splitFields appends the fields of s, separated by blanks, to dst.
func splitFields(dst []string, s string) []string {
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if j > i {
			dst = append(dst, s[i:j])
		}
		i = j
	}
	return dst
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
}

// specPath returns recorded path p as a spec writes it: "." for the root, else
// "./" and the path, vis-encoded.
func specPath(p string) string {
	return string(appendSpecPath(nil, p))
}

func appendSpecPath(dst []byte, p string) []byte {
	if p == "/" {
		return append(dst, '.')
	}
	return appendVis(append(dst, '.'), p)
}
