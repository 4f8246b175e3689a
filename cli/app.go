// Package cli defines ganrt's command line: one file per command, each
// action turning its flags into a config and calling a library package.
//
// The command table is prepared once per App (see prepare in usage.go):
// help is ganrt's own (`ganrt help train cyclegan`, -h on any command),
// required flags are checked by ganrt so that a missing one gives a short
// usage message on stderr rather than the whole help, and unknown commands
// and flags suggest the nearest name. Main maps errors to exit statuses
// (1 error, 2 usage, 130 interrupted) and handles Ctrl-C.
package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/internal/version"
)

// Flag categories.
const (
	catModel   = "Model"
	catRuntime = "Runtime"
	catOutput  = "Output"
)

// New returns the ganrt application.
func New() *cli.App {
	app := &cli.App{
		Name:                 "ganrt",
		Usage:                "train, export and run CycleGAN and StarGAN image translation with ONNX Runtime",
		Version:              version.Version,
		EnableBashCompletion: true,
		Commands:             commands(),
	}
	prepare(app)
	return app
}

// commands is the command table, sorted by name in help.
func commands() []*cli.Command {
	return []*cli.Command{
		benchCommand,
		completionCommand,
		convertCommand,
		dataCommand,
		demoCommand,
		doctorCommand,
		evalCommand,
		exportCommand,
		infoCommand,
		serveCommand,
		trainCommand,
		translateCommand,
		versionCommand,
	}
}
