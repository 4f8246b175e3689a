package cli

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// helpFlag replaces urfave/cli's own, whose output for a subcommand lists
// no flags.
var helpFlag = &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show this help", DisableDefaultText: true}

var helpCommand = &cli.Command{
	Name:      "help",
	Usage:     "show the commands, or one command's description and flags",
	ArgsUsage: "[COMMAND [SUBCOMMAND]]",
	Description: `With no argument, lists the commands; otherwise prints the description
and every flag of the command named (ganrt help train cyclegan). ganrt
COMMAND -h does the same.`,
	Action: func(c *cli.Context) error {
		cmd, err := findPath(c.App, c.Args().Slice())
		if err != nil {
			return err
		}
		return printHelp(c.App, cmd)
	},
}

// usageError is a command line that a command cannot take. Main prints it
// with the command's usage line and a pointer to its help, on stderr, and
// exits with status 2.
type usageError struct {
	path  []string // command names below the app: [train cyclegan]
	line  string   // the synopsis (see usageLine); "" for the app's
	err   error
	extra string // a suggestion, or ""
}

func (e *usageError) Error() string {
	msg := e.err.Error()
	if e.extra != "" {
		msg += " (" + e.extra + ")"
	}
	if len(e.path) > 0 {
		return strings.Join(e.path, " ") + ": " + msg
	}
	return msg
}

func (e *usageError) Unwrap() error { return e.err }

// usage is what Main prints after the error: the usage line and where to
// read more.
func (e *usageError) usage() string {
	line := e.line
	if line == "" {
		line = "ganrt COMMAND [options]"
	}
	return fmt.Sprintf("usage: %s\nsee 'ganrt %s'\n", line, strings.Join(append([]string{"help"}, e.path...), " "))
}

// usageLine is a command's one-line synopsis: the required flags that its
// ArgsUsage does not show, then [options] and its arguments.
func usageLine(path []string, cmd *cli.Command, req []cli.Flag) string {
	words := append([]string{"ganrt"}, path...)
	if len(cmd.Subcommands) > 0 {
		return strings.Join(append(words, "COMMAND [options]"), " ")
	}
	for _, f := range req {
		shown := slices.ContainsFunc(f.Names(), func(n string) bool {
			dash := "--"
			if len(n) == 1 {
				dash = "-"
			}
			return strings.Contains(" "+cmd.ArgsUsage+" ", " "+dash+n+" ")
		})
		if !shown {
			name := f.Names()[0]
			words = append(words, "--"+name+" "+strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
		}
	}
	words = append(words, "[options]")
	if a := strings.TrimSpace(cmd.ArgsUsage); a != "" {
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

// prepare readies the command table of a new App: each command is copied
// (the package-level tables stay as written) with ganrt's help flag, its
// required flags checked by ganrt (urfave/cli prints the whole help on
// stdout when one is missing), usage errors turned into usageError, and a
// group (a command with subcommands) refusing unknown subcommands.
func prepare(app *cli.App) {
	app.HideHelp, app.HideHelpCommand = true, true
	app.Flags = append(app.Flags, helpFlag)
	app.Commands = copyCommands(append(app.Commands, helpCommand), nil)
	app.OnUsageError = func(c *cli.Context, err error, _ bool) error {
		return flagError(nil, "", err, app.Flags)
	}
	app.Action = func(c *cli.Context) error {
		if c.NArg() > 0 {
			return unknownCommand(nil, app.Commands, c.Args().First())
		}
		return printHelp(c.App, nil)
	}
	// Exit statuses are Main's business; urfave/cli would call os.Exit.
	app.ExitErrHandler = func(*cli.Context, error) {}
}

func copyCommands(cmds []*cli.Command, path []string) []*cli.Command {
	out := make([]*cli.Command, len(cmds))
	for i, orig := range cmds {
		c := *orig
		p := append(slices.Clip(path), c.Name)
		if len(path) > 0 {
			c.HelpName = "ganrt " + strings.Join(p, " ")
		}
		c.HideHelp, c.HideHelpCommand = true, true
		c.Flags = make([]cli.Flag, 0, len(orig.Flags)+1)
		var req []cli.Flag
		for _, f := range orig.Flags {
			f, isReq := optional(f)
			if isReq {
				req = append(req, f)
			}
			c.Flags = append(c.Flags, f)
		}
		c.Flags = append(c.Flags, helpFlag)
		c.Subcommands = copyCommands(orig.Subcommands, p)
		cmd, action := &c, orig.Action
		line := usageLine(p, cmd, req)
		if c.UsageText == "" {
			c.UsageText = line
		}
		c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
			return flagError(p, line, err, cmd.Flags)
		}
		c.Action = func(ctx *cli.Context) error {
			if ctx.Bool(helpFlag.Name) {
				return printHelp(ctx.App, cmd)
			}
			if action == nil { // a group
				if ctx.NArg() > 0 {
					return unknownCommand(p, cmd.Subcommands, ctx.Args().First())
				}
				return printHelp(ctx.App, cmd)
			}
			for _, f := range req {
				if !slices.ContainsFunc(f.Names(), ctx.IsSet) && !waived(ctx, f) {
					return &usageError{path: p, line: line, err: fmt.Errorf("missing --%s: %s", f.Names()[0], flagUsage(f))}
				}
			}
			return action(ctx)
		}
		out[i] = cmd
	}
	return out
}

// optional returns a copy of f with Required cleared, and whether f was
// required; flags that are not required come back as they are.
func optional(f cli.Flag) (cli.Flag, bool) {
	v := reflect.ValueOf(f)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return f, false
	}
	r := v.Elem().FieldByName("Required")
	if !r.IsValid() || r.Kind() != reflect.Bool || !r.Bool() {
		return f, false
	}
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	cp.Elem().FieldByName("Required").SetBool(false)
	return cp.Interface().(cli.Flag), true
}

func flagUsage(f cli.Flag) string {
	if u, ok := f.(interface{ GetUsage() string }); ok {
		return u.GetUsage()
	}
	return ""
}

// unknownCommand is the error for a word that names no command of the
// group at path.
func unknownCommand(path []string, cmds []*cli.Command, word string) error {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	e := &usageError{path: path, err: fmt.Errorf("unknown command %q", word)}
	if len(path) > 0 {
		e.line = "ganrt " + strings.Join(path, " ") + " COMMAND [options]"
	}
	if n := nearest(word, names); n != "" {
		e.extra = "did you mean " + n + "?"
	}
	return e
}

// flagError turns an error of Go's flag package into a usageError that
// writes flags as they are typed (--output, not -output) and suggests the
// nearest flag for an unknown one.
func flagError(path []string, line string, err error, flags []cli.Flag) error {
	dashed := func(name string) string {
		if len(name) == 1 {
			return "-" + name
		}
		return "--" + name
	}
	e := &usageError{path: path, line: line, err: err}
	msg := err.Error()
	var name, rest string
	switch {
	case strings.HasPrefix(msg, "flag provided but not defined: -"):
		name = strings.TrimPrefix(msg, "flag provided but not defined: -")
		e.err = fmt.Errorf("unknown flag %s", dashed(name))
		var names []string
		for _, f := range flags {
			for _, n := range f.Names() {
				names = append(names, dashed(n))
			}
		}
		if n := nearest(dashed(name), names); n != "" {
			e.extra = "did you mean " + n + "?"
		}
	case strings.HasPrefix(msg, "flag needs an argument: -"):
		name = strings.TrimPrefix(msg, "flag needs an argument: -")
		e.err = fmt.Errorf("%s needs a value", dashed(name))
	case strings.HasPrefix(msg, "invalid value ") && strings.Contains(msg, " for flag -"):
		before, after, _ := strings.Cut(msg, " for flag -")
		name, rest, _ = strings.Cut(after, ": ")
		e.err = fmt.Errorf("%s for %s: %s", before, dashed(name), rest)
	}
	return e
}

// nearest returns the names most like word joined by " or ", or "" when
// none is close: the names that word begins (3 letters or more), else the
// nearest within an edit distance of a third of the longer word (at least
// 1; a swap of two neighbouring letters counts 1).
func nearest(word string, names []string) string {
	var prefixed []string
	if len(strings.TrimLeft(word, "-")) >= 3 {
		for _, n := range names {
			if strings.HasPrefix(n, word) {
				prefixed = append(prefixed, n)
			}
		}
	}
	if len(prefixed) > 0 {
		return strings.Join(prefixed, " or ")
	}
	best, bestDist := "", 0
	for _, n := range names {
		w, m := strings.TrimLeft(word, "-"), strings.TrimLeft(n, "-")
		d := editDistance(w, m)
		if limit := max(1, max(len(w), len(m))/3); d <= limit && (best == "" || d < bestDist) {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b:
// insertions, deletions, substitutions and swaps of neighbours, each 1.
func editDistance(a, b string) int {
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// findPath follows command names down the table; no names is the app.
func findPath(app *cli.App, names []string) (*cli.Command, error) {
	var cmd *cli.Command
	cmds := app.Commands
	for i, name := range names {
		next := findCommand(cmds, name)
		if next == nil {
			return nil, unknownCommand(names[:i], cmds, name)
		}
		cmd, cmds = next, next.Subcommands
	}
	return cmd, nil
}

// groupHelpTemplate is urfave/cli's subcommand help without command
// categories, which it sets up only for a command that runs.
var groupHelpTemplate = strings.Replace(cli.SubcommandHelpTemplate,
	`{{template "visibleCommandCategoryTemplate" .}}`, `{{template "visibleCommandTemplate" .}}`, 1)

// printHelp writes the help of cmd (nil: the app) to the app's stdout.
func printHelp(app *cli.App, cmd *cli.Command) error {
	switch {
	case cmd == nil:
		cli.HelpPrinter(app.Writer, cli.AppHelpTemplate, app)
	case len(cmd.Subcommands) > 0:
		cli.HelpPrinter(app.Writer, groupHelpTemplate, cmd)
	default:
		cli.HelpPrinter(app.Writer, cli.CommandHelpTemplate, cmd)
	}
	return nil
}
