package check

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"time"

	"fim/baseline"
	"fim/config"
	"fim/provenance"
)

// Baseline is a baseline opened to be compared with: its reader and the policy it was
// made with.
type Baseline struct {
	*baseline.Reader
	Policy   *config.Policy
	Compiled *config.Compiled
	next     *baseline.Writer // the baseline that replaces it (Replace)
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
	// Replace starts the baseline that replaces this one (Successor, Commit), signed
	// with Signer (needed when the baseline is signed: ErrNeedsSigner), with the key base of the policy (KeyBase). Its lock is taken before
	// the baseline is read, so that nothing else replaces the baseline until the
	// successor is committed or given up (Close).
	Replace bool
}

// Open opens the baseline at db to be compared with: it checks the signature (Verify,
// Signer), then the freshness, then reads the policy. The records are checked against
// the signed digest as they are read. Every refusal of the baseline wraps
// baseline.ErrBadBaseline.
func Open(db string, o OpenOptions) (*Baseline, error) {
	b := &Baseline{}
	if _, err := os.Stat(db); err == nil && o.Replace { // a missing baseline is baseline.Open's to name
		if b.next, err = baseline.Create(db); err != nil {
			return nil, err
		}
	}
	var err error
	if b.Reader, err = baseline.Open(db); err == nil {
		err = b.prove(o)
	}
	if err == nil && o.Replace && o.Signer == nil && b.Signed() {
		err = fmt.Errorf("%s: %w", db, ErrNeedsSigner)
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	if b.next != nil {
		b.next.Signer, b.next.KeyBase = o.Signer, KeyBase(b.Compiled)
	}
	return b, nil
}

// Close gives up the successor, if not committed, and closes the baseline.
func (b *Baseline) Close() error {
	if b.next != nil {
		b.next.Abort() // no-op after a commit
	}
	if b.Reader == nil {
		return nil
	}
	return b.Reader.Close()
}

// Annotator returns what the package databases under root make of the events of a
// comparison with b (Options.Provenance): the package log's changes since b was made,
// and the package snapshot and writer journal kept beside b, the snapshot only as b's
// meta seals it. o gives the rest (Logf, Workers); nil o (no provenance): nil.
func (b *Baseline) Annotator(root string, o *provenance.Options) *provenance.Annotator {
	if o == nil {
		return nil
	}
	po, db, meta := *o, b.Path(), b.Meta()
	po.Root, po.Since, po.SnapshotDigest = root, meta.Created, meta.Packages
	po.Snapshot, po.Journal = provenance.SnapshotPath(db), provenance.JournalPath(db)
	return provenance.New(po)
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
