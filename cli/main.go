package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/ganrt/ganrt/internal/atomicfile"
)

// Exit statuses of Main.
const (
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT, as shells report it
)

// exit ends the process on a second interrupt once quiesce returns; tests
// replace both.
var exit, quiesce = os.Exit, atomicfile.Quiesce

// interruptError ends a command that stopped early because it was
// interrupted; its message says what was kept and how to continue.
type interruptError struct{ msg string }

func (e *interruptError) Error() string { return e.msg }

// Main runs ganrt on args (args[0] is the program name) and returns the
// exit status: 0, 1 for an error, 2 for a command line that a command
// cannot take (printed with its usage line on stderr), 130 when
// interrupted. The first value on signals cancels the command's context:
// training saves and stops, translate finishes the images in flight. A
// second one waits for the atomic file writes in flight, then ends the
// process at once with status 130 (a third ends it without waiting).
func Main(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var interrupted atomic.Bool
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-signals:
		case <-done:
			return
		}
		interrupted.Store(true)
		fmt.Fprintln(stderr, "ganrt: interrupted: stopping after the work in flight (Ctrl-C again to abort at once)")
		cancel()
		select {
		case <-signals:
		case <-done:
			return
		}
		fmt.Fprintln(stderr, "ganrt: aborting once the file writes in flight are complete")
		quiet := make(chan struct{})
		go func() { quiesce(); close(quiet) }()
		select {
		case <-quiet:
		case <-signals:
		}
		exit(exitInterrupted)
	}()

	app := New()
	app.Writer, app.ErrWriter = stdout, stderr
	err := app.RunContext(ctx, interspersed(app, args))
	var ue *usageError
	var ie *interruptError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ganrt: %v\n%s", err, ue.usage())
		return exitUsage
	case errors.As(err, &ie):
		fmt.Fprintln(stderr, "ganrt:", err)
		return exitInterrupted
	case interrupted.Load():
		if !errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "ganrt:", err)
		}
		return exitInterrupted
	default:
		fmt.Fprintln(stderr, "ganrt:", err)
		return exitError
	}
}
