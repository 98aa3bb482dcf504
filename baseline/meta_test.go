package baseline

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

func validInfo(t testing.TB) []byte {
	info, err := json.Marshal(Meta{Format: FormatVersion, FimVersion: "v1", Host: "h", Entries: 3,
		Digest: "blake3:" + strings.Repeat("ab", 32), KeyBase: "/var/tmp", Policy: json.RawMessage(`{"rules":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestDecodeMeta(t *testing.T) {
	format := []byte(strconv.Itoa(FormatVersion))
	good := validInfo(t)
	if _, err := decodeMeta([]byte(magic), format, good, nil); err != nil {
		t.Fatalf("valid meta: %v", err)
	}
	for _, tc := range []struct {
		name                string
		magic, format, info []byte
		sig                 []byte
		want                string
	}{
		{"no magic", nil, format, good, nil, "not a fim database"},
		{"other magic", []byte("aide"), format, good, nil, "not a fim database"},
		{"format not a number", []byte(magic), []byte("x"), good, nil, "format"},
		{"future format", []byte(magic), []byte("99"), good, nil, "format version 99"},
		{"info not JSON", []byte(magic), format, []byte("{"), nil, "corrupt meta"},
		{"info missing", []byte(magic), format, nil, nil, "corrupt meta"},
		{"format inside differs", []byte(magic), format, []byte(`{"format":2,"digest":"blake3:` + strings.Repeat("0", 64) + `"}`), nil, "inside"},
		{"bad digest", []byte(magic), format, []byte(`{"format":1,"digest":"md5:00"}`), nil, "digest"},
		{"relative key base", []byte(magic), format, []byte(`{"format":1,"digest":"blake3:` + strings.Repeat("0", 64) + `","key_base":"var"}`), nil, "key base"},
		{"unclean key base", []byte(magic), format, []byte(`{"format":1,"digest":"blake3:` + strings.Repeat("0", 64) + `","key_base":"/a/../b"}`), nil, "key base"},
		{"short signature", []byte(magic), format, good, []byte("sig"), "signature"},
		{"no entries", []byte(magic), format, []byte(`{"format":1,"digest":"blake3:` + strings.Repeat("0", 64) + `","entries":0}`), nil, "no entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeMeta(tc.magic, tc.format, tc.info, tc.sig)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line containing %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeMeta: no input makes the meta decoder panic, and what it accepts is valid.
func FuzzDecodeMeta(f *testing.F) {
	f.Add([]byte(magic), []byte("1"), validInfo(f), []byte(nil))
	f.Add([]byte(magic), []byte("1"), []byte(`{"format":1}`), make([]byte, 64))
	f.Add([]byte("x"), []byte("-1"), []byte(`null`), []byte{})
	f.Fuzz(func(t *testing.T, magicVal, format, info, sig []byte) {
		m, err := decodeMeta(magicVal, format, info, sig)
		if err != nil {
			return
		}
		if m.Format != FormatVersion || !strings.HasPrefix(m.Digest, "blake3:") || m.Entries == 0 {
			t.Fatalf("accepted an invalid meta: %+v", m)
		}
	})
}
