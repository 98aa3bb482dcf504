package check

import (
	"crypto/ed25519"
	"time"

	"fim/baseline"
	"fim/config"
)

// Baseline is a baseline opened to be compared with: its reader and the policy it was
// made with.
type Baseline struct {
	*baseline.Reader
	Policy   *config.Policy
	Compiled *config.Compiled
}

// OpenOptions say what a baseline must prove before it is compared with. The zero
// value demands nothing beyond a policy that decodes and compiles.
type OpenOptions struct {
	// Verify, if set, is the public key the baseline must be signed with.
	Verify ed25519.PublicKey
	// Fresh is the creation time and generation demanded (baseline.Reader.Fresh).
	Fresh baseline.Freshness
	// Signer, if set, is the key that is to sign the baseline's successor: a signed
	// baseline must verify with it, so that one altered since it was signed never comes
	// out signed afresh.
	Signer ed25519.PrivateKey
}

// Open opens the baseline at db to be compared with: it checks the signature (Verify,
// Signer), then the freshness, then reads the policy. The records are checked against
// the signed digest as they are read. Every refusal wraps baseline.ErrBadBaseline.
func Open(db string, o OpenOptions) (*Baseline, error) {
	r, err := baseline.Open(db)
	if err != nil {
		return nil, err
	}
	b := &Baseline{Reader: r}
	if err := b.prove(o); err != nil {
		r.Close()
		return nil, err
	}
	return b, nil
}

func (b *Baseline) prove(o OpenOptions) (err error) {
	if o.Verify != nil {
		if err := b.VerifySignature(o.Verify); err != nil {
			return err
		}
	}
	if o.Signer != nil && b.Signed() {
		if err := b.VerifySignature(o.Signer.Public().(ed25519.PublicKey)); err != nil {
			return err
		}
	}
	if err := b.Fresh(o.Fresh, time.Now()); err != nil {
		return err
	}
	b.Policy, b.Compiled, err = Policy(b.Reader)
	return err
}

// Successor returns m, the meta of the baseline that replaces b, continuing b's accept
// history and generation count, and keeping b's package snapshot (until a new one is
// sealed in its place: RecordPackages).
func (b *Baseline) Successor(m baseline.Meta) baseline.Meta {
	m.Packages = b.Meta().Packages
	m.Accepted = b.Meta().Accepted
	m.Generation = b.Meta().Generation + 1
	return m
}
