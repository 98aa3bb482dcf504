package check

import (
	"crypto/ed25519"
	"strings"

	"fim/baseline"
	"fim/config"
	"fim/diff"
	"fim/severity"
)

// LoadSigner reads the Ed25519 private key a new baseline is signed with (--sign);
// nil for no file.
func LoadSigner(file string) (ed25519.PrivateKey, error) {
	if file == "" {
		return nil, nil
	}
	priv, err := baseline.LoadPrivateKey(file)
	if err != nil {
		return nil, optionErr("--sign: %v", err)
	}
	return priv, nil
}

// UpdateSigner is LoadSigner for a command whose --sign signs the baseline its --update
// writes: without update, a key file is refused with an *OptionError.
func UpdateSigner(file string, update bool) (ed25519.PrivateKey, error) {
	if file != "" && !update {
		return nil, optionErr("--sign goes with --update (it signs the updated baseline)")
	}
	return LoadSigner(file)
}

// ParseIgnore parses the attribute lists of --ignore, each comma-separated, into the
// attributes not to compare.
func ParseIgnore(lists []string) (diff.AttrSet, error) {
	var ignore diff.AttrSet
	for _, s := range lists {
		set, err := diff.ParseAttrs(strings.Split(s, ","))
		if err != nil {
			return 0, optionErr("--ignore: %v", err)
		}
		ignore |= set
	}
	return ignore, nil
}

// SeverityTable returns the severity table of a configuration that has severity rules,
// which grades a check in place of the baseline's; nil for none.
func SeverityTable(cfg *config.Config) (*severity.Table, error) {
	if cfg == nil || cfg.Severity == nil {
		return nil, nil
	}
	t, err := cfg.SeverityTable()
	if err != nil {
		return nil, &OptionError{err.Error()}
	}
	return t, nil
}
