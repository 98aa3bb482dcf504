package debtest

import (
	"bytes"
	"crypto"
	"crypto/dsa" //lint:ignore SA1019 v3 signatures of DSA keys, as rpm made them
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// signV3Env names, in the environment of rpmsign's signing command, the armored secret
// key RPMSignV3 signs with. The test binary, run by rpmsign as that command, writes an
// OpenPGP signature of version 3 (RFC 4880 5.2.2), as the signing servers of RHEL 8
// and before do and as gpg no longer can.
const signV3Env = "FIM_TEST_SIGN_V3"

func init() {
	if key := os.Getenv(signV3Env); key != "" {
		if err := signV3(key, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "v3 signer:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
}

// RPMSignV3 returns a copy of the package file pkg signed with key (RSA or DSA) by the
// real rpmsign, in signatures of version 3.
func RPMSignV3(t testing.TB, pkg string, key GPGKey) string {
	t.Helper()
	secret := filepath.Join(key.Home, "secret.asc")
	Run(t, "gpg", "--homedir", key.Home, "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--armor", "--output", secret, "--export-secret-keys", key.Name)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return rpmSign(t, pkg, key, self, signV3Env+"="+secret)
}

// signV3 signs as gpg -sbo SIGFILE -- DATAFILE would ("-": standard input and output),
// in a v3 signature over binary data in SHA-256, by the RSA or DSA key in keyFile.
func signV3(keyFile string, args []string) error {
	sigFile, dataFile := "", ""
	for i, a := range args {
		switch {
		case a == "-sbo" && i+1 < len(args):
			sigFile = args[i+1]
		case a == "--" && i+1 < len(args):
			dataFile = args[i+1]
		}
	}
	if sigFile == "" || dataFile == "" {
		return fmt.Errorf("want -sbo SIGFILE -- DATAFILE in %q", args)
	}
	f, err := os.Open(keyFile)
	if err != nil {
		return err
	}
	defer f.Close()
	ring, err := openpgp.ReadArmoredKeyRing(f)
	if err != nil {
		return err
	}
	if len(ring) != 1 || ring[0].PrivateKey == nil {
		return errors.New("want one secret key")
	}
	var in io.Reader = os.Stdin
	if dataFile != "-" {
		df, err := os.Open(dataFile)
		if err != nil {
			return err
		}
		defer df.Close()
		in = df
	}
	h := crypto.SHA256.New()
	if _, err := io.Copy(h, in); err != nil {
		return err
	}
	var created [4]byte
	binary.BigEndian.PutUint32(created[:], uint32(time.Now().Unix()))
	h.Write([]byte{0}) // the signature's type: binary data
	h.Write(created[:])
	digest := h.Sum(nil)
	var algo byte
	var mpis []*big.Int
	switch priv := ring[0].PrivateKey.PrivateKey.(type) {
	case *rsa.PrivateKey:
		sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, digest)
		if err != nil {
			return err
		}
		algo, mpis = 1, []*big.Int{new(big.Int).SetBytes(sig)}
	case *dsa.PrivateKey:
		r, s, err := dsa.Sign(rand.Reader, priv, digest[:min(len(digest), (priv.Q.BitLen()+7)/8)])
		if err != nil {
			return err
		}
		algo, mpis = 17, []*big.Int{r, s}
	default:
		return fmt.Errorf("a key of type %T", priv)
	}
	var body bytes.Buffer
	body.Write([]byte{3, 5, 0}) // version 3, 5 bytes hashed, type
	body.Write(created[:])
	binary.Write(&body, binary.BigEndian, ring[0].PrimaryKey.KeyId)
	body.Write([]byte{algo, 8}) // RSA or DSA, SHA-256
	body.Write(digest[:2])
	for _, n := range mpis {
		binary.Write(&body, binary.BigEndian, uint16(n.BitLen()))
		body.Write(n.Bytes())
	}
	var packet bytes.Buffer
	packet.WriteByte(0x80 | 2<<2 | 1) // old format, tag 2 (signature), a length of 2 bytes
	binary.Write(&packet, binary.BigEndian, uint16(body.Len()))
	packet.Write(body.Bytes())
	if sigFile == "-" {
		_, err = os.Stdout.Write(packet.Bytes())
		return err
	}
	return os.WriteFile(sigFile, packet.Bytes(), 0o600)
}
