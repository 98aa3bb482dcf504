package pkgdb

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/dsa" //lint:ignore SA1019 the DSA keys of rpm's older signatures are only measured
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// The tags of an installed rpm header that vouch for it (rpm's rpmtag.h): the OpenPGP
// signatures over its immutable region, rpm's signature header merged into it at
// install (DSAHEADER holds DSA and EdDSA ones; OPENPGP, base64, those of newer rpm),
// and the public keys a gpg-pubkey pseudo-package imports.
const (
	tagPubkeys   = 266
	tagDSAHeader = 267
	tagRSAHeader = 268
	tagOpenPGP   = 278
)

// rpmPubkeyName is the name of the pseudo-package rpm --import records a key as.
const rpmPubkeyName = "gpg-pubkey"

// rpmHeaderMagic opens a header as a package file carries it, and as its signature
// covers it.
var rpmHeaderMagic = []byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0}

// relocated are the tags rpm itself replaces after an installed header's region when
// it relocates a package (rpm --relocate, --prefix): the file names.
var relocated = []int32{tagDirIndexes, tagBaseNames, tagDirNames}

// SigState is what an rpm header's signature says of the package's records.
type SigState int

const (
	// SigNone: no header signature (not an rpm package, or not signed).
	SigNone SigState = iota
	// SigGood: a signature by a key imported into the database verifies.
	SigGood
	// SigUntrusted: signed, but by no key imported into the database (installed with
	// --nosignature, or its key removed), or in a form fim does not check (OpenPGP v3):
	// the header is as good as an unsigned one.
	SigUntrusted
	// SigBad: a signature by an imported key does not verify over the header's
	// immutable region, or the header is signed and cannot be checked (a signature
	// that does not parse, no region, a region tag replaced after it).
	SigBad
)

// Signature is the state of an rpm header's signature, with why.
type Signature struct {
	State  SigState
	Reason string // for SigUntrusted and SigBad
}

// rpmTrust is what an rpm header carries to vouch for itself or others.
type rpmTrust struct {
	sigs   []headerSig // the signatures, each with the digest of the region
	broken string      // why the signatures cannot be checked; "" when they can
	// unsupported says why a signature is of a kind fim does not check (an OpenPGP v3
	// signature, an unknown algorithm): the header is then as good as an unsigned one.
	unsupported string
	overridden  []int32 // region tags an entry after the region replaces (not relocated)
	keys        []*packet.PublicKey
	keyErr      error // a gpg-pubkey header whose key does not parse

	once sync.Once
	sig  Signature
}

// headerSig is one signature (of version 4 or later, or 3) and the digest, in its
// hash, of what it signs.
type headerSig struct {
	sig    *packet.Signature
	v3     *sigV3
	signed hash.Hash
}

// rpmTrustOf reads the signatures of header h (blob) and digests its immutable region
// for each, and, for a gpg-pubkey header (pubkey), the keys it imports. nil for an
// unsigned header that imports no key. The digests are taken now, as the header is
// read, so that nothing of it is kept; the signatures are checked when asked
// (DB.Signature). An error is a header rpm could not have written.
func rpmTrustOf(h *rpmHeader, blob []byte, pubkey bool) (*rpmTrust, error) {
	var raw [][]byte
	for _, tag := range []int32{tagRSAHeader, tagDSAHeader} {
		b, err := h.bin(tag)
		if err != nil {
			return nil, err
		}
		if b != nil {
			raw = append(raw, b)
		}
	}
	armored, err := h.strings(tagOpenPGP)
	if err != nil {
		return nil, err
	}
	t := &rpmTrust{}
	for _, a := range armored {
		b, err := base64.StdEncoding.DecodeString(a)
		if err != nil {
			t.broken = fmt.Sprintf("an OPENPGP signature is not base64: %v", err)
		}
		raw = append(raw, b)
	}
	if pubkey {
		t.keys, t.keyErr = rpmPubkeys(h)
	}
	if len(raw) == 0 {
		if t.keys == nil && t.keyErr == nil {
			return nil, nil
		}
		return t, nil
	}
	if h.ril == 0 {
		t.broken = cmp.Or(t.broken, "the header has no immutable region to verify")
		return t, nil
	}
	for _, tag := range h.overridden {
		if !slices.Contains(relocated, tag) {
			t.overridden = append(t.overridden, tag)
		}
	}
	for _, b := range raw {
		var hs headerSig
		var alg crypto.Hash
		v3, isV3, err := parseSigV3(b)
		if isV3 {
			hs.v3 = v3
			if err == nil {
				alg = v3.hash
			}
		} else if hs.sig, err = parseSignature(b); err == nil {
			alg = hs.sig.Hash
		}
		var unsupported pgperrors.UnsupportedError
		if errors.As(err, &unsupported) {
			t.unsupported = cmp.Or(t.unsupported, string(unsupported))
			continue
		}
		if err != nil {
			t.broken = cmp.Or(t.broken, err.Error())
			continue
		}
		hs.signed = alg.New()
		writeRegion(hs.signed, h, blob)
		t.sigs = append(t.sigs, hs)
	}
	return t, nil
}

// writeRegion writes what a header signature covers: the header magic, then the header
// h (blob) cut to its immutable region: its entry count and data length, its entries,
// its data.
func writeRegion(w io.Writer, h *rpmHeader, blob []byte) {
	var ildl [8]byte
	binary.BigEndian.PutUint32(ildl[:], uint32(h.ril))
	binary.BigEndian.PutUint32(ildl[4:], uint32(h.rdl))
	il := int(binary.BigEndian.Uint32(blob))
	w.Write(rpmHeaderMagic)
	w.Write(ildl[:])
	w.Write(blob[8 : 8+16*h.ril])
	w.Write(blob[8+16*il : 8+16*il+h.rdl])
}

// parseSignature parses one OpenPGP signature packet of version 4 or later over binary
// data, in a hash fim has. A packet of a version or algorithm go-crypto does not read
// is an UnsupportedError (parseSigV3 reads version 3).
func parseSignature(b []byte) (*packet.Signature, error) {
	r := bytes.NewReader(b)
	p, err := packet.Read(r)
	var unsupported pgperrors.UnsupportedError
	if errors.As(err, &unsupported) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("a signature does not parse: %v", err)
	}
	sig, ok := p.(*packet.Signature)
	switch {
	case !ok:
		return nil, fmt.Errorf("a signature is an OpenPGP packet of type %T", p)
	case r.Len() != 0:
		return nil, fmt.Errorf("a signature is followed by %d bytes", r.Len())
	case sig.SigType != packet.SigTypeBinary:
		return nil, fmt.Errorf("a signature is of type %#x, not over binary data", sig.SigType)
	case !sig.Hash.Available():
		return nil, fmt.Errorf("a signature's hash %v is not available", sig.Hash)
	}
	return sig, nil
}

// rpmPubkeys returns the public keys (primary keys and subkeys) of a gpg-pubkey
// header's PUBKEYS tag: each an OpenPGP certificate, in base64, as rpm --import
// records it.
func rpmPubkeys(h *rpmHeader) ([]*packet.PublicKey, error) {
	certs, err := h.strings(tagPubkeys)
	if err != nil {
		return nil, err
	}
	var keys []*packet.PublicKey
	for _, c := range certs {
		ks, err := parsePubkeys(c)
		if err != nil {
			return nil, err
		}
		keys = append(keys, ks...)
	}
	if len(keys) == 0 {
		return nil, errors.New("no public key")
	}
	return keys, nil
}

// parsePubkeys returns the public keys and subkeys of an OpenPGP certificate in base64
// (without armor headers), or armored. The certificate's user IDs and binding
// signatures are not checked: whoever can record a key in the database can record one
// of their own.
func parsePubkeys(cert string) ([]*packet.PublicKey, error) {
	var in io.Reader
	if cert = strings.TrimSpace(cert); strings.HasPrefix(cert, "-----BEGIN ") {
		block, err := armor.Decode(strings.NewReader(cert))
		if err != nil {
			return nil, fmt.Errorf("an armored key does not parse: %v", err)
		}
		in = block.Body
	} else {
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(cert), ""))
		if err != nil {
			return nil, fmt.Errorf("a key is not base64: %v", err)
		}
		in = bytes.NewReader(raw)
	}
	var keys []*packet.PublicKey
	r := packet.NewReader(in)
	for {
		p, err := r.Next() // skips packets of unknown types and algorithms
		if err == io.EOF {
			return keys, nil
		}
		if err != nil {
			return nil, fmt.Errorf("a key does not parse: %v", err)
		}
		if pk, ok := p.(*packet.PublicKey); ok {
			keys = append(keys, pk)
		}
	}
}

// bin returns a BIN tag's bytes (nil when absent).
func (h *rpmHeader) bin(tag int32) ([]byte, error) {
	e, ok := h.entries[tag]
	if !ok {
		return nil, nil
	}
	if e.typ != typeBin {
		return nil, fmt.Errorf("tag %d: type %d, want bytes", tag, e.typ)
	}
	if int64(e.offset)+int64(e.count) > int64(e.end) {
		return nil, fmt.Errorf("tag %d: %d bytes past the data", tag, e.count)
	}
	return h.data[e.offset : e.offset+e.count], nil
}

// rpmKeystore is the directory beside the rpm database of rpm's file keystore
// (%_keyring fs, %_keyringpath %{_dbpath}/pubkeys/): one armored key a file, named
// gpg-pubkey-KEYID-TIME.key.
const rpmKeystore = "pubkeys"

// maxRPMKey bounds a keystore file: an armored key with its subkeys is a few KiB.
const maxRPMKey = 1 << 20

// rpmKeyring gathers the keys rpm trusts, by key ID: those the database's gpg-pubkey
// headers import and those of the file keystore beside it (rpm reads one or the other,
// as %_keyring says; a database fim reads gives no macros, so both count). A key that
// does not parse is a warning naming its header or file (the packages it signed are
// then signed by a key rpm does not trust, to fim).
func (db *DB) rpmKeyring() {
	add := func(keys []*packet.PublicKey) {
		for _, k := range keys {
			if db.rpmKeys == nil {
				db.rpmKeys = map[uint64][]*packet.PublicKey{}
			}
			db.rpmKeys[k.KeyId] = append(db.rpmKeys[k.KeyId], k)
		}
	}
	for _, p := range db.packages {
		t := p.rpm
		if p.Manager != RPM || t == nil {
			continue
		}
		if t.keyErr != nil {
			db.warnings = append(db.warnings, fmt.Errorf("rpm database: %s-%s: %w", p.Name, p.Version, t.keyErr))
		}
		add(t.keys)
	}
	if db.rpmDir == "" || db.damaged[RPM] != nil {
		return
	}
	dir := db.rpmDir + "/" + rpmKeystore
	names, err := db.root.ReadDir(dir)
	if err != nil {
		db.warnings = append(db.warnings, fmt.Errorf("rpm keystore: %w", err))
		return
	}
	slices.Sort(names)
	for _, n := range names {
		if !strings.HasSuffix(n, ".key") {
			continue
		}
		name := dir + "/" + n
		b, err := db.root.ReadFile(name, maxRPMKey) // the error names the file
		if err != nil {
			db.warnings = append(db.warnings, fmt.Errorf("rpm keystore: %w", err))
			continue
		}
		keys, err := parsePubkeys(string(b))
		if err == nil && len(keys) == 0 {
			err = errors.New("no public key")
		}
		if err != nil {
			db.warnings = append(db.warnings, fmt.Errorf("rpm keystore %s: %w", db.root.name(name), err))
		}
		add(keys)
	}
}

// Signature says whether package p's rpm header is signed, and whether the signature
// verifies over its immutable region (the header as the package shipped it: its file
// digests, modes, owners) with a key imported into the database (a gpg-pubkey
// pseudo-package). It is checked the first time it is asked, once; SigNone for dpkg
// and apk packages.
func (db *DB) Signature(p *Package) Signature {
	t := p.rpm
	if t == nil || (len(t.sigs) == 0 && t.broken == "" && t.unsupported == "") {
		return Signature{}
	}
	t.once.Do(func() { t.sig = t.verify(db.rpmKeys) })
	return t.sig
}

// verify checks the signatures with keys: one that a key it names does not verify, or
// one that does not parse, makes the header bad; else one that verifies makes it
// good; else it is signed by no key the database holds.
func (t *rpmTrust) verify(keys map[uint64][]*packet.PublicKey) Signature {
	const bad = "rpm header signature does not verify: "
	if t.broken != "" {
		return Signature{SigBad, bad + t.broken}
	}
	good, unknown := false, ""
	for _, s := range t.sigs {
		id := s.issuer()
		ks := keys[id]
		if len(ks) == 0 {
			unknown = cmp.Or(unknown, fmt.Sprintf("%016x", id))
			continue
		}
		var err error
		for _, k := range ks {
			signed := s.signed.(hash.Cloner)
			var h hash.Hash
			if err = keySize(k); err != nil {
				continue
			}
			if h, err = signed.Clone(); err == nil {
				if s.v3 != nil {
					err = s.v3.verify(k, h)
				} else {
					err = k.VerifySignature(h, s.sig)
				}
				if err == nil {
					break
				}
			}
		}
		if err != nil {
			return Signature{SigBad, fmt.Sprintf("%skey ID %016x: %v", bad, id, err)}
		}
		good = true
	}
	switch {
	case good && len(t.overridden) > 0:
		return Signature{SigBad, fmt.Sprintf("%stag %d of the signed region is replaced after it", bad, t.overridden[0])}
	case good:
		return Signature{State: SigGood}
	}
	if unknown == "" {
		return Signature{SigUntrusted, "signed in a form fim does not check: " + t.unsupported}
	}
	return Signature{SigUntrusted, "signed by a key rpm does not trust (key ID " + unknown + ")"}
}

// maxDSABits bounds the DSA keys a signature is checked with: real ones are of 1024 to
// 3072 bits (FIPS 186-4), and checking with a key of the 65,535 bits an OpenPGP number
// may hold takes minutes.
const maxDSABits = 3072

// keySize refuses a key too large to check a signature with in reasonable time.
func keySize(k *packet.PublicKey) error {
	if pub, ok := k.PublicKey.(*dsa.PublicKey); ok && (pub.P.BitLen() > maxDSABits || pub.Q.BitLen() > maxDSABits) {
		return fmt.Errorf("a DSA key of %d bits, more than %d", max(pub.P.BitLen(), pub.Q.BitLen()), maxDSABits)
	}
	return nil
}

// issuer is the ID of the key that made the signature: a v3 signature's, a later
// one's issuer subpacket, or the low 64 bits of its issuer fingerprint (a v4 key's
// ID).
func (s headerSig) issuer() uint64 {
	if s.v3 != nil {
		return s.v3.keyID
	}
	sig := s.sig
	if sig.IssuerKeyId != nil {
		return *sig.IssuerKeyId
	}
	if n := len(sig.IssuerFingerprint); n >= 8 {
		return binary.BigEndian.Uint64(sig.IssuerFingerprint[n-8:])
	}
	return 0
}
