// Package version holds ganrt's version string, written into exported
// models and printed by the CLI, and what the Go toolchain recorded about
// the build (commit, Go version).
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is ganrt's release version.
const Version = "0.1.0-dev"

// commit and modified are set by `make build` with -ldflags -X, for builds
// that the Go command does not stamp (git worktrees, -buildvcs=false);
// the Go command's own record wins when there is one.
var commit, modified string

// Build describes the running binary.
type Build struct {
	// Version is ganrt's release version (Version).
	Version string `json:"version"`
	// Module is the main module's version as the Go command recorded it:
	// "(devel)" for a build from a checkout, a tag such as "v0.1.0" for
	// `go install ...@v0.1.0`.
	Module string `json:"module_version,omitempty"`
	// Commit is the VCS revision the binary was built from, CommitTime its
	// time (RFC 3339), and Modified whether the work tree had uncommitted
	// changes; empty when the build did not stamp them (`go run`, `go test`,
	// or a build outside a checkout).
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commit_time,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
	// Go is the toolchain's version ("go1.26.8"), Platform GOOS/GOARCH.
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// Read returns the running binary's build description.
func Read() Build {
	b := Build{Version: Version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Commit: commit, Modified: modified == "true"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Module = info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.CommitTime = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String formats the build for people: "0.1.0-dev (commit 0123456789ab,
// modified, 2026-11-28T10:00:00Z)".
func (b Build) String() string {
	s := b.Version
	if b.Commit == "" {
		if b.Module != "" && b.Module != "(devel)" {
			return s + " (module " + b.Module + ")"
		}
		return s + " (commit unknown: built without VCS information)"
	}
	commit := b.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	s += " (commit " + commit
	if b.Modified {
		s += ", modified"
	}
	if b.CommitTime != "" {
		s += ", " + b.CommitTime
	}
	return s + ")"
}
