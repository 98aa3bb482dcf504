package main

import (
	"slices"
	"strings"
	"testing"
)

// FuzzComplete: completing any command line never panics, and every candidate starts
// with the word being completed (as the shells require), or is a value after a bash
// "=" word.
func FuzzComplete(f *testing.F) {
	for _, s := range []string{"check\x00--", "check\x00--format\x00=\x00j", "--db\x00x\x00check\x00--format=", "help\x00",
		"watch\x00--backend\x00", "completion\x00b", "baseline\x00--\x00-x", "=\x00=", "-\x00=\x00"} {
		f.Add(s)
	}
	app := newApp()
	f.Fuzz(func(t *testing.T, s string) {
		words := strings.Split(s, "\x00")
		if len(words) > 50 {
			return
		}
		cur := words[len(words)-1]
		split := len(words) >= 2 && (words[len(words)-1] == "=" || words[len(words)-2] == "=")
		for _, c := range candidates(app, slices.Clone(words)) {
			if !split && !strings.HasPrefix(c, strings.SplitN(cur, "=", 2)[0]) {
				t.Fatalf("%q: candidate %q does not start with %q", words, c, cur)
			}
		}
	})
}
