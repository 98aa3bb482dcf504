package check

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"fim/config"
	"fim/internal/fstest"
)

// appendTo appends data to the file at path, in place.
func appendTo(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.WriteString(data)
	must(t, err)
	must(t, f.Close())
}

// writeAt overwrites the file at path from offset off, in place.
func writeAt(t *testing.T, path string, off int64, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte(data), off)
	must(t, err)
	must(t, f.Close())
}

// TestGrowing checks a growing path on real files: a log that only grew is not
// reported, one whose beginning changed or that was cut short is a change of prefix,
// a rotated one is the rename of the old file and the create of the new, and a path
// without the setting is reported as any other.
func TestGrowing(t *testing.T) {
	// big crosses the walker's read buffer, and its recorded end lies inside a buffer.
	big := fstest.BlobData(300<<10+7, 3)
	for _, c := range []struct {
		name   string
		fast   bool
		mutate func(t *testing.T, tree string)
		want   []string
	}{
		{"unchanged", false, func(*testing.T, string) {}, nil},
		{"grew", false, func(t *testing.T, tree string) {
			appendTo(t, tree+"/log/app.log", "line 3\n")
		}, nil},
		{"grew, fast", true, func(t *testing.T, tree string) {
			appendTo(t, tree+"/log/app.log", "line 3\n")
		}, nil},
		{"large file grew", false, func(t *testing.T, tree string) {
			appendTo(t, tree+"/log/big.log", fstest.BlobData(100<<10, 4))
		}, nil},
		{"large file's beginning rewritten", false, func(t *testing.T, tree string) {
			writeAt(t, tree+"/log/big.log", 300<<10, "X")
			appendTo(t, tree+"/log/big.log", "more")
		}, []string{"change /log/big.log [content,prefix,size,mtime,ctime]"}},
		{"first line rewritten", false, func(t *testing.T, tree string) {
			writeAt(t, tree+"/log/app.log", 0, "LINE")
			appendTo(t, tree+"/log/app.log", "line 3\n")
		}, []string{"change /log/app.log [content,prefix,size,mtime,ctime]"}},
		{"first line rewritten, fast", true, func(t *testing.T, tree string) {
			writeAt(t, tree+"/log/app.log", 0, "LINE")
		}, []string{"change /log/app.log [content,prefix,mtime,ctime]"}},
		{"truncated", false, func(t *testing.T, tree string) {
			must(t, os.Truncate(tree+"/log/app.log", 7))
		}, []string{"change /log/app.log [content,prefix,size,mtime,ctime]"}},
		{"emptied and refilled past its size", false, func(t *testing.T, tree string) {
			must(t, os.Truncate(tree+"/log/app.log", 0))
			appendTo(t, tree+"/log/app.log", "forged 1\nforged 2\nforged 3\n")
		}, []string{"change /log/app.log [content,prefix,size,mtime,ctime]"}},
		{"touched without growing", false, func(t *testing.T, tree string) {
			when := time.Now().Add(-time.Hour)
			must(t, os.Chtimes(tree+"/log/app.log", when, when))
		}, []string{"change /log/app.log [mtime,ctime]"}},
		{"grew and chmod", false, func(t *testing.T, tree string) {
			appendTo(t, tree+"/log/app.log", "line 3\n")
			must(t, os.Chmod(tree+"/log/app.log", 0o600))
		}, []string{"chmod /log/app.log [mode]"}},
		{"rotated", false, func(t *testing.T, tree string) {
			must(t, os.Rename(tree+"/log/app.log", tree+"/log/app.log.1"))
			write(t, tree+"/log/app.log", "new 1\n")
		}, []string{"rename /log/app.log.1", "create /log/app.log"}},
		{"rotated, fast", true, func(t *testing.T, tree string) {
			must(t, os.Rename(tree+"/log/app.log", tree+"/log/app.log.1"))
			write(t, tree+"/log/app.log", "new 1\n")
		}, []string{"rename /log/app.log.1", "create /log/app.log"}},
		{"rotated into another directory", false, func(t *testing.T, tree string) {
			must(t, os.Rename(tree+"/log/app.log", tree+"/log/old/app.log.1"))
			write(t, tree+"/log/app.log", "new 1\n")
		}, []string{"move /log/old/app.log.1", "create /log/app.log"}},
		{"replaced, the old inode gone", false, func(t *testing.T, tree string) {
			// Another file, beginning as the log did, renamed over it: the recorded inode
			// is nowhere now.
			write(t, tree+"/log/app.log.new", "line 1\nline 2\nline 3\n")
			must(t, os.Rename(tree+"/log/app.log.new", tree+"/log/app.log"))
		}, []string{"change /log/app.log [content,size,mtime,ctime,inode]"}},
		{"a path without growing", false, func(t *testing.T, tree string) {
			appendTo(t, tree+"/var/app.log", "line 3\n")
		}, []string{"change /var/app.log [content,size,mtime,ctime]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"log/app.log": "line 1\nline 2\n", "log/big.log": big,
				"log/old/keep": "k", "var/app.log": "line 1\nline 2\n"})
			f.pol = &config.Policy{Rules: []config.Rule{{Path: f.tree, IncludeHidden: true},
				{Path: f.tree + "/log", IncludeHidden: true, Growing: true}}}
			var err error
			if f.comp, err = f.pol.Compile(); err != nil {
				t.Fatal(err)
			}
			f.baseline(t)
			c.mutate(t, f.tree)
			got := f.compare(t, Options{Fast: c.fast})
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("events:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
		})
	}
}

// TestGrowingHardLinks: a log with two names is hashed under one of them, and the other
// cannot check its record's beginning: both are compared as any file, never reported as
// a rewritten prefix when they only grew.
func TestGrowingHardLinks(t *testing.T) {
	f := newFixture(t, map[string]string{"log/app.log": "line 1\n"})
	must(t, os.Link(f.tree+"/log/app.log", f.tree+"/log/app.hard"))
	f.pol = &config.Policy{Rules: []config.Rule{{Path: f.tree + "/log", Growing: true}}}
	var err error
	if f.comp, err = f.pol.Compile(); err != nil {
		t.Fatal(err)
	}
	f.baseline(t)
	appendTo(t, f.tree+"/log/app.log", "line 2\n")
	got := f.compare(t, Options{})
	want := []string{"change /log/app.hard [content,size,mtime,ctime]", "change /log/app.log [content,size,mtime,ctime]"}
	if !slices.Equal(got, want) {
		t.Errorf("events:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// TestWatchGrowing: a watch started on a baseline checks growing logs against it as
// check does, through its state: the log that grew is not reported, the other file is.
func TestWatchGrowing(t *testing.T) {
	f := newFixture(t, map[string]string{"log/app.log": "line 1\n", "var/app.log": "line 1\n"})
	f.db = f.dir + "/fim.db" // outside the tree
	f.pol = &config.Policy{Rules: []config.Rule{{Path: f.tree}, {Path: f.tree + "/log", Growing: true}}}
	var err error
	if f.comp, err = f.pol.Compile(); err != nil {
		t.Fatal(err)
	}
	f.baseline(t)
	appendTo(t, f.tree+"/log/app.log", "line 2\n")
	appendTo(t, f.tree+"/var/app.log", "line 2\n")
	wt, err := NewWatch(WatchOptions{DB: f.db})
	must(t, err)
	defer wt.Close()
	if got, want := runWatch(t, wt), []string{"change /var/app.log"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}
