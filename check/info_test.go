package check

import (
	"crypto/ed25519"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"fim/baseline"
)

// TestDescribe describes real baselines: what the meta and the file say, and what a
// key and the freshness demanded make of them.
func TestDescribe(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(nil)
	must(t, err)
	otherPub, _, err := ed25519.GenerateKey(nil)
	must(t, err)
	f := newFixture(t, map[string]string{"a": "x", "d/b": "y"}) // t, a, d, d/b, var: the baseline left out
	now := time.Now().UTC().Truncate(time.Second)

	f.signedBaseline(t, nil, 3, now)
	in, err := Describe(f.db, nil, baseline.Freshness{})
	must(t, err)
	st, err := os.Stat(f.db)
	must(t, err)
	if in.Path != f.db || in.FileSize != st.Size() || in.Entries != 5 || in.Generation != 3 || !in.Created.Equal(now) ||
		in.Signed || in.Verified != nil || in.Accepted == nil || len(in.Accepted) != 0 ||
		in.BytesPerEntry != float64(st.Size())/5 || len(in.Policy.Rules) != 1 || in.Policy.Rules[0].Path != f.tree {
		t.Errorf("unsigned: %+v", in)
	}
	if _, err := Describe(f.db, nil, baseline.Freshness{MinGeneration: 4}); !errors.Is(err, baseline.ErrBadBaseline) {
		t.Errorf("generation 3 when 4 is demanded: %v", err)
	}
	if in, err := Describe(f.db, pub, baseline.Freshness{}); err != nil || in.Verified == nil || *in.Verified ||
		!strings.Contains(in.VerifyError, "not signed") {
		t.Errorf("unsigned, a key given: %+v, %v", in, err)
	}

	f.signedBaseline(t, key, 4, now.Add(-48*time.Hour))
	if in, err := Describe(f.db, pub, baseline.Freshness{}); err != nil || !in.Signed || in.Verified == nil || !*in.Verified ||
		in.KeyID != baseline.KeyID(pub) {
		t.Errorf("signed, verified: %+v, %v", in, err)
	}
	// A signature that does not verify is described, and freshness is not asked of it.
	if in, err := Describe(f.db, otherPub, baseline.Freshness{MaxAge: time.Hour}); err != nil || in.Verified == nil || *in.Verified ||
		!strings.Contains(in.VerifyError, "does not verify") || !errors.Is(in.VerifyErr, baseline.ErrBadBaseline) {
		t.Errorf("signed by another key: %+v, %v", in, err)
	}
	if _, err := Describe(f.db, pub, baseline.Freshness{MaxAge: time.Hour}); !errors.Is(err, baseline.ErrBadBaseline) {
		t.Errorf("two days old when an hour is demanded: %v", err)
	}

	// A file that is no baseline is refused.
	must(t, os.WriteFile(f.db, []byte("not a baseline"), 0o600))
	if _, err := Describe(f.db, nil, baseline.Freshness{}); !errors.Is(err, baseline.ErrBadBaseline) {
		t.Errorf("garbage: %v", err)
	}
}
