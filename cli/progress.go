package cli

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// progress reports the steps of a long command (training iterations,
// translated images) on stderr. On a terminal it redraws one line in
// place, cut to the terminal's width; elsewhere (a pipe, a log file, CI) it
// writes a plain line every `every` steps, after the first step and at the
// end. Quiet, it writes nothing but still keeps the figures for the
// command's summary. It implements train.Progress; its methods are safe
// for concurrent use.
//
// Rates count only the steps done by this process (a resumed run starts
// from its checkpoint's iteration) over a window of the recent ones, and
// leave out the first step, which includes compiling the graphs.
type progress struct {
	w     io.Writer
	name  string   // "cyclegan", "translate"
	unit  string   // "it", "img"
	order []string // the losses shown first, in this order
	tty   bool
	width func() int // columns of the terminal
	every int        // steps between log lines when not a terminal
	quiet bool
	now   func() time.Time
	// budget, when positive, is a time limit that replaces the step total:
	// the bar fills and the ETA counts down with it (the demo).
	budget time.Duration
	// startNote, when set, is printed at Start; estimate, when set, is
	// called once after warmup steps with the seconds per step and the
	// remaining steps, and what it returns (if not "") is printed.
	startNote string
	estimate  func(perStep time.Duration, left int) string

	mu       sync.Mutex
	first    int // the step count at Start (a resumed run's iteration)
	total    int
	done     int // the latest step count
	started  time.Time
	times    []time.Time // completion times of this process's recent steps
	losses   map[string]float64
	drawn    time.Time // last redraw on a terminal
	lineOpen bool      // a terminal line is drawn and not ended
	logged   int       // the step count of the last log line
	noted    bool      // estimate called
}

// rateWindow is the number of recent steps over which rates are measured;
// warmup is the number of steps after which estimate is called.
const (
	rateWindow = 100
	warmup     = 3
)

// newProgress returns a progress reporter on w named name, counting unit.
func newProgress(w io.Writer, name, unit string, every int, quiet bool) *progress {
	tty, _ := terminal(w)
	return &progress{w: w, name: name, unit: unit, tty: tty, every: max(every, 1), quiet: quiet, now: time.Now,
		width: func() int { _, cols := terminal(w); return cols }}
}

// Start begins counting from step done (of total; 0: unknown).
func (p *progress) Start(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.first, p.done, p.total = done, done, total
	p.started, p.times, p.losses, p.logged, p.noted = p.now(), nil, map[string]float64{}, done, false
	if p.startNote != "" {
		p.printNote(p.startNote)
	}
	if p.tty {
		p.draw()
	}
}

// Iter records that step iter is done, with its losses (nil for none);
// losses missing from a step keep their last value.
func (p *progress) Iter(iter int, losses map[string]float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.iter(iter, losses)
}

func (p *progress) iter(iter int, losses map[string]float64) {
	now := p.now()
	p.done = iter
	p.times = append(p.times, now)
	if len(p.times) > rateWindow+1 {
		p.times = slices.Delete(p.times, 0, len(p.times)-rateWindow-1)
	}
	for k, v := range losses {
		p.losses[k] = v
	}
	if p.estimate != nil && !p.noted && iter-p.first >= warmup {
		p.noted = true
		if rate := p.rate(); rate > 0 {
			left := max(p.total-iter, 0)
			if msg := p.estimate(time.Duration(float64(time.Second)/rate), left); msg != "" {
				p.printNote(msg)
			}
		}
	}
	switch {
	case p.quiet:
	case p.tty:
		if now.Sub(p.drawn) >= 100*time.Millisecond || iter == p.total {
			p.draw()
		}
	case iter-p.first == 1 || iter%p.every == 0 || iter == p.total:
		p.logged = iter
		fmt.Fprintln(p.w, p.line(0))
	}
}

// SetTotal sets the step total once it is known.
func (p *progress) SetTotal(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = total
}

// Add records n more steps done (translate's images).
func (p *progress) Add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.iter(p.done+n, nil)
}

// Note prints msg on its own line (above the bar on a terminal), unless
// quiet.
func (p *progress) Note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printNote(msg)
}

// Error prints msg on its own line, quiet or not.
func (p *progress) Error(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printLine(msg)
}

func (p *progress) printNote(msg string) {
	if !p.quiet {
		p.printLine(msg)
	}
}

func (p *progress) printLine(msg string) {
	if p.lineOpen {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintln(p.w, msg)
	if p.lineOpen {
		p.draw()
	}
}

// Finish ends the report: the terminal line is completed, and a log line
// is written for the last step if it has none yet.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.quiet:
	case p.tty:
		p.draw()
		fmt.Fprintln(p.w)
		p.lineOpen = false
	case p.done != p.logged:
		p.logged = p.done
		fmt.Fprintln(p.w, p.line(0))
	}
}

// Stats returns the first and latest step counts, the time since Start,
// and the latest losses.
func (p *progress) Stats() (first, last int, elapsed time.Duration, losses map[string]float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := make(map[string]float64, len(p.losses))
	for k, v := range p.losses {
		l[k] = v
	}
	return p.first, p.done, p.now().Sub(p.started), l
}

// rate returns steps per second: over the window of recent completions
// once they span a second or fill it (the first step of the process, which
// compiles the graphs, is then left out); before that over all the steps
// of the process since Start, once a second has passed or all are done.
// It returns 0 when it is too early to tell (a first image that failed at
// once says nothing of the others).
func (p *progress) rate() float64 {
	n := len(p.times)
	if n == 0 {
		return 0
	}
	last := p.times[n-1]
	if span := last.Sub(p.times[0]); span >= time.Second || n > rateWindow {
		return float64(n-1) / span.Seconds()
	}
	since := last.Sub(p.started)
	if since < time.Second && (p.total == 0 || p.done < p.total) {
		return 0
	}
	return float64(p.done-p.first) / math.Max(since.Seconds(), 1e-9)
}

func (p *progress) draw() {
	p.drawn = p.now()
	p.lineOpen = true
	fmt.Fprint(p.w, "\r"+p.line(p.width()-1)+"\x1b[K")
}

// line formats the current state. With width > 0 (a terminal) it has a
// bar and is cut to width columns; otherwise it is a log line.
func (p *progress) line(width int) string {
	elapsed := p.now().Sub(p.started)
	count := fmt.Sprintf("%d", p.done)
	if p.total > 0 && p.budget == 0 { // a time budget's step total is open
		count = fmt.Sprintf("%d/%d", p.done, p.total)
	}
	var stats []string
	rate := p.rate()
	if rate > 0 {
		stats = append(stats, formatRate(rate, p.unit))
	}
	var frac float64
	switch {
	case p.budget > 0:
		frac = min(elapsed.Seconds()/p.budget.Seconds(), 1)
		stats = append(stats, "left "+formatDuration(max(p.budget-elapsed, 0)))
	case p.total > 0:
		frac = float64(p.done) / float64(p.total)
		if p.done >= p.total && width > 0 {
			stats = append(stats, "took "+formatDuration(elapsed))
		} else if p.done < p.total && rate > 0 {
			stats = append(stats, "ETA "+formatDuration(time.Duration(float64(p.total-p.done)/rate*float64(time.Second))))
		}
	}
	losses := p.lossText()
	if width <= 0 {
		parts := append([]string{p.name + ": " + p.unit + " " + count}, stats...)
		if p.total > 0 && p.budget == 0 {
			parts[0] += fmt.Sprintf(" (%.0f%%)", 100*frac)
		}
		parts = append(parts, "elapsed "+formatDuration(elapsed))
		if len(losses) > 0 {
			parts = append(parts, strings.Join(losses, " "))
		}
		return strings.Join(parts, "  ")
	}
	head := p.name + " " + count
	tail := strings.Join(stats, "  ")
	if p.total > 0 || p.budget > 0 {
		// A bar of 10 to 30 columns, leaving room for two losses.
		room := width - len(head) - len(tail) - 6
		for _, l := range losses[:min(2, len(losses))] {
			room -= len(l) + 1
		}
		if n := min(room, 30); n >= 10 {
			fill := int(frac * float64(n))
			bar := "[" + strings.Repeat("=", fill) + strings.Repeat(" ", n-fill) + "]"
			if fill > 0 && fill < n {
				bar = "[" + strings.Repeat("=", fill-1) + ">" + strings.Repeat(" ", n-fill) + "]"
			}
			head += " " + bar
		}
	}
	s := head
	if tail != "" {
		s += "  " + tail
	}
	for i, l := range losses {
		sep := "  "
		if i > 0 {
			sep = " "
		}
		if len(s)+len(sep)+len(l) > width {
			break
		}
		s += sep + l
	}
	if len(s) > width {
		s = s[:max(width, 0)]
	}
	return s
}

// lossText formats the losses, those in order first, then the others by
// name.
func (p *progress) lossText() []string {
	var names []string
	for _, k := range p.order {
		if _, ok := p.losses[k]; ok {
			names = append(names, k)
		}
	}
	var rest []string
	for k := range p.losses {
		if !slices.Contains(p.order, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	var out []string
	for _, k := range append(names, rest...) {
		out = append(out, fmt.Sprintf("%s=%.3f", k, p.losses[k]))
	}
	return out
}

// formatRate writes a rate with three digits: 2.13 it/s, 0.294 it/s,
// 118 img/s.
func formatRate(perSec float64, unit string) string {
	switch {
	case perSec >= 100:
		return fmt.Sprintf("%.0f %s/s", perSec, unit)
	case perSec >= 10:
		return fmt.Sprintf("%.1f %s/s", perSec, unit)
	case perSec >= 1:
		return fmt.Sprintf("%.2f %s/s", perSec, unit)
	default:
		return fmt.Sprintf("%.3f %s/s", perSec, unit)
	}
}

// formatDuration writes a duration in two units at most: 42s, 3m05s,
// 2h13m, 7d21h.
func formatDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	default:
		return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
	}
}
