package cli

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves a command's flags ahead of its positional arguments,
// so that `ganrt convert a.pth b.onnx --fp16` works: urfave/cli v2 stops
// reading flags at the first positional argument. Words after "--" stay
// positional. Subcommands are followed down the table. A final
// --generate-bash-completion (shell completion asking) stays last.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	if last := args[len(args)-1]; last == completionFlag {
		return append(interspersed(app, args[:len(args)-1]), last)
	}
	out := []string{args[0]}
	cmds := app.Commands
	var flags []cli.Flag
	rest := args[1:]
	// Walk the leading words that name (sub)commands.
	for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		c := findCommand(cmds, rest[0])
		if c == nil {
			break
		}
		out = append(out, rest[0])
		flags, cmds, rest = c.Flags, c.Subcommands, rest[1:]
	}
	if flags == nil {
		return args
	}
	var front, positional []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			positional = append(positional, rest[i+1:]...)
			i = len(rest)
		case strings.HasPrefix(a, "-") && a != "-":
			front = append(front, a)
			if !strings.Contains(a, "=") && takesValue(flags, strings.TrimLeft(a, "-")) && i+1 < len(rest) {
				i++
				front = append(front, rest[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	out = append(out, front...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

// completionFlag is the flag with which urfave/cli's shell completion
// asks a command for its subcommands or flags.
const completionFlag = "--generate-bash-completion"

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether the named flag reads the next word.
func takesValue(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}
