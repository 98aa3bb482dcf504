package pkgdb

import (
	"bytes"
	"crypto"
	"crypto/dsa" //lint:ignore SA1019 rpm's DSA keys (RHEL 5) sign v3 signatures; only verified
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math/big"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// A sigV3 is an OpenPGP signature packet of version 3 (RFC 4880 5.2.2), the form rpm
// packages of RHEL 8 and before are signed in; go-crypto reads version 4 and later.
type sigV3 struct {
	sigType byte
	created [4]byte
	keyID   uint64
	algo    packet.PublicKeyAlgorithm
	hash    crypto.Hash
	left16  [2]byte
	mpis    [][]byte // RSA: one; DSA: r and s
}

// The hashes a v3 signature may name (RFC 4880 9.4), by their OpenPGP numbers: MD5 is
// not among them (a signature in it is unsupported, as an unsigned header).
var v3Hashes = map[byte]crypto.Hash{2: crypto.SHA1, 8: crypto.SHA256, 9: crypto.SHA384, 10: crypto.SHA512, 11: crypto.SHA224}

// parseSigV3 parses b as one signature packet of version 3: ok is false when b is a
// packet of another type or version (for go-crypto to read). An error says why a v3
// packet does not parse, or is an UnsupportedError for an algorithm fim does not check.
func parseSigV3(b []byte) (s *sigV3, ok bool, err error) {
	tag, body, err := packetBody(b)
	if err != nil || tag != 2 || len(body) == 0 || body[0] != 3 {
		return nil, false, nil
	}
	// version, hashed length 5, type, creation time, key ID, algorithms, left 16 bits
	if len(body) < 19 || body[1] != 5 {
		return nil, true, errors.New("a v3 signature does not parse: cut short or not of hashed length 5")
	}
	s = &sigV3{sigType: body[2], keyID: binary.BigEndian.Uint64(body[7:15]), algo: packet.PublicKeyAlgorithm(body[15])}
	copy(s.created[:], body[3:7])
	copy(s.left16[:], body[17:19])
	var n int
	switch s.algo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSASignOnly:
		n = 1
	case packet.PubKeyAlgoDSA:
		n = 2
	default:
		return nil, true, pgperrors.UnsupportedError(fmt.Sprintf("v3 signature of public-key algorithm %d", s.algo))
	}
	h, known := v3Hashes[body[16]]
	if !known {
		return nil, true, pgperrors.UnsupportedError(fmt.Sprintf("v3 signature of hash algorithm %d", body[16]))
	}
	s.hash = h
	rest := body[19:]
	for range n {
		if len(rest) < 2 {
			return nil, true, errors.New("a v3 signature does not parse: a number is cut short")
		}
		bits := int(binary.BigEndian.Uint16(rest))
		size := (bits + 7) / 8
		if size == 0 || len(rest) < 2+size {
			return nil, true, errors.New("a v3 signature does not parse: a number is cut short")
		}
		s.mpis = append(s.mpis, rest[2:2+size])
		rest = rest[2+size:]
	}
	if len(rest) != 0 {
		return nil, true, fmt.Errorf("a v3 signature does not parse: %d bytes after it", len(rest))
	}
	if s.sigType != byte(packet.SigTypeBinary) {
		return nil, true, fmt.Errorf("a signature is of type %#x, not over binary data", s.sigType)
	}
	return s, true, nil
}

// packetBody returns the tag and body of the one OpenPGP packet b holds, in either
// header format; an error when b is not one whole packet of a definite length.
func packetBody(b []byte) (tag byte, body []byte, err error) {
	if len(b) < 2 || b[0]&0x80 == 0 {
		return 0, nil, errors.New("not a packet")
	}
	var n, hdr int
	if b[0]&0x40 == 0 { // old format: the tag, then a length of 1, 2 or 4 bytes
		tag = (b[0] >> 2) & 0xf
		switch b[0] & 3 {
		case 0:
			n, hdr = int(b[1]), 2
		case 1:
			if len(b) < 3 {
				return 0, nil, errors.New("cut short")
			}
			n, hdr = int(binary.BigEndian.Uint16(b[1:])), 3
		case 2:
			if len(b) < 5 {
				return 0, nil, errors.New("cut short")
			}
			n, hdr = int(binary.BigEndian.Uint32(b[1:])), 5
		default: // indeterminate: to the end
			n, hdr = len(b)-1, 1
		}
	} else { // new format: the tag, then a length of 1, 2 or 5 bytes
		tag = b[0] & 0x3f
		switch l := b[1]; {
		case l < 192:
			n, hdr = int(l), 2
		case l < 224:
			if len(b) < 3 {
				return 0, nil, errors.New("cut short")
			}
			n, hdr = (int(l)-192)<<8+int(b[2])+192, 3
		case l == 255:
			if len(b) < 6 {
				return 0, nil, errors.New("cut short")
			}
			n, hdr = int(binary.BigEndian.Uint32(b[2:])), 6
		default:
			return 0, nil, errors.New("a partial length")
		}
	}
	if n < 0 || len(b)-hdr != n {
		return 0, nil, errors.New("not one whole packet")
	}
	return tag, b[hdr:], nil
}

// verify checks s with key k over what signed holds (the data; the type and creation
// time are hashed after it, as version 3 says).
func (s *sigV3) verify(k *packet.PublicKey, signed hash.Hash) error {
	signed.Write([]byte{s.sigType})
	signed.Write(s.created[:])
	digest := signed.Sum(nil)
	if !bytes.Equal(digest[:2], s.left16[:]) {
		return errors.New("v3 signature: the digest does not begin as the signature says")
	}
	switch pub := k.PublicKey.(type) {
	case *rsa.PublicKey:
		if s.algo != packet.PubKeyAlgoRSA && s.algo != packet.PubKeyAlgoRSASignOnly {
			break
		}
		sig := s.mpis[0]
		if size := pub.Size(); len(sig) < size { // a number's leading zeros are not written
			sig = append(make([]byte, size-len(sig)), sig...)
		}
		if rsa.VerifyPKCS1v15(pub, s.hash, digest, sig) != nil {
			return errors.New("RSA verification failure")
		}
		return nil
	case *dsa.PublicKey:
		if s.algo != packet.PubKeyAlgoDSA {
			break
		}
		if q := (pub.Q.BitLen() + 7) / 8; len(digest) > q {
			digest = digest[:q]
		}
		if !dsa.Verify(pub, digest, new(big.Int).SetBytes(s.mpis[0]), new(big.Int).SetBytes(s.mpis[1])) {
			return errors.New("DSA verification failure")
		}
		return nil
	}
	return fmt.Errorf("a v3 signature of algorithm %d by a key of algorithm %d", s.algo, k.PubKeyAlgo)
}
