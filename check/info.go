package check

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"time"

	"fim/baseline"
	"fim/config"
)

// Info is what fim info says of a baseline: its meta, its file, its signature and the
// options it was made with. The JSON tags are the info command's json format.
type Info struct {
	Path          string                `json:"path"`
	FileSize      int64                 `json:"file_size"`
	BytesPerEntry float64               `json:"bytes_per_entry"`
	Format        int                   `json:"format"`
	FimVersion    string                `json:"fim_version"`
	Created       time.Time             `json:"created"`
	Generation    uint64                `json:"generation"`
	Host          string                `json:"host"`
	HostID        string                `json:"host_id"`
	Entries       uint64                `json:"entries"`
	Digest        string                `json:"digest"`
	KeyBase       string                `json:"key_base"`
	Signed        bool                  `json:"signed"`
	KeyID         string                `json:"key_id,omitempty"`
	Verified      *bool                 `json:"verified,omitempty"` // when a key was given
	VerifyError   string                `json:"verify_error,omitempty"`
	VerifyErr     error                 `json:"-"` // VerifyError as the error it is
	RawPolicy     json.RawMessage       `json:"policy"`
	Accepted      []baseline.Acceptance `json:"accepted"`
	// Copies and CopyBytes count the copies of files' content kept for diffs.
	Copies    uint64 `json:"copies"`
	CopyBytes uint64 `json:"copy_bytes"`
	// Policy is RawPolicy decoded.
	Policy *config.Policy `json:"-"`
}

// Describe reads every record of the baseline at db and checks them and the meta
// against the digest, and with verify, the signature, then says what the baseline is.
// A baseline that fails the digest, or has a policy that does not decode, is refused
// (baseline.ErrBadBaseline); one whose signature does not verify is described, with
// Verified false, and not checked for freshness. Otherwise, one older or of a lower
// generation than fresh demands is refused.
func Describe(db string, verify ed25519.PublicKey, fresh baseline.Freshness) (*Info, error) {
	r, err := baseline.Open(db)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if verify == nil {
		// With a key, Verify reads every record below, and says what it found.
		if err := r.Validate(); err != nil {
			return nil, err
		}
	}
	pol, _, err := Policy(r)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(db)
	if err != nil {
		return nil, err
	}
	m := r.Meta()
	in := &Info{Path: db, FileSize: st.Size(), Format: m.Format, FimVersion: m.FimVersion, Created: m.Created,
		Generation: m.Generation, Host: m.Host, HostID: m.HostID, Entries: m.Entries, Digest: m.Digest, KeyBase: m.KeyBase,
		Copies: m.Copies, CopyBytes: m.CopyBytes,
		Signed: r.Signed(), KeyID: m.KeyID, RawPolicy: m.Policy, Accepted: m.Accepted, Policy: pol}
	if m.Entries > 0 {
		in.BytesPerEntry = float64(st.Size()) / float64(m.Entries)
	}
	if in.Accepted == nil {
		in.Accepted = []baseline.Acceptance{}
	}
	if verify != nil {
		verr := r.Verify(verify)
		ok := verr == nil
		in.Verified = &ok
		if verr != nil {
			in.VerifyError, in.VerifyErr = verr.Error(), verr
			return in, nil
		}
	}
	if err := r.Fresh(fresh, time.Now()); err != nil {
		return nil, err
	}
	return in, nil
}
