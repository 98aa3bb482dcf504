package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits maps an upper-cased unit to its multiplier: K, M, G, T and KiB, MiB, GiB,
// TiB are powers of 1024; KB, MB, GB, TB are powers of 1000.
var sizeUnits = map[string]int64{
	"": 1, "B": 1,
	"K": 1 << 10, "KIB": 1 << 10, "KB": 1e3,
	"M": 1 << 20, "MIB": 1 << 20, "MB": 1e6,
	"G": 1 << 30, "GIB": 1 << 30, "GB": 1e9,
	"T": 1 << 40, "TIB": 1 << 40, "TB": 1e12,
}

// ParseSize parses a byte count: a non-negative decimal integer with an optional unit,
// case-insensitive, as in "0", "1234", "512B", "64KiB", "64M", "1GB".
func ParseSize(s string) (int64, error) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	digits, unit := s[:i], s[i:]
	mult, ok := sizeUnits[upperASCII(unit)]
	if digits == "" || !ok {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return n * mult, nil
}

// upperASCII upper-cases ASCII letters only, so that no other character can turn
// into a unit ("kıb" is not "KIB").
func upperASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// FormatSize is the inverse of ParseSize for display: a count of bytes in the largest
// binary unit that divides it ("64MiB", "1000", "0").
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// Rate is a read rate in bytes per second, 0 for no limit: the value of
// --max-read-rate and of the max_read_rate key. It is a flag.Value.
type Rate int64

// ParseRate parses a rate in bytes per second: a size (see ParseSize) with an optional
// "/s", as in "50MB/s", "50M", "1GiB/s", "0" (no limit).
func ParseRate(s string) (Rate, error) {
	size := s
	if n := len(s); n >= 2 && s[n-2:] == "/s" {
		size = s[:n-2]
	}
	n, err := ParseSize(size)
	if err != nil {
		return 0, fmt.Errorf("invalid rate %q: %s", s, rateWant)
	}
	return Rate(n), nil
}

// rateWant says what a rate is.
const rateWant = "want bytes per second, e.g. 50MB/s"

// Set parses s (see ParseRate). Its error leaves naming s to the flag package.
func (r *Rate) Set(s string) error {
	v, err := ParseRate(s)
	if err != nil {
		return errors.New(rateWant)
	}
	*r = v
	return nil
}

// String is the rate as ParseRate reads it ("" for none).
func (r *Rate) String() string {
	if r == nil || *r == 0 {
		return ""
	}
	return FormatSize(int64(*r)) + "/s"
}
