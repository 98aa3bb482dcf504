package mtree

import (
	"fim/internal/fstest"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// render prints parsed entries one a line: line, Go-quoted recorded path, keywords.
func render(s *Spec) string {
	var b strings.Builder
	for _, e := range s.Entries {
		fmt.Fprintf(&b, "%d %s", e.Line, strconv.Quote(e.Path))
		for _, k := range e.Keywords {
			fmt.Fprintf(&b, " %s=%s", k.Name, k.Value)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestParse covers the forms of a spec line by line.
func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, spec, want string
	}{
		{"hierarchical, as mtree -c writes",
			"#\t   user: root\n\n# .\n/set type=file uid=0 gid=0 mode=0644 nlink=1 flags=none\n" +
				".               type=dir mode=0755 nlink=3 time=1.000000002\n" +
				"    a\\sfile     size=6 time=3.000000004 \\\n                sha256=" + strings.Repeat("ab", 32) + "\n" +
				"# ./sub\n/set type=file uid=0 gid=0 mode=0755 nlink=1 flags=none\nsub type=dir nlink=3\n" +
				"    f\n..\n",
			`5 "/" flags=none gid=0 mode=0755 nlink=3 time=1.000000002 type=dir uid=0
6 "/a file" flags=none gid=0 mode=0644 nlink=1 sha256digest=` + strings.Repeat("ab", 32) + ` size=6 time=3.000000004 type=file uid=0
10 "/sub" flags=none gid=0 mode=0755 nlink=3 type=dir uid=0
11 "/sub/f" flags=none gid=0 mode=0755 nlink=1 type=file uid=0
`},
		{"full paths, as mtree -C and bsdtar write",
			"#mtree\n. type=dir\n./a/b type=file size=1\n./a type=dir\nc/d type=link link=x\\040y\n",
			`2 "/" type=dir
3 "/a/b" size=1 type=file
4 "/a" type=dir
5 "/c/d" link=x\040y type=link
`},
		{"a full-path directory is where relative names go; a full-path file leaves its parent current",
			". type=dir\n./sub type=dir\nf type=file\n..\ng type=file\n./sub/deep type=dir\nh type=file\n./top type=file\ni type=file\n",
			`1 "/" type=dir
2 "/sub" type=dir
3 "/sub/f" type=file
5 "/g" type=file
6 "/sub/deep" type=dir
7 "/sub/deep/h" type=file
8 "/top" type=file
9 "/i" type=file
`},
		{"a relative entry without type does not descend",
			". type=dir\nsub\nf type=file\n",
			`1 "/"  type=dir
2 "/sub"
3 "/f" type=file
`},
		{"/unset one keyword and all; a line's own keywords win over /set",
			"/set type=file mode=0600 uid=5\n. type=dir\na\n/unset uid\nb mode=0700\n/unset all\nc type=fifo\n",
			`2 "/" mode=0600 type=dir uid=5
3 "/a" mode=0600 type=file uid=5
5 "/b" mode=0700 type=file
7 "/c" type=fifo
`},
		{"a path named again keeps its place and takes the last definition whole",
			". type=dir\na type=file mode=0600\nb type=file\n./a type=file uid=3\n. type=dir mode=0755\n",
			`5 "/" mode=0755 type=dir
4 "/a" type=file uid=3
3 "/b" type=file
`},
		{"synonyms, valueless keywords, the last of a repeated keyword",
			". type=dir\nf type=file md5=" + strings.Repeat("0", 32) + " sha1=" + strings.Repeat("1", 40) +
				" rmd160=" + strings.Repeat("2", 40) + " sha384=" + strings.Repeat("3", 96) + " sha512=" + strings.Repeat("4", 128) +
				" optional ignore nochange tags= size=1 size=2\n",
			`1 "/" type=dir
2 "/f" ignore= md5digest=` + strings.Repeat("0", 32) + ` nochange= optional= rmd160digest=` + strings.Repeat("2", 40) +
				` sha1digest=` + strings.Repeat("1", 40) + ` sha384digest=` + strings.Repeat("3", 96) + ` sha512digest=` + strings.Repeat("4", 128) +
				` size=2 tags= type=file
`},
		{"escaped names, comments after an entry, an escaped '#', CRLF, tabs",
			". type=dir\r\n\tx\\#y\ttype=file # a comment\r\n./\\M-C\\M-<n\\M-C\\M-/ type=file\n\\\\\\# type=file\n",
			`1 "/" type=dir
2 "/x#y" type=file
3 "/ünï" type=file
4 "/\\#" type=file
`},
		{"continuations join lines; an escaped backslash at the end does not continue",
			". type=dir\nback\\\\\nlong \\\n  type=file \\\n\n",
			`1 "/" type=dir
2 "/back\\"
3 "/long" type=file
`},
		{"a continuation at the end of the file",
			". type=dir\nf type=file \\",
			`1 "/" type=dir
2 "/f" type=file
`},
		{"climbing out of the root and naming it again, as FreeBSD's trees end",
			". type=dir\nd type=dir\n..\n..\n. type=dir mode=0700\n./d type=dir\n",
			`5 "/" mode=0700 type=dir
6 "/d" type=dir
`},
		{"glob characters are literal", ". type=dir\nx* type=file\nx\\052 type=file\n",
			`1 "/" type=dir
3 "/x*" type=file
`},
		{"a spec with no root entry", "./etc/passwd type=file\n./etc type=dir\n",
			`1 "/etc/passwd" type=file
2 "/etc" type=dir
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := render(parse(t, c.spec))
			if strings.ReplaceAll(got, "  ", " ") != strings.ReplaceAll(c.want, "  ", " ") {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

// TestParseErrors: bad input fails with one line naming the spec, the line, the problem.
func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{"f type=file\n", `spec:1: f: a relative name outside the tree (no "." entry before it, or ".." climbed out of it)`},
		{". type=dir\n..\nf type=file\n", `spec:3: f: a relative name outside the tree`},
		{". type=dir\n..\n..\n", `spec:3: ".." climbs above the root`},
		{"..\n", `spec:1: ".." climbs above the root`},
		{". type=dir\n.. type=dir\n", `spec:2: ".." takes no keywords`},
		{". type=dir\nf colour=red\n", `spec:2: f: unknown keyword "colour"`},
		{". type=dir\nf xattr.user.a=b\n", `spec:2: f: unknown keyword "xattr.user.a"`},
		{". type=dir\nf mode\n", `spec:2: f: keyword mode needs a value (mode=…)`},
		{". type=dir\nf mode=\n", `spec:2: f: keyword mode has an empty value`},
		{". type=dir\nf optional=yes\n", `spec:2: f: keyword optional takes no value`},
		{"/set colour=red\n", `spec:1: unknown keyword "colour"`},
		{"/unset colour\n", `spec:1: /unset: unknown keyword "colour"`},
		{"/etc/passwd type=file\n", `spec:1: unknown command "/etc/passwd" (want /set or /unset; paths are relative)`},
		{". type=file\n", `spec:1: .: the root "." is a directory, not type=file`},
		{". type=dir\na type=file\n# c\n./a type=dir\n", `spec:4: ./a: redefined as type=dir (type=file on line 2)`},
		{". type=dir\n./a/../b type=file\n", `spec:2: path ./a/../b: ".." is not a name`},
		{". type=dir\n./a//b type=file\n", `spec:2: path ./a//b: empty name`},
		{". type=dir\n./a/ type=file\n", `spec:2: path ./a/: empty name`},
		{". type=dir\n./a\\057b type=file\n", `spec:2: path ./a\057b: a name holds a '/'`},
		{". type=dir\n\\056\\056 type=file\n", `spec:2: name \056\056: ".." is not a name`},
		{". type=dir\na\\000 type=file\n", `spec:2: name a\000: a name holds a NUL byte`},
		{". type=dir\nbad\\q type=file\n", `spec:2: path bad\q: unknown escape "\\q"`},
		{". type=dir\n./bad\\ type=file\n./x type=file\n", `spec:2: path ./bad\: ends in a lone backslash`},
		{"#mtree\n. type=dir\n./f type=file\n./f/g type=file\n", `spec:4: ./f/g: inside ./f, which is type=file (line 3)`},
		{"./c/0/0 type=link\n./c type=char\n", `spec:1: ./c/0/0: inside ./c, which is type=char (line 2)`},
		{". type=dir\n" + strings.Repeat("a", maxLine+1) + "\n", "spec:2: line longer than 1048576 bytes"},
		{". type=dir\n" + strings.Repeat("aa\\\n", maxLine/2+1), "spec:2: line longer than 1048576 bytes"},
		{"", "spec: no entries: an empty specification"},
		{"#mtree\n\n   \n", "spec: no entries"},
		{"#\t   user: root\n/set type=file uid=0\n/unset all\n", "spec: no entries"},
	} {
		_, err := Parse(strings.NewReader(c.spec), "spec")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%.60q) = %v\nwant %s", c.spec, err, c.want)
		}
	}
}

// TestParseGolden parses specs that NetBSD mtree (-c, -k and -C) and bsdtar wrote for one
// tree: names with every escape, hard links, a FIFO, a device, sticky and setuid modes.
func TestParseGolden(t *testing.T) {
	specs, err := filepath.Glob(filepath.Join("testdata", "*.spec"))
	if err != nil || len(specs) == 0 {
		t.Fatalf("no specs in testdata: %v", err)
	}
	parsed := map[string]*Spec{}
	for _, file := range specs {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(f, file)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		parsed[filepath.Base(file)] = s
		got := render(s)
		fstest.Golden(t, strings.TrimSuffix(file, ".spec")+".golden", []byte(got))
	}
	// The hierarchical form and the full-path dump of the same spec say the same.
	c, C := parsed["netbsd-c.spec"], parsed["netbsd-C.spec"]
	if c == nil || C == nil {
		t.Fatal("netbsd-c.spec or netbsd-C.spec missing")
	}
	byPath := func(s *Spec) []Entry {
		es := slices.Clone(s.Entries)
		for i := range es {
			es[i].Line = 0
		}
		slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
		return es
	}
	if a, b := byPath(c), byPath(C); !slices.EqualFunc(a, b, func(x, y Entry) bool {
		return x.Path == y.Path && slices.Equal(x.Keywords, y.Keywords)
	}) {
		t.Errorf("mtree -c and mtree -C of one tree parse differently\n-c:\n%s\n-C:\n%s", render(&Spec{Entries: a}), render(&Spec{Entries: b}))
	}
}

// TestParseLikeNetBSD parses tricky specs as NetBSD mtree does: its -C dump of each
// (full paths, /set values merged) parses to the same paths and values.
func TestParseLikeNetBSD(t *testing.T) {
	mtree := fstest.RequireTool(t, "mtree", "Debian package mtree-netbsd")
	for _, spec := range []string{
		". type=dir\n./sub type=dir\nf type=file\n..\ng type=file\n./sub/deep type=dir\nh type=file\n./top type=file\ni type=file\n",
		"/set type=file mode=0600 uid=5\n. type=dir\na\n/unset uid\nb mode=0700 uid=1\n/unset all\nc type=fifo\nd type=dir\ne type=link link=x\\sy\\M-C\\M-<\n..\n..\n",
		". type=dir\na type=file mode=0600\nb type=file\n./a type=file uid=3\n. type=dir mode=0755\n",
		". type=dir\n  x\\#y \\\n  type=file  # comment\n\\M-C\\M-<n\\M-C\\M-/ type=file\nback\\\\slash type=file\nnl\\nt\\tsp\\s\\001\\377 type=file\n",
		". type=dir\nd type=dir\n..\n..\n. type=dir mode=0700\n./d type=dir\n./d/e type=dir\nf type=file size=3\n",
	} {
		path := writeFile(t, t.TempDir(), "spec", spec)
		out, code := command(t, mtree, "-C", "-k", "type,mode,uid,size,link", "-f", path)
		if code != 0 {
			t.Fatalf("mtree -C exit %d:\n%s\nspec:\n%s", code, out, spec)
		}
		want := parse(t, out)
		got := parse(t, spec)
		norm := func(s *Spec) string {
			var lines []string
			for _, e := range s.Entries {
				line := strconv.Quote(e.Path)
				for _, k := range []string{"type", "mode", "uid", "size", "link"} {
					v, _ := e.Keyword(k)
					switch k {
					case "mode":
						m, _ := strconv.ParseUint(v, 8, 32)
						v = strconv.FormatUint(m, 8)
					case "link":
						v, _ = unvis(v)
					}
					line += " " + k + "=" + strconv.Quote(v)
				}
				lines = append(lines, line)
			}
			slices.Sort(lines)
			return strings.Join(lines, "\n")
		}
		if g, w := norm(got), norm(want); g != w {
			t.Errorf("spec:\n%s\nparsed:\n%s\nmtree -C:\n%s", spec, g, w)
		}
	}
}
