package debtest

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fim/internal/fstest"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
)

// RPMRoot builds the package of spec with the real rpmbuild and installs it into a new
// root with the real rpm (no scripts, no dependencies), its database in dbpath (the
// sqlite back end). It returns the root and the package file.
func RPMRoot(t testing.TB, spec, dbpath string) (root, pkg string) {
	t.Helper()
	pkg = RPMBuild(t, spec)
	root = t.TempDir()
	Run(t, "rpm", RPMArgs(root, dbpath, "--initdb")...)
	Run(t, "rpm", RPMArgs(root, dbpath, "-i", "--nodeps", "--noscripts", pkg)...)
	return root, pkg
}

// RPMBuild builds the package of spec with the real rpmbuild and returns its file.
func RPMBuild(t testing.TB, spec string) string {
	t.Helper()
	fstest.RequireTool(t, "rpmbuild", "Debian package rpm")
	fstest.RequireTool(t, "rpm", "Debian package rpm")
	spec, err := filepath.Abs(spec)
	if err != nil {
		t.Fatal(err)
	}
	top := t.TempDir()
	Run(t, "rpmbuild", "-bb", "--define", "_topdir "+top, spec)
	rpms, _ := filepath.Glob(filepath.Join(top, "RPMS", "*", "*.rpm"))
	if len(rpms) != 1 {
		t.Fatalf("rpmbuild made %v", rpms)
	}
	return rpms[0]
}

// RPMArgs are the arguments that make rpm work on root with its database in dbpath
// (sqlite), not on this host.
func RPMArgs(root, dbpath string, more ...string) []string {
	return append([]string{"--root", root, "--dbpath", dbpath, "--define", "_db_backend sqlite"}, more...)
}

// ForgeRPMDigest edits the header of the package in root's sqlite rpmdb (dbpath) that
// records the SHA-256 of shipped as an intruder would: there, it records that of
// forged. The returned function puts the header back as rpm wrote it.
func ForgeRPMDigest(t testing.TB, root, dbpath string, shipped, forged []byte) (restore func()) {
	t.Helper()
	file := "file:" + filepath.Join(root, dbpath, "rpmdb.sqlite")
	old, sum := sha256.Sum256(shipped), sha256.Sum256(forged)
	var hnum int64
	var blob []byte
	withDB(t, file, func(db *sql.DB) error {
		rows, err := db.Query("SELECT hnum, blob FROM Packages")
		if err != nil {
			return err
		}
		defer rows.Close()
		for !bytes.Contains(blob, []byte(hex.EncodeToString(old[:]))) && rows.Next() {
			if err := rows.Scan(&hnum, &blob); err != nil {
				return err
			}
		}
		rows.Close()
		edited := bytes.Replace(blob, []byte(hex.EncodeToString(old[:])), []byte(hex.EncodeToString(sum[:])), 1)
		if bytes.Equal(edited, blob) {
			return fmt.Errorf("no header records the SHA-256 %x", old)
		}
		_, err = db.Exec("UPDATE Packages SET blob = ? WHERE hnum = ?", edited, hnum)
		return err
	})
	return func() {
		withDB(t, file, func(db *sql.DB) error {
			_, err := db.Exec("UPDATE Packages SET blob = ? WHERE hnum = ?", blob, hnum)
			return err
		})
	}
}

// withDB runs f on the sqlite database file, and fails the test if it fails.
func withDB(t testing.TB, file string, f func(*sql.DB) error) {
	t.Helper()
	db, err := sql.Open("sqlite", file)
	if err == nil {
		err = f(db)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// GPGKey is a throwaway OpenPGP signing key, made with the real gpg.
type GPGKey struct {
	Home   string // its GNUPGHOME
	Name   string // its user ID's email, as rpmsign's %_gpg_name names it
	ID     string // its key ID, 16 hex digits in lower case
	Public string // the file of its public key, armored, as rpm --import reads it
}

// NewGPGKey makes a signing key of algo (as gpg --quick-gen-key names it: "rsa2048",
// "ed25519") without a passphrase in a new GNUPGHOME, whose agent is stopped when the
// test ends.
func NewGPGKey(t testing.TB, algo string) GPGKey {
	t.Helper()
	fstest.RequireTool(t, "gpg", "Debian package gpg")
	fstest.RequireTool(t, "gpg-agent", "Debian package gpg-agent")
	// A short directory: the agent's socket path is limited to about 100 bytes.
	home, err := os.MkdirTemp("", "fim-gpg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	k := GPGKey{Home: home, Name: algo + "@fim.test", Public: filepath.Join(home, "public.asc")}
	gpg := func(args ...string) string {
		return Run(t, "gpg", append([]string{"--homedir", home, "--batch"}, args...)...)
	}
	gpg("--passphrase", "", "--quick-gen-key", "fim test <"+k.Name+">", algo, "sign", "never")
	gpg("--armor", "--output", k.Public, "--export", k.Name)
	for _, line := range strings.Split(gpg("--with-colons", "--list-keys", k.Name), "\n") {
		if f := strings.Split(line, ":"); f[0] == "pub" && len(f) > 4 {
			k.ID = strings.ToLower(f[4])
		}
	}
	if len(k.ID) != 16 {
		t.Fatalf("gpg lists no key ID for %s", k.Name)
	}
	return k
}

// RPMSign returns a copy of the package file pkg signed with key by the real rpmsign.
func RPMSign(t testing.TB, pkg string, key GPGKey) string {
	t.Helper()
	gpg, err := exec.LookPath("gpg")
	if err != nil {
		t.Fatal(err)
	}
	return rpmSign(t, pkg, key, gpg)
}

// rpmSign returns a copy of the package file pkg signed by the real rpmsign with key,
// through the program gpg (run as gpg is, with env added to its environment).
func rpmSign(t testing.TB, pkg string, key GPGKey, gpg string, env ...string) string {
	t.Helper()
	fstest.RequireTool(t, "rpmsign", "Debian package rpm")
	signed := filepath.Join(t.TempDir(), filepath.Base(pkg))
	data, err := os.ReadFile(pkg)
	if err == nil {
		err = os.WriteFile(signed, data, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("rpmsign", "--addsign", "--define", "__gpg "+gpg, "--define", "_gpg_path "+key.Home,
		"--define", "_gpg_name "+key.Name, signed)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmsign: %v\n%s", err, out)
	}
	return signed
}
