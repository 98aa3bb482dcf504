package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"fim/baseline"
	"fim/internal/cmdline"
	"fim/report"
)

func keygenCommand() *cli.Command {
	return &cli.Command{
		Name:         "keygen",
		Usage:        "make an Ed25519 key pair for signing baselines: FILE (private, 0600) and FILE.pub",
		OnUsageError: cmdline.OnUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write the private key to `FILE` and the public key to FILE.pub (required)"},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "out"); err != nil {
				return err
			}
			pub, err := baseline.GenerateKey(c.String("out"))
			if err != nil {
				return &cmdline.UsageError{Err: fmt.Errorf("keygen: %w", err)}
			}
			logf("wrote %s (private) and %s.pub (public), key %s", c.String("out"), c.String("out"), baseline.KeyID(pub))
			return nil
		},
	}
}

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:         "verify",
		Usage:        "check that a baseline is signed with a key and that no record changed since",
		OnUsageError: cmdline.OnUsageError,
		Flags: append([]cli.Flag{
			configFlag, dbFlag,
			&cli.StringFlag{Name: "key", Usage: "the signer's public key `FILE` (required)"},
		}, freshFlags...),
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "key"); err != nil {
				return err
			}
			if c.Args().Len() > 0 {
				return cmdline.Usagef("verify takes no PATH")
			}
			db, d, in, pub, err := describeDB(c, "key")
			if err != nil {
				return err
			}
			if in.VerifyErr != nil {
				return in.VerifyErr
			}
			fmt.Printf("fim: %s: signature good (%s), %d entries intact, generation %d, made %s on %s\n",
				db, baseline.KeyID(pub), in.Entries, in.Generation, in.Created.UTC().Format(time.RFC3339), report.EscapeText(in.Host))
			return d.Record(in.Generation)
		},
	}
}

// requireFlags returns a usage error (exit 16) naming the first of the flags that is
// not set: urfave/cli's own Required check fails with an error fim cannot tell from
// a runtime one.
func requireFlags(c *cli.Context, names ...string) error {
	for _, n := range names {
		if c.String(n) == "" {
			return cmdline.Usagef("%s: --%s is required", c.Command.Name, n)
		}
	}
	return nil
}
