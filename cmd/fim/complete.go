package main

import (
	"fim/internal/cmdline"
	"fim/internal/priority"
	"fim/report"
	"fim/watch"
)

// flagValues lists the values a flag takes, for the flags whose values are words
// rather than file names (cmd is the command the flag is given to).
var flagValues = map[string]func(cmd string) []string{
	"format": func(cmd string) []string {
		if cmd == "export" {
			return []string{"mtree"}
		}
		return report.FormatNames()
	},
	"backend": func(string) []string {
		return []string{"auto", watch.SourceFanotify, watch.SourceFsnotify, watch.SourcePeriodic}
	},
	"color":    func(string) []string { return []string{"auto", "always", "never"} },
	"io-class": func(string) []string { return []string{priority.IOIdle.String(), priority.IOBestEffort.String()} },
}

// argValues lists the words the first argument of a command takes, for the commands
// whose argument is a word rather than a file name.
var argValues = map[string][]string{
	"completion": cmdline.Shells,
	"schema":     report.SchemaFormats,
}

// completionValues are the values shell completion offers for a flag, or for a
// command's first argument (cmdline.Values).
func completionValues(flag, cmd string) []string {
	if flag == "" {
		return argValues[cmd]
	}
	if f := flagValues[flag]; f != nil {
		return f(cmd)
	}
	return nil
}
