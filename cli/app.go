// Package cli defines ganrt's command line: one file per command, each
// action turning its flags into a config and calling a library package.
package cli

import (
	"context"

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
	return &cli.App{
		Name:                 "ganrt",
		Usage:                "train, export and run CycleGAN and StarGAN image translation with ONNX Runtime",
		Version:              version.Version,
		EnableBashCompletion: true,
		HideHelpCommand:      false,
		Commands:             commands(),
	}
}

// Run runs the application on command-line arguments (args[0] is the
// program name); flags may follow positional arguments.
func Run(ctx context.Context, args []string) error {
	app := New()
	return app.RunContext(ctx, interspersed(app, args))
}

// commands is the command table, sorted by name in help.
func commands() []*cli.Command {
	return []*cli.Command{
		benchCommand,
		convertCommand,
		dataCommand,
		demoCommand,
		evalCommand,
		exportCommand,
		infoCommand,
		serveCommand,
		trainCommand,
		translateCommand,
	}
}
