package mtree

import (
	"errors"
	"strconv"
	"strings"
)

// appendVis appends s encoded the way mtree encodes names and link targets (vis(3) with
// VIS_WHITE, VIS_OCTAL and VIS_CSTYLE, plus the characters mtree gives a meaning to):
// every byte that is not printable ASCII, and space, backslash, '#', '=', '*', '?' and
// '[', becomes a three-digit octal escape \ooo. Any byte string survives the trip
// through unvis. Stock mtree still treats a decoded name holding '*', '?' or '[' as a
// pattern; fim reads it literally.
func appendVis(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c <= ' ' || c >= 0x7f, c == '\\', c == '#', c == '=', c == '*', c == '?', c == '[':
			dst = append(dst, '\\', '0'+c>>6, '0'+c>>3&7, '0'+c&7)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// unvis decodes a vis(3)-encoded token as NetBSD's strunvis does: \ooo (one to three
// octal digits), \xhh, the C escapes \n \t \r \b \a \v \f \s (space) \E (escape) and
// \\, the meta forms \M-c and \M^c, the control form \^c, and \# for '#'.
func unvis(s string) (string, error) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for i < len(s) {
		if s[i] != '\\' {
			b = append(b, s[i])
			i++
			continue
		}
		c, n, err := unescape(s[i:])
		if err != nil {
			return "", err
		}
		b = append(b, c)
		i += n
	}
	return string(b), nil
}

// unvisPath splits a vis-encoded path at its literal slashes (not at a slash that is
// part of an escape, as in \M-/) and decodes each name.
func unvisPath(s string) ([]string, error) {
	var names []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] == '\\' {
			_, n, err := unescape(s[i:])
			if err != nil {
				return nil, err
			}
			i += n - 1
			continue
		}
		if i == len(s) || s[i] == '/' {
			name, err := unvis(s[start:i])
			if err != nil {
				return nil, err
			}
			names = append(names, name)
			start = i + 1
		}
	}
	return names, nil
}

// unescape decodes the escape at the start of s (s[0] is a backslash) into the byte it
// stands for and the length of the escape.
func unescape(s string) (byte, int, error) {
	if len(s) < 2 {
		return 0, 0, errors.New("ends in a lone backslash")
	}
	c := s[1]
	switch c {
	case '0', '1', '2', '3', '4', '5', '6', '7':
		v, i := int(c-'0'), 2
		for ; i < 4 && i < len(s) && s[i] >= '0' && s[i] <= '7'; i++ {
			v = v<<3 | int(s[i]-'0')
		}
		if v > 0xff {
			return 0, 0, errors.New("octal escape \\" + strconv.FormatInt(int64(v), 8) + " is not a byte")
		}
		return byte(v), i, nil
	case 'x':
		v, i := 0, 2
		for ; i < 4 && i < len(s) && hexVal(s[i]) >= 0; i++ {
			v = v<<4 | hexVal(s[i])
		}
		if i == 2 {
			return 0, 0, errors.New("\\x without hex digits")
		}
		return byte(v), i, nil
	case 'M':
		if len(s) < 4 || s[2] != '-' && s[2] != '^' {
			return 0, 0, errors.New("bad meta escape \\M")
		}
		v := s[3]
		if s[2] == '^' {
			v = control(v)
		}
		return v | 0x80, 4, nil
	case '^':
		if len(s) < 3 {
			return 0, 0, errors.New("bad control escape \\^")
		}
		return control(s[2]), 3, nil
	}
	if v, ok := cEscapes[c]; ok {
		return v, 2, nil
	}
	return 0, 0, errors.New("unknown escape " + strconv.Quote(s[:2]))
}

// cEscapes are the single-letter escapes and the bytes they stand for.
var cEscapes = map[byte]byte{'\\': '\\', '#': '#', 'n': '\n', 't': '\t', 'r': '\r', 'b': '\b', 'a': '\a',
	'v': '\v', 'f': '\f', 's': ' ', 'E': 0x1b}

// shown returns a token of a spec for a one-line message: as written, or Go-quoted if
// it holds a control or non-ASCII byte.
func shown(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			return strconv.Quote(s)
		}
	}
	return s
}

// control is the byte that the control form \^c stands for.
func control(c byte) byte {
	if c == '?' {
		return 0x7f
	}
	return c & 0x1f
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
