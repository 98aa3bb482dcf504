package pkgdb

import (
	"bytes"
	"crypto/dsa" //lint:ignore SA1019 DSA keys as rpm's older signatures use
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// The parsers take any bytes: they return records or an error about a line, never
// panic, and what they return keeps their contracts.

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("Package: hello\nStatus: install ok installed\nVersion: 2.10-3\nArchitecture: amd64\n\n"))
	f.Add([]byte("Package: netbase\nStatus: install ok installed\nArchitecture: all\nConffiles:\n /etc/protocols bb9c019d6524e913fd72441d58b68216\n /etc/rpc newconffile\n /etc/old 01234567890123456789012345678901 obsolete\nDescription: x\n more\n .\n"))
	f.Add([]byte("Package: a\n\nPackage: b\nStatus: deinstall ok config-files\n"))
	f.Add([]byte(" continuation\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := parseStatus(data)
		if err != nil {
			return
		}
		for _, e := range es {
			if e.Package == "" {
				t.Fatalf("entry without Package: %+v", e)
			}
			for _, c := range e.Conffiles {
				if !strings.HasPrefix(c.Path, "/") || (c.Digest != nil && len(c.Digest) != 16) {
					t.Fatalf("conffile %+v", c)
				}
			}
		}
	})
}

func FuzzParseMD5sums(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef  usr/bin/hello\n6b8d6f5e5a5b4c3d2e1f0a9b8c7d6e5f  usr/share/doc/a b\n"))
	f.Add([]byte("0123456789abcdef0123456789abcdef *usr/bin/x"))
	f.Add([]byte("zz  x\n"))
	f.Add([]byte("0123456789abcdef0123456789abcdef  a/..\n"))
	f.Add([]byte("0123456789abcdef0123456789abcdef  //\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sums, err := parseMD5sums(data)
		if err != nil {
			return
		}
		var b bytes.Buffer
		for _, s := range sums {
			if len(s.Digest) != 16 || !strings.HasPrefix(s.Path, "/") || path.Clean(s.Path) != s.Path {
				t.Fatalf("sum %+v", s)
			}
			b.WriteString(hex.EncodeToString(s.Digest) + "  " + s.Path[1:] + "\n")
		}
		again, err := parseMD5sums(b.Bytes())
		if err != nil || len(again) != len(sums) {
			t.Fatalf("what was read does not read again: %v", err)
		}
	})
}

// FuzzCleanRecorded checks the shortcut of cleanRecorded against path.Clean.
func FuzzCleanRecorded(f *testing.F) {
	for _, p := range []string{"/.", "/usr/bin/x", "/usr//bin", "/usr/./x", "/a/", "/.hidden", "/a/..", "/a/b.c", "//"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !strings.HasPrefix(p, "/") {
			return // a recorded path is absolute
		}
		if got, want := cleanRecorded(p), path.Clean(p); got != want {
			t.Fatalf("cleanRecorded(%q) = %q, path.Clean %q", p, got, want)
		}
	})
}

func FuzzParseList(f *testing.F) {
	f.Add([]byte("/.\n/usr\n/usr/bin\n/usr/bin/hello\n"))
	f.Add([]byte("/a b\n\n/c"))
	f.Add([]byte("relative\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := parseList(data)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
				t.Fatalf("path %q", p)
			}
		}
	})
}

func FuzzParseDiversions(f *testing.F) {
	f.Add([]byte("/usr/share/man/man1/sh.1.gz\n/usr/share/man/man1/sh.distrib.1.gz\ndash\n/bin/sh\n/bin/sh.distrib\n:\n"))
	f.Add([]byte("/a\n/b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := parseDiversions(data)
		if err != nil {
			return
		}
		for _, d := range ds {
			if !strings.HasPrefix(d.From, "/") || !strings.HasPrefix(d.To, "/") {
				t.Fatalf("diversion %+v", d)
			}
		}
	})
}

func FuzzParseDpkgLog(f *testing.F) {
	f.Add([]byte("2026-12-02 03:12:01 startup archives unpack\n2026-12-02 03:12:01 upgrade libc6:amd64 2.36-9+deb12u13 2.36-9+deb12u14\n2026-12-02 03:12:02 status unpacked libc6:amd64 2.36-9+deb12u14\n2026-12-02 03:12:03 remove hello:amd64 2.10-3 <none>\n2026-12-02 03:12:04 purge hello:amd64 2.10-3 <none>\n"))
	f.Add([]byte("2026-12-02 03:12:01 install hello:amd64 <none> 2.10-3\n2026-12-02 03:1"))
	f.Add([]byte("not a log\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := parseDpkgLog(data)
		if err != nil {
			return
		}
		for _, tr := range ts {
			switch tr.Action {
			case "install", "upgrade", "remove", "purge":
			default:
				t.Fatalf("action %q", tr.Action)
			}
			if tr.Package == "" || strings.ContainsAny(tr.Package+tr.Old+tr.New, " \n") {
				t.Fatalf("transaction %+v", tr)
			}
		}
	})
}

func FuzzParseAPK(f *testing.F) {
	if b, err := os.ReadFile("testdata/apk/root/lib/apk/db/installed"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("P:x\nV:1\nF:\nR:a\nZ:0123456789abcdef0123456789abcdef\n"))
	f.Add([]byte("P:x\nF:usr\nM:0:0:755\nR:b\na:0:0:4755\nZ:Q2" + strings.Repeat("A", 43) + "=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, files, err := parseAPK(data)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Manager != APK {
				t.Fatalf("package %+v", p)
			}
		}
		for _, fl := range files {
			if !strings.HasPrefix(fl.Path, "/") || path.Clean(fl.Path) != fl.Path {
				t.Fatalf("path %q", fl.Path)
			}
			if fl.Digest != nil && newHash(fl.Algorithm).Size() != len(fl.Digest) {
				t.Fatalf("%s digest of %d bytes", fl.Algorithm, len(fl.Digest))
			}
		}
	})
}

func FuzzRPMPackage(f *testing.F) {
	// A header rpm wrote into rpmdb.sqlite for testdata/rpm/fimtest.spec.
	if b, err := os.ReadFile("testdata/rpm/fimtest.header"); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 3, 232, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 'b', 'c', 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		pkg, files, err := rpmPackage(data)
		if err != nil {
			return
		}
		if pkg.Name == "" {
			t.Fatal("package without a name")
		}
		for _, fl := range files {
			if !strings.HasPrefix(fl.Path, "/") || path.Clean(fl.Path) != fl.Path {
				t.Fatalf("path %q", fl.Path)
			}
			if fl.Digest != nil && newHash(fl.Algorithm).Size() != len(fl.Digest) {
				t.Fatalf("%s digest of %d bytes", fl.Algorithm, len(fl.Digest))
			}
		}
	})
}

func FuzzParseIDs(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n"))
	f.Add([]byte("root:x:0:\nwheel:x:10:a,b\n#c:x:1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for name := range parseIDs(data) {
			if name == "" || strings.Contains(name, ":") || strings.Contains(name, "\n") {
				t.Fatalf("name %q", name)
			}
		}
	})
}

func FuzzBDBHash(f *testing.F) {
	// fimtest.header in a Berkeley DB hash of 512-byte pages, written by db5.3_load.
	if b, err := os.ReadFile("testdata/rpm/Packages-512.bdb"); err == nil {
		f.Add(b)
	}
	f.Add(make([]byte, 72))
	f.Fuzz(func(t *testing.T, data []byte) {
		vals, err := readBDBHash(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, v := range vals {
			if len(v) > maxHeader {
				t.Fatalf("a value of %d bytes", len(v))
			}
		}
	})
}

// FuzzParseFileID: ParseFileID accepts only what String writes.
func FuzzParseFileID(f *testing.F) {
	f.Add("2049:7:120:1700000000000000000:1700000000000000001")
	f.Add("0:0:0:0:0")
	f.Add("1:2:3:-4:5")
	f.Add("01:2:3:4:5")
	f.Add("1:2:3:4:5 ")
	f.Add("18446744073709551615:1:2:-9223372036854775808:9223372036854775807")
	f.Add("18446744073709551616:1:2:3:4")
	f.Add("1:2:3:-0:4")
	f.Add("1:2:3:4:9223372036854775808")
	f.Add("1:2:3:+4:5")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := ParseFileID(s)
		var want FileID // what fmt reads, when String writes it back as it was
		_, err := fmt.Sscanf(s, "%d:%d:%d:%d:%d", &want.Dev, &want.Ino, &want.Size, &want.Mtime, &want.Ctime)
		wantOK := err == nil && want != (FileID{}) && want.String() == s
		if ok != wantOK || ok && id != want {
			t.Fatalf("%q: %+v %v, want %+v %v", s, id, ok, want, wantOK)
		}
		if !ok {
			return
		}
		if id.String() != s || id == (FileID{}) {
			t.Fatalf("%q accepted as %+v, written %q", s, id, id.String())
		}
	})
}

// FuzzMD5sumOf: in a .md5sums that eachMD5sum accepts with every name written clean,
// md5sumOf finds each name's first digest, and no name that is not there; and
// md5sumsByPath holds exactly each name's first digest.
func FuzzMD5sumOf(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef  usr/bin/hello\n0123456789abcdef0123456789abcdee *usr/bin/x\n"), "/usr/bin/hello")
	f.Add([]byte("0123456789abcdef0123456789abcdef  a b\n0123456789abcdef0123456789abcdee  b\n"), "/b")
	f.Add([]byte("0123456789abcdef0123456789abcdef  usr/bin"), "/bin")
	f.Add([]byte("0123456789abcdef0123456789abcdef  x  b"), "/b")
	f.Fuzz(func(t *testing.T, data []byte, p string) {
		want := map[string][]byte{}
		cleaned, err := eachMD5sum(data, func(n []byte, d *[16]byte) {
			if _, ok := want[string(n)]; !ok {
				want[string(n)] = bytes.Clone(d[:])
			}
		})
		if err != nil || cleaned || !strings.HasPrefix(p, "/") {
			return
		}
		got, ok := md5sumOf(data, p)
		if w, found := want[p]; ok != found || !bytes.Equal(got, w) {
			t.Fatalf("%q: %x %v, want %x %v", p, got, ok, w, found)
		}
		byPath := md5sumsByPath(data)
		if len(byPath) != len(want) {
			t.Fatalf("md5sumsByPath: %d names, want %d", len(byPath), len(want))
		}
		for n, w := range want {
			if !bytes.Equal(byPath[n], w) {
				t.Fatalf("md5sumsByPath: %q: %x, want %x", n, byPath[n], w)
			}
		}
	})
}

// FuzzRPMSignature reads a header and the key of a gpg-pubkey header and checks the
// first's signature with the second: never a crash, and a header whose signed region
// is not the seed's is never good with the seed's key.
func FuzzRPMSignature(f *testing.F) {
	seed := readTestdata(f, "testdata/rpm/fimtest-ed25519.header")
	seedKey := readTestdata(f, "testdata/rpm/gpg-pubkey-ed25519.header")
	region := func(blob []byte) []byte {
		h, err := parseRPMHeader(blob)
		if err != nil || h.ril == 0 {
			return nil
		}
		var b bytes.Buffer
		writeRegion(&b, h, blob)
		return b.Bytes()
	}
	// a header signed in OpenPGP v3 (RSA), as RHEL 8 and before sign, and its key
	seedV3 := readTestdata(f, "testdata/rpm/fimtest-rsa-v3.header")
	seedKeyV3 := readTestdata(f, "testdata/rpm/gpg-pubkey-rsa.header")
	signedBy := map[string][]byte{string(seedKey): region(seed), string(seedKeyV3): region(seedV3)}
	f.Add(seed, seedKey)
	f.Add(seed, seed)
	f.Add(seedKey, seedKey)
	f.Add(seedV3, seedKeyV3)
	f.Add(seedV3, seedKey)
	f.Fuzz(func(t *testing.T, blob, keyBlob []byte) {
		keys := map[uint64][]*packet.PublicKey{}
		if kp, _, err := rpmPackage(keyBlob); err == nil && kp.rpm != nil {
			for _, k := range kp.rpm.keys {
				keys[k.KeyId] = append(keys[k.KeyId], k)
			}
		}
		pkg, _, err := rpmPackage(blob)
		if err != nil || pkg.rpm == nil || len(pkg.rpm.sigs) == 0 && pkg.rpm.broken == "" {
			return
		}
		s := pkg.rpm.verify(keys)
		switch s.State {
		case SigGood:
			if signed, ok := signedBy[string(keyBlob)]; ok && !bytes.Equal(region(blob), signed) {
				t.Fatal("a region other than the signed one verifies")
			}
		case SigBad:
			if !strings.HasPrefix(s.Reason, "rpm header signature does not verify: ") {
				t.Fatalf("bad: %q", s.Reason)
			}
		case SigUntrusted:
			if !strings.HasPrefix(s.Reason, "signed by a key rpm does not trust") && !strings.HasPrefix(s.Reason, "signed in a form fim does not check") {
				t.Fatalf("untrusted: %q", s.Reason)
			}
		default:
			t.Fatalf("state %d", s.State)
		}
	})
}

// FuzzParsePubkeys reads an OpenPGP certificate as a gpg-pubkey header records it
// (base64) or armored: never a crash, and every key it returns has a key ID.
func FuzzParsePubkeys(f *testing.F) {
	if b, err := os.ReadFile("testdata/rpm/gpg-pubkey-ed25519.header"); err == nil {
		if h, err := parseRPMHeader(b); err == nil {
			certs, _ := h.strings(tagPubkeys)
			for _, c := range certs {
				f.Add(c)
			}
			if d, _ := h.str(1005); d != "" { // DESCRIPTION: the armored key
				f.Add(d)
			}
		}
	}
	f.Add("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n")
	f.Fuzz(func(t *testing.T, cert string) {
		keys, err := parsePubkeys(cert)
		if err != nil {
			return
		}
		for _, k := range keys {
			if k == nil || k.KeyId == 0 && len(k.Fingerprint) > 0 {
				t.Fatalf("key %+v", k)
			}
		}
	})
}

// TestRPMSignatureSeed: the seed headers verify with their keys, and not without them
// or with the other's; a v4 signature called v3 is bad, and a v3 one in an algorithm
// v3 does not define is not checked.
func TestRPMSignatureSeed(t *testing.T) {
	blob := readTestdata(t, "testdata/rpm/fimtest-ed25519.header")
	keyBlob := readTestdata(t, "testdata/rpm/gpg-pubkey-ed25519.header")
	kp, _, err := rpmPackage(keyBlob)
	if err != nil || kp.rpm == nil || len(kp.rpm.keys) != 1 {
		t.Fatalf("key %v: %+v", err, kp)
	}
	keys := map[uint64][]*packet.PublicKey{kp.rpm.keys[0].KeyId: kp.rpm.keys}
	h, err := parseRPMHeader(blob)
	if err != nil {
		t.Fatal(err)
	}
	v3 := bytes.Clone(blob)
	sig := v3[len(blob)-len(h.data)+int(h.entries[tagDSAHeader].offset):]
	if sig[0]&0x40 != 0 || sig[2] != 4 { // an old-format packet header of 2 bytes, then the version
		t.Fatalf("signature packet % x", sig[:3])
	}
	sig[2] = 3 // a v4 packet called v3: its hashed length is not 5
	// A well-formed v3 packet of the same length, in EdDSA, which v3 does not define.
	eddsa := bytes.Clone(blob)
	sig = eddsa[len(blob)-len(h.data)+int(h.entries[tagDSAHeader].offset):]
	body := sig[2 : 2+int(sig[1])]
	copy(body, []byte{3, 5, 0, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 22, 8, 0, 0})
	mpis := body[19:]
	r := (len(mpis) - 4) / 2
	binary.BigEndian.PutUint16(mpis, uint16(8*r))
	binary.BigEndian.PutUint16(mpis[2+r:], uint16(8*(len(mpis)-4-r)))
	blobV3 := readTestdata(t, "testdata/rpm/fimtest-rsa-v3.header")
	keyV3 := readTestdata(t, "testdata/rpm/gpg-pubkey-rsa.header")
	kp, _, err = rpmPackage(keyV3)
	if err != nil || kp.rpm == nil || len(kp.rpm.keys) == 0 {
		t.Fatalf("key %v: %+v", err, kp)
	}
	keysV3 := map[uint64][]*packet.PublicKey{kp.rpm.keys[0].KeyId: kp.rpm.keys}
	// the v3 signature, its left 16 bits changed: it cannot be the digest's
	left := bytes.Clone(blobV3)
	hv3, err := parseRPMHeader(blobV3)
	if err != nil {
		t.Fatal(err)
	}
	sv3 := left[len(left)-len(hv3.data)+int(hv3.entries[tagRSAHeader].offset):]
	if sv3[0] != 0x89 || sv3[3] != 3 {
		t.Fatalf("v3 signature packet % x", sv3[:4])
	}
	sv3[3+17] ^= 0xff
	for _, c := range []struct {
		blob   []byte
		keys   map[uint64][]*packet.PublicKey
		want   SigState
		reason string
	}{
		{blob, keys, SigGood, ""},
		{blobV3, keysV3, SigGood, ""},
		{blobV3, keys, SigUntrusted, "signed by a key rpm does not trust (key ID "},
		{left, keysV3, SigBad, "rpm header signature does not verify: key ID "},
		{blob, nil, SigUntrusted, "signed by a key rpm does not trust (key ID "},
		{v3, keys, SigBad, "rpm header signature does not verify: a v3 signature does not parse"},
		{eddsa, keys, SigUntrusted, "signed in a form fim does not check: v3 signature of public-key algorithm 22"},
	} {
		pkg, _, err := rpmPackage(c.blob)
		if err != nil {
			t.Fatal(err)
		}
		if s := pkg.rpm.verify(c.keys); s.State != c.want || !strings.HasPrefix(s.Reason, c.reason) {
			t.Errorf("%+v, want %d %q", s, c.want, c.reason)
		}
	}
}

// readTestdata returns the content of the file name, or fails tb.
func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestRPMSignatureLargeKey: a DSA key larger than any real one (up to the 65,535 bits
// an OpenPGP number holds, whose checks take minutes) is refused, not checked with.
func TestRPMSignatureLargeKey(t *testing.T) {
	blob := bytes.Clone(readTestdata(t, "testdata/rpm/fimtest-rsa-v3.header"))
	h, err := parseRPMHeader(blob)
	if err != nil {
		t.Fatal(err)
	}
	// The v3 signature made one in DSA: r and s in the room of RSA's number.
	sig := blob[len(blob)-len(h.data)+int(h.entries[tagRSAHeader].offset):]
	body := sig[3 : 3+int(binary.BigEndian.Uint16(sig[1:]))]
	body[15] = 17
	mpis := body[19:]
	r := (len(mpis) - 4) / 2
	binary.BigEndian.PutUint16(mpis, uint16(8*r))
	binary.BigEndian.PutUint16(mpis[2+r:], uint16(8*(len(mpis)-4-r)))
	id := binary.BigEndian.Uint64(body[7:15])
	for _, c := range []struct {
		pbits, qbits int
		reason       string
	}{
		{2048, 256, "DSA verification failure"},
		{4096, 256, "a DSA key of 4096 bits, more than 3072"},
		{2048, 8192, "a DSA key of 8192 bits, more than 3072"},
	} {
		one := big.NewInt(1)
		pub := &dsa.PublicKey{Parameters: dsa.Parameters{P: new(big.Int).Add(new(big.Int).Lsh(one, uint(c.pbits-1)), one),
			Q: new(big.Int).Add(new(big.Int).Lsh(one, uint(c.qbits-1)), one), G: big.NewInt(2)}, Y: big.NewInt(3)}
		k := packet.NewDSAPublicKey(time.Unix(1, 0), pub)
		pkg, _, err := rpmPackage(blob)
		if err != nil {
			t.Fatal(err)
		}
		s := pkg.rpm.verify(map[uint64][]*packet.PublicKey{id: {k}})
		if s.State != SigBad || !strings.HasSuffix(s.Reason, c.reason) {
			t.Errorf("P of %d bits, Q of %d: %+v, want bad: ...%s", c.pbits, c.qbits, s, c.reason)
		}
	}
}
