package baseline

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"

	"fim/walk"
)

// A signed baseline carries an Ed25519 signature over its meta, which holds the count
// and the digest that seals every key and record in order with the rest of the meta:
// verifying the signature and then reading every record (Iter checks the digest at the
// end) proves that not one record or meta field was added, removed, reordered or
// edited since it was signed.

var keySignature = []byte("signature")

// sigContext binds a signature to its use, so no other message signed with the same key
// can pass for a baseline's.
const sigContext = "fim baseline signature v1\x00"

func signedMessage(info []byte) []byte { return append([]byte(sigContext), info...) }

// KeyID names a public key: "ed25519:" and the first 8 bytes of its BLAKE3 hash in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := blake3.Sum256(pub)
	return "ed25519:" + hex.EncodeToString(sum[:8])
}

// Signed reports whether the baseline carries a signature.
func (r *Reader) Signed() bool { return r.signature != nil }

// VerifySignature checks the baseline's signature with pub. Every failure wraps
// ErrBadBaseline. The records themselves are checked against the signed digest as they
// are read: a caller that needs the proof before using them reads them all (Verify).
func (r *Reader) VerifySignature(pub ed25519.PublicKey) error {
	if r.signature == nil {
		return bad(r.path, "not signed (made without --sign), refused with --verify")
	}
	if !ed25519.Verify(pub, signedMessage(r.info), r.signature) {
		return bad(r.path, "signature does not verify with %s: signed by another key (%s), or altered", KeyID(pub), r.meta.KeyID)
	}
	return nil
}

// Verify checks the signature and then every record against the signed digest.
func (r *Reader) Verify(pub ed25519.PublicKey) error {
	if err := r.VerifySignature(pub); err != nil {
		return err
	}
	return r.Validate()
}

// Validate reads every record and checks them and the meta against the digest: what a
// full Iter does, for a caller that uses the baseline without reading it all (fim
// info, watch) or needs the proof before it reads.
func (r *Reader) Validate() error {
	for _, err := range r.Iter().Entries(context.Background()) {
		if err != nil {
			return err
		}
	}
	return nil
}

// GenerateKey writes a new Ed25519 key pair: the private key to file (PKCS#8 PEM, mode
// 0600) and the public key to file + ".pub" (PKIX PEM). It never overwrites a file.
func GenerateKey(file string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := writeNew(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(file+".pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		os.Remove(file)
		return nil, err
	}
	return pub, nil
}

func writeNew(file string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(file)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(file)
		return err
	}
	return f.Close()
}

// maxKeyFile is the largest key file read: a PEM Ed25519 key takes about 120 bytes.
const maxKeyFile = 64 << 10

func readPEM(file, want string) ([]byte, error) {
	data, err := walk.ReadInput(file, maxKeyFile)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != want {
		return nil, fmt.Errorf("%s: not a PEM %q block", file, want)
	}
	return block.Bytes, nil
}

// LoadPrivateKey reads a private key written by GenerateKey (or openssl genpkey -algorithm ed25519).
func LoadPrivateKey(file string) (ed25519.PrivateKey, error) {
	der, err := readPEM(file, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", file)
	}
	return priv, nil
}

// LoadPublicKey reads a public key written by GenerateKey (or openssl pkey -pubout).
func LoadPublicKey(file string) (ed25519.PublicKey, error) {
	der, err := readPEM(file, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New(file + ": not an Ed25519 key")
	}
	return pub, nil
}
