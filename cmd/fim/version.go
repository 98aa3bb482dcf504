package main

import (
	"fim/internal/buildinfo"
	"runtime"
)

// Set at link time, as make build does:
//
//	go build -ldflags "-X main.buildVersion=1.2.0 -X main.buildCommit=0123abcd -X main.buildDate=2026-01-31"
//
// Each left empty is read from the build information Go embeds (internal/buildinfo).
var buildVersion, buildCommit, buildDate string

// version is fim's version, commit the revision it was built from.
func version() string { return buildinfo.Version(buildVersion) }

func commit() string { return buildinfo.Commit(buildCommit) }

// versionLine is what fim --version prints after "fim version ".
func versionLine() string {
	return version() + " (commit " + commit() + ", " + runtime.Version() + ")"
}
