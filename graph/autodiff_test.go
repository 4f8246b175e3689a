package graph

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gradCase builds a node from inputs of the given shapes; the test checks
// the gradient of sum(out * R) for a fixed random R by central finite
// differences, and (with second) the gradient of that gradient.
type gradCase struct {
	name   string
	shapes []Shape
	build  func(xs []*Node) *Node
	// away keeps inputs at least this far from zero (non-smooth points).
	away   float64
	second bool
}

func randTensor(r *rand.Rand, s Shape, away float64) *Tensor {
	t := NewTensor(s)
	for i := range t.Data {
		v := r.Float64()*2 - 1
		if away > 0 {
			v = math.Copysign(away+math.Abs(v), v)
		}
		t.Data[i] = v
	}
	return t
}

// evalScalar evaluates a one-element node.
func evalScalar(t *testing.T, feeds map[string]*Tensor, n *Node) float64 {
	t.Helper()
	out, err := Eval(feeds, n)
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Data[0]
}

// weightedSum is sum(y * r) for a random constant r of y's shape.
func weightedSum(r *rand.Rand, y *Node) *Node {
	return ReduceSum(Mul(y, y.g.Const(randTensor(r, y.shape, 0))), false)
}

// checkFD compares analytic gradients of the scalar loss with respect to
// inputs named in feeds against central differences.
func checkFD(t *testing.T, feeds map[string]*Tensor, inputs []*Node, loss *Node, grads []*Node) {
	t.Helper()
	const h = 1e-6
	got, err := Eval(feeds, grads...)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range inputs {
		data := feeds[x.Name()].Data
		for j := range data {
			orig := data[j]
			data[j] = orig + h
			up := evalScalar(t, feeds, loss)
			data[j] = orig - h
			down := evalScalar(t, feeds, loss)
			data[j] = orig
			want := (up - down) / (2 * h)
			if d := math.Abs(got[i].Data[j] - want); d > 1e-5*max(1, math.Abs(want)) {
				t.Fatalf("d/d%s[%d]: got %.8g; want %.8g (finite differences)", x.Name(), j, got[i].Data[j], want)
			}
		}
	}
}

func TestGradFiniteDifferences(t *testing.T) {
	s23 := Shape{2, 3}
	img := Shape{2, 3, 5, 6}
	cases := []gradCase{
		{name: "add-broadcast", shapes: []Shape{{2, 3, 4}, {3, 1}}, build: func(x []*Node) *Node { return Add(x[0], x[1]) }, second: true},
		{name: "sub-broadcast", shapes: []Shape{{4}, {2, 3, 4}}, build: func(x []*Node) *Node { return Sub(x[0], x[1]) }, second: true},
		{name: "mul-broadcast", shapes: []Shape{s23, {1, 3}}, build: func(x []*Node) *Node { return Mul(x[0], x[1]) }, second: true},
		{name: "div", shapes: []Shape{s23, s23}, away: 0.5, build: func(x []*Node) *Node { return Div(x[0], x[1]) }, second: true},
		{name: "pow", shapes: []Shape{s23, s23}, away: 0.3, build: func(x []*Node) *Node { return Pow(Abs(x[0]), x[1]) }, second: true},
		{name: "pow-const", shapes: []Shape{s23}, away: 0.3, build: func(x []*Node) *Node { return Pow(x[0], x[0].g.Scalar(3)) }, second: true},
		{name: "neg", shapes: []Shape{s23}, build: func(x []*Node) *Node { return Neg(x[0]) }},
		{name: "abs", shapes: []Shape{s23}, away: 0.1, build: func(x []*Node) *Node { return Mul(Abs(x[0]), x[0]) }, second: true},
		{name: "exp", shapes: []Shape{s23}, build: func(x []*Node) *Node { return Exp(x[0]) }, second: true},
		{name: "log", shapes: []Shape{s23}, away: 0.2, build: func(x []*Node) *Node { return Log(Abs(x[0])) }, second: true},
		{name: "sqrt", shapes: []Shape{s23}, away: 0.2, build: func(x []*Node) *Node { return Sqrt(Abs(x[0])) }, second: true},
		{name: "relu", shapes: []Shape{s23}, away: 0.1, build: func(x []*Node) *Node { return Mul(Relu(x[0]), x[0]) }, second: true},
		{name: "leakyrelu", shapes: []Shape{s23}, away: 0.1, build: func(x []*Node) *Node { return Mul(LeakyRelu(x[0], 0.2), x[0]) }, second: true},
		{name: "tanh", shapes: []Shape{s23}, build: func(x []*Node) *Node { return Tanh(x[0]) }, second: true},
		{name: "sigmoid", shapes: []Shape{s23}, build: func(x []*Node) *Node { return Sigmoid(x[0]) }, second: true},
		{name: "where", shapes: []Shape{s23, {3}}, away: 0.1, build: func(x []*Node) *Node {
			return Where(Greater(x[0], x[0].g.Scalar(0)), Mul(x[0], x[0]), x[1])
		}, second: true},
		{name: "reducesum", shapes: []Shape{{2, 3, 4}}, build: func(x []*Node) *Node { return Mul(ReduceSum(x[0], false, 1), ReduceSum(x[0], false, 0, 1)) }, second: true},
		{name: "reducemean", shapes: []Shape{{2, 3, 4}}, build: func(x []*Node) *Node { return Mul(ReduceMean(x[0], true, 2), x[0]) }, second: true},
		{name: "reducemax", shapes: []Shape{{2, 3, 4}}, build: func(x []*Node) *Node { return ReduceMax(Mul(x[0], x[0]), false, 0, 2) }, second: true},
		{name: "reshape", shapes: []Shape{{2, 3, 4}}, build: func(x []*Node) *Node { return Mul(Reshape(x[0], 4, -1), Reshape(x[0], 4, 6)) }, second: true},
		{name: "transpose", shapes: []Shape{{2, 3, 4}}, build: func(x []*Node) *Node { return Transpose(x[0], 2, 0, 1) }},
		{name: "slice", shapes: []Shape{{3, 7}}, build: func(x []*Node) *Node { return Mul(Slice(x[0], 1, 1, 6, 2), Slice(x[0], 1, -1, 0, -2)) }, second: true},
		{name: "slice-axes", shapes: []Shape{{4, 5, 6}}, build: func(x []*Node) *Node {
			return SliceAxes(x[0], SliceAttr{Axes: []int{0, 2}, Starts: []int{-1, 1}, Ends: []int{-End, End}, Steps: []int{-3, 2}})
		}},
		{name: "concat", shapes: []Shape{{2, 3}, {2, 1}}, build: func(x []*Node) *Node { return Concat(1, x[0], Mul(x[1], x[1]), x[0]) }, second: true},
		{name: "expand", shapes: []Shape{{3, 1}, {2, 3, 4}}, build: func(x []*Node) *Node { return Mul(Expand(x[0], x[1]), x[1]) }, second: true},
		{name: "pad-constant", shapes: []Shape{img}, build: func(x []*Node) *Node { return Pad(x[0], PadConstant, 0.5, 0, 0, 1, 2, 0, 1, 0, 3) }},
		{name: "pad-reflect", shapes: []Shape{img}, build: func(x []*Node) *Node { return Mul(Pad2D(x[0], PadReflect, 3), Pad2D(x[0], PadReflect, 3)) }, second: true},
		{name: "pad-reflect-asym", shapes: []Shape{img}, build: func(x []*Node) *Node { return Pad(x[0], PadReflect, 0, 0, 0, 1, 4, 0, 0, 4, 2) }},
		{name: "pad-reflect-axis1", shapes: []Shape{{2, 5, 3, 2}}, build: func(x []*Node) *Node {
			return Mul(Pad(x[0], PadReflect, 0, 0, 2, 0, 0, 0, 1, 0, 0), Pad(x[0], PadReflect, 0, 0, 2, 0, 0, 0, 1, 0, 0))
		}, second: true},
		{name: "pad-edge-axis0", shapes: []Shape{{3, 4}}, build: func(x []*Node) *Node { return Pad(x[0], PadEdge, 0, 2, 1, 1, 0) }},
		{name: "pad-edge", shapes: []Shape{img}, build: func(x []*Node) *Node { return Mul(Pad2D(x[0], PadEdge, 2), Pad2D(x[0], PadEdge, 2)) }, second: true},
		{name: "matmul", shapes: []Shape{{2, 3, 4}, {4, 5}}, build: func(x []*Node) *Node { return MatMul(x[0], x[1]) }, second: true},
		{name: "matmul-square", shapes: []Shape{{3, 3}}, build: func(x []*Node) *Node { return MatMul(x[0], x[0]) }, second: true},
		{name: "conv", shapes: []Shape{img, {4, 3, 3, 3}, {4}}, build: func(x []*Node) *Node { return Conv(x[0], x[1], x[2], ConvOpts{Pad: 1}) }},
		{name: "conv-stride2", shapes: []Shape{img, {4, 3, 4, 4}}, build: func(x []*Node) *Node { return Conv(x[0], x[1], nil, ConvOpts{Stride: 2, Pad: 1}) }},
		{name: "conv-asym-dilated", shapes: []Shape{{1, 2, 7, 8}, {3, 2, 2, 3}}, build: func(x []*Node) *Node {
			return ConvWith(x[0], x[1], nil, ConvAttr{Strides: [2]int{2, 3}, Pads: [4]int{0, 1, 2, 1}, Dilations: [2]int{2, 1}})
		}},
		{name: "conv-squared", shapes: []Shape{img, {2, 3, 3, 3}}, build: func(x []*Node) *Node {
			c := Conv(x[0], x[1], nil, ConvOpts{Stride: 2, Pad: 1})
			return Mul(c, c)
		}, second: true},
		{name: "convtranspose", shapes: []Shape{{2, 3, 3, 4}, {3, 2, 3, 3}, {2}}, build: func(x []*Node) *Node {
			return ConvTranspose(x[0], x[1], x[2], ConvOpts{Stride: 2, Pad: 1, OutputPadding: 1})
		}},
		{name: "convtranspose-squared", shapes: []Shape{{1, 3, 3, 4}, {3, 2, 4, 4}}, build: func(x []*Node) *Node {
			c := ConvTranspose(x[0], x[1], nil, ConvOpts{Stride: 2, Pad: 1})
			return Mul(c, c)
		}, second: true},
		{name: "convfiltergrad", shapes: []Shape{{2, 3, 6, 5}, {2, 4, 3, 3}}, build: func(x []*Node) *Node {
			fg := ConvFilterGrad(x[0], x[1], ConvAttr{Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, Dilations: [2]int{1, 1}, Kernel: [2]int{3, 3}})
			return Mul(fg, fg)
		}, second: true},
		{name: "instancenorm", shapes: []Shape{img}, build: func(x []*Node) *Node { return InstanceNorm(x[0], nil, nil, 1e-5) }, second: true},
		{name: "instancenorm-affine", shapes: []Shape{img, {3}, {3}}, build: func(x []*Node) *Node { return InstanceNorm(x[0], x[1], x[2], 1e-5) }, second: true},
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(ci)))
			g := New()
			feeds := map[string]*Tensor{}
			xs := make([]*Node, len(c.shapes))
			for i, s := range c.shapes {
				name := string(rune('a' + i))
				xs[i] = g.Input(name, s)
				feeds[name] = randTensor(r, s, c.away)
			}
			loss := weightedSum(r, c.build(xs))
			grads, err := Grad([]*Node{loss}, xs, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkFD(t, feeds, xs, loss, grads)
			if !c.second {
				return
			}
			// Second order: differentiate a weighted sum of the gradients.
			var loss2 *Node
			for _, gr := range grads {
				term := weightedSum(r, gr)
				if loss2 == nil {
					loss2 = term
				} else {
					loss2 = Add(loss2, term)
				}
			}
			grads2, err := Grad([]*Node{loss2}, xs, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkFD(t, feeds, xs, loss2, grads2)
		})
	}
}

// TestGradientPenaltySecondOrder checks StarGAN's gradient penalty
// mean_n((||d sum D(x)/dx_n|| - 1)^2) through a conv + LeakyReLU critic,
// differentiated with respect to the critic's weights.
func TestGradientPenaltySecondOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	g := New()
	x := g.Input("x", Shape{2, 3, 8, 8})
	w1, b1 := g.Param("w1", Shape{4, 3, 4, 4}), g.Param("b1", Shape{4})
	w2 := g.Param("w2", Shape{1, 4, 3, 3})
	h := LeakyRelu(Conv(x, w1, b1, ConvOpts{Stride: 2, Pad: 1}), 0.01)
	out := Conv(h, w2, nil, ConvOpts{Pad: 1})
	dx, err := Grad([]*Node{ReduceSum(out, false)}, []*Node{x}, nil)
	if err != nil {
		t.Fatal(err)
	}
	norm := Sqrt(ReduceSum(Mul(dx[0], dx[0]), false, 1, 2, 3))
	gp := ReduceMean(Pow(AddScalar(norm, -1), g.Scalar(2)), false)
	params := []*Node{w1, b1, w2}
	grads, err := Grad([]*Node{gp}, params, nil)
	if err != nil {
		t.Fatal(err)
	}
	feeds := map[string]*Tensor{"x": randTensor(r, x.shape, 0)}
	for _, p := range params {
		feeds[p.Name()] = randTensor(r, p.shape, 0)
	}
	checkFD(t, feeds, params, gp, grads)
}

func TestGradStopGradient(t *testing.T) {
	// d/dx sum(x * stop(x*x)) = x*x: the stopped factor is a constant.
	g := New()
	x := g.Input("x", Shape{3})
	grads, err := Grad([]*Node{ReduceSum(Mul(x, StopGradient(Mul(x, x))), false)}, []*Node{x}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Eval(map[string]*Tensor{"x": TensorOf(Shape{3}, []float64{1, -2, 3})}, grads[0])
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{1, 4, 9} {
		if got[0].Data[i] != want {
			t.Fatalf("grad[%d]: got %v; want %v", i, got[0].Data[i], want)
		}
	}
}

func TestGradUnreachableIsZero(t *testing.T) {
	g := New()
	a, b := g.Input("a", Shape{2}), g.Input("b", Shape{3})
	grads, err := Grad([]*Node{ReduceSum(Mul(a, a), false)}, []*Node{b}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Eval(map[string]*Tensor{"a": TensorOf(Shape{2}, []float64{1, 2}), "b": NewTensor(Shape{3})}, grads[0])
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].Shape.Equal(Shape{3}) || got[0].Data[0] != 0 || got[0].Data[2] != 0 {
		t.Fatalf("got %v %v; want zeros of [3]", got[0].Shape, got[0].Data)
	}
}

func TestGradErrors(t *testing.T) {
	g := New()
	a := g.Input("a", Shape{2})
	if _, err := Grad([]*Node{a}, []*Node{a}, nil); err == nil {
		t.Fatal("got nil error for a non-scalar output without seed")
	}
	if _, err := Grad([]*Node{a}, []*Node{a}, []*Node{g.Input("s", Shape{3})}); err == nil {
		t.Fatal("got nil error for a seed of the wrong shape")
	}
}
