package convgrad

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/internal/exec"
	"github.com/ganrt/ganrt/internal/ort"
)

// layer is one convolution of a 256x256 CycleGAN generator (ngf 64, batch
// 1): Conv(x [1,c,h,w], w [o,c,k,k]) with attributes a. Each decoder
// ConvTranspose is the mirror of an encoder Conv: its forward is that
// Conv's input gradient, its input gradient that Conv's forward, and its
// filter gradient that Conv's filter gradient, so the encoder rows cover it.
type layer struct {
	name       string
	c, o, h, k int
	stride     int
	pad        int
	noInput    bool // the layer reads the image: no input gradient needed
}

var layers = []layer{
	{name: "res-256ch-64px-3x3", c: 256, o: 256, h: 66, k: 3, stride: 1, pad: 0}, // after reflect pad 1
	{name: "down-128to256-128px-3x3s2", c: 128, o: 256, h: 128, k: 3, stride: 2, pad: 1},
	{name: "down-64to128-256px-3x3s2", c: 64, o: 128, h: 256, k: 3, stride: 2, pad: 1},
	{name: "out-64to3-256px-7x7", c: 64, o: 3, h: 262, k: 7, stride: 1, pad: 0}, // after reflect pad 3
	{name: "stem-3to64-256px-7x7", c: 3, o: 64, h: 262, k: 7, stride: 1, pad: 0, noInput: true},
}

func (l layer) attr() graph.ConvAttr {
	p := l.pad
	return graph.ConvAttr{
		Strides:   [2]int{l.stride, l.stride},
		Pads:      [4]int{p, p, p, p},
		Dilations: [2]int{1, 1},
		Kernel:    [2]int{l.k, l.k},
	}
}

// out is the forward output size.
func (l layer) out() int { return (l.h+2*l.pad-l.k)/l.stride + 1 }

// op is one benchmarked graph: one IR op whose operands are model inputs,
// as in a training step where weights change every run, except for the
// frozen kinds, whose weight w is an initializer, as in an exported
// generator (ORT then folds weight transforms and may reorder the weights
// for its NCHWc kernels once, at load time).
type op struct {
	kind  string // fwd, dx, dw; fwd-frozen, up-frozen
	name  string // the lowering
	build func(g *graph.Graph, weight func(string, graph.Shape) *graph.Node)
	opts  exec.Options
}

func (o op) frozen() bool { return strings.HasSuffix(o.kind, "-frozen") }

func (l layer) ops() []op {
	x := graph.Shape{1, l.c, l.h, l.h}
	w := graph.Shape{l.o, l.c, l.k, l.k}
	dy := graph.Shape{1, l.o, l.out(), l.out()}
	a := l.attr()
	fwd := func(g *graph.Graph, weight func(string, graph.Shape) *graph.Node) {
		g.Output("y", graph.ConvWith(g.Input("x", x), weight("w", w), nil, a))
	}
	dx := func(g *graph.Graph, weight func(string, graph.Shape) *graph.Node) {
		t := a
		t.Kernel = [2]int{}
		// Output padding restores rows the stride dropped.
		t.OutputPadding[0] = l.h + 2*l.pad - l.k - (l.out()-1)*l.stride
		t.OutputPadding[1] = t.OutputPadding[0]
		g.Output("y", graph.ConvTransposeWith(g.Input("dy", dy), weight("w", w), nil, t))
	}
	dw := func(g *graph.Graph, _ func(string, graph.Shape) *graph.Node) {
		g.Output("y", graph.ConvFilterGrad(g.Input("x", x), g.Input("dy", dy), a))
	}
	cts := []graph.ConvTransposeLowering{graph.ConvTransposeNative, graph.ConvTransposeSubPixel, graph.ConvTransposeZeroInsert}
	if l.stride > 1 { // for stride 1, phases is subpixel
		cts = append(cts, graph.ConvTransposePhases)
	}
	fgs := []graph.FilterGradLowering{graph.FilterGradConv, graph.FilterGradTaps, graph.FilterGradIm2col}
	if l.stride == 1 { // for other strides, im2col-dy is im2col
		fgs = append(fgs, graph.FilterGradIm2colDy)
	}
	ops := []op{{kind: "fwd", name: "Conv", build: fwd}}
	if !l.noInput {
		for _, ct := range cts {
			ops = append(ops, op{kind: "dx", name: ct.String(), build: dx, opts: exec.Options{ConvTranspose: ct}})
		}
	}
	for _, fg := range fgs {
		ops = append(ops, op{kind: "dw", name: fg.String(), build: dw, opts: exec.Options{FilterGrad: fg}})
	}
	if l.stride > 1 { // the mirrored decoder layer of an exported generator
		ops = append(ops, op{kind: "fwd-frozen", name: "Conv", build: fwd})
		for _, ct := range cts {
			ops = append(ops, op{kind: "up-frozen", name: ct.String(), build: dx, opts: exec.Options{ConvTranspose: ct}})
		}
	}
	return ops
}

var logOnce sync.Once

func initORT(tb testing.TB) {
	if err := ort.Init(""); err != nil {
		tb.Fatalf("ONNX Runtime is required; install it with `make ort`: %v", err)
	}
	logOnce.Do(func() {
		tb.Logf("ONNX Runtime %s (%s), GOMAXPROCS %d, NumCPU %d", ort.Version(), ort.LibraryPath(), runtime.GOMAXPROCS(0), runtime.NumCPU())
	})
}

// BenchmarkConvGrad times every lowering of every layer; names are
// layer/kind/lowering with kind fwd (the forward Conv), dx (input gradient,
// IR ConvTranspose), dw (filter gradient, IR ConvFilterGrad), fwd-frozen
// and up-frozen (the same Conv, and the mirrored decoder ConvTranspose,
// with the weight an initializer). ORT runs on the CPU with 2 intra-op
// threads. Before timing, each lowering's result is compared with the
// first lowering of its kind (ONNX ConvTranspose for dx, the swapped-axes
// Conv for dw): Eval checks them all at smaller sizes in internal/exec,
// this checks them at the real sizes.
//
// On a shared machine, TestConvGradTable gives steadier ratios.
func BenchmarkConvGrad(b *testing.B) {
	initORT(b)
	for _, l := range layers {
		ref := map[string][]float32{}
		for _, o := range l.ops() {
			b.Run(fmt.Sprintf("%s/%s/%s", l.name, o.kind, o.name), func(b *testing.B) {
				r := newRunner(b, o, ref)
				defer r.x.Close()
				b.ResetTimer()
				for b.Loop() {
					r.run(b)
				}
			})
		}
	}
}

var tableFile = flag.String("convgrad.table", "", "write the lowering table of benchmarks/README.md to this file (TestConvGradTable)")
var tableRounds = flag.Int("convgrad.rounds", 30, "timed runs of each lowering in TestConvGradTable")

// TestConvGradTable writes the table of benchmarks/README.md. It compiles
// every lowering of every layer, then times rounds in which each one runs
// once, layer after layer, in a fresh random order per layer and round, so
// that load from other processes and other virtual machines falls on all
// of them alike. It reports the fastest and the median run, and the
// fastest relative to the fastest forward Conv of the layer (fwd-frozen for
// the frozen kinds). It runs only when -convgrad.table names the output
// file.
func TestConvGradTable(t *testing.T) {
	if *tableFile == "" {
		t.Skip("run with -convgrad.table FILE to write the lowering table")
	}
	initORT(t)
	type row struct {
		l     layer
		o     op
		r     *runner
		times []time.Duration
	}
	var rows [][]*row // per layer
	for _, l := range layers {
		ref := map[string][]float32{}
		var rs []*row
		for _, o := range l.ops() {
			rs = append(rs, &row{l: l, o: o, r: newRunner(t, o, ref)})
		}
		rows = append(rows, rs)
	}
	defer func() {
		for _, rs := range rows {
			for _, r := range rs {
				r.r.x.Close()
			}
		}
	}()
	rng := rand.New(rand.NewPCG(3, 4))
	for range *tableRounds {
		for _, rs := range rows {
			for _, i := range rng.Perm(len(rs)) {
				start := time.Now()
				rs[i].r.run(t)
				rs[i].times = append(rs[i].times, time.Since(start))
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| layer | kind | lowering | fastest ms | median ms | fastest / forward |\n|---|---|---|---:|---:|---:|\n")
	for _, rs := range rows {
		base := map[string]time.Duration{}
		for _, r := range rs {
			slices.Sort(r.times)
			if r.o.kind == "fwd" || r.o.kind == "fwd-frozen" {
				base[r.o.kind] = r.times[0]
			}
		}
		for _, r := range rs {
			fwd := base["fwd"]
			if r.o.frozen() {
				fwd = base["fwd-frozen"]
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.1f | %.2f |\n", r.l.name, r.o.kind, r.o.name,
				ms(r.times[0]), ms(r.times[len(r.times)/2]), float64(r.times[0])/float64(fwd))
		}
	}
	t.Log("\n" + b.String())
	if err := os.WriteFile(*tableFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// runner is one compiled op with its input and output buffers.
type runner struct {
	x               *exec.Exec
	inputs, outputs []exec.Tensor
}

// newRunner compiles o, feeds it random inputs, warms it up and checks its
// result against ref[o.kind] (setting it for the first lowering of a kind).
// The caller closes r.x.
func newRunner(tb testing.TB, o op, ref map[string][]float32) *runner {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.Float64()*2 - 1)
		}
		return v
	}
	opts := o.opts
	opts.Session = ort.SessionOptions{IntraOpThreads: 2, InterOpThreads: 1}
	g, err := graph.Build(func(g *graph.Graph) {
		o.build(g, func(name string, s graph.Shape) *graph.Node {
			if o.frozen() {
				opts.Params = map[string][]float32{name: random(s.Size())}
				return g.Param(name, s)
			}
			return g.Input(name, s)
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	x, err := exec.Compile(g, opts)
	if err != nil {
		tb.Fatal(err)
	}
	r := &runner{x: x}
	for _, v := range x.Inputs() {
		r.inputs = append(r.inputs, exec.Tensor{Shape: int64s(v.Shape), Data: random(v.Shape.Size())})
	}
	out := x.Outputs()[0].Shape
	r.outputs = []exec.Tensor{{Shape: int64s(out), Data: make([]float32, out.Size())}}
	for range 2 { // warm up: ORT allocates and plans on the first runs
		r.run(tb)
	}
	if want, ok := ref[o.kind]; !ok {
		ref[o.kind] = append([]float32(nil), r.outputs[0].Data...)
	} else if err := close(r.outputs[0].Data, want); err != nil {
		x.Close()
		tb.Fatalf("%s %s disagrees with the first %s lowering: %v", o.kind, o.name, o.kind, err)
	}
	return r
}

func (r *runner) run(tb testing.TB) {
	if err := r.x.RunInto(r.inputs, r.outputs); err != nil {
		tb.Fatal(err)
	}
}

// close checks |got-want| <= 1e-4*(|want| + rms(want)) everywhere.
func close(got, want []float32) error {
	var ss float64
	for _, v := range want {
		ss += float64(v) * float64(v)
	}
	rms := math.Sqrt(ss / float64(len(want)))
	for i, w := range want {
		if d := math.Abs(float64(got[i] - w)); d > 1e-4*(math.Abs(float64(w))+rms) {
			return fmt.Errorf("element %d: %g, want %g", i, got[i], w)
		}
	}
	return nil
}

func int64s(s graph.Shape) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}
