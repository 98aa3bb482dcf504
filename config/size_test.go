package config

import (
	"math"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string // substring of the error; "" means none
	}{
		{"0", 0, ""},
		{"1234", 1234, ""},
		{"512B", 512, ""},
		{"512b", 512, ""},
		{"64K", 64 << 10, ""},
		{"64KiB", 64 << 10, ""},
		{"64kib", 64 << 10, ""},
		{"64KB", 64000, ""},
		{"64kb", 64000, ""},
		{"64MiB", 64 << 20, ""},
		{"64M", 64 << 20, ""},
		{"64MB", 64e6, ""},
		{"1GiB", 1 << 30, ""},
		{"1g", 1 << 30, ""},
		{"1GB", 1e9, ""},
		{"2TiB", 2 << 40, ""},
		{"2T", 2 << 40, ""},
		{"2TB", 2e12, ""},
		{"007", 7, ""},
		{"9223372036854775807", math.MaxInt64, ""},
		{"8388607TiB", 8388607 << 40, ""},
		{"9223372036854775808", 0, "too large"},
		{"8388608TiB", 0, "too large"},
		{"99999999999999999999999K", 0, "too large"},
		{"", 0, `invalid size ""`},
		{"B", 0, `invalid size "B"`},
		{"-1", 0, `invalid size "-1"`},
		{"+1", 0, `invalid size "+1"`},
		{"1.5GiB", 0, `invalid size "1.5GiB"`},
		{"12QB", 0, `invalid size "12QB"`},
		{"64 MiB", 0, "invalid size"},
		{" 64", 0, "invalid size"},
		{"64KiBB", 0, "invalid size"},
		{"64Ki", 0, "invalid size"},
		{"1PiB", 0, "invalid size"},
		{"0x10", 0, "invalid size"},
		{"1kıb", 0, "invalid size"},     // dotless i upper-cases to I
		{"1\u212aB", 0, "invalid size"}, // Kelvin sign folds to k
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("ParseSize(%q): %v", tt.in, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseSize(%q) = %d, %v; want an error containing %q", tt.in, got, err, tt.err)
		case got != tt.want:
			t.Errorf("ParseSize(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want Rate
		err  bool
	}{
		{"0", 0, false},
		{"50MB/s", 50e6, false},
		{"50MB", 50e6, false},
		{"50M", 50 << 20, false},
		{"50m/s", 50 << 20, false},
		{"1GiB/s", 1 << 30, false},
		{"4096/s", 4096, false},
		{"/s", 0, true},
		{"50MB/h", 0, true},
		{"50 MB/s", 0, true},
		{"-1/s", 0, true},
		{"50MB/s/s", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		switch {
		case tt.err && (err == nil || !strings.Contains(err.Error(), `invalid rate "`+tt.in+`"`)):
			t.Errorf("ParseRate(%q) = %d, %v; want an error naming it", tt.in, got, err)
		case !tt.err && (err != nil || got != tt.want):
			t.Errorf("ParseRate(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	var r Rate
	if err := r.Set("64MiB/s"); err != nil || r != 64<<20 || r.String() != "64MiB/s" {
		t.Errorf("Set(64MiB/s): %d %q %v", r, r.String(), err)
	}
}
