package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestEvalInputKernelIsSentinel(t *testing.T) {
	g := New()
	x := g.Input("x", Shape{2})
	err := Catch(func() { evalKernels[OpInput](x, nil) })
	if err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("got %v; want an *Error naming input \"x\"", err)
	}
}

// randUniform fills a tensor of shape with values in [-1, 1).
func randUniform(r *rand.Rand, shape Shape) *Tensor {
	t := NewTensor(shape)
	for i := range t.Data {
		t.Data[i] = 2*r.Float64() - 1
	}
	return t
}

func innerProduct(a, b *Tensor) float64 {
	s := 0.0
	for i := range a.Data {
		s += a.Data[i] * b.Data[i]
	}
	return s
}

func evalOrFatal(t *testing.T, feeds map[string]*Tensor, nodes ...*Node) []*Tensor {
	t.Helper()
	got, err := Eval(feeds, nodes...)
	if err != nil {
		t.Fatalf("eval: %v", err)
	}
	return got
}

// TestConvAdjoint checks on random data that ConvTranspose is the adjoint
// of Conv in x, <Conv(x,w), y> == <x, ConvTranspose(y,w)>, and that
// ConvFilterGrad is its adjoint in w, <Conv(x,w), dy> == <w,
// ConvFilterGrad(x,dy)>.
func TestConvAdjoint(t *testing.T) {
	cases := []struct {
		strides, dilations, kernel [2]int
		pads                       [4]int
	}{
		{[2]int{1, 1}, [2]int{1, 1}, [2]int{3, 3}, [4]int{0, 0, 0, 0}},
		{[2]int{1, 1}, [2]int{1, 1}, [2]int{3, 3}, [4]int{1, 1, 1, 1}},
		{[2]int{2, 2}, [2]int{1, 1}, [2]int{3, 3}, [4]int{1, 1, 1, 1}},
		{[2]int{2, 2}, [2]int{1, 1}, [2]int{4, 4}, [4]int{1, 0, 2, 1}},
		{[2]int{1, 1}, [2]int{2, 2}, [2]int{3, 3}, [4]int{2, 1, 0, 3}},
		{[2]int{2, 2}, [2]int{2, 2}, [2]int{3, 2}, [4]int{1, 1, 1, 1}},
		{[2]int{2, 1}, [2]int{1, 2}, [2]int{2, 3}, [4]int{0, 2, 1, 0}},
		{[2]int{3, 2}, [2]int{1, 1}, [2]int{1, 1}, [4]int{0, 0, 0, 0}},
	}
	r := rand.New(rand.NewPCG(1, 2))
	const n, c, o, h, w = 2, 3, 4, 7, 8
	for _, tc := range cases {
		name := fmt.Sprintf("s%v_d%v_k%v_p%v", tc.strides, tc.dilations, tc.kernel, tc.pads)
		t.Run(name, func(t *testing.T) {
			a := ConvAttr{Strides: tc.strides, Pads: tc.pads, Dilations: tc.dilations}
			oh := convOut(h, tc.kernel[0], a.Strides[0], a.Pads[0], a.Pads[2], a.Dilations[0])
			ow := convOut(w, tc.kernel[1], a.Strides[1], a.Pads[1], a.Pads[3], a.Dilations[1])
			// Output padding makes ConvTranspose's output exactly x's size.
			ta := a
			ta.OutputPadding = [2]int{
				(h + a.Pads[0] + a.Pads[2] - a.Dilations[0]*(tc.kernel[0]-1) - 1) % a.Strides[0],
				(w + a.Pads[1] + a.Pads[3] - a.Dilations[1]*(tc.kernel[1]-1) - 1) % a.Strides[1],
			}
			fa := a
			fa.Kernel = tc.kernel
			var conv, convT, filter *Node
			_, err := Build(func(g *Graph) {
				x := g.Input("x", Shape{n, c, h, w})
				wt := g.Param("w", Shape{o, c, tc.kernel[0], tc.kernel[1]})
				y := g.Input("y", Shape{n, o, oh, ow})
				conv = ConvWith(x, wt, nil, a)
				convT = ConvTransposeWith(y, wt, nil, ta)
				filter = ConvFilterGrad(x, y, fa)
			})
			if err != nil {
				t.Fatal(err)
			}
			feeds := map[string]*Tensor{
				"x": randUniform(r, Shape{n, c, h, w}),
				"w": randUniform(r, Shape{o, c, tc.kernel[0], tc.kernel[1]}),
				"y": randUniform(r, Shape{n, o, oh, ow}),
			}
			got := evalOrFatal(t, feeds, conv, convT, filter)
			if !got[1].Shape.Equal(feeds["x"].Shape) {
				t.Fatalf("got ConvTranspose shape %v; want %v", got[1].Shape, feeds["x"].Shape)
			}
			lhs := innerProduct(got[0], feeds["y"])
			if rhs := innerProduct(feeds["x"], got[1]); math.Abs(lhs-rhs) > 1e-10*(1+math.Abs(lhs)) {
				t.Errorf("got <x, ConvTranspose(y,w)> = %v; want <Conv(x,w), y> = %v", rhs, lhs)
			}
			if rhs := innerProduct(feeds["w"], got[2]); math.Abs(lhs-rhs) > 1e-10*(1+math.Abs(lhs)) {
				t.Errorf("got <w, ConvFilterGrad(x,y)> = %v; want <Conv(x,w), y> = %v", rhs, lhs)
			}
		})
	}
}

func TestInstanceNormMoments(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var y *Node
	g, err := Build(func(g *Graph) { y = InstanceNorm(g.Input("x", Shape{-1, 3, -1, -1}), nil, nil, 0) })
	if err != nil {
		t.Fatal(err)
	}
	_ = g
	x := randUniform(r, Shape{2, 3, 5, 6})
	for i := range x.Data {
		x.Data[i] = 3*x.Data[i] + 7 // far from mean 0, variance 1
	}
	got := evalOrFatal(t, map[string]*Tensor{"x": x}, y)[0]
	const hw = 30
	for k := range 2 * 3 {
		plane := got.Data[k*hw : (k+1)*hw]
		mean, sq := 0.0, 0.0
		for _, v := range plane {
			mean += v
			sq += v * v
		}
		mean /= hw
		variance := sq/hw - mean*mean
		if math.Abs(mean) > 1e-12 || math.Abs(variance-1) > 1e-12 {
			t.Errorf("plane %d: got mean %v, variance %v; want 0, 1", k, mean, variance)
		}
	}
}

func TestEvalFeedErrors(t *testing.T) {
	var y *Node
	_, err := Build(func(g *Graph) {
		x := g.Input("img", Shape{-1, 3})
		w := g.Param("weight", Shape{3, 2})
		y = MatMul(x, w)
	})
	if err != nil {
		t.Fatal(err)
	}
	w := NewTensor(Shape{3, 2})
	cases := []struct {
		name  string
		feeds map[string]*Tensor
		want  []string // substrings of the error; nil: no error
	}{
		{"ok", map[string]*Tensor{"img": NewTensor(Shape{5, 3}), "weight": w}, nil},
		{"missing input", map[string]*Tensor{"weight": w}, []string{`"img"`, "not fed"}},
		{"missing param", map[string]*Tensor{"img": NewTensor(Shape{1, 3})}, []string{`"weight"`, "not fed"}},
		{"nil tensor", map[string]*Tensor{"img": nil, "weight": w}, []string{`"img"`, "not fed"}},
		{"wrong rank", map[string]*Tensor{"img": NewTensor(Shape{3}), "weight": w}, []string{`"img"`, "[3]", "[?,3]"}},
		{"wrong static dim", map[string]*Tensor{"img": NewTensor(Shape{2, 4}), "weight": w}, []string{`"img"`, "[2,4]"}},
		{"wrong param shape", map[string]*Tensor{"img": NewTensor(Shape{2, 3}), "weight": NewTensor(Shape{2, 3})}, []string{`"weight"`, "[2,3]", "[3,2]"}},
		{"inconsistent tensor", map[string]*Tensor{"img": {Shape: Shape{2, 3}, Data: make([]float64, 5)}, "weight": w}, []string{`"img"`, "5 values"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Eval(c.feeds, y)
			switch {
			case c.want == nil && err != nil:
				t.Fatalf("got error %v; want none", err)
			case c.want != nil && err == nil:
				t.Fatalf("got no error; want one containing %q", c.want)
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("got error %q; want it to contain %q", err, s)
				}
			}
		})
	}
}

func TestEvalKernelErrors(t *testing.T) {
	cases := []struct {
		name   string
		build  func(g *Graph) *Node
		feeds  map[string]*Tensor
		want   []string
		shapes []Shape
	}{
		{"broadcast", func(g *Graph) *Node { return Add(g.Input("a", Shape{-1}), g.Input("b", Shape{-1})) },
			map[string]*Tensor{"a": NewTensor(Shape{2}), "b": NewTensor(Shape{3})},
			[]string{"Add#2", "do not broadcast"}, []Shape{{2}, {3}}},
		{"conv channels", func(g *Graph) *Node {
			return Conv(g.Input("x", Shape{1, -1, 4, 4}), g.Param("w", Shape{2, 3, 3, 3}), nil, ConvOpts{})
		}, map[string]*Tensor{"x": NewTensor(Shape{1, 4, 4, 4}), "w": NewTensor(Shape{2, 3, 3, 3})},
			[]string{"Conv#2", "4 channels"}, []Shape{{1, 4, 4, 4}, {2, 3, 3, 3}}},
		{"conv too small", func(g *Graph) *Node {
			return Conv(g.Input("x", Shape{1, 1, -1, -1}), g.Param("w", Shape{1, 1, 3, 3}), nil, ConvOpts{})
		}, map[string]*Tensor{"x": NewTensor(Shape{1, 1, 2, 5}), "w": NewTensor(Shape{1, 1, 3, 3})},
			[]string{"Conv#2", "smaller than the kernel"}, []Shape{{1, 1, 2, 5}, {1, 1, 3, 3}}},
		{"reshape size", func(g *Graph) *Node { return Reshape(g.Input("x", Shape{-1}), 2, 2) },
			map[string]*Tensor{"x": NewTensor(Shape{5})}, []string{"Reshape#1", "5 elements"}, []Shape{{5}}},
		{"reflect pad too large", func(g *Graph) *Node { return Pad(g.Input("x", Shape{-1}), PadReflect, 0, 2, 0) },
			map[string]*Tensor{"x": NewTensor(Shape{2})}, []string{"Pad#1", "reflect"}, []Shape{{2}}},
		{"concat dims", func(g *Graph) *Node { return Concat(0, g.Input("a", Shape{1, -1}), g.Input("b", Shape{1, -1})) },
			map[string]*Tensor{"a": NewTensor(Shape{1, 2}), "b": NewTensor(Shape{1, 3})},
			[]string{"Concat#2", "dimension 1"}, []Shape{{1, 2}, {1, 3}}},
		{"matmul inner", func(g *Graph) *Node { return MatMul(g.Input("a", Shape{2, -1}), g.Input("b", Shape{-1, 2})) },
			map[string]*Tensor{"a": NewTensor(Shape{2, 3}), "b": NewTensor(Shape{4, 2})},
			[]string{"MatMul#2", "inner"}, []Shape{{2, 3}, {4, 2}}},
		{"instance norm scale", func(g *Graph) *Node {
			return InstanceNorm(g.Input("x", Shape{1, -1, 2, 2}), g.Param("s", Shape{2}), g.Param("b", Shape{2}), 1e-5)
		}, map[string]*Tensor{"x": NewTensor(Shape{1, 3, 2, 2}), "s": NewTensor(Shape{2}), "b": NewTensor(Shape{2})},
			[]string{"InstanceNorm#3", "want 3"}, []Shape{{1, 3, 2, 2}, {2}, {2}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var y *Node
			if _, err := Build(func(g *Graph) { y = c.build(g) }); err != nil {
				t.Fatalf("build: %v", err)
			}
			_, err := Eval(c.feeds, y)
			if err == nil {
				t.Fatalf("got no error; want one containing %q", c.want)
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("got error %q; want it to contain %q", err, s)
				}
			}
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("got error %T; want one wrapping *Error", err)
			}
			if ge.Op != y.Op() || fmt.Sprint(ge.Shapes) != fmt.Sprint(c.shapes) {
				t.Errorf("got *Error op %v shapes %v; want %v %v", ge.Op, ge.Shapes, y.Op(), c.shapes)
			}
		})
	}
}

func TestEvalRequests(t *testing.T) {
	g := New()
	x := g.Input("x", Shape{2})
	g.Input("unused", Shape{2})
	other := New().Scalar(1)
	y := Tanh(x)
	if got, err := Eval(nil); err != nil || len(got) != 0 {
		t.Errorf("got %v, %v for no nodes; want an empty result", got, err)
	}
	if _, err := Eval(map[string]*Tensor{"x": NewTensor(Shape{2})}, y, other); err == nil || !strings.Contains(err.Error(), "different graphs") {
		t.Errorf("got %v for nodes of two graphs; want a different-graphs error", err)
	}
	if _, err := Eval(map[string]*Tensor{"x": NewTensor(Shape{2})}, y, nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("got %v for a nil node; want a nil-node error", err)
	}
	// Inputs that the requested nodes do not depend on need no feed, and
	// extra feeds are ignored.
	got := evalOrFatal(t, map[string]*Tensor{"x": tensorLit(Shape{2}, 0, 0), "stray": NewTensor(Shape{9})}, y)
	checkEvalTensor(t, got[0], tensorLit(Shape{2}, 0, 0), 0)
}

func TestEvalComputesEachNodeOnce(t *testing.T) {
	calls := 0
	saved := evalKernels[OpTanh]
	evalKernels[OpTanh] = func(n *Node, in []*Tensor) *Tensor { calls++; return saved(n, in) }
	t.Cleanup(func() { evalKernels[OpTanh] = saved })

	g := New()
	x := g.Input("x", Shape{2})
	th := Tanh(x)
	a, b := Add(th, th), Mul(th, x)
	Tanh(Neg(x)) // not requested: must not run
	out := Add(a, b)
	got := evalOrFatal(t, map[string]*Tensor{"x": tensorLit(Shape{2}, 0, 0)}, out, th, a, th)
	if calls != 1 {
		t.Errorf("got %d Tanh kernel calls; want 1", calls)
	}
	if len(got) != 4 {
		t.Fatalf("got %d results; want 4", len(got))
	}
	if got[1] == got[3] {
		t.Errorf("got one tensor for two requests of the same node; want distinct copies")
	}
}

func TestEvalResultsAreFresh(t *testing.T) {
	g := New()
	x := g.Input("x", Shape{2})
	c := g.Const(tensorLit(Shape{2}, 5, 6))
	feed := tensorLit(Shape{2}, 1, 2)
	for range 2 {
		got := evalOrFatal(t, map[string]*Tensor{"x": feed}, x, c, StopGradient(x))
		checkEvalTensor(t, got[0], tensorLit(Shape{2}, 1, 2), 0)
		checkEvalTensor(t, got[1], tensorLit(Shape{2}, 5, 6), 0)
		for _, r := range got {
			r.Data[0] = 99
		}
	}
	checkEvalTensor(t, feed, tensorLit(Shape{2}, 1, 2), 0)
}

// smallConvNet builds a 2-layer conv net on [1,3,16,16] images: reflect pad,
// conv 3->16, instance norm, relu, conv 16->3, tanh.
func smallConvNet(t testing.TB) (*Node, map[string]*Tensor) {
	var y *Node
	_, err := Build(func(g *Graph) {
		x := g.Input("x", Shape{-1, 3, -1, -1})
		h := Conv(Pad2D(x, PadReflect, 1), g.Param("w1", Shape{16, 3, 3, 3}), g.Param("b1", Shape{16}), ConvOpts{})
		h = Relu(InstanceNorm(h, nil, nil, 1e-5))
		y = Tanh(Conv(h, g.Param("w2", Shape{3, 16, 3, 3}), g.Param("b2", Shape{3}), ConvOpts{Pad: 1}))
	})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	return y, map[string]*Tensor{
		"x":  randUniform(r, Shape{1, 3, 16, 16}),
		"w1": randUniform(r, Shape{16, 3, 3, 3}),
		"b1": randUniform(r, Shape{16}),
		"w2": randUniform(r, Shape{3, 16, 3, 3}),
		"b2": randUniform(r, Shape{3}),
	}
}

// TestEvalSpeed guards against the evaluator becoming too slow for
// finite-difference checks: the small conv net takes well under a
// millisecond, and the bound leaves a wide margin for slow machines.
func BenchmarkEvalConvNet(b *testing.B) {
	y, feeds := smallConvNet(b)
	for b.Loop() {
		if _, err := Eval(feeds, y); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEvalChecksKernelResultShape(t *testing.T) {
	saved := evalKernels[OpNeg]
	evalKernels[OpNeg] = func(n *Node, in []*Tensor) *Tensor { return NewTensor(Shape{3}) }
	t.Cleanup(func() { evalKernels[OpNeg] = saved })

	g := New()
	y := Neg(g.Input("x", Shape{2}))
	_, err := Eval(map[string]*Tensor{"x": NewTensor(Shape{2})}, y)
	if err == nil || !strings.Contains(err.Error(), "Neg#1") || !strings.Contains(err.Error(), "[3]") {
		t.Fatalf("got %v; want an error naming Neg#1 and its result shape [3]", err)
	}
}
