// Package version holds ganrt's version string, written into exported
// models and printed by the CLI.
package version

// Version is ganrt's release version.
const Version = "0.1.0-dev"
