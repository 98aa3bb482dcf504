package config

import (
	"fmt"
	"slices"

	"fim/diff"
	"fim/walk"
)

// Explanation is what the policy decides for one recorded path: whether a walk records
// it and, if not, which limit leaves it out; under which rule; and what is reported
// there.
type Explanation struct {
	walk.Selection
	// Rule is the rule of Selection.Root: the deepest rule whose path holds the path;
	// nil outside every rule.
	Rule *Rule
	// PolicyExclude is set when Selection.Pattern is one of the policy's own exclude
	// patterns (which apply below every rule) rather than one of the rule's.
	PolicyExclude bool
	// Events and Ignore are what Filter gives for the path: the kinds of event reported
	// there and the attributes not compared.
	Events diff.KindSet
	Ignore diff.AttrSet
}

// Explain says how the policy treats the recorded path p. w is the walker made from
// c's roots (as a check makes it: with the root prefix and fim's own files to skip); the
// selection is w's own (walk.Walker.Explain), so it cannot drift from what a walk does.
func (c *Compiled) Explain(w *walk.Walker, p string) Explanation {
	e := Explanation{Selection: w.Explain(p)}
	if e.Root != nil {
		e.Rule = c.rules[e.Root.Path]
	}
	if s, ok := e.Pattern.(fmt.Stringer); ok {
		e.PolicyExclude = slices.Contains(c.exclude, s.String())
	}
	e.Events, e.Ignore = c.Filter(p)
	return e
}
