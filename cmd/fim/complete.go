package main

import (
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
	"color": func(string) []string { return []string{"auto", "always", "never"} },
}

// completionValues are the values shell completion offers for a flag (cmdline.Values).
func completionValues(flag, cmd string) []string {
	if f := flagValues[flag]; f != nil {
		return f(cmd)
	}
	return nil
}
