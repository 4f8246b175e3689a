package cli

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// fakeClock is a time source that tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) step(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock            { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func testProgress(w io.Writer, tty bool, width int, c *fakeClock) *progress {
	p := newProgress(w, "cyclegan", "it", 10, false)
	p.tty, p.width, p.now = tty, func() int { return width }, c.now
	p.order = []string{"D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"}
	return p
}

var losses8 = map[string]float64{"D_A": 0.213, "G_A": 0.412, "cycle_A": 1.234, "idt_A": 0.617,
	"D_B": 0.198, "G_B": 0.377, "cycle_B": 1.456, "idt_B": 0.702}

// TestProgressResumeRate checks rates and ETAs on a resumed run: they count
// only this process's iterations, leave out the slow first one (graph
// compilation) once there are more, and hold steady at a steady pace.
func TestProgressResumeRate(t *testing.T) {
	var out bytes.Buffer
	c := newFakeClock()
	p := testProgress(&out, false, 0, c)
	p.Start(10000, 20000)
	c.step(8 * time.Second) // compiling, then the first iteration
	p.Iter(10001, losses8)
	first := strings.TrimSpace(out.String())
	if want := "cyclegan: it 10001/20000 (50%)  0.125 it/s  ETA 22h13m  elapsed 8s  D_A=0.213 G_A=0.412"; !strings.HasPrefix(first, want) {
		t.Errorf("first line %q; want it to start %q", first, want)
	}
	var etas []string
	for i := 10002; i <= 10100; i++ {
		c.step(2 * time.Second)
		p.Iter(i, losses8)
		if i%10 == 0 {
			line := lastLine(out.String())
			etas = append(etas, regexp.MustCompile(`ETA \S+`).FindString(line))
			if !strings.Contains(line, "  0.500 it/s  ") {
				t.Errorf("iteration %d: %q; want 0.500 it/s", i, line)
			}
		}
	}
	// 9900 iterations left at 2 s: 5h30m.
	if got := etas[len(etas)-1]; got != "ETA 5h30m" {
		t.Errorf("ETA after 100 iterations %q; want ETA 5h30m", got)
	}
	for _, e := range etas[1:] {
		if e != "ETA 5h30m" && e != "ETA 5h31m" && e != "ETA 5h32m" && e != "ETA 5h33m" {
			t.Errorf("ETAs %v jump; want 5h30m-5h33m", etas)
			break
		}
	}
}

// TestProgressEarlyRate checks that a first step done at once (an input
// that failed before any work) shows no rate or ETA, rather than thousands
// per second.
func TestProgressEarlyRate(t *testing.T) {
	var out bytes.Buffer
	c := newFakeClock()
	p := testProgress(&out, false, 0, c)
	p.unit = "img"
	p.Start(0, 40)
	c.step(100 * time.Microsecond)
	p.Add(1)
	if got := lastLine(out.String()); strings.Contains(got, "/s") || strings.Contains(got, "ETA") {
		t.Errorf("line %q; want no rate or ETA yet", got)
	}
	for range 39 {
		c.step(50 * time.Millisecond)
		p.Add(1)
	}
	p.Finish()
	if got := lastLine(out.String()); !strings.Contains(got, "img 40/40 (100%)  20.0 img/s") {
		t.Errorf("last line %q; want 40/40 at 20.0 img/s (39 intervals in 1.95s)", got)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestProgressLogLines checks when a log line is written away from a
// terminal: after the first iteration of the process, every N, at the end.
func TestProgressLogLines(t *testing.T) {
	var out bytes.Buffer
	c := newFakeClock()
	p := testProgress(&out, false, 0, c)
	p.Start(3, 25)
	for i := 4; i <= 25; i++ {
		c.step(time.Second)
		p.Iter(i, losses8)
	}
	p.Finish()
	var iters []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		iters = append(iters, strings.Fields(l)[2])
	}
	if got := strings.Join(iters, " "); got != "4/25 10/25 20/25 25/25" {
		t.Errorf("log lines at iterations %s; want 4/25 10/25 20/25 25/25", got)
	}
	if strings.ContainsAny(out.String(), "\r\x1b") {
		t.Error("log lines hold terminal control characters")
	}
}

// TestProgressTerminalWidth checks that terminal lines fit the width less
// one column (80 columns must not wrap), keep the counts and rate, and
// drop losses that do not fit.
func TestProgressTerminalWidth(t *testing.T) {
	for _, width := range []int{80, 120, 50, 20} {
		var out bytes.Buffer
		c := newFakeClock()
		p := testProgress(&out, true, width, c)
		p.Start(0, 200000)
		for i := 1; i <= 50; i++ {
			c.step(time.Second)
			p.Iter(i, losses8)
		}
		p.Note("estimate: 1.00s per iteration")
		p.Finish()
		segments := strings.FieldsFunc(out.String(), func(r rune) bool { return r == '\r' || r == '\n' })
		for _, s := range segments {
			s = strings.ReplaceAll(s, "\x1b[K", "")
			if strings.HasPrefix(s, "cyclegan") && len(s) > width-1 { // notes may wrap
				t.Errorf("width %d: a line of %d columns: %q", width, len(s), s)
			}
		}
		last := strings.ReplaceAll(segments[len(segments)-1], "\x1b[K", "")
		if width >= 80 && !strings.HasPrefix(last, "cyclegan 50/200000 [") {
			t.Errorf("width %d: last line %q; want the count and a bar", width, last)
		}
		if width >= 50 && (!strings.Contains(last, "1.00 it/s  ETA 2d07h") || (width >= 80 && !strings.Contains(last, "D_A=0.213 G_A=0.412"))) {
			t.Errorf("width %d: last line %q; want the rate, ETA and the first losses", width, last)
		}
		if width == 120 && !strings.Contains(last, "cycle_A=1.234") {
			t.Errorf("width 120: last line %q; want more losses", last)
		}
		if !strings.Contains(out.String(), "\r\x1b[Kestimate: 1.00s per iteration\n") {
			t.Errorf("width %d: the note is not printed on a cleared line", width)
		}
	}
}

// TestProgressBudget checks the demo's time-budget progress: the bar and
// the time left follow the clock, and the open step total is not shown.
func TestProgressBudget(t *testing.T) {
	var out bytes.Buffer
	c := newFakeClock()
	p := testProgress(&out, true, 80, c)
	p.budget = 4 * time.Minute
	p.Start(0, 1<<30)
	for i := 1; i <= 120; i++ {
		c.step(time.Second)
		p.Iter(i, nil)
	}
	last := lastSegment(out.String())
	if want := "cyclegan 120 [==============>               ]  1.00 it/s  left 2m00s"; last != want {
		t.Errorf("budget line %q; want %q", last, want)
	}
}

func lastSegment(s string) string {
	segs := strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' })
	return strings.ReplaceAll(segs[len(segs)-1], "\x1b[K", "")
}

func TestProgressQuiet(t *testing.T) {
	var out bytes.Buffer
	c := newFakeClock()
	p := testProgress(&out, false, 0, c)
	p.quiet = true
	p.Start(5, 10)
	for i := 6; i <= 10; i++ {
		c.step(time.Second)
		p.Iter(i, losses8)
	}
	p.Note("a note")
	p.Finish()
	if out.Len() != 0 {
		t.Errorf("quiet progress wrote %q", out.String())
	}
	p.Error("an error")
	if out.String() != "an error\n" {
		t.Errorf("quiet progress: errors %q; want them printed", out.String())
	}
	first, last, elapsed, losses := p.Stats()
	if first != 5 || last != 10 || elapsed != 5*time.Second || losses["G_A"] != 0.412 {
		t.Errorf("Stats() = %d, %d, %v, %v; want 5, 10, 5s and the losses", first, last, elapsed, losses)
	}
}

// TestProgressEstimate checks the CPU advice: a note at the start for
// GPU-sized options, and an estimate after the warm-up iterations when the
// run is long.
func TestProgressEstimate(t *testing.T) {
	for _, c := range []struct {
		sized, per string
		total      int
		want       []string
		not        []string
	}{
		{"resnet_9blocks, ngf 64, 256x256 crops", "3s", 200000, []string{
			"note: these options are GPU-sized (resnet_9blocks, ngf 64, 256x256 crops)", "For a CPU run try --netg resnet_6blocks",
			"estimate: 3.00s per iteration on the CPU; the 199997 iterations left take about 6d22h; Ctrl-C stops and saves. Smaller: --netg"}, nil},
		{"", "3s", 200000, []string{"estimate: 3.00s per iteration on the CPU; the 199997 iterations left take about 6d22h\n"}, []string{"note:", "Smaller"}},
		{"resnet_9blocks, ngf 64, 256x256 crops", "3s", 100, []string{"note: these options"}, []string{"estimate:"}},
	} {
		var out bytes.Buffer
		clock := newFakeClock()
		p := testProgress(&out, false, 0, clock)
		adviseCPU(p, c.sized, cycleGANSmaller)
		per, _ := time.ParseDuration(c.per)
		p.Start(0, c.total)
		for i := 1; i <= 5; i++ {
			clock.step(per)
			p.Iter(i, nil)
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%q, %d iterations: output %q lacks %q", c.sized, c.total, out.String(), w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(out.String(), w) {
				t.Errorf("%q, %d iterations: output %q has %q", c.sized, c.total, out.String(), w)
			}
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{0, "0s"}, {42 * time.Second, "42s"}, {185 * time.Second, "3m05s"}, {2*time.Hour + 13*time.Minute, "2h13m"}, {189 * time.Hour, "7d21h"}} {
		if got := formatDuration(c.d); got != c.want {
			t.Errorf("formatDuration(%v) = %q; want %q", c.d, got, c.want)
		}
	}
	for _, c := range []struct {
		r    float64
		want string
	}{{2.134, "2.13 it/s"}, {0.2941, "0.294 it/s"}, {11.96, "12.0 it/s"}, {118.4, "118 it/s"}} {
		if got := formatRate(c.r, "it"); got != c.want {
			t.Errorf("formatRate(%v) = %q; want %q", c.r, got, c.want)
		}
	}
}

// TestProgressPTY runs ganrt under a pseudo-terminal of 80 columns: it
// draws a bar in place, and no line reaches the last column.
func TestProgressPTY(t *testing.T) {
	cmd := ganrtCommand(t, "data", "synth", "--out", filepath.Join(t.TempDir(), "d"), "--n", "100", "--test-n", "0", "--size", "32")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 80, Rows: 24})
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	var out bytes.Buffer
	_, err = io.Copy(&out, f)
	if err != nil && !errors.Is(err, syscall.EIO) { // EIO: the other side closed
		t.Fatal(err)
	}
	f.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	if !strings.Contains(s, "\r") || !strings.Contains(s, "synth 200/200 [") {
		t.Errorf("no bar drawn in place on a terminal:\n%q", s)
	}
	for _, seg := range strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if seg = strings.ReplaceAll(seg, "\x1b[K", ""); strings.HasPrefix(seg, "synth") && len(seg) > 79 {
			t.Errorf("a line of %d columns on an 80-column terminal: %q", len(seg), seg)
		}
	}
}
