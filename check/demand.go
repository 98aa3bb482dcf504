package check

import (
	"crypto/ed25519"

	"fim/baseline"
	"fim/report"
)

// Demand is what a command demands of the baseline it compares with or describes: the
// signature of a public key, a creation time and a generation. A generation file
// raises the generation demanded to the one it records, and keeps the highest
// generation verified or written since (Record), against a validly signed older
// baseline replayed in place of its successor.
type Demand struct {
	KeyFlag        string // the flag that names KeyFile, for messages: verify or key
	KeyFile        string // the public key file; "" for none
	MaxAge         string // baseline.ParseAge; "" for no limit
	MinGeneration  uint64
	GenerationFile string // "" for none; only with KeyFile

	want baseline.Freshness
	key  ed25519.PublicKey
	seen uint64 // the highest generation verified or written
}

// load reads the age, the generation file and the key: what cannot be read is an
// *OptionError naming the flag.
func (d *Demand) load() (err error) {
	if d.MaxAge != "" {
		if d.want.MaxAge, err = baseline.ParseAge(d.MaxAge); err != nil {
			return optionErr("--max-age: %v", err)
		}
	}
	d.want.MinGeneration = d.MinGeneration
	if d.GenerationFile != "" {
		if d.KeyFile == "" {
			return optionErr("--generation-file goes with --verify: only a signed generation is worth recording")
		}
		last, err := baseline.ReadGeneration(d.GenerationFile)
		if err != nil {
			return optionErr("--generation-file: %v", err)
		}
		d.want.MinGeneration = max(d.want.MinGeneration, last)
	}
	if d.KeyFile != "" {
		if d.key, err = baseline.LoadPublicKey(d.KeyFile); err != nil {
			return optionErr("--%s: %v", d.KeyFlag, err)
		}
	}
	return nil
}

// Open opens the baseline db as o says (Open), signed with the key and as fresh as
// demanded.
func (d *Demand) Open(db string, o OpenOptions) (*Baseline, error) {
	if err := d.load(); err != nil {
		return nil, err
	}
	o.Verify, o.Fresh = d.key, d.want
	b, err := Open(db, o)
	if err != nil {
		return nil, err
	}
	d.seen = max(d.seen, b.Meta().Generation)
	return b, nil
}

// Describe describes the baseline db (Describe) as demanded, and returns the key it
// was verified with (nil for none).
func (d *Demand) Describe(db string) (*Info, ed25519.PublicKey, error) {
	if err := d.load(); err != nil {
		return nil, nil, err
	}
	in, err := Describe(db, d.key, d.want)
	return in, d.key, err
}

// Record notes the generation gen, verified or written, and writes the highest noted
// to the generation file. A command calls it once the baseline has proved
// intact (every record read against the digest), and after writing its successor.
func (d *Demand) Record(gen uint64) error {
	d.seen = max(d.seen, gen)
	if d.GenerationFile == "" || d.seen == 0 {
		return nil
	}
	return baseline.RecordGeneration(d.GenerationFile, d.seen)
}

// Reported is what a report says of the baseline it compares with.
func (b *Baseline) Reported() report.Baseline {
	m := b.Meta()
	return report.Baseline{Created: m.Created, Generation: m.Generation}
}
