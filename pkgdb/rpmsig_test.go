package pkgdb

import (
	"database/sql"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fim/internal/debtest"
)

// TestRPMSignature signs the test package with a throwaway key (RSA and EdDSA) with
// the real rpmsign, installs it with the real rpm into roots that import the key and
// that do not, and checks what the header signature makes of each state of the
// database: untouched, a file digest edited in the header, a tag of the signed region
// replaced after it.
func TestRPMSignature(t *testing.T) {
	const dbpath = "/usr/lib/sysimage/rpm"
	pkg := debtest.RPMBuild(t, "testdata/rpm/fimtest.spec")
	shipped, trojan := "#!/bin/sh\necho fimtest\n", "#!/bin/sh\necho trojan\n"
	for _, algo := range []string{"rsa2048", "ed25519", "rsa2048 v3", "dsa2048 v3"} {
		t.Run(algo, func(t *testing.T) {
			key := debtest.NewGPGKey(t, strings.TrimSuffix(algo, " v3"))
			signed := debtest.RPMSign(t, pkg, key)
			if strings.HasSuffix(algo, " v3") {
				// as RHEL 8 and before sign: real rpm says the signatures verify
				signed = debtest.RPMSignV3(t, pkg, key)
				root := t.TempDir()
				run(t, "rpm", debtest.RPMArgs(root, dbpath, "--initdb")...)
				run(t, "rpm", debtest.RPMArgs(root, dbpath, "--import", key.Public)...)
				out := run(t, "rpmkeys", debtest.RPMArgs(root, dbpath, "-Kv", signed)...)
				if !strings.Contains(out, "V3 "+strings.ToUpper(algo[:3])+"/SHA256 Signature, key ID "+key.ID[8:]+": OK") {
					t.Fatalf("rpmkeys -Kv of the v3-signed package:\n%s", out)
				}
			}
			bad := "rpm header signature does not verify: key ID " + key.ID + ": "
			untrusted := "signed by a key rpm does not trust (key ID " + key.ID + ")"
			for _, c := range []struct {
				name          string
				trust         string // where rpm --import puts the key: "rpmdb", "fs" (rpm's %_keyring), "" not imported
				edit          func(t *testing.T, root string)
				state         SigState
				bin, conf     Kind
				reason, why   string // the verdicts' reason: prefix of the binary's, the conffile's
				binaryChanged bool
			}{
				{name: "trusted", trust: "rpmdb", state: SigGood, bin: Match, conf: Match},
				{name: "trusted, digest forged", trust: "rpmdb", edit: forge, state: SigBad, bin: Tampered, conf: Tampered, reason: bad, why: bad},
				{name: "trusted in the file keystore", trust: "fs", state: SigGood, bin: Match, conf: Match},
				{name: "trusted in the file keystore, digest forged", trust: "fs", edit: forge, state: SigBad, bin: Tampered, conf: Tampered, reason: bad, why: bad},
				{name: "trusted, region tag replaced", trust: "rpmdb", edit: replaceDigests, state: SigBad, bin: Tampered, conf: Tampered,
					reason: "rpm header signature does not verify: tag 1035 of the signed region is replaced after it", why: "rpm header signature does not verify: tag 1035"},
				{name: "untrusted", state: SigUntrusted, bin: Match, conf: Match, reason: untrusted, why: untrusted},
				// as an unsigned header: the forged digest is believed
				{name: "untrusted, digest forged", edit: forge, state: SigUntrusted, bin: Match, conf: Match, reason: untrusted, why: untrusted},
			} {
				t.Run(c.name, func(t *testing.T) {
					root := t.TempDir()
					run(t, "rpm", debtest.RPMArgs(root, dbpath, "--initdb")...)
					switch c.trust {
					case "rpmdb":
						run(t, "rpm", debtest.RPMArgs(root, dbpath, "--import", key.Public)...)
					case "fs": // rpm 4.18 does not make the directory
						if err := os.MkdirAll(filepath.Join(root, dbpath, "pubkeys"), 0o755); err != nil {
							t.Fatal(err)
						}
						run(t, "rpm", debtest.RPMArgs(root, dbpath, "--define", "_keyring fs", "--import", key.Public)...)
						if keys, _ := filepath.Glob(filepath.Join(root, dbpath, "pubkeys", "*.key")); len(keys) != 1 {
							t.Fatalf("rpm's file keystore holds %q", keys)
						}
					}
					run(t, "rpm", debtest.RPMArgs(root, dbpath, "-i", "--nodeps", "--noscripts", "--nosignature", signed)...)
					if c.edit != nil {
						c.edit(t, root)
					}
					db := openDB(t, root)
					if w := db.Warnings(); len(w) > 0 {
						t.Fatal(w)
					}
					for _, p := range db.Packages() {
						want, reason := c.state, c.reason
						if p.Name == rpmPubkeyName {
							want, reason = SigNone, ""
						}
						if s := db.Signature(p); s.State != want || !strings.HasPrefix(s.Reason, reason) {
							t.Errorf("%s: signature %+v, want state %d and reason %q...", p.Name, s, want, reason)
						}
					}
					for p, want := range map[string]Kind{"/usr/bin/fimtest": c.bin, "/etc/fimtest/main.conf": c.conf} {
						v := db.Verdict(p, db.Opener(p))
						if v.Kind != want || !strings.HasPrefix(v.Reason, c.why) || v.File == nil {
							t.Errorf("%s: %s (%s), want %s (%s...)", p, v.Kind, v.Reason, want, c.why)
						}
					}
					// The verdict of the content a walk read is the same.
					s := db.NewSums("/usr/bin/fimtest")
					s.Write([]byte(map[bool]string{false: shipped, true: trojan}[c.edit != nil && c.name != "trusted, region tag replaced"]))
					s.Mode, s.UID, s.GID = 0o755, 0, 0
					if v, ok := db.VerdictOf("/usr/bin/fimtest", s); !ok || v.Kind != c.bin {
						t.Errorf("VerdictOf: %s (%s) %v, want %s", v.Kind, v.Reason, ok, c.bin)
					}
				})
			}
		})
	}
	t.Run("unsigned", func(t *testing.T) {
		db := openDB(t, rpmRoot(t, dbpath))
		for _, p := range db.Packages() {
			if s := db.Signature(p); s.State != SigNone {
				t.Errorf("%s: %+v", p.Name, s)
			}
		}
	})
}

// forge makes /usr/bin/fimtest a trojan whose SHA-256 the header records, as an
// intruder with root would.
func forge(t *testing.T, root string) {
	shipped, trojan := []byte("#!/bin/sh\necho fimtest\n"), []byte("#!/bin/sh\necho trojan\n")
	debtest.ForgeRPMDigest(t, root, "/usr/lib/sysimage/rpm", shipped, trojan)
	writeFile(t, filepath.Join(root, "usr/bin/fimtest"), string(trojan))
}

// replaceDigests appends to fimtest's header an entry of FILEDIGESTS, after its signed
// region, with the digests it records: rpm reads the later entry, and so does fim, but
// only its region is signed.
func replaceDigests(t *testing.T, root string) {
	file := "file:" + filepath.Join(root, "usr/lib/sysimage/rpm", rpmSQLite)
	sdb, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	var hnum int64
	var blob []byte
	if err := sdb.QueryRow("SELECT hnum, blob FROM Packages WHERE instr(blob, CAST('fimtest' AS BLOB)) > 0").Scan(&hnum, &blob); err != nil {
		t.Fatal(err)
	}
	h, err := parseRPMHeader(blob)
	if err != nil {
		t.Fatal(err)
	}
	e := h.entries[tagFileDigests]
	il, dl := binary.BigEndian.Uint32(blob), binary.BigEndian.Uint32(blob[4:])
	out := binary.BigEndian.AppendUint32(nil, il+1)
	out = binary.BigEndian.AppendUint32(out, dl)
	out = append(out, blob[8:8+16*il]...)
	for _, v := range []int32{tagFileDigests, e.typ, e.offset, e.count} { // the same strings, as an entry of its own
		out = binary.BigEndian.AppendUint32(out, uint32(v))
	}
	out = append(out, blob[8+16*il:]...)
	if _, err := sdb.Exec("UPDATE Packages SET blob = ? WHERE hnum = ?", out, hnum); err != nil {
		t.Fatal(err)
	}
}

// TestRPMKeystoreDamage shows that a file of rpm's keystore that holds no key is a
// warning naming it, and that the database is read all the same.
func TestRPMKeystoreDamage(t *testing.T) {
	const dbpath = "/usr/lib/sysimage/rpm"
	for _, c := range []struct{ name, content, want string }{
		{"garbage.key", "not a key\n", "a key is not base64"},
		{"cut.key", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBF\n", "a key does not parse"},
		{"empty.key", "", "no public key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := rpmRoot(t, dbpath)
			dir := filepath.Join(root, dbpath, "pubkeys")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, c.name), []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "README"), []byte("not a .key file: not read\n"), 0o644)
			db := openDB(t, root)
			w := db.Warnings()
			if len(w) != 1 || !strings.Contains(w[0].Error(), filepath.Join(dir, c.name)+": "+c.want) {
				t.Errorf("warnings %v, want one naming %s: %s", w, c.name, c.want)
			}
			if len(db.Packages()) == 0 {
				t.Error("no packages read")
			}
		})
	}
}
