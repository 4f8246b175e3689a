package exec_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	. "github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/internal/exec"
	"github.com/ganrt/ganrt/internal/ort"
)

// requireORT fails (never skips) the test when the ONNX Runtime library is
// missing: these tests are the project's check that ORT agrees with Eval.
func requireORT(t testing.TB) {
	t.Helper()
	if err := ort.Init(""); err != nil {
		t.Fatalf("ONNX Runtime is required; install it with `make ort`: %v", err)
	}
}

// lowering is one choice of the convolution-gradient lowerings.
type lowering struct {
	ct    ConvTransposeLowering
	fg    FilterGradLowering
	opset int // 0: ONNXOpset
}

func (l lowering) String() string { return fmt.Sprintf("%v/%v", l.ct, l.fg) }

// allLowerings covers every ConvTranspose and every FilterGrad lowering.
var allLowerings = []lowering{
	{ct: ConvTransposeAuto, fg: FilterGradAuto},
	{ct: ConvTransposeNative, fg: FilterGradIm2col},
	{ct: ConvTransposeSubPixel, fg: FilterGradIm2colDy},
	{ct: ConvTransposePhases, fg: FilterGradTaps},
	{ct: ConvTransposeZeroInsert, fg: FilterGradConv},
	{ct: ConvTransposeAuto, fg: FilterGradUnfold},
}

// fill returns a tensor of shape with values drawn uniformly from [lo, hi),
// rounded to integers when integer is set.
func fill(rng *rand.Rand, shape Shape, lo, hi float64, integer bool) *Tensor {
	t := NewTensor(shape)
	for i := range t.Data {
		v := lo + (hi-lo)*rng.Float64()
		if integer {
			v = math.Round(v)
		}
		t.Data[i] = v
	}
	return t
}

// feedsFor makes a random feed for every input of g; dims gives the
// concrete shape of inputs with dynamic dimensions.
func feedsFor(g *Graph, seed uint64, dims map[string]Shape, lo, hi float64, integer bool) map[string]*Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	feeds := map[string]*Tensor{}
	for _, n := range g.Inputs() {
		shape := n.Shape()
		if s, ok := dims[n.Name()]; ok {
			shape = s
		}
		feeds[n.Name()] = fill(rng, shape, lo, hi, integer)
	}
	return feeds
}

// compare checks got (float32 from ORT) against want (float64 from Eval):
// |got-want| <= tol*(|want| + rms(want)) + atol, the rms term absorbing the
// cancellation in long float32 sums and atol the float32 noise around
// values that are zero in exact arithmetic (the gradient of a bias that an
// instance norm follows).
func compare(t *testing.T, name string, got exec.Tensor, want *Tensor, tol, atol float64) {
	t.Helper()
	if len(got.Shape) != len(want.Shape) {
		t.Errorf("%s: shape %v; want %v", name, got.Shape, want.Shape)
		return
	}
	for i, d := range got.Shape {
		if int(d) != want.Shape[i] {
			t.Errorf("%s: shape %v; want %v", name, got.Shape, want.Shape)
			return
		}
	}
	var ss float64
	for _, v := range want.Data {
		ss += v * v
	}
	rms := math.Sqrt(ss / float64(max(len(want.Data), 1)))
	bad, worst, worstAt := 0, 0.0, -1
	for i, w := range want.Data {
		g := float64(got.Data[i])
		err := math.Abs(g - w)
		lim := tol*(math.Abs(w)+rms) + atol
		if !(err <= lim) {
			bad++
			if r := err / (math.Abs(w) + rms); !(r <= worst) {
				worst, worstAt = r, i
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ; worst at %d: got %g, want %g (relative %.3g, tolerance %g)",
			name, bad, len(want.Data), worstAt, got.Data[worstAt], want.Data[worstAt], worst, tol)
	}
}

// agree runs g's outputs on Eval and on ORT (with lowering l) and compares.
func agree(t *testing.T, g *Graph, feeds map[string]*Tensor, l lowering, tol, atol float64) {
	t.Helper()
	outs := g.Outputs()
	nodes := make([]*Node, len(outs))
	for i, o := range outs {
		nodes[i] = o.Node
	}
	want, err := Eval(feeds, nodes...)
	if err != nil {
		t.Fatalf("Eval: %v", err)
	}
	x, err := exec.Compile(g, exec.Options{ConvTranspose: l.ct, FilterGrad: l.fg, Opset: l.opset})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	defer x.Close()
	fs := map[string]exec.Tensor{}
	for name, v := range feeds {
		fs[name] = exec.Tensor{Shape: int64s(v.Shape), Data: v.Float32()}
	}
	got, err := x.Run(fs)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for i, o := range outs {
		compare(t, o.Name, got[o.Name], want[i], tol, atol)
	}
}

func int64s(s Shape) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

// opCase is one graph checked op by op.
type opCase struct {
	name    string
	build   func(g *Graph)
	dims    map[string]Shape // concrete shapes of dynamic inputs
	lo, hi  float64          // input range; default [-2, 2)
	integer bool             // round inputs (for ties: Equal, Sign)
	conv    bool             // run under every convolution lowering
	tol     float64          // default 2e-5
	noGrad  string           // why TestOpGradientsAgreeWithEval skips the case
}

func unary(name string, f func(*Node) *Node, lo, hi float64) opCase {
	return opCase{name: name, lo: lo, hi: hi, build: func(g *Graph) {
		g.Output("y", f(g.Input("x", Shape{2, 3, 5, 7})))
	}}
}

func binary(name string, f func(a, b *Node) *Node, lo, hi float64) opCase {
	return opCase{name: name, lo: lo, hi: hi, build: func(g *Graph) {
		a := g.Input("a", Shape{2, 3, 4, 5})
		b := g.Input("b", Shape{3, 1, 5})
		g.Output("ab", f(a, b))
		g.Output("ba", f(b, a))
	}}
}

// conv builds y = Conv(x, w, b) with x [n,c,h,w] and w [o,c,k,k].
func convCase(name string, n, c, o, h, w, k int, a ConvAttr, bias bool) opCase {
	return opCase{name: name, conv: true, build: func(g *Graph) {
		x := g.Input("x", Shape{n, c, h, w})
		wt := g.Param("w", Shape{o, c, k, k})
		var b *Node
		if bias {
			b = g.Param("b", Shape{o})
		}
		g.Output("y", ConvWith(x, wt, b, a))
	}}
}

// convTransposeCase builds y = ConvTranspose(x, w, b), w [c,o,k,k].
func convTransposeCase(name string, n, c, o, h, w, k int, a ConvAttr, bias bool) opCase {
	return opCase{name: name, conv: true, build: func(g *Graph) {
		x := g.Input("x", Shape{n, c, h, w})
		wt := g.Param("w", Shape{c, o, k, k})
		var b *Node
		if bias {
			b = g.Param("b", Shape{o})
		}
		g.Output("y", ConvTransposeWith(x, wt, b, a))
	}}
}

// filterGradCase builds dw = ConvFilterGrad(x, dy) for Conv(x, w[o,c,k,k]).
func filterGradCase(name string, n, c, o, h, w, k int, a ConvAttr) opCase {
	a.Kernel = [2]int{k, k}
	var ho, wo int
	ho = (h+a.Pads[0]+a.Pads[2]-a.Dilations[0]*(k-1)-1)/a.Strides[0] + 1
	wo = (w+a.Pads[1]+a.Pads[3]-a.Dilations[1]*(k-1)-1)/a.Strides[1] + 1
	return opCase{name: name, conv: true, build: func(g *Graph) {
		x := g.Input("x", Shape{n, c, h, w})
		dy := g.Input("dy", Shape{n, o, ho, wo})
		g.Output("dw", ConvFilterGrad(x, dy, a))
	}}
}

func attr(stride, pad, dilation, outPad int) ConvAttr {
	return ConvAttr{
		Strides:       [2]int{stride, stride},
		Pads:          [4]int{pad, pad, pad, pad},
		Dilations:     [2]int{dilation, dilation},
		OutputPadding: [2]int{outPad, outPad},
	}
}

func opCases() []opCase {
	cases := []opCase{
		binary("Add", Add, -2, 2),
		binary("Sub", Sub, -2, 2),
		binary("Mul", Mul, -2, 2),
		binary("Div", Div, 0.5, 2),
		binary("Pow", Pow, 0.5, 2),
		unary("Neg", Neg, -2, 2),
		unary("Abs", Abs, -2, 2),
		{name: "Sign", integer: true, build: func(g *Graph) { g.Output("y", Sign(g.Input("x", Shape{2, 3, 5, 7}))) }},
		unary("Exp", Exp, -2, 2),
		unary("Log", Log, 0.1, 3),
		unary("Sqrt", Sqrt, 0.1, 3),
		unary("Relu", Relu, -2, 2),
		unary("LeakyRelu", func(x *Node) *Node { return LeakyRelu(x, 0.2) }, -2, 2),
		unary("Tanh", Tanh, -3, 3),
		unary("Sigmoid", Sigmoid, -3, 3),
		unary("StopGradient", StopGradient, -2, 2),
		{name: "Const", build: func(g *Graph) {
			c := g.Const(TensorOf(Shape{3, 1, 2}, []float64{1, -2, 3.5, 4, 0.25, -6}))
			g.Output("sum", Add(g.Input("x", Shape{2, 3, 4, 2}), c))
			g.Output("const", c)
			g.Output("scalar", g.Scalar(1.5))
		}},
		{name: "Compare+Where", integer: true, build: func(g *Graph) {
			a := g.Input("a", Shape{2, 3, 4, 5})
			b := g.Input("b", Shape{3, 1, 5})
			c := g.Input("c", Shape{5})
			g.Output("gt", Where(Greater(a, b), a, c))
			g.Output("lt", Where(Less(a, b), c, b))
			g.Output("eq", Where(Equal(a, b), a, b))
		}},
		{name: "Reduce", build: func(g *Graph) {
			x := g.Input("x", Shape{2, 3, 4, 5})
			g.Output("sum", ReduceSum(x, false, 1, 3))
			g.Output("sumkeep", ReduceSum(x, true, 2, 3))
			g.Output("sumall", ReduceSum(x, false))
			g.Output("mean", ReduceMean(x, false, 0))
			g.Output("meankeep", ReduceMean(x, true, 2, 3))
			g.Output("meanall", ReduceMean(x, true))
			g.Output("max", ReduceMax(x, false, 1))
			g.Output("maxkeep", ReduceMax(x, true, 0, 2))
			g.Output("scalar", ReduceSum(ReduceMean(x, false), false))
		}},
		{name: "Reshape+Transpose", build: func(g *Graph) {
			x := g.Input("x", Shape{2, 3, 4, 5})
			g.Output("r", Reshape(x, 6, -1))
			g.Output("r2", Reshape(x, 2, 3, 2, 2, 5))
			g.Output("t", Transpose(x, 0, 2, 3, 1))
			g.Output("t2", Transpose(Reshape(x, 6, 20), 1, 0))
		}},
		{name: "Slice", build: func(g *Graph) {
			x := g.Input("x", Shape{2, 3, 9, 8})
			g.Output("s1", Slice(x, 2, 1, End, 2))
			g.Output("s2", Slice(x, 3, -3, End, 1))
			g.Output("s3", Slice(x, 2, -1, -End, -2))
			g.Output("s4", SliceAxes(x, SliceAttr{Axes: []int{2, 3}, Starts: []int{0, 1}, Ends: []int{7, 8}, Steps: []int{3, 2}}))
		}},
		{name: "Concat", build: func(g *Graph) {
			a := g.Input("a", Shape{2, 3, 4, 5})
			b := g.Input("b", Shape{2, 1, 4, 5})
			g.Output("c1", Concat(1, a, b, a))
			g.Output("c3", Concat(-1, a, a))
		}},
		{name: "Expand", dims: map[string]Shape{"like": {2, 3, 4, 5}}, build: func(g *Graph) {
			x := g.Input("x", Shape{3, 1, 5})
			like := g.Input("like", Shape{-1, 3, -1, 5})
			g.Output("dyn", Expand(x, like))
			g.Output("static", Expand(x, g.Input("slike", Shape{2, 1, 4, 1})))
		}},
		{name: "Pad", build: func(g *Graph) {
			x := g.Input("x", Shape{1, 3, 6, 7})
			g.Output("const", Pad(x, PadConstant, 0.5, 0, 0, 1, 2, 0, 0, 3, 0))
			g.Output("zero", Pad2D(x, PadConstant, 1))
			g.Output("reflect", Pad2D(x, PadReflect, 3))
			g.Output("edge", Pad(x, PadEdge, 0, 0, 0, 2, 1, 0, 0, 1, 2))
		}},
		{name: "MatMul", build: func(g *Graph) {
			a := g.Input("a", Shape{2, 3, 4, 6})
			b := g.Input("b", Shape{3, 6, 5})
			c := g.Input("c", Shape{6, 2})
			g.Output("ab", MatMul(a, b))
			g.Output("ac", MatMul(a, c))
		}},
		{name: "InstanceNorm", build: func(g *Graph) {
			x := g.Input("x", Shape{2, 4, 6, 5})
			s := g.Param("scale", Shape{4})
			b := g.Param("bias", Shape{4})
			g.Output("plain", InstanceNorm(x, nil, nil, 1e-5))
			g.Output("affine", InstanceNorm(x, s, b, 1e-5))
		}},
		{name: "Dynamic", conv: true, noGrad: "convolution gradients need static shapes", dims: map[string]Shape{"x": {2, 3, 10, 12}}, build: func(g *Graph) {
			x := g.Input("x", Shape{-1, 3, -1, -1}, "N", "", "H", "W")
			w := g.Param("w", Shape{4, 3, 3, 3})
			wt := g.Param("wt", Shape{4, 2, 3, 3})
			h := Conv(Pad2D(x, PadReflect, 1), w, nil, ConvOpts{Stride: 2})
			h = LeakyRelu(InstanceNorm(h, nil, nil, 1e-5), 0.2)
			y := ConvTranspose(h, wt, nil, ConvOpts{Stride: 2, Pad: 1, OutputPadding: 1})
			g.Output("y", Tanh(y))
			g.Output("m", ReduceMean(y, true, 2, 3))
		}},

		// Convolutions at the configurations of the real networks, with
		// fewer channels so that Eval stays quick.
		convCase("Conv/7x7-reflect-stem", 1, 3, 8, 22, 22, 7, attr(1, 0, 1, 0), true),
		convCase("Conv/3x3-s1-p1-resblock", 1, 8, 8, 16, 16, 3, attr(1, 1, 1, 0), false),
		convCase("Conv/3x3-s2-p1-down", 2, 6, 8, 16, 16, 3, attr(2, 1, 1, 0), true),
		convCase("Conv/4x4-s2-p1-patchgan", 2, 3, 8, 16, 16, 4, attr(2, 1, 1, 0), true),
		convCase("Conv/3x3-dilated", 1, 4, 5, 13, 11, 3, attr(1, 2, 2, 0), true),
		convCase("Conv/asymmetric", 1, 4, 5, 13, 11, 3, ConvAttr{Strides: [2]int{2, 1}, Pads: [4]int{0, 1, 2, 0}, Dilations: [2]int{1, 2}}, true),
		convTransposeCase("ConvTranspose/3x3-s2-p1-op1-up", 2, 8, 6, 8, 8, 3, attr(2, 1, 1, 1), true),
		convTransposeCase("ConvTranspose/3x3-s2-p1-op0", 1, 8, 6, 8, 7, 3, attr(2, 1, 1, 0), false),
		convTransposeCase("ConvTranspose/4x4-s2-p1", 2, 8, 3, 8, 8, 4, attr(2, 1, 1, 0), true),
		convTransposeCase("ConvTranspose/3x3-s1-p1", 1, 8, 8, 9, 9, 3, attr(1, 1, 1, 0), false),
		convTransposeCase("ConvTranspose/7x7-s1-p0", 1, 8, 3, 10, 10, 7, attr(1, 0, 1, 0), true),
		convTransposeCase("ConvTranspose/3x3-s3-p0-op2", 1, 4, 5, 5, 6, 3, attr(3, 0, 1, 2), true),
		convTransposeCase("ConvTranspose/2x2-s3", 1, 4, 5, 5, 6, 2, attr(3, 0, 1, 1), true),
		convTransposeCase("ConvTranspose/5x5-s2-p4", 1, 4, 5, 8, 9, 5, attr(2, 4, 1, 1), true),
		convTransposeCase("ConvTranspose/dilated", 1, 4, 5, 7, 6, 3, attr(2, 1, 2, 1), true),
		convTransposeCase("ConvTranspose/asymmetric", 1, 4, 5, 7, 6, 3, ConvAttr{Strides: [2]int{2, 1}, Pads: [4]int{0, 1, 2, 0}, Dilations: [2]int{1, 1}, OutputPadding: [2]int{1, 0}}, true),
		convTransposeCase("ConvTranspose/asymmetric-pads", 1, 4, 5, 7, 6, 4, ConvAttr{Strides: [2]int{2, 2}, Pads: [4]int{0, 1, 2, 3}, Dilations: [2]int{1, 1}, OutputPadding: [2]int{1, 0}}, true),
		filterGradCase("FilterGrad/3x3-s1-p1", 1, 8, 6, 16, 16, 3, attr(1, 1, 1, 0)),
		filterGradCase("FilterGrad/3x3-s2-p1-even", 2, 6, 8, 16, 16, 3, attr(2, 1, 1, 0)),
		filterGradCase("FilterGrad/3x3-s2-p1-odd", 1, 6, 8, 15, 13, 3, attr(2, 1, 1, 0)),
		filterGradCase("FilterGrad/4x4-s2-p1", 2, 3, 8, 16, 16, 4, attr(2, 1, 1, 0)),
		filterGradCase("FilterGrad/7x7-p0", 1, 8, 3, 22, 22, 7, attr(1, 0, 1, 0)),
		filterGradCase("FilterGrad/1x1", 2, 5, 4, 6, 6, 1, attr(1, 0, 1, 0)),
		filterGradCase("FilterGrad/dilated", 1, 4, 5, 13, 11, 3, attr(1, 2, 2, 0)),
		filterGradCase("FilterGrad/s3-remainder", 1, 4, 5, 14, 13, 3, attr(3, 1, 1, 0)),
		{name: "FilterGrad/asymmetric", conv: true, build: func(g *Graph) {
			a := ConvAttr{Strides: [2]int{2, 1}, Pads: [4]int{0, 1, 2, 0}, Dilations: [2]int{1, 2}, Kernel: [2]int{3, 2}}
			x := g.Input("x", Shape{2, 4, 13, 11})
			dy := g.Input("dy", Shape{2, 5, 7, 10})
			g.Output("dw", ConvFilterGrad(x, dy, a))
		}},
	}
	return cases
}

// TestOpsAgreeWithEval runs every op on ORT and on Eval. Convolution ops run
// under every lowering.
func TestOpsAgreeWithEval(t *testing.T) {
	requireORT(t)
	seen := map[Op]bool{}
	for i, c := range opCases() {
		g, err := Build(c.build)
		if err != nil {
			t.Fatalf("%s: build: %v", c.name, err)
		}
		for _, n := range g.Nodes() {
			seen[n.Op()] = true
		}
		lo, hi := c.lo, c.hi
		if lo == hi {
			lo, hi = -2, 2
		}
		tol := c.tol
		if tol == 0 {
			tol = 2e-5
		}
		feeds := feedsFor(g, uint64(i), c.dims, lo, hi, c.integer)
		ls := allLowerings[:1]
		if c.conv {
			ls = allLowerings
		}
		for _, l := range ls {
			t.Run(c.name+"/"+strings.ReplaceAll(l.String(), "/", "+"), func(t *testing.T) {
				agree(t, g, feeds, l, tol, 0)
			})
		}
	}
	for _, op := range Ops() {
		if !seen[op] {
			t.Errorf("no case runs op %v", op)
		}
	}
}

// TestNewerOpsetsAgreeWithEval runs every op case compiled to each newer
// opset ToONNX can write (reductions take their axes as inputs from 18).
func TestNewerOpsetsAgreeWithEval(t *testing.T) {
	requireORT(t)
	for opset := ONNXOpset + 1; opset <= MaxONNXOpset; opset++ {
		for i, c := range opCases() {
			g, err := Build(c.build)
			if err != nil {
				t.Fatalf("%s: build: %v", c.name, err)
			}
			lo, hi := c.lo, c.hi
			if lo == hi {
				lo, hi = -2, 2
			}
			tol := c.tol
			if tol == 0 {
				tol = 2e-5
			}
			feeds := feedsFor(g, uint64(i), c.dims, lo, hi, c.integer)
			t.Run(fmt.Sprintf("opset%d/%s", opset, c.name), func(t *testing.T) {
				agree(t, g, feeds, lowering{opset: opset}, tol, 0)
			})
		}
	}
}

// TestOpGradientsAgreeWithEval differentiates every op case,
// L = sum over outputs o of sum(o*r) with a fixed random r (sum(o*o) for
// outputs of dynamic shape), with respect to all its inputs, and
// runs the gradient graph (which holds the forward outputs too) on ORT and
// on Eval, under every lowering for the convolution cases.
func TestOpGradientsAgreeWithEval(t *testing.T) {
	requireORT(t)
	seen := map[Op]bool{}
	for i, c := range opCases() {
		if c.noGrad != "" {
			t.Logf("%s: no gradient check: %s", c.name, c.noGrad)
			continue
		}
		rng := rand.New(rand.NewPCG(uint64(i), 3))
		g, err := Build(func(g *Graph) {
			c.build(g)
			var loss *Node
			for _, o := range g.Outputs() {
				r := o.Node
				if s := o.Node.Shape(); s.Static() {
					r = g.Const(fill(rng, s, -1, 1, false))
				}
				term := ReduceSum(Mul(o.Node, r), false)
				if loss == nil {
					loss = term
				} else {
					loss = Add(loss, term)
				}
			}
			xs := g.Inputs()
			grads, err := Grad([]*Node{loss}, xs, nil)
			if err != nil {
				panic(err)
			}
			for j, gr := range grads {
				g.Output("grad/"+xs[j].Name(), gr)
			}
		})
		if err != nil {
			t.Fatalf("%s: build: %v", c.name, err)
		}
		for _, n := range g.Nodes() {
			seen[n.Op()] = true
		}
		lo, hi := c.lo, c.hi
		if lo == hi {
			lo, hi = -2, 2
		}
		feeds := feedsFor(g, uint64(i), c.dims, lo, hi, c.integer)
		ls := allLowerings[:1]
		if c.conv {
			ls = allLowerings
		}
		for _, l := range ls {
			t.Run(c.name+"/"+strings.ReplaceAll(l.String(), "/", "+"), func(t *testing.T) {
				agree(t, g, feeds, l, 1e-4, 0)
			})
		}
	}
	for _, op := range Ops() {
		if !seen[op] {
			t.Errorf("no gradient graph contains op %v", op)
		}
	}
}

// generator is a small CycleGAN-like generator with an MSE loss:
// reflect-pad 7x7 conv, instance norm, leaky relu, stride-2 conv,
// affine instance norm, relu, a residual 3x3 block, stride-2 transposed
// conv, 7x7 conv, tanh.
func generator(g *Graph) (loss *Node, params []*Node) {
	x := g.Input("x", Shape{2, 3, 16, 16})
	target := g.Input("target", Shape{2, 3, 16, 16})
	p := func(name string, s ...int) *Node {
		n := g.Param(name, Shape(s))
		params = append(params, n)
		return n
	}
	h := Conv(Pad2D(x, PadReflect, 3), p("c1.w", 6, 3, 7, 7), p("c1.b", 6), ConvOpts{})
	h = LeakyRelu(InstanceNorm(h, nil, nil, 1e-5), 0.2)
	h = Conv(h, p("c2.w", 8, 6, 3, 3), nil, ConvOpts{Stride: 2, Pad: 1})
	h = Relu(InstanceNorm(h, p("n2.s", 8), p("n2.b", 8), 1e-5))
	r := Conv(Pad2D(h, PadReflect, 1), p("r.w", 8, 8, 3, 3), p("r.b", 8), ConvOpts{})
	h = Add(h, InstanceNorm(r, nil, nil, 1e-5))
	h = ConvTranspose(h, p("u.w", 8, 6, 3, 3), p("u.b", 6), ConvOpts{Stride: 2, Pad: 1, OutputPadding: 1})
	h = Relu(InstanceNorm(h, nil, nil, 1e-5))
	y := Tanh(Conv(Pad2D(h, PadReflect, 3), p("c3.w", 3, 6, 7, 7), p("c3.b", 3), ConvOpts{}))
	g.Output("y", y)
	d := Sub(y, target)
	loss = ReduceMean(Mul(d, d), false)
	g.Output("loss", loss)
	return loss, append(params, x)
}

// paramFeeds gives parameters a He-like scale so activations stay O(1).
func paramFeeds(g *Graph, seed uint64) map[string]*Tensor {
	rng := rand.New(rand.NewPCG(seed, 2))
	feeds := map[string]*Tensor{}
	for _, n := range g.Inputs() {
		s := n.Shape()
		scale := 1.0
		if len(s) == 4 && n.Name() != "x" && n.Name() != "target" {
			scale = 1 / math.Sqrt(float64(s[1]*s[2]*s[3]))
		}
		feeds[n.Name()] = fill(rng, s, -2*scale, 2*scale, false)
	}
	return feeds
}

func TestCompositeForwardAndGradient(t *testing.T) {
	requireORT(t)
	g := New()
	var loss *Node
	var xs []*Node
	if err := Catch(func() { loss, xs = generator(g) }); err != nil {
		t.Fatal(err)
	}
	grads, err := Grad([]*Node{loss}, xs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, gr := range grads {
		g.Output("grad/"+xs[i].Name(), gr)
	}
	feeds := paramFeeds(g, 7)
	for _, l := range allLowerings {
		t.Run(l.String(), func(t *testing.T) { agree(t, g, feeds, l, 1e-4, 1e-7) })
	}
}

// TestGradientPenalty is StarGAN's second-order case: a conv+LeakyReLU
// critic, the penalty mean((|dD/dx| - 1)^2), differentiated w.r.t. the
// critic's weights.
func TestGradientPenalty(t *testing.T) {
	requireORT(t)
	g := New()
	var outs []*Node
	var params []*Node
	err := Catch(func() {
		x := g.Input("x", Shape{2, 3, 16, 16})
		p := func(name string, s ...int) *Node {
			n := g.Param(name, Shape(s))
			params = append(params, n)
			return n
		}
		h := LeakyRelu(Conv(x, p("d1.w", 6, 3, 4, 4), p("d1.b", 6), ConvOpts{Stride: 2, Pad: 1}), 0.01)
		h = LeakyRelu(Conv(h, p("d2.w", 8, 6, 4, 4), p("d2.b", 8), ConvOpts{Stride: 2, Pad: 1}), 0.01)
		d := Conv(h, p("d3.w", 1, 8, 3, 3), nil, ConvOpts{Stride: 1, Pad: 1})
		dx, err := Grad([]*Node{ReduceSum(d, false)}, []*Node{x}, nil)
		if err != nil {
			panic(err)
		}
		norm := Sqrt(AddScalar(ReduceSum(Mul(dx[0], dx[0]), false, 1, 2, 3), 1e-12))
		e := AddScalar(norm, -1)
		gp := ReduceMean(Mul(e, e), false)
		g.Output("gp", gp)
		dws, err := Grad([]*Node{gp}, params, nil)
		if err != nil {
			panic(err)
		}
		for i, dw := range dws {
			g.Output("grad/"+params[i].Name(), dw)
		}
		outs = dws
	})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[Op]bool{}
	for _, n := range g.Nodes() {
		ops[n.Op()] = true
	}
	if !ops[OpConvFilterGrad] || !ops[OpConvTranspose] {
		t.Fatalf("second-order graph lacks conv gradient ops: %v", ops)
	}
	feeds := paramFeeds(g, 11)
	for _, l := range allLowerings {
		t.Run(l.String(), func(t *testing.T) { agree(t, g, feeds, l, 1e-4, 1e-7) })
	}
	_ = outs
}

func TestRunAPIs(t *testing.T) {
	requireORT(t)
	g, err := Build(func(g *Graph) {
		x := g.Input("x", Shape{-1, 2}, "N")
		w := g.Param("w", Shape{2, 3})
		b := g.Param("b", Shape{3})
		g.Input("unused", Shape{4})
		g.Output("y", Add(MatMul(x, w), b))
		g.Output("w2", MulScalar(w, 2))
	})
	if err != nil {
		t.Fatal(err)
	}
	x, err := exec.Compile(g, exec.Options{Params: map[string][]float32{"b": {1, 2, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := fmt.Sprint(x.Inputs()); got != "[{x [?,2]} {w [2,3]}]" {
		t.Errorf("Inputs() = %s; want [{x [?,2]} {w [2,3]}]", got)
	}
	if got := fmt.Sprint(x.Outputs()); got != "[{y [?,3]} {w2 [2,3]}]" {
		t.Errorf("Outputs() = %s; want [{y [?,3]} {w2 [2,3]}]", got)
	}
	w := exec.Tensor{Shape: []int64{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}}
	in := exec.Tensor{Shape: []int64{1, 2}, Data: []float32{1, 1}}
	want := []float32{6, 9, 12}

	// Run by name: the pruned input is accepted, a shape may be left out
	// for static inputs, unknown and missing feeds are errors.
	out, err := x.Run(map[string]exec.Tensor{"x": in, "w": {Data: w.Data}, "unused": {}})
	if err != nil {
		t.Fatal(err)
	}
	if got := out["y"].Data; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Run y = %v; want %v", got, want)
	}
	if _, err := x.Run(map[string]exec.Tensor{"x": in}); err == nil || !strings.Contains(err.Error(), `"w"`) {
		t.Errorf("Run without w: err = %v; want one naming w", err)
	}
	if _, err := x.Run(map[string]exec.Tensor{"x": in, "w": w, "zz": in}); err == nil || !strings.Contains(err.Error(), `"zz"`) {
		t.Errorf("Run with zz: err = %v; want one naming zz", err)
	}
	if _, err := x.Run(map[string]exec.Tensor{"x": {Data: in.Data}, "w": w}); err == nil {
		t.Error("Run with a dynamic input and no shape: no error")
	}

	// RunBuffered reuses its buffers while the input shapes stay the same.
	o1, err := x.RunBuffered([]exec.Tensor{in, w})
	if err != nil {
		t.Fatal(err)
	}
	p1 := &o1[0].Data[0]
	in.Data[0] = 2
	o2, err := x.RunBuffered([]exec.Tensor{in, w})
	if err != nil {
		t.Fatal(err)
	}
	if &o2[0].Data[0] != p1 {
		t.Error("RunBuffered did not reuse its output buffer")
	}
	if got := o2[0].Data; fmt.Sprint(got) != "[7 11 15]" {
		t.Errorf("RunBuffered y = %v; want [7 11 15]", got)
	}
	in2 := exec.Tensor{Shape: []int64{2, 2}, Data: []float32{1, 1, 0, 0}}
	o3, err := x.RunBuffered([]exec.Tensor{in2, w})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(o3[0].Shape, o3[0].Data); got != "[2 3] [6 9 12 1 2 3]" {
		t.Errorf("RunBuffered after a shape change = %s", got)
	}

	// RunInto writes into the caller's buffers, ping-pong style.
	a := []exec.Tensor{{Shape: []int64{1, 3}, Data: make([]float32, 3)}, {Shape: []int64{2, 3}, Data: make([]float32, 6)}}
	if err := x.RunInto([]exec.Tensor{in, w}, a); err != nil {
		t.Fatal(err)
	}
	b := []exec.Tensor{{Shape: []int64{1, 3}, Data: make([]float32, 3)}, {Shape: []int64{2, 3}, Data: make([]float32, 6)}}
	if err := x.RunInto([]exec.Tensor{in, a[1]}, b); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(b[1].Data); got != "[4 8 12 16 20 24]" {
		t.Errorf("RunInto w2 of w2 = %s; want [4 8 12 16 20 24]", got)
	}
}

// TestRunBufferedAllocatesNoTensors runs a graph with a 4 MB output and
// checks that repeated runs allocate far less than that.
func TestRunBufferedAllocatesNoTensors(t *testing.T) {
	requireORT(t)
	g, err := Build(func(g *Graph) {
		w := g.Param("w", Shape{1024, 1024})
		g.Output("y", MulScalar(w, 0.5))
	})
	if err != nil {
		t.Fatal(err)
	}
	x, err := exec.Compile(g, exec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	in := []exec.Tensor{{Shape: []int64{1024, 1024}, Data: make([]float32, 1<<20)}}
	in[0].Data[7] = 3
	if _, err := x.RunBuffered(in); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 10
	for range runs {
		out, err := x.RunBuffered(in)
		if err != nil {
			t.Fatal(err)
		}
		if out[0].Data[7] != 1.5 {
			t.Fatalf("y[7] = %v; want 1.5", out[0].Data[7])
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 64<<10 {
		t.Errorf("RunBuffered allocates %d bytes per run; want no tensor-sized allocation", per)
	}
}

func TestCompileErrors(t *testing.T) {
	requireORT(t)
	g, err := Build(func(g *Graph) {
		x := g.Input("x", Shape{2})
		g.Output("b", Greater(x, x))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.Compile(g, exec.Options{}); err == nil || !strings.Contains(err.Error(), "bool") {
		t.Errorf("Compile of a bool output: err = %v; want one about bool", err)
	}
	g, err = Build(func(g *Graph) {
		w := g.Param("w", Shape{2})
		g.Output("y", Neg(w))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.Compile(g, exec.Options{Params: map[string][]float32{"w": {1}}}); err == nil {
		t.Error("Compile with a wrongly sized parameter: no error")
	}
}
