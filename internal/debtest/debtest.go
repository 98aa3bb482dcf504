// Package debtest installs real Debian packages into temporary roots for tests: the
// .deb files are fetched once with apt-get download and cached, and installed with the
// real dpkg (--root, no maintainer scripts run outside the root). A test that cannot
// get them is skipped, and fails when FIM_REQUIRE_ROOT=1 (as CI sets).
package debtest

import (
	"context"
	"fim/internal/fstest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Run runs a program and fails the test if it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// DebCache returns a directory holding the .deb files of names, fetched with
// apt-get download on first use and kept in $FIM_DEB_CACHE or the user's cache.
func DebCache(t testing.TB, names ...string) map[string]string {
	t.Helper()
	fstest.RequireTool(t, "dpkg", "Debian package dpkg")
	dir := os.Getenv("FIM_DEB_CACHE")
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			fstest.Skipf(t, "no cache directory for the test packages: %v", err)
		}
		dir = filepath.Join(c, "fim-test", "debs")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string)
	var missing []string
	for _, n := range names {
		m, _ := filepath.Glob(filepath.Join(dir, n+"_*.deb"))
		if len(m) == 0 {
			missing = append(missing, n)
			continue
		}
		out[n] = m[len(m)-1]
	}
	if len(missing) > 0 {
		fstest.RequireTool(t, "apt-get", "Debian package apt")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "apt-get", append([]string{"download", "-q"}, missing...)...)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			fstest.Skipf(t, "apt-get download %s", b)
		}
		for _, n := range missing {
			m, _ := filepath.Glob(filepath.Join(dir, n+"_*.deb"))
			if len(m) == 0 {
				t.Fatalf("apt-get download %s left no .deb in %s", n, dir)
			}
			out[n] = m[len(m)-1]
		}
	}
	return out
}

// DpkgRoot makes a merged-/usr root (bin, sbin, lib → usr/...) with an empty dpkg
// database and installs the packages names into it with the real dpkg.
func DpkgRoot(t testing.TB, names ...string) string {
	t.Helper()
	debs := DebCache(t, names...)
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log", "usr/bin", "usr/sbin", "usr/lib", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"bin", "sbin", "lib"} {
		if err := os.Symlink("usr/"+d, filepath.Join(root, d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	args := DpkgArgs(root, "--force-depends", "-i")
	for _, n := range names {
		args = append(args, debs[n])
	}
	Run(t, "dpkg", args...)
	return root
}

// DpkgArgs are the arguments that make dpkg work on root, not on this host.
func DpkgArgs(root string, more ...string) []string {
	return append([]string{"--root=" + root, "--log=" + filepath.Join(root, "var/log/dpkg.log"),
		"--force-script-chrootless", "--force-not-root"}, more...)
}
