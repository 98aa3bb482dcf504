package main

import (
	"runtime"
	"runtime/debug"
	"time"
)

// Set at link time, as make build does:
//
//	go build -ldflags "-X main.buildVersion=1.2.0 -X main.buildCommit=0123abcd -X main.buildDate=2026-01-31"
//
// Each left empty is read from the build information Go embeds (the module version;
// the VCS revision, time and modified flag of a build in a git checkout).
var buildVersion, buildCommit, buildDate string

// version returns fim's version: buildVersion, else the module version, else "devel".
func version() string {
	if buildVersion != "" {
		return buildVersion
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

// commit returns the revision fim was built from: buildCommit, else the VCS revision
// (12 digits, "-modified" for a tree with uncommitted changes), else "unknown".
func commit() string {
	if buildCommit != "" {
		return buildCommit
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

// releaseDate returns the date of this build's source, YYYY-MM-DD, for the manual
// page: buildDate, else the VCS commit time, else today (UTC).
func releaseDate() string {
	if buildDate != "" {
		return buildDate
	}
	if t, err := time.Parse(time.RFC3339, vcsSetting("vcs.time")); err == nil {
		return t.UTC().Format(time.DateOnly)
	}
	return time.Now().UTC().Format(time.DateOnly)
}

// versionLine is what fim --version prints after "fim version ".
func versionLine() string {
	return version() + " (commit " + commit() + ", " + runtime.Version() + ")"
}
