package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fim/internal/fstest"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tarMember is one member of a test archive.
type tarMember struct {
	name, body, link string
	typ              byte
	mode             int64
}

func makeTar(t *testing.T, members []tarMember, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Mode: m.mode, Linkname: m.link, ModTime: mtime, Uid: 0, Gid: 0, Format: tar.FormatPAX}
		if m.typ == tar.TypeReg {
			h.Size = int64(len(m.body))
		}
		must(t, w.WriteHeader(h))
		if m.typ == tar.TypeReg {
			if _, err := w.Write([]byte(m.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	must(t, w.Close())
	if zw != nil {
		must(t, zw.Close())
	}
	return buf.Bytes()
}

// TestFromTar records a gzipped image read from stdin, unpacks it with GNU tar, and
// checks the unpacked tree against the image's baseline: nothing differs until a file
// in the tree is changed.
func TestFromTar(t *testing.T) {
	fstest.RequireRoot(t) // ownership and setuid bits survive extraction only for root
	tmp := t.TempDir()
	img := makeTar(t, []tarMember{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		{name: "etc/passwd", typ: tar.TypeReg, mode: 0o644, body: "root:x:0:0:root:/root:/bin/sh\n"},
		{name: "usr/bin/su", typ: tar.TypeReg, mode: 0o4755, body: "#!/bin/sh\n"},
		{name: "usr/bin/sudo", typ: tar.TypeLink, link: "usr/bin/su"},
		{name: "bin", typ: tar.TypeSymlink, link: "usr/bin", mode: 0o777},
	}, true)
	db := filepath.Join(tmp, "golden.db")
	cmd := exec.Command(fimBin, "baseline", "--from-tar", "-", "--db", db)
	cmd.Stdin = bytes.NewReader(img)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fim baseline --from-tar -: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "/usr: directory not in the archive") {
		t.Errorf("no warning for the implied directory /usr:\n%s", out)
	}
	if _, stderr, code := run(t, "check", "--db", db); code != 16 || !strings.Contains(stderr, "give --root DIR") {
		t.Errorf("check without --root: exit %d, %q; want 16 asking for the unpacked tree", code, stderr)
	}

	rootfs := filepath.Join(tmp, "rootfs")
	must(t, os.Mkdir(rootfs, 0o755))
	untar := exec.Command("tar", "--numeric-owner", "-xpzf", "-", "-C", rootfs)
	untar.Stdin = bytes.NewReader(img)
	if out, err := untar.CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v\n%s", err, out)
	}
	wantEvents(t, checkJSON(t, rootfs, 0, "--db", db, "--root", rootfs))

	must(t, os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte("root::0:0::/:/bin/sh\n"), 0o644))
	must(t, os.Chmod(filepath.Join(rootfs, "usr/bin/su"), 0o755))
	got := checkJSON(t, rootfs, 4, "--db", db, "--root", rootfs)
	wantEvents(t, got, "change /etc/passwd [content,mtime]", "chmod /usr/bin/su [mode]", "chmod /usr/bin/sudo [mode]")

	// SARIF locates each result relative to the image, which it declares as the base.
	stdout, _ := mustRun(t, 4, "check", "--db", db, "--root", rootfs, "--format", "sarif")
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct{ Version string } `json:"driver"`
			} `json:"tool"`
			Bases   map[string]struct{ URI string } `json:"originalUriBaseIds"`
			Results []struct {
				Locations []map[string]map[string]any `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	must(t, json.Unmarshal([]byte(stdout), &log))
	var uris []string
	for _, r := range log.Runs[0].Results {
		loc, _ := r.Locations[0]["physicalLocation"]["artifactLocation"].(map[string]any)
		uris = append(uris, fmt.Sprint(loc["uriBaseId"], " ", loc["uri"]))
	}
	run := log.Runs[0]
	if base := run.Bases["%SRCROOT%"].URI; base != "file://"+rootfs+"/" || run.Tool.Driver.Version == "" ||
		!slices.Equal(uris, []string{"%SRCROOT% etc/passwd", "%SRCROOT% usr/bin/su", "%SRCROOT% usr/bin/sudo"}) {
		t.Errorf("sarif under --root: base %q, version %q, locations %q", base, run.Tool.Driver.Version, uris)
	}
}

// TestFromTarHostile reads an archive whose members try to escape the image: none of
// them is recorded, each is named in a warning, and the baseline holds exactly the
// safe members. Nothing is ever extracted.
func TestFromTarHostile(t *testing.T) {
	tmp := t.TempDir()
	img := filepath.Join(tmp, "evil.tar")
	must(t, os.WriteFile(img, makeTar(t, []tarMember{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		{name: "ok", typ: tar.TypeReg, mode: 0o644, body: "fine"},
		{name: "../escape", typ: tar.TypeReg, mode: 0o644, body: "x"},
		{name: "a/../../escape2", typ: tar.TypeReg, mode: 0o644, body: "x"},
		{name: "/abs", typ: tar.TypeReg, mode: 0o644, body: "taken as /abs inside the image"},
		{name: "evil", typ: tar.TypeSymlink, link: "/etc", mode: 0o777},
		{name: "evil/passwd", typ: tar.TypeReg, mode: 0o644, body: "owned"},
		{name: "hard", typ: tar.TypeLink, link: "../../etc/shadow"},
	}, false), 0o644))
	db := filepath.Join(tmp, "fim.db")
	_, stderr := mustRun(t, 0, "baseline", "--from-tar", img, "--db", db)
	for _, name := range []string{"../escape", "a/../../escape2", "/evil/passwd", "/hard"} {
		if !strings.Contains(stderr, name) {
			t.Errorf("no warning names %s:\n%s", name, stderr)
		}
	}
	// Checked against an empty tree, every recorded entry shows as removed.
	empty := filepath.Join(tmp, "empty")
	must(t, os.Mkdir(empty, 0o755))
	var recorded []string
	for _, ev := range checkJSON(t, empty, 2, "--db", db, "--root", empty) {
		recorded = append(recorded, strings.Fields(ev)[1])
	}
	slices.Sort(recorded)
	if want := []string{"/abs", "/evil", "/ok"}; !slices.Equal(recorded, want) {
		t.Errorf("recorded %v, want %v", recorded, want)
	}
}

// TestMtree exports a baseline for stock mtree, which verifies the tree with it and
// catches a change, imports the specification back, and imports one that NetBSD mtree
// made of the same tree: each import checks clean against the tree, then reports the
// change.
func TestMtree(t *testing.T) {
	mtreeBin, err := exec.LookPath("mtree")
	if err != nil {
		fstest.Skipf(t, "mtree (Debian mtree-netbsd) is not installed")
	}
	tmp := t.TempDir()
	root := filepath.Join(tmp, "t")
	fstest.Tree{"etc/passwd": fstest.File("root:x:0:0"), "etc/name with space": fstest.File("s"), "bin/su": fstest.File("su").Mode(0o4755), "bin/sh": fstest.Link("su")}.Build(t, root)
	db, spec := filepath.Join(tmp, "f.db"), filepath.Join(tmp, "f.mtree")
	mustRun(t, 0, "baseline", "--db", db, root)
	mustRun(t, 0, "export", "--db", db, "--sha256", "--output", spec)
	verify := func() (string, int) {
		out, err := exec.Command(mtreeBin, "-e", "-f", spec, "-p", "/").CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return string(out), exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := verify(); code != 0 || strings.Contains(out, "missing") {
		t.Fatalf("mtree -f on the unchanged tree: exit %d\n%s", code, out)
	}

	imported := filepath.Join(tmp, "i.db")
	mustRun(t, 0, "baseline", "--from-mtree", spec, "--root", "/", "--db", imported)
	wantEvents(t, checkJSON(t, root, 0, "--db", imported))

	native, nativeDB := filepath.Join(tmp, "n.mtree"), filepath.Join(tmp, "n.db")
	out, err := exec.Command(mtreeBin, "-c", "-K", "sha256digest", "-p", root).Output()
	must(t, err)
	must(t, os.WriteFile(native, out, 0o644))
	mustRun(t, 0, "baseline", "--from-mtree", native, "--root", root, "--db", nativeDB)
	wantEvents(t, checkJSON(t, root, 0, "--db", nativeDB))

	rewriteKeepTimes(t, filepath.Join(root, "etc/passwd"), "root::0:0x")
	if out, code := verify(); code != 2 || !strings.Contains(out, "etc/passwd") {
		t.Errorf("mtree -f after a change: exit %d\n%s", code, out)
	}
	wantEvents(t, checkJSON(t, root, 4, "--db", imported), "change T/etc/passwd [content]")
	wantEvents(t, checkJSON(t, root, 4, "--db", nativeDB, "--root", root), "change /etc/passwd [content]")
}
