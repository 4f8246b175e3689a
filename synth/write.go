package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/ganrt/ganrt/internal/atomicfile"
)

// Kind is a kind of data set.
type Kind string

// Data set kinds.
const (
	// KindDayNight is a CycleGAN set: domain A is day, B is night.
	KindDayNight Kind = "daynight"
	// KindWeather is a multi-label StarGAN set in the CelebA layout with
	// attributes Day, Night, Fog, Rain, Snow (see Attrs).
	KindWeather Kind = "weather"
	// KindWeatherSingle is a single-label StarGAN set with one folder per
	// domain: day, dusk, fog, night, rain, snow (see SingleDomains).
	KindWeatherSingle Kind = "weather-single"
)

// Kinds returns every kind.
func Kinds() []Kind { return []Kind{KindDayNight, KindWeather, KindWeatherSingle} }

// Size limits, in pixels.
const (
	MinSize = 16
	MaxSize = 4096
)

// Options says what Write generates.
type Options struct {
	Kind  Kind   // default KindDayNight
	N     int    // training images: per domain (daynight, weather-single) or in all (weather); >= 1
	TestN int    // test scenes: per domain (daynight, weather-single) or in all (weather); >= 0
	Size  int    // image side in pixels, MinSize..MaxSize
	Seed  uint64 // every scene, label and file follows from it
	// Legible makes every domain follow from any other: every window is lit
	// at night (and half of them at dusk), the sky has no stars and no rain
	// or snow falls, so a translation can tell from a day render where the
	// lights will be (see Scene.MakeLegible). The demos' data; the default
	// keeps each scene's own random pattern of lit windows, its stars, rain
	// streaks and snowflakes.
	Legible bool
	// Progress, when not nil, is called after each image is written with
	// the images written so far and in all (one call at a time).
	Progress func(done, total int)
}

func (o *Options) check() error {
	if o.Kind == "" {
		o.Kind = KindDayNight
	}
	var names []string
	for _, k := range Kinds() {
		if k == o.Kind {
			names = nil
			break
		}
		names = append(names, string(k))
	}
	if names != nil {
		return fmt.Errorf("unknown kind %q (want %s)", o.Kind, strings.Join(names, ", "))
	}
	if o.N < 1 {
		return fmt.Errorf("n must be at least 1, got %d", o.N)
	}
	if o.TestN < 0 {
		return fmt.Errorf("test-n must not be negative, got %d", o.TestN)
	}
	if o.Size < MinSize || o.Size > MaxSize {
		return fmt.Errorf("size %d is out of range %d..%d", o.Size, MinSize, MaxSize)
	}
	const most = 100_000_000
	if total := (o.N + o.TestN) * 6; total > most {
		return fmt.Errorf("n %d and test-n %d ask for too many images", o.N, o.TestN)
	}
	return nil
}

// Manifest describes a written data set; Write also stores it as
// DIR/synth.json.
type Manifest struct {
	Kind  Kind   `json:"kind"`
	N     int    `json:"n"`
	TestN int    `json:"test_n"`
	Size  int    `json:"size"`
	Seed  uint64 `json:"seed"`
	// Legible is Options.Legible.
	Legible bool `json:"legible,omitempty"`
	// Domains are the folder names: A then B for daynight, the class order
	// (sorted) for weather-single. Empty for weather.
	Domains []string `json:"domains,omitempty"`
	// Attrs are the attribute names in label order (weather only), and
	// Exclusive the names of the group of which exactly one is set.
	Attrs     []string `json:"attrs,omitempty"`
	Exclusive []string `json:"exclusive,omitempty"`
	// Image counts by role.
	Train int `json:"train_images"`
	Test  int `json:"test_images"`
	Truth int `json:"truth_images"`
}

// Files returns the number of images written.
func (m *Manifest) Files() int { return m.Train + m.Test + m.Truth }

// Write generates the data set described by opt into dir, which must be
// missing or empty. See the package documentation for the layouts.
func Write(dir string, opt Options) (*Manifest, error) {
	return WriteContext(context.Background(), dir, opt)
}

// WriteContext is Write, stopping early with ctx's error when ctx is done
// (the files written so far stay).
func WriteContext(ctx context.Context, dir string, opt Options) (*Manifest, error) {
	if err := opt.check(); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	if err := checkEmpty(dir); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	p := plan(opt)
	m := p.manifest
	for _, d := range p.dirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
	}
	if err := run(ctx, dir, opt.Size, opt.Legible, p.jobs, opt.Progress); err != nil {
		return nil, err
	}
	for _, t := range p.texts {
		if err := atomicfile.WriteBytes(filepath.Join(dir, t.path), t.data); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "synth.json"), append(js, '\n')); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	return m, nil
}

// checkEmpty accepts a missing or empty directory.
func checkEmpty(dir string) error {
	if dir == "" {
		return errors.New("no output directory")
	}
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && err != io.EOF {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if len(names) > 0 {
		return fmt.Errorf("%s is not empty (it holds %s); choose a new directory so no stale files mix in", dir, names[0])
	}
	return nil
}

// A job renders one scene in one or more domains.
type job struct {
	scene uint64
	outs  []output
}

type output struct {
	path   string // relative to the data set directory
	domain Domain
}

type text struct {
	path string
	data []byte
}

type layout struct {
	manifest *Manifest
	dirs     []string
	jobs     []job
	texts    []text
}

// Seed streams: each role draws its scenes and labels from its own stream.
const (
	streamTrainA = iota + 1
	streamTrainB
	streamTestA
	streamTestB
	streamTrain
	streamTest
	streamLabelTrain
	streamLabelTest
)

// seedOf derives the seed of item i of a stream (splitmix64 finalizer over
// the three words), so every scene is independent of how many come before.
func seedOf(seed uint64, stream, i int) uint64 {
	x := seed
	for _, w := range []uint64{uint64(stream), uint64(i)} {
		x += 0x9e3779b97f4a7c15 + w
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
		x = (x ^ (x >> 27)) * 0x94d049bb133111eb
		x ^= x >> 31
	}
	return x
}

// randomLabel draws a multi-label domain: day or night with equal odds,
// fog, rain and snow each with probability 0.3, independently.
func randomLabel(seed uint64) Domain {
	r := rand.New(rand.NewPCG(seed, 0x1abe1))
	d := Domain{Time: Day}
	if r.IntN(2) == 1 {
		d.Time = Night
	}
	d.Fog, d.Rain, d.Snow = r.Float64() < 0.3, r.Float64() < 0.3, r.Float64() < 0.3
	return d
}

func plan(opt Options) *layout {
	m := &Manifest{Kind: opt.Kind, N: opt.N, TestN: opt.TestN, Size: opt.Size, Seed: opt.Seed, Legible: opt.Legible}
	p := &layout{manifest: m}
	switch opt.Kind {
	case KindDayNight:
		a, b := Domain{Time: Day}, Domain{Time: Night}
		m.Domains = []string{"day", "night"}
		p.dirs = []string{"trainA", "trainB", "testA", "testB", "testA_truth", "testB_truth"}
		name := namer(max(opt.N, opt.TestN))
		for i := range opt.N {
			p.jobs = append(p.jobs,
				job{seedOf(opt.Seed, streamTrainA, i), []output{{"trainA/" + name(i), a}}},
				job{seedOf(opt.Seed, streamTrainB, i), []output{{"trainB/" + name(i), b}}})
		}
		for i := range opt.TestN {
			p.jobs = append(p.jobs,
				job{seedOf(opt.Seed, streamTestA, i), []output{{"testA/" + name(i), a}, {"testA_truth/" + name(i), b}}},
				job{seedOf(opt.Seed, streamTestB, i), []output{{"testB/" + name(i), b}, {"testB_truth/" + name(i), a}}})
		}
		m.Train, m.Test, m.Truth = 2*opt.N, 2*opt.TestN, 2*opt.TestN

	case KindWeather:
		m.Attrs = Attrs()
		for _, i := range ExclusiveAttrs() {
			m.Exclusive = append(m.Exclusive, m.Attrs[i])
		}
		p.dirs = []string{"images", "test/images", "test_truth"}
		name := namer(max(opt.N, opt.TestN))
		var list, testList []string
		for i := range opt.N {
			d := randomLabel(seedOf(opt.Seed, streamLabelTrain, i))
			p.jobs = append(p.jobs, job{seedOf(opt.Seed, streamTrain, i), []output{{"images/" + name(i), d}}})
			list = append(list, attrLine(name(i), d))
		}
		for i := range opt.TestN {
			d := randomLabel(seedOf(opt.Seed, streamLabelTest, i))
			scene := strings.TrimSuffix(name(i), ".png")
			p.dirs = append(p.dirs, "test_truth/"+scene)
			j := job{seedOf(opt.Seed, streamTest, i), []output{{"test/images/" + name(i), d}}}
			label, _ := LabelOf(d)
			seen := map[string]bool{}
			for _, t := range GridTargets(label) {
				s := LabelString(t)
				if seen[s] {
					continue
				}
				seen[s] = true
				td, _ := DomainOf(t)
				j.outs = append(j.outs, output{"test_truth/" + scene + "/" + s + ".png", td})
				m.Truth++
			}
			p.jobs = append(p.jobs, j)
			testList = append(testList, attrLine(name(i), d))
		}
		p.texts = []text{
			{"list_attr.txt", attrFile(list)},
			{"test/list_attr.txt", attrFile(testList)},
		}
		m.Train, m.Test = opt.N, opt.TestN

	case KindWeatherSingle:
		doms := SingleDomains()
		for _, d := range doms {
			m.Domains = append(m.Domains, d.Name)
			p.dirs = append(p.dirs, "train/"+d.Name, "test/"+d.Name)
		}
		p.dirs = append(p.dirs, "test_truth")
		name := namer(len(doms) * max(opt.N, opt.TestN))
		for c, d := range doms {
			for i := range opt.N {
				k := c*opt.N + i
				p.jobs = append(p.jobs, job{seedOf(opt.Seed, streamTrain, k), []output{{"train/" + d.Name + "/" + name(k), d.Domain}}})
			}
		}
		for c, d := range doms {
			for i := range opt.TestN {
				k := c*opt.TestN + i
				scene := strings.TrimSuffix(name(k), ".png")
				p.dirs = append(p.dirs, "test_truth/"+scene)
				j := job{seedOf(opt.Seed, streamTest, k), []output{{"test/" + d.Name + "/" + name(k), d.Domain}}}
				for t, td := range doms {
					j.outs = append(j.outs, output{"test_truth/" + scene + "/" + LabelString(OneHot(t, len(doms))) + ".png", td.Domain})
				}
				p.jobs = append(p.jobs, j)
			}
		}
		m.Train, m.Test, m.Truth = len(doms)*opt.N, len(doms)*opt.TestN, len(doms)*len(doms)*opt.TestN
	}
	return p
}

// namer returns file names with at least six digits, enough for indices
// below n.
func namer(n int) func(int) string {
	w := max(6, len(strconv.Itoa(max(n-1, 0))))
	return func(i int) string { return fmt.Sprintf("%0*d.png", w, i) }
}

// attrLine is one list_attr_celeba.txt row: the file name, then 1 or -1 per
// attribute.
func attrLine(file string, d Domain) string {
	label, _ := LabelOf(d)
	var b strings.Builder
	b.WriteString(file)
	for _, v := range label {
		if v {
			b.WriteString("  1")
		} else {
			b.WriteString(" -1")
		}
	}
	return b.String()
}

func attrFile(lines []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%s\n", len(lines), strings.Join(Attrs(), " "))
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// run renders and writes the jobs on GOMAXPROCS workers, calling progress
// (if not nil) after each image. Every file's bytes depend only on its job,
// so the order of work does not matter.
func run(ctx context.Context, dir string, size int, legible bool, jobs []job, progress func(done, total int)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	total := 0
	for _, j := range jobs {
		total += len(j.outs)
	}
	var mu sync.Mutex
	done := 0
	wrote := func() {
		if progress != nil {
			mu.Lock()
			done++
			progress(done, total)
			mu.Unlock()
		}
	}
	work := make(chan *job)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(jobs), 1)) {
		wg.Go(func() {
			var buf bytes.Buffer
			enc := png.Encoder{CompressionLevel: png.DefaultCompression}
			for j := range work {
				s := NewScene(j.scene)
				if legible {
					s.MakeLegible()
				}
				for _, o := range j.outs {
					buf.Reset()
					if err := enc.Encode(&buf, Render(s, o.domain, size)); err != nil {
						cancel(fmt.Errorf("synth: encode %s: %w", o.path, err))
						return
					}
					if err := atomicfile.WriteBytes(filepath.Join(dir, o.path), buf.Bytes()); err != nil {
						cancel(fmt.Errorf("synth: %w", err))
						return
					}
					wrote()
				}
			}
		})
	}
feed:
	for i := range jobs {
		select {
		case work <- &jobs[i]:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	err := context.Cause(ctx)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("synth: stopped: %w", err)
	}
	return err
}
