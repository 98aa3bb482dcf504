// Package buildinfo reads what the build of fim says of itself: the version, commit and
// date set at link time, else those Go embeds (the module version; the VCS revision,
// time and modified flag of a build in a git checkout).
package buildinfo

import (
	"runtime/debug"
	"time"
)

// Version returns fim's version: set (the one set at link time), else the module
// version, else "devel".
func Version(set string) string {
	if set != "" {
		return set
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// vcsSetting returns a setting of the embedded build information ("" if absent).
func vcsSetting(key string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == key {
				return s.Value
			}
		}
	}
	return ""
}

// Commit returns the revision fim was built from: set, else the VCS revision (12
// digits, "-modified" for a tree with uncommitted changes), else "unknown".
func Commit(set string) string {
	if set != "" {
		return set
	}
	rev := vcsSetting("vcs.revision")
	if rev == "" {
		return "unknown"
	}
	rev = rev[:min(len(rev), 12)]
	if vcsSetting("vcs.modified") == "true" {
		rev += "-modified"
	}
	return rev
}

// ReleaseDate returns the date of this build's source, YYYY-MM-DD, for the manual
// page: set, else the VCS commit time, else today (UTC).
func ReleaseDate(set string) string {
	if set != "" {
		return set
	}
	if t, err := time.Parse(time.RFC3339, vcsSetting("vcs.time")); err == nil {
		return t.UTC().Format(time.DateOnly)
	}
	return time.Now().UTC().Format(time.DateOnly)
}
