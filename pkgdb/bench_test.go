package pkgdb

import (
	"os"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// BenchmarkOpenHost loads this host's package databases.
func BenchmarkOpenHost(b *testing.B) {
	if _, err := os.Stat("/" + dpkgStatus); err != nil {
		b.Skip("no dpkg database on this host")
	}
	b.ReportAllocs()
	for b.Loop() {
		db, err := Open("/")
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}

// BenchmarkVerdictHost gives the verdict of every file with a digest of this host's
// first 20 packages.
func BenchmarkVerdictHost(b *testing.B) {
	if _, err := os.Stat("/" + dpkgStatus); err != nil {
		b.Skip("no dpkg database on this host")
	}
	db, err := Open("/")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var files []*File
	for _, p := range db.Packages()[:min(20, len(db.Packages()))] {
		for _, f := range db.Files(p) {
			if f.Digest != nil {
				files = append(files, f)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, f := range files {
			db.Verdict(f.Path, db.Opener(f.Path))
		}
	}
	b.ReportMetric(float64(len(files)), "files")
}

// BenchmarkRPMHeader reads a header rpm wrote for a package unsigned, and signed with
// an ed25519 key (whose region Open digests as it reads it), and checks the signature.
func BenchmarkRPMHeader(b *testing.B) {
	key, err := os.ReadFile("testdata/rpm/gpg-pubkey-ed25519.header")
	if err != nil {
		b.Fatal(err)
	}
	kp, _, err := rpmPackage(key)
	if err != nil {
		b.Fatal(err)
	}
	keys := map[uint64][]*packet.PublicKey{kp.rpm.keys[0].KeyId: kp.rpm.keys}
	for _, name := range []string{"fimtest.header", "fimtest-ed25519.header"} {
		blob, err := os.ReadFile("testdata/rpm/" + name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("read/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, _, err := rpmPackage(blob); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("verify/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				pkg, _, _ := rpmPackage(blob)
				if pkg.rpm != nil && pkg.rpm.verify(keys).State != SigGood {
					b.Fatal("does not verify")
				}
			}
		})
	}
}
