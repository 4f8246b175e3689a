package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ganrt/ganrt/internal/atomicfile"
)

// mainEnv makes the test binary run ganrt's Main on its arguments instead
// of the tests, so that tests can run ganrt as a process (for a shell's
// completion, or under a terminal).
const mainEnv = "GANRT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(Main(os.Args, os.Stdout, os.Stderr, nil))
	}
	os.Exit(m.Run())
}

// ganrtCommand returns a command that runs ganrt (this test binary) with
// args.
func ganrtCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	return cmd
}

// runMain runs Main in-process with args and returns its stdout, stderr
// and exit status.
func runMain(t *testing.T, signals <-chan os.Signal, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr syncBuffer
	code := Main(append([]string{"ganrt"}, args...), &stdout, &stderr, signals)
	return stdout.String(), stderr.String(), code
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"tranlate"}, []string{`unknown command "tranlate" (did you mean translate?)`, "see 'ganrt help'"}},
		{[]string{"tra"}, []string{"did you mean train or translate?"}},
		{[]string{"zebra"}, []string{`unknown command "zebra"`}},
		{[]string{"train", "cyclgan"}, []string{`train: unknown command "cyclgan" (did you mean cyclegan?)`, "usage: ganrt train COMMAND [options]"}},
		{[]string{"translate", "--ouput", "x"}, []string{"translate: unknown flag --ouput (did you mean --output?)",
			"usage: ganrt translate --model MODEL [options] INPUT... -o OUTDIR", "see 'ganrt help translate'"}},
		{[]string{"translate", "--modle", "x"}, []string{"did you mean --model?"}},
		{[]string{"translate", "--bogus"}, []string{"translate: unknown flag --bogus\n"}},
		{[]string{"train", "cyclegan", "--out", "x"}, []string{"train cyclegan: missing --data: dataset folder with trainA and trainB",
			"usage: ganrt train cyclegan --data DATA --out OUT [options]", "see 'ganrt help train cyclegan'"}},
		{[]string{"bench", "--iters", "x", "-m", "m.onnx"}, []string{`bench: invalid value "x" for --iters`}},
		{[]string{"bench", "-m"}, []string{"bench: -m needs a value"}},
		{[]string{"help", "trian"}, []string{`unknown command "trian" (did you mean train?)`}},
		{[]string{"completion", "tcsh"}, []string{`unknown shell "tcsh"`}},
	} {
		stdout, stderr, code := runMain(t, nil, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit status %d; want %d", c.args, code, exitUsage)
		}
		if stdout != "" {
			t.Errorf("%v: wrote %d bytes to stdout; want none", c.args, len(stdout))
		}
		if n := strings.Count(stderr, "\n"); n > 3 {
			t.Errorf("%v: %d lines on stderr; want 3 at most:\n%s", c.args, n, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q; want it to contain %q", c.args, stderr, w)
			}
		}
	}
}

func TestHelp(t *testing.T) {
	leaf, _, code := runMain(t, nil, "help", "train", "cyclegan")
	if code != 0 {
		t.Fatalf("help train cyclegan: exit status %d", code)
	}
	for _, w := range []string{"ganrt train cyclegan - train a CycleGAN", "--netg value", "--lambda-identity value",
		"usage:", "ganrt train cyclegan --data DATA --out OUT [options]"} {
		if !strings.Contains(strings.ToLower(leaf), strings.ToLower(w)) {
			t.Errorf("help train cyclegan lacks %q:\n%s", w, leaf)
		}
	}
	if strings.Contains(leaf, "--g-conv-dim") {
		t.Error("help train cyclegan lists StarGAN's flags")
	}
	for _, args := range [][]string{{"train", "cyclegan", "-h"}, {"train", "cyclegan", "--help"}, {"train", "cyclegan", "--out", "x", "-h"}} {
		out, _, code := runMain(t, nil, args...)
		if code != 0 || out != leaf {
			t.Errorf("%v: exit status %d, output differs from ganrt help train cyclegan:\n%s", args, code, out)
		}
	}
	group, _, _ := runMain(t, nil, "help", "train")
	if !strings.Contains(group, "cyclegan") || !strings.Contains(group, "stargan") {
		t.Errorf("help train does not list its subcommands:\n%s", group)
	}
	app, _, _ := runMain(t, nil)
	for _, c := range New().Commands {
		if !strings.Contains(app, "   "+c.Name+" ") {
			t.Errorf("ganrt with no arguments does not list %s:\n%s", c.Name, app)
		}
	}
}

func TestNearest(t *testing.T) {
	names := []string{"train", "translate", "export", "convert", "info"}
	for _, c := range []struct{ word, want string }{
		{"tranlate", "translate"},
		{"trnaslate", "translate"}, // a swap
		{"exprot", "export"},
		{"inof", "info"},
		{"tra", "train or translate"},
		{"conv", "convert"},
		{"zebra", ""},
		{"x", ""},
	} {
		if got := nearest(c.word, names); got != c.want {
			t.Errorf("nearest(%q) = %q; want %q", c.word, got, c.want)
		}
	}
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "abc", 3}, {"abc", "abc", 0}, {"abc", "acb", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3}} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d; want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, stderr, code := runMain(t, nil, "completion", shell)
		if code != 0 || out == "" {
			t.Errorf("completion %s: exit status %d, %d bytes, stderr %q", shell, code, len(out), stderr)
		}
		if !strings.Contains(out, "ganrt") {
			t.Errorf("completion %s does not name ganrt:\n%s", shell, out)
		}
	}
	fish, _, _ := runMain(t, nil, "completion", "fish")
	for _, w := range []string{"-a 'translate'", "-a 'cyclegan'", "-l output", "-l netg"} {
		if !strings.Contains(fish, w) {
			t.Errorf("fish completion lacks %q", w)
		}
	}

	// The bash script, sourced into bash, completes from ganrt itself.
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to run the bash script in")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script, _, _ := runMain(t, nil, "completion", "bash")
	if err := os.WriteFile(filepath.Join(dir, "ganrt.bash"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		words []string // the command line, the last word being completed
		want  []string
	}{
		{[]string{"ganrt", "tr"}, []string{"train", "translate"}},
		{[]string{"ganrt", "train", ""}, []string{"cyclegan", "stargan"}},
		{[]string{"ganrt", "translate", "--ou"}, []string{"--output"}},
		{[]string{"ganrt", "train", "cyclegan", "--lambda-"}, []string{"--lambda-a", "--lambda-b", "--lambda-identity"}},
	} {
		var words []string
		for _, w := range c.words {
			words = append(words, "'"+w+"'")
		}
		prog := `ganrt() { ` + mainEnv + `=1 '` + self + `' "$@"; }
source ` + filepath.Join(dir, "ganrt.bash") + `
COMP_WORDS=(` + strings.Join(words, " ") + `); COMP_CWORD=` + strconv.Itoa(len(c.words)-1) + `
_ganrt
printf '%s\n' "${COMPREPLY[@]}"`
		out, err := exec.Command(bash, "--norc", "--noprofile", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: bash: %v\n%s", c.words, err, out)
		}
		got := strings.Fields(string(out))
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("completing %v: got %v; want %v", c.words, got, c.want)
		}
	}
}

func TestInterrupt(t *testing.T) {
	signals := make(chan os.Signal, 1)
	signals <- syscall.SIGINT
	// A large data set: the interrupt stops it after the images in flight.
	_, stderr, code := runMain(t, signals, "data", "synth", "--out", filepath.Join(t.TempDir(), "d"), "--n", "100000", "--size", "256")
	if code != exitInterrupted {
		t.Errorf("exit status %d; want %d (stderr %q)", code, exitInterrupted, stderr)
	}
	if !strings.Contains(stderr, "ganrt: interrupted: stopping after the work in flight (Ctrl-C again to abort at once)") {
		t.Errorf("stderr %q does not say what happens", stderr)
	}
}

func TestSecondInterruptAborts(t *testing.T) {
	exited := make(chan int, 1)
	quiesced := false
	exit, quiesce = func(code int) { exited <- code }, func() { quiesced = true }
	defer func() { exit, quiesce = os.Exit, atomicfile.Quiesce }()
	signals := make(chan os.Signal, 2)
	signals <- syscall.SIGINT
	signals <- syscall.SIGINT
	done := make(chan int)
	go func() {
		// Main goes on after the (replaced) exit, and stops at the first
		// interrupt's cancellation.
		_, _, code := runMain(t, signals, "data", "synth", "--out", filepath.Join(t.TempDir(), "d"), "--n", "100000", "--size", "256")
		done <- code
	}()
	select {
	case code := <-exited:
		if code != exitInterrupted || !quiesced {
			t.Errorf("abort with status %d (quiesced %v); want %d after waiting for the writes in flight", code, quiesced, exitInterrupted)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a second interrupt did not abort")
	}
	<-done
}
