package main

import (
	"github.com/urfave/cli/v2"

	"fim/baseline"
	"fim/report"
)

// The flags that refuse a stale baseline: one replayed in place of its successor, a
// validly signed older baseline that matches files rolled back with it.

var maxAgeFlag = &cli.StringFlag{Name: "max-age", Usage: "refuse (exit 17) a baseline made longer ago than `AGE` (7d, 36h, 1d12h), or in the future"}

var minGenerationFlag = &cli.Uint64Flag{Name: "min-generation", Usage: "refuse (exit 17) a baseline of a generation below `N` (fim info shows it)"}

var generationFileFlag = &cli.StringFlag{Name: "generation-file", Usage: "with --verify: refuse a baseline of a generation below the one recorded in `FILE`, " +
	"and record there the generation of each baseline verified or written"}

// freshFlags are the flags of a command that verifies one baseline.
var freshFlags = []cli.Flag{maxAgeFlag, minGenerationFlag, generationFileFlag}

// freshness is what --max-age, --min-generation and --generation-file demand.
type freshness struct {
	want baseline.Freshness
	file string // --generation-file: "" for none
	seen uint64 // the highest generation verified or written, to record in file
}

// freshnessFlags reads the freshness flags; verified says whether the command checks
// the baseline's signature, without which a generation proves nothing worth recording.
func freshnessFlags(c *cli.Context, verified bool) (*freshness, error) {
	f := &freshness{file: c.String("generation-file")}
	if s := c.String("max-age"); s != "" {
		age, err := baseline.ParseAge(s)
		if err != nil {
			return nil, usageErr("--max-age: %v", err)
		}
		f.want.MaxAge = age
	}
	f.want.MinGeneration = c.Uint64("min-generation")
	if f.file != "" {
		if !verified {
			return nil, usageErr("--generation-file goes with --verify: only a signed generation is worth recording")
		}
		last, err := baseline.ReadGeneration(f.file)
		if err != nil {
			return nil, usageErr("--generation-file: %v", err)
		}
		f.want.MinGeneration = max(f.want.MinGeneration, last)
	}
	return f, nil
}

var verifyFlag = &cli.StringFlag{Name: "verify", Usage: "refuse a baseline not signed with the private key of public key `FILE`"}

// saw notes a generation verified or written.
func (f *freshness) saw(gen uint64) { f.seen = max(f.seen, gen) }

// record writes the highest generation seen to --generation-file. A command calls it
// once the baseline has proved intact (every record read against the digest), and
// after writing its successor.
func (f *freshness) record() error {
	if f.file == "" || f.seen == 0 {
		return nil
	}
	if err := baseline.RecordGeneration(f.file, f.seen); err != nil {
		return &exitError{exitRuntime, err}
	}
	return nil
}

// baselineInfo is what a report says of the baseline it compares with.
func baselineInfo(m baseline.Meta) report.Baseline {
	return report.Baseline{Created: m.Created, Generation: m.Generation}
}
