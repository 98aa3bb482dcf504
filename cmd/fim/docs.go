package main

import (
	_ "embed"
	"fim/internal/buildinfo"
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
		OnUsageError: cmdline.OnUsageError,
		Action: func(c *cli.Context) error {
			script, err := cmdline.Script(c.Args().First(), "fim")
			if err != nil {
				return cmdline.Usagef("completion: %v", err)
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
		OnUsageError: cmdline.OnUsageError,
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return cmdline.Usagef("schema: want one FORMAT: %s", strings.Join(report.SchemaFormats, " or "))
			}
			schema, err := report.Schema(c.Args().First())
			if err != nil {
				return cmdline.Usagef("schema: %v", err)
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
		OnUsageError: cmdline.OnUsageError,
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
	th := fmt.Sprintf(".TH FIM 1 %s \"fim %s\" \"User Commands\"", buildinfo.ReleaseDate(buildDate), strings.ReplaceAll(version(), `"`, ""))
	return cmdline.ManPage(app, th, "\n"+manSections)
}

// manSections are the manual page's sections after the commands: EXIT STATUS,
// ENVIRONMENT, FILES, EXAMPLES and SEE ALSO, in roff.
//
//go:embed man.roff
var manSections string
