package cli

import (
	"encoding/json"
	"io"
	"os"
	"strconv"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// Output flags shared by the commands. Results go to stdout (as JSON with
// --json); progress, notes and errors go to stderr.
var (
	jsonFlag = &cli.BoolFlag{Name: "json", Category: catOutput,
		Usage: "print the result as JSON on stdout (numbers as numbers, durations in seconds)"}
	quietFlag = &cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Category: catOutput,
		Usage: "no progress and no notes on stderr (errors and the result still print)"}
	printEveryFlag = &cli.IntFlag{Name: "print-every", Category: catOutput, Value: 100,
		Usage: "when stderr is not a terminal, log a progress line every N iterations (the references' print_freq)"}
)

// terminal reports whether w is a terminal, and its width in columns
// (COLUMNS, else 80, when the size is unknown).
func terminal(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
		return true, cols
	}
	if cols, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && cols > 0 {
		return true, cols
	}
	return true, 80
}

// writeJSON writes v to w as indented JSON (with <, > and & as they are).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
