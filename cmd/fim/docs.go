package main

import (
	"fim/internal/cmdline"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"fim/report"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:         "completion",
		Usage:        "print a shell completion script: bash, zsh or fish",
		ArgsUsage:    "SHELL",
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			script, err := cmdline.Script(c.Args().First(), "fim")
			if err != nil {
				return usageErr("completion: %v", err)
			}
			_, err = fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

func schemaCommand() *cli.Command {
	return &cli.Command{
		Name:      "schema",
		Usage:     "print the JSON Schema (draft 2020-12) of a line of the json or ecs format",
		ArgsUsage: "json|ecs",
		Description: fmt.Sprintf("Every line of --format json and --format ecs names its format version (%d here):\n"+
			"\"fim\":{\"format\":%[1]d} in json, fim.format in ecs. The schema describes that version.", report.FormatVersion),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return usageErr("schema: want one FORMAT: %s", strings.Join(report.SchemaFormats, " or "))
			}
			schema, err := report.Schema(c.Args().First())
			if err != nil {
				return usageErr("schema: %v", err)
			}
			_, err = c.App.Writer.Write(schema)
			return err
		},
	}
}

func manCommand() *cli.Command {
	return &cli.Command{
		Name:         "man",
		Usage:        "print fim's manual page (roff), made from its commands and flags",
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			page, err := manPage(c.App)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(c.App.Writer, page)
			return err
		},
	}
}

// manPage returns fim's manual page, dated and naming the version, with manSections.
func manPage(app *cli.App) (string, error) {
	th := fmt.Sprintf(".TH FIM 1 %s \"fim %s\" \"User Commands\"", releaseDate(), strings.ReplaceAll(version(), `"`, ""))
	return cmdline.ManPage(app, th, manSections)
}

// manSections are the manual page's sections after the commands.
const manSections = `
.SH EXIT STATUS
fim exits as AIDE and Tripwire do, so that existing cron scripts keep working.
.TP
.B 0
no differences
.TP
.B 1, 2, 4
entries created (1), removed (2), changed, chmodded, renamed or moved (4), OR'ed
.TP
.B 16
usage or configuration error
.TP
.B 17
the baseline is missing, empty, corrupt, altered, foreign, of an unknown format
version, or stale
.TP
.B 18
any other runtime error
.SH ENVIRONMENT
.TP
.B FIM_DB
the baseline database, when neither
.B \-\-db
nor the configuration names one
.TP
.B XDG_STATE_HOME
where a user other than root keeps the default baseline:
.I $XDG_STATE_HOME/fim/baseline.db
.TP
.B NO_COLOR
when set, the text report is not coloured on a terminal
(\fB\-\-color=auto\fR)
.TP
.B TERM
.B dumb
turns colour off, as NO_COLOR does
.SH FILES
.TP
.I /etc/fim/fim.yaml
the configuration read when
.B \-\-config
is not given
.TP
.I /var/lib/fim/baseline.db
the baseline of root, unless \\-\\-db, FIM_DB or the configuration names another
.TP
.I $XDG_STATE_HOME/fim/baseline.db
the baseline of other users (default
.IR ~/.local/state/fim/baseline.db )
.SH EXAMPLES
Record /etc and /usr/bin, then report what changed:
.PP
.EX
fim baseline /etc /usr/bin
fim check; echo "exit $?"
.EE
.PP
Sign the baseline, and check only against a baseline signed with the key:
.PP
.EX
fim keygen \-\-out /root/fim.key
fim baseline \-\-sign /root/fim.key /etc
fim check \-\-verify /root/fim.key.pub
.EE
.PP
Watch the configured paths and post each change to a collector:
.PP
.EX
fim watch \-\-format ecs \-\-output https://logs.example.com/ingest \e
    \-\-header \(aqAuthorization: ApiKey KEY\(aq \-\-ca /etc/fim/ca.pem
.EE
.PP
Check an unpacked image against a golden baseline, as a JUnit report:
.PP
.EX
fim check \-\-db golden.db \-\-root rootfs \-\-format junit > fim\-junit.xml
.EE
.SH SEE ALSO
.BR aide (1),
.BR mtree (8),
.BR fanotify (7),
.BR inotify (7),
.BR rsyslogd (8),
.BR b3sum (1)
`
