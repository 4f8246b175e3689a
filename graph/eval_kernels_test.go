package graph

import (
	"math"
	"testing"
)

// The expected values in this file are worked out by hand (the comments
// show the arithmetic where it is not obvious); none comes from the
// kernels under test.

// evalCase builds one node and checks its value.
type evalCase struct {
	name  string
	build func(g *Graph) *Node
	feeds map[string]*Tensor
	want  *Tensor
}

// tensorLit is a tensor literal.
func tensorLit(shape Shape, data ...float64) *Tensor { return TensorOf(shape, data) }

// constLit adds a constant literal to g.
func constLit(g *Graph, shape Shape, data ...float64) *Node {
	return g.Const(tensorLit(shape, data...))
}

// seqFrom returns base, base+1, ..., base+n-1.
func seqFrom(base float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = base + float64(i)
	}
	return out
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var y *Node
			if _, err := Build(func(g *Graph) { y = c.build(g) }); err != nil {
				t.Fatalf("build: %v", err)
			}
			got, err := Eval(c.feeds, y)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			checkEvalTensor(t, got[0], c.want, 1e-12)
		})
	}
}

// checkEvalTensor compares shapes exactly and values to a relative tolerance;
// NaN matches NaN and infinities match themselves.
func checkEvalTensor(t *testing.T, got, want *Tensor, tol float64) {
	t.Helper()
	if !got.Shape.Equal(want.Shape) {
		t.Fatalf("got shape %v; want %v", got.Shape, want.Shape)
	}
	if len(got.Data) != len(want.Data) {
		t.Fatalf("got %d values; want %d", len(got.Data), len(want.Data))
	}
	for i := range want.Data {
		g, w := got.Data[i], want.Data[i]
		switch {
		case math.IsNaN(w):
			if !math.IsNaN(g) {
				t.Fatalf("got %v at %d; want NaN (got %v)", g, i, got.Data)
			}
		case math.IsInf(w, 0):
			if g != w {
				t.Fatalf("got %v at %d; want %v (got %v)", g, i, w, got.Data)
			}
		case math.Abs(g-w) > tol*(1+math.Abs(w)):
			t.Fatalf("got %v at %d; want %v (got %v; want %v)", g, i, w, got.Data, want.Data)
		}
	}
}

func TestEvalBroadcastBinary(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	runEvalCases(t, []evalCase{
		{"add same shape", func(g *Graph) *Node {
			return Add(constLit(g, Shape{2}, 1, 2), constLit(g, Shape{2}, 10, 20))
		}, nil, tensorLit(Shape{2}, 11, 22)},
		{"add row vector", func(g *Graph) *Node {
			return Add(constLit(g, Shape{2, 3}, 1, 2, 3, 4, 5, 6), constLit(g, Shape{3}, 10, 20, 30))
		}, nil, tensorLit(Shape{2, 3}, 11, 22, 33, 14, 25, 36)},
		{"add column by row", func(g *Graph) *Node {
			return Add(constLit(g, Shape{2, 1}, 1, 2), constLit(g, Shape{1, 3}, 10, 20, 30))
		}, nil, tensorLit(Shape{2, 3}, 11, 21, 31, 12, 22, 32)},
		{"add scalar left", func(g *Graph) *Node {
			return Add(g.Scalar(100), constLit(g, Shape{2, 2}, 1, 2, 3, 4))
		}, nil, tensorLit(Shape{2, 2}, 101, 102, 103, 104)},
		{"add scalar right", func(g *Graph) *Node {
			return Add(constLit(g, Shape{2, 2}, 1, 2, 3, 4), g.Scalar(100))
		}, nil, tensorLit(Shape{2, 2}, 101, 102, 103, 104)},
		{"add rank 0", func(g *Graph) *Node {
			return Add(g.Scalar(1.5), g.Scalar(2))
		}, nil, tensorLit(Shape{}, 3.5)},
		// a[i,0,k] = 2i+k+1, b[j,0] = 10(j+1): out[i,j,k] = a[i,0,k] + b[j].
		{"add rank 3 with rank 2", func(g *Graph) *Node {
			return Add(constLit(g, Shape{3, 1, 2}, 1, 2, 3, 4, 5, 6), constLit(g, Shape{2, 1}, 10, 20))
		}, nil, tensorLit(Shape{3, 2, 2}, 11, 12, 21, 22, 13, 14, 23, 24, 15, 16, 25, 26)},
		{"add dynamic", func(g *Graph) *Node {
			return Add(g.Input("a", Shape{-1, 1}), g.Input("b", Shape{-1}))
		}, map[string]*Tensor{"a": tensorLit(Shape{2, 1}, 1, 2), "b": tensorLit(Shape{3}, 10, 20, 30)},
			tensorLit(Shape{2, 3}, 11, 21, 31, 12, 22, 32)},
		{"sub column", func(g *Graph) *Node {
			return Sub(constLit(g, Shape{2, 2}, 5, 6, 7, 8), constLit(g, Shape{2, 1}, 1, 2))
		}, nil, tensorLit(Shape{2, 2}, 4, 5, 5, 6)},
		{"sub order", func(g *Graph) *Node {
			return Sub(g.Scalar(1), constLit(g, Shape{3}, 1, 2, 3))
		}, nil, tensorLit(Shape{3}, 0, -1, -2)},
		{"mul outer", func(g *Graph) *Node {
			return Mul(constLit(g, Shape{1, 3}, 1, 2, 3), constLit(g, Shape{2, 1}, 2, 3))
		}, nil, tensorLit(Shape{2, 3}, 2, 4, 6, 3, 6, 9)},
		{"div ieee", func(g *Graph) *Node {
			return Div(constLit(g, Shape{4}, 1, -1, 0, 6), constLit(g, Shape{4}, 0, 0, 0, 4))
		}, nil, tensorLit(Shape{4}, inf, -inf, nan, 1.5)},
		{"div broadcast", func(g *Graph) *Node {
			return Div(g.Scalar(12), constLit(g, Shape{2, 2}, 1, 2, 3, 4))
		}, nil, tensorLit(Shape{2, 2}, 12, 6, 4, 3)},
		// (-8)**(1/3) is NaN for a real power, as in numpy and ONNX.
		{"pow", func(g *Graph) *Node {
			return Pow(constLit(g, Shape{4}, 2, 4, -8, 0), constLit(g, Shape{4}, 3, 0.5, 1.0/3, 0))
		}, nil, tensorLit(Shape{4}, 8, 2, nan, 1)},
		{"pow scalar exponent", func(g *Graph) *Node {
			return Pow(constLit(g, Shape{2}, 3, -2), g.Scalar(2))
		}, nil, tensorLit(Shape{2}, 9, 4)},
		{"greater broadcast", func(g *Graph) *Node {
			return Greater(constLit(g, Shape{2, 2}, 1, 5, 3, 2), constLit(g, Shape{2}, 2, 2))
		}, nil, tensorLit(Shape{2, 2}, 0, 1, 1, 0)},
		{"less scalar", func(g *Graph) *Node {
			return Less(constLit(g, Shape{3}, 1, 2, 3), g.Scalar(2))
		}, nil, tensorLit(Shape{3}, 1, 0, 0)},
		{"equal outer", func(g *Graph) *Node {
			return Equal(constLit(g, Shape{3}, 1, 2, 3), constLit(g, Shape{3, 1}, 1, 2, 3))
		}, nil, tensorLit(Shape{3, 3}, 1, 0, 0, 0, 1, 0, 0, 0, 1)},
		{"where three-way broadcast", func(g *Graph) *Node {
			cond := Greater(constLit(g, Shape{2, 1}, 1, -1), g.Scalar(0)) // {1, 0}
			return Where(cond, constLit(g, Shape{1, 3}, 1, 2, 3), g.Scalar(9))
		}, nil, tensorLit(Shape{2, 3}, 1, 2, 3, 9, 9, 9)},
		{"where condition row", func(g *Graph) *Node {
			cond := Less(constLit(g, Shape{3}, 1, 5, 2), g.Scalar(3)) // {1, 0, 1}
			return Where(cond, constLit(g, Shape{2, 3}, 1, 2, 3, 4, 5, 6), constLit(g, Shape{2, 1}, 10, 20))
		}, nil, tensorLit(Shape{2, 3}, 1, 10, 3, 4, 20, 6)},
	})
}

func TestEvalUnary(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	xs := []float64{-2, -0.5, 0, 0.5, 2}
	x := func(g *Graph) *Node { return constLit(g, Shape{5}, xs...) }
	runEvalCases(t, []evalCase{
		{"neg", func(g *Graph) *Node { return Neg(x(g)) }, nil, tensorLit(Shape{5}, 2, 0.5, 0, -0.5, -2)},
		{"abs", func(g *Graph) *Node { return Abs(x(g)) }, nil, tensorLit(Shape{5}, 2, 0.5, 0, 0.5, 2)},
		{"sign", func(g *Graph) *Node { return Sign(x(g)) }, nil, tensorLit(Shape{5}, -1, -1, 0, 1, 1)},
		{"relu", func(g *Graph) *Node { return Relu(x(g)) }, nil, tensorLit(Shape{5}, 0, 0, 0, 0.5, 2)},
		{"leaky relu", func(g *Graph) *Node { return LeakyRelu(x(g), 0.2) }, nil, tensorLit(Shape{5}, -0.4, -0.1, 0, 0.5, 2)},
		{"stop gradient", func(g *Graph) *Node { return StopGradient(x(g)) }, nil, tensorLit(Shape{5}, xs...)},
		{"exp", func(g *Graph) *Node { return Exp(constLit(g, Shape{4}, 0, 1, -1, 2)) }, nil,
			tensorLit(Shape{4}, 1, 2.718281828459045, 0.36787944117144233, 7.3890560989306495)},
		{"log", func(g *Graph) *Node { return Log(constLit(g, Shape{5}, 1, math.E, 0.5, 0, -1)) }, nil,
			tensorLit(Shape{5}, 0, 1, -0.6931471805599453, -inf, nan)},
		{"sqrt", func(g *Graph) *Node { return Sqrt(constLit(g, Shape{4}, 0, 4, 2, -1)) }, nil,
			tensorLit(Shape{4}, 0, 2, 1.4142135623730951, nan)},
		{"tanh", func(g *Graph) *Node { return Tanh(constLit(g, Shape{4}, 0, 0.5, -0.5, 20)) }, nil,
			tensorLit(Shape{4}, 0, 0.46211715726000974, -0.46211715726000974, 1)},
		// Large magnitudes must saturate, not overflow to NaN.
		{"sigmoid", func(g *Graph) *Node { return Sigmoid(constLit(g, Shape{5}, 0, 2, -2, 800, -800)) }, nil,
			tensorLit(Shape{5}, 0.5, 0.8807970779778823, 0.11920292202211755, 1, 0)},
		{"rank 0", func(g *Graph) *Node { return Neg(g.Scalar(3)) }, nil, tensorLit(Shape{}, -3)},
	})
}

func TestEvalReduce(t *testing.T) {
	x := func(g *Graph) *Node { return constLit(g, Shape{2, 3}, 1, 2, 3, 4, 5, 6) }
	m := func(g *Graph) *Node { return constLit(g, Shape{2, 3}, 1, -5, 3, -4, -2, -6) }
	// c[i,j,k] = 6i+2j+k; sum over j is 18i+3k+6; sum over i,k is 8j+14.
	c := func(g *Graph) *Node { return constLit(g, Shape{2, 3, 2}, seqFrom(0, 12)...) }
	runEvalCases(t, []evalCase{
		{"sum axis 0", func(g *Graph) *Node { return ReduceSum(x(g), false, 0) }, nil, tensorLit(Shape{3}, 5, 7, 9)},
		{"sum axis 0 keep", func(g *Graph) *Node { return ReduceSum(x(g), true, 0) }, nil, tensorLit(Shape{1, 3}, 5, 7, 9)},
		{"sum axis 1", func(g *Graph) *Node { return ReduceSum(x(g), false, 1) }, nil, tensorLit(Shape{2}, 6, 15)},
		{"sum axis -1 keep", func(g *Graph) *Node { return ReduceSum(x(g), true, -1) }, nil, tensorLit(Shape{2, 1}, 6, 15)},
		{"sum all", func(g *Graph) *Node { return ReduceSum(x(g), false) }, nil, tensorLit(Shape{}, 21)},
		{"sum all keep", func(g *Graph) *Node { return ReduceSum(x(g), true) }, nil, tensorLit(Shape{1, 1}, 21)},
		{"sum middle", func(g *Graph) *Node { return ReduceSum(c(g), false, 1) }, nil, tensorLit(Shape{2, 2}, 6, 9, 24, 27)},
		{"sum outer keep", func(g *Graph) *Node { return ReduceSum(c(g), true, 0, 2) }, nil, tensorLit(Shape{1, 3, 1}, 14, 22, 30)},
		{"mean axis 1", func(g *Graph) *Node { return ReduceMean(x(g), false, 1) }, nil, tensorLit(Shape{2}, 2, 5)},
		{"mean all", func(g *Graph) *Node { return ReduceMean(x(g), false) }, nil, tensorLit(Shape{}, 3.5)},
		{"mean outer keep", func(g *Graph) *Node { return ReduceMean(c(g), true, 0, 2) }, nil, tensorLit(Shape{1, 3, 1}, 3.5, 5.5, 7.5)},
		{"max axis 0", func(g *Graph) *Node { return ReduceMax(m(g), false, 0) }, nil, tensorLit(Shape{3}, 1, -2, 3)},
		{"max axis 1 keep", func(g *Graph) *Node { return ReduceMax(m(g), true, 1) }, nil, tensorLit(Shape{2, 1}, 3, -2)},
		{"max all negative", func(g *Graph) *Node { return ReduceMax(constLit(g, Shape{3}, -3, -1, -2), false) }, nil, tensorLit(Shape{}, -1)},
		{"sum dynamic", func(g *Graph) *Node { return ReduceSum(g.Input("x", Shape{-1, 2}), false, 0) },
			map[string]*Tensor{"x": tensorLit(Shape{3, 2}, 1, 2, 3, 4, 5, 6)}, tensorLit(Shape{2}, 9, 12)},
	})
}

func TestEvalLayout(t *testing.T) {
	x := func(g *Graph) *Node { return constLit(g, Shape{2, 3}, 1, 2, 3, 4, 5, 6) }
	runEvalCases(t, []evalCase{
		{"reshape infer", func(g *Graph) *Node { return Reshape(x(g), 3, -1) }, nil, tensorLit(Shape{3, 2}, 1, 2, 3, 4, 5, 6)},
		{"reshape flat", func(g *Graph) *Node { return Reshape(x(g), -1) }, nil, tensorLit(Shape{6}, 1, 2, 3, 4, 5, 6)},
		{"reshape to rank 0", func(g *Graph) *Node { return Reshape(constLit(g, Shape{1, 1}, 7)) }, nil, tensorLit(Shape{}, 7)},
		{"reshape dynamic", func(g *Graph) *Node { return Reshape(g.Input("x", Shape{-1, 3}), -1, 2) },
			map[string]*Tensor{"x": tensorLit(Shape{2, 3}, 1, 2, 3, 4, 5, 6)}, tensorLit(Shape{3, 2}, 1, 2, 3, 4, 5, 6)},
		{"transpose 2d", func(g *Graph) *Node { return Transpose(x(g), 1, 0) }, nil, tensorLit(Shape{3, 2}, 1, 4, 2, 5, 3, 6)},
		// x[i,j,k] = 6i+3j+k; out[a,b,c] = x[b,c,a] = 6b+3c+a.
		{"transpose 3d", func(g *Graph) *Node { return Transpose(constLit(g, Shape{2, 2, 3}, seqFrom(0, 12)...), 2, 0, 1) }, nil,
			tensorLit(Shape{3, 2, 2}, 0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11)},
		{"transpose identity", func(g *Graph) *Node { return Transpose(x(g), 0, 1) }, nil, tensorLit(Shape{2, 3}, 1, 2, 3, 4, 5, 6)},
		{"concat axis 0", func(g *Graph) *Node {
			return Concat(0, constLit(g, Shape{1, 2}, 1, 2), constLit(g, Shape{2, 2}, 3, 4, 5, 6))
		}, nil, tensorLit(Shape{3, 2}, 1, 2, 3, 4, 5, 6)},
		{"concat axis 1 three", func(g *Graph) *Node {
			return Concat(-1, constLit(g, Shape{2, 1}, 1, 2), constLit(g, Shape{2, 2}, 3, 4, 5, 6), constLit(g, Shape{2, 1}, 7, 8))
		}, nil, tensorLit(Shape{2, 4}, 1, 3, 4, 7, 2, 5, 6, 8)},
		{"concat middle axis", func(g *Graph) *Node {
			return Concat(1, constLit(g, Shape{2, 1, 2}, 1, 2, 3, 4), constLit(g, Shape{2, 2, 2}, seqFrom(5, 8)...))
		}, nil, tensorLit(Shape{2, 3, 2}, 1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12)},
		{"concat one", func(g *Graph) *Node { return Concat(0, x(g)) }, nil, tensorLit(Shape{2, 3}, 1, 2, 3, 4, 5, 6)},
		{"concat dynamic", func(g *Graph) *Node {
			return Concat(0, g.Input("a", Shape{-1, 2}), constLit(g, Shape{1, 2}, 9, 9))
		}, map[string]*Tensor{"a": tensorLit(Shape{2, 2}, 1, 2, 3, 4)}, tensorLit(Shape{3, 2}, 1, 2, 3, 4, 9, 9)},
		{"expand to higher rank", func(g *Graph) *Node {
			return Expand(constLit(g, Shape{3, 1}, 1, 2, 3), g.Const(NewTensor(Shape{2, 1, 4})))
		}, nil, tensorLit(Shape{2, 3, 4}, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)},
		{"expand like smaller", func(g *Graph) *Node {
			return Expand(x(g), g.Const(NewTensor(Shape{1, 3})))
		}, nil, tensorLit(Shape{2, 3}, 1, 2, 3, 4, 5, 6)},
		{"expand scalar to runtime shape", func(g *Graph) *Node {
			return Expand(g.Scalar(7), g.Input("like", Shape{-1, 2}))
		}, map[string]*Tensor{"like": NewTensor(Shape{3, 2})}, tensorLit(Shape{3, 2}, 7, 7, 7, 7, 7, 7)},
		{"expand both dynamic", func(g *Graph) *Node {
			return Expand(constLit(g, Shape{1, 3}, 1, 2, 3), g.Input("like", Shape{-1, -1}))
		}, map[string]*Tensor{"like": NewTensor(Shape{2, 1})}, tensorLit(Shape{2, 3}, 1, 2, 3, 1, 2, 3)},
	})
}

func TestEvalSlice(t *testing.T) {
	v := func(g *Graph) *Node { return constLit(g, Shape{10}, seqFrom(0, 10)...) }
	m := func(g *Graph) *Node { return constLit(g, Shape{3, 4}, seqFrom(0, 12)...) }
	sl := func(start, end, step int) func(g *Graph) *Node {
		return func(g *Graph) *Node { return Slice(v(g), 0, start, end, step) }
	}
	runEvalCases(t, []evalCase{
		{"range", sl(2, 7, 1), nil, tensorLit(Shape{5}, 2, 3, 4, 5, 6)},
		{"step 3 to end", sl(1, End, 3), nil, tensorLit(Shape{3}, 1, 4, 7)},
		{"negative start", sl(-3, End, 1), nil, tensorLit(Shape{3}, 7, 8, 9)},
		{"negative end", sl(0, -7, 1), nil, tensorLit(Shape{3}, 0, 1, 2)},
		{"start clamped", sl(-100, 3, 1), nil, tensorLit(Shape{3}, 0, 1, 2)},
		{"end clamped", sl(5, 100, 1), nil, tensorLit(Shape{5}, 5, 6, 7, 8, 9)},
		{"empty", sl(5, 5, 1), nil, tensorLit(Shape{0})},
		{"reversed empty", sl(2, 7, -1), nil, tensorLit(Shape{0})},
		{"step -1", sl(7, 2, -1), nil, tensorLit(Shape{5}, 7, 6, 5, 4, 3)},
		{"full reverse", sl(-1, math.MinInt32, -1), nil, tensorLit(Shape{10}, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)},
		{"step -3", sl(8, 0, -3), nil, tensorLit(Shape{3}, 8, 5, 2)},
		// start 20 clamps to 9, end -20+10 = -10 clamps to -1 (before 0).
		{"step -4 clamped", sl(20, -20, -4), nil, tensorLit(Shape{3}, 9, 5, 1)},
		{"last axis", func(g *Graph) *Node { return Slice(m(g), -1, 0, End, 2) }, nil,
			tensorLit(Shape{3, 2}, 0, 2, 4, 6, 8, 10)},
		// Rows 2, 0 (reversed by 2), columns 1, 2.
		{"two axes", func(g *Graph) *Node {
			return SliceAxes(m(g), SliceAttr{Axes: []int{0, 1}, Starts: []int{-1, 1}, Ends: []int{math.MinInt32, 3}, Steps: []int{-2, 1}})
		}, nil, tensorLit(Shape{2, 2}, 9, 10, 1, 2)},
		{"dynamic", func(g *Graph) *Node { return Slice(g.Input("x", Shape{-1}), 0, 1, -1, 1) },
			map[string]*Tensor{"x": tensorLit(Shape{4}, 1, 2, 3, 4)}, tensorLit(Shape{2}, 2, 3)},
	})
}

func TestEvalPad(t *testing.T) {
	v := func(g *Graph) *Node { return constLit(g, Shape{3}, 1, 2, 3) }
	m := func(g *Graph) *Node { return constLit(g, Shape{2, 3}, 1, 2, 3, 4, 5, 6) }
	runEvalCases(t, []evalCase{
		{"constant 1d", func(g *Graph) *Node { return Pad(v(g), PadConstant, 9, 2, 1) }, nil, tensorLit(Shape{6}, 9, 9, 1, 2, 3, 9)},
		// Reflect mirrors about the edge element without repeating it.
		{"reflect 1d", func(g *Graph) *Node { return Pad(v(g), PadReflect, 0, 2, 1) }, nil, tensorLit(Shape{6}, 3, 2, 1, 2, 3, 2)},
		{"edge 1d", func(g *Graph) *Node { return Pad(v(g), PadEdge, 0, 2, 1) }, nil, tensorLit(Shape{6}, 1, 1, 1, 2, 3, 3)},
		{"no pad", func(g *Graph) *Node { return Pad(v(g), PadReflect, 0, 0, 0) }, nil, tensorLit(Shape{3}, 1, 2, 3)},
		// Pads: axis 0 begin 1, axis 1 begin 2, axis 0 end 0, axis 1 end 1.
		{"constant 2d", func(g *Graph) *Node { return Pad(m(g), PadConstant, 0, 1, 2, 0, 1) }, nil,
			tensorLit(Shape{3, 6}, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0)},
		// Rows come from 1, 0, 1; columns from 2, 1, 0, 1, 2, 1.
		{"reflect 2d", func(g *Graph) *Node { return Pad(m(g), PadReflect, 0, 1, 2, 0, 1) }, nil,
			tensorLit(Shape{3, 6}, 6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5)},
		// Rows come from 0, 0, 1; columns from 0, 0, 0, 1, 2, 2.
		{"edge 2d", func(g *Graph) *Node { return Pad(m(g), PadEdge, 0, 1, 2, 0, 1) }, nil,
			tensorLit(Shape{3, 6}, 1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6)},
		// Rows and columns come from 1, 0, 1, 0.
		{"reflect nchw", func(g *Graph) *Node { return Pad2D(constLit(g, Shape{1, 1, 2, 2}, 1, 2, 3, 4), PadReflect, 1) }, nil,
			tensorLit(Shape{1, 1, 4, 4}, 4, 3, 4, 3, 2, 1, 2, 1, 4, 3, 4, 3, 2, 1, 2, 1)},
		{"edge nchw", func(g *Graph) *Node { return Pad2D(constLit(g, Shape{1, 1, 2, 2}, 1, 2, 3, 4), PadEdge, 1) }, nil,
			tensorLit(Shape{1, 1, 4, 4}, 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4)},
		{"reflect dynamic", func(g *Graph) *Node { return Pad(g.Input("x", Shape{-1}), PadReflect, 0, 1, 1) },
			map[string]*Tensor{"x": tensorLit(Shape{4}, 1, 2, 3, 4)}, tensorLit(Shape{6}, 2, 1, 2, 3, 4, 3)},
	})
}

func TestEvalMatMul(t *testing.T) {
	runEvalCases(t, []evalCase{
		// Row 0: 1*7+2*9+3*11, 1*8+2*10+3*12; row 1: 4*7+5*9+6*11, 4*8+5*10+6*12.
		{"2d", func(g *Graph) *Node {
			return MatMul(constLit(g, Shape{2, 3}, 1, 2, 3, 4, 5, 6), constLit(g, Shape{3, 2}, 7, 8, 9, 10, 11, 12))
		}, nil, tensorLit(Shape{2, 2}, 58, 64, 139, 154)},
		{"inner product", func(g *Graph) *Node {
			return MatMul(constLit(g, Shape{1, 2}, 1, 2), constLit(g, Shape{2, 1}, 3, 4))
		}, nil, tensorLit(Shape{1, 1}, 11)},
		// Each 1x2 row of a times the shared column {5, 6}.
		{"batch against rank 2", func(g *Graph) *Node {
			return MatMul(constLit(g, Shape{2, 1, 2}, 1, 2, 3, 4), constLit(g, Shape{2, 1}, 5, 6))
		}, nil, tensorLit(Shape{2, 1, 1}, 17, 39)},
		// Batch [2,1] with [3] gives [2,3]: rows {1,2}, {3,4} times
		// columns {1,0}, {0,1}, {1,1}.
		{"broadcast batch", func(g *Graph) *Node {
			return MatMul(constLit(g, Shape{2, 1, 1, 2}, 1, 2, 3, 4), constLit(g, Shape{3, 2, 1}, 1, 0, 0, 1, 1, 1))
		}, nil, tensorLit(Shape{2, 3, 1, 1}, 1, 2, 3, 3, 4, 7)},
		{"batched same", func(g *Graph) *Node {
			return MatMul(constLit(g, Shape{2, 2, 2}, 1, 2, 3, 4, 1, 0, 0, 1), constLit(g, Shape{2, 2, 2}, 1, 0, 0, 1, 5, 6, 7, 8))
		}, nil, tensorLit(Shape{2, 2, 2}, 1, 2, 3, 4, 5, 6, 7, 8)},
		{"dynamic", func(g *Graph) *Node {
			return MatMul(g.Input("a", Shape{-1, 2}), constLit(g, Shape{2, 1}, 1, 1))
		}, map[string]*Tensor{"a": tensorLit(Shape{3, 2}, 1, 2, 3, 4, 5, 6)}, tensorLit(Shape{3, 1}, 3, 7, 11)},
	})
}

func TestEvalConv(t *testing.T) {
	x33 := func(g *Graph) *Node { return constLit(g, Shape{1, 1, 3, 3}, seqFrom(1, 9)...) }
	w1234 := func(g *Graph) *Node { return constLit(g, Shape{1, 1, 2, 2}, 1, 2, 3, 4) }
	ones := func(g *Graph, shape Shape) *Node {
		t := NewTensor(shape)
		for i := range t.Data {
			t.Data[i] = 1
		}
		return g.Const(t)
	}
	runEvalCases(t, []evalCase{
		// Window sums of 1..9 in a 3x3 grid.
		{"sum windows", func(g *Graph) *Node { return Conv(x33(g), ones(g, Shape{1, 1, 2, 2}), nil, ConvOpts{}) }, nil,
			tensorLit(Shape{1, 1, 2, 2}, 12, 16, 24, 28)},
		{"bias", func(g *Graph) *Node {
			return Conv(x33(g), ones(g, Shape{1, 1, 2, 2}), constLit(g, Shape{1}, 10), ConvOpts{})
		}, nil, tensorLit(Shape{1, 1, 2, 2}, 22, 26, 34, 38)},
		// y[0,0] = 1*1+2*2+3*4+4*5 and so on (cross-correlation, no flip).
		{"weights", func(g *Graph) *Node { return Conv(x33(g), w1234(g), nil, ConvOpts{}) }, nil,
			tensorLit(Shape{1, 1, 2, 2}, 37, 47, 67, 77)},
		// y[r,c] = sum w[i,j] x[2r-1+i, 2c+j]: 3*1+4*2, 3*3, 1*4+2*5+3*7+4*8, 1*6+3*9.
		{"stride 2 asymmetric pads", func(g *Graph) *Node {
			return ConvWith(x33(g), w1234(g), nil, ConvAttr{Strides: [2]int{2, 2}, Pads: [4]int{1, 0, 0, 1}, Dilations: [2]int{1, 1}})
		}, nil, tensorLit(Shape{1, 1, 2, 2}, 11, 9, 67, 33)},
		// x[r,c] = 4r+c+1; y[r,c] = x[r,c]+2x[r,c+2]+3x[r+2,c]+4x[r+2,c+2] = 10(4r+c)+78.
		{"dilation 2", func(g *Graph) *Node {
			return Conv(constLit(g, Shape{1, 1, 4, 4}, seqFrom(1, 16)...), w1234(g), nil, ConvOpts{Dilation: 2})
		}, nil, tensorLit(Shape{1, 1, 2, 2}, 78, 88, 118, 128)},
		// Every 3x3 window around a 2x2 input with pad 1 covers all of it.
		{"pad 1", func(g *Graph) *Node {
			return Conv(constLit(g, Shape{1, 1, 2, 2}, 1, 2, 3, 4), ones(g, Shape{1, 1, 3, 3}), nil, ConvOpts{Pad: 1})
		}, nil, tensorLit(Shape{1, 1, 2, 2}, 10, 10, 10, 10)},
		// Rows: x[r,c] with stride (1,2) and a 1x1 kernel of 2.
		{"stride per axis", func(g *Graph) *Node {
			return ConvWith(x33(g), constLit(g, Shape{1, 1, 1, 1}, 2), nil, ConvAttr{Strides: [2]int{1, 2}, Dilations: [2]int{1, 1}})
		}, nil, tensorLit(Shape{1, 1, 3, 2}, 2, 6, 8, 12, 14, 18)},
		// Output 0 sums the channels, output 1 subtracts them, plus bias 100.
		{"channels", func(g *Graph) *Node {
			return Conv(constLit(g, Shape{1, 2, 2, 2}, seqFrom(1, 8)...), constLit(g, Shape{2, 2, 1, 1}, 1, 1, 1, -1), constLit(g, Shape{2}, 0, 100), ConvOpts{})
		}, nil, tensorLit(Shape{1, 2, 2, 2}, 6, 8, 10, 12, 96, 96, 96, 96)},
		{"batch", func(g *Graph) *Node {
			return Conv(constLit(g, Shape{2, 1, 1, 2}, 1, 2, 3, 4), constLit(g, Shape{1, 1, 1, 2}, 1, 10), nil, ConvOpts{})
		}, nil, tensorLit(Shape{2, 1, 1, 1}, 21, 43)},
		{"dynamic", func(g *Graph) *Node {
			return Conv(g.Input("x", Shape{-1, 1, -1, -1}), w1234(g), nil, ConvOpts{})
		}, map[string]*Tensor{"x": tensorLit(Shape{1, 1, 3, 3}, seqFrom(1, 9)...)}, tensorLit(Shape{1, 1, 2, 2}, 37, 47, 67, 77)},
	})
}

func TestEvalConvTranspose(t *testing.T) {
	x22 := func(g *Graph) *Node { return constLit(g, Shape{1, 1, 2, 2}, 1, 2, 3, 4) }
	w1234 := func(g *Graph) *Node { return constLit(g, Shape{1, 1, 2, 2}, 1, 2, 3, 4) }
	ones := func(g *Graph) *Node { return constLit(g, Shape{1, 1, 2, 2}, 1, 1, 1, 1) }
	runEvalCases(t, []evalCase{
		// Stride 2 with a 2x2 kernel tiles x[y,x]*w into disjoint 2x2 blocks.
		{"stride 2 blocks", func(g *Graph) *Node { return ConvTranspose(x22(g), w1234(g), nil, ConvOpts{Stride: 2}) }, nil,
			tensorLit(Shape{1, 1, 4, 4},
				1, 2, 2, 4,
				3, 4, 6, 8,
				3, 6, 4, 8,
				9, 12, 12, 16)},
		// Output padding adds a last row and column that only the bias reaches.
		{"output padding and bias", func(g *Graph) *Node {
			return ConvTranspose(x22(g), w1234(g), constLit(g, Shape{1}, 0.5), ConvOpts{Stride: 2, OutputPadding: 1})
		}, nil, tensorLit(Shape{1, 1, 5, 5},
			1.5, 2.5, 2.5, 4.5, 0.5,
			3.5, 4.5, 6.5, 8.5, 0.5,
			3.5, 6.5, 4.5, 8.5, 0.5,
			9.5, 12.5, 12.5, 16.5, 0.5,
			0.5, 0.5, 0.5, 0.5, 0.5)},
		// Stride 1: every x[y,x] adds to the 2x2 block at (y,x).
		{"stride 1 overlap", func(g *Graph) *Node { return ConvTranspose(x22(g), ones(g), nil, ConvOpts{}) }, nil,
			tensorLit(Shape{1, 1, 3, 3}, 1, 3, 2, 4, 10, 6, 3, 7, 4)},
		// Pads top 1, right 1 crop the first row and the last column of the
		// stride 1 result above.
		{"asymmetric pads crop", func(g *Graph) *Node {
			return ConvTransposeWith(x22(g), ones(g), nil, ConvAttr{Strides: [2]int{1, 1}, Pads: [4]int{1, 0, 0, 1}, Dilations: [2]int{1, 1}})
		}, nil, tensorLit(Shape{1, 1, 2, 2}, 4, 10, 3, 7)},
		// x[x] * w[j] lands at x + 2j.
		{"dilation 2", func(g *Graph) *Node {
			return ConvTranspose(constLit(g, Shape{1, 1, 1, 2}, 1, 2), constLit(g, Shape{1, 1, 1, 2}, 1, 10), nil, ConvOpts{Dilation: 2})
		}, nil, tensorLit(Shape{1, 1, 1, 4}, 1, 2, 10, 20)},
		// Weight is [C_in, C_out, kh, kw]: out[o] = 1*w[0,o] + 2*w[1,o].
		{"channels", func(g *Graph) *Node {
			return ConvTranspose(constLit(g, Shape{1, 2, 1, 1}, 1, 2), constLit(g, Shape{2, 3, 1, 1}, 1, 2, 3, 10, 20, 30), nil, ConvOpts{})
		}, nil, tensorLit(Shape{1, 3, 1, 1}, 21, 42, 63)},
	})
}

func TestEvalConvFilterGrad(t *testing.T) {
	x33 := func(g *Graph) *Node { return constLit(g, Shape{1, 1, 3, 3}, seqFrom(1, 9)...) }
	unit := ConvAttr{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Kernel: [2]int{2, 2}}
	runEvalCases(t, []evalCase{
		// A one-hot dy picks the window at its position.
		{"one hot", func(g *Graph) *Node { return ConvFilterGrad(x33(g), constLit(g, Shape{1, 1, 2, 2}, 1, 0, 0, 0), unit) }, nil,
			tensorLit(Shape{1, 1, 2, 2}, 1, 2, 4, 5)},
		{"ones", func(g *Graph) *Node { return ConvFilterGrad(x33(g), constLit(g, Shape{1, 1, 2, 2}, 1, 1, 1, 1), unit) }, nil,
			tensorLit(Shape{1, 1, 2, 2}, 12, 16, 24, 28)},
		// dw[i,j] = sum dy[y,x] x[2y-1+i, 2x+j]: 3*4+4*6, 3*5, 1*1+2*3+3*7+4*9, 1*2+3*8.
		{"stride 2 asymmetric pads", func(g *Graph) *Node {
			return ConvFilterGrad(x33(g), constLit(g, Shape{1, 1, 2, 2}, 1, 2, 3, 4),
				ConvAttr{Strides: [2]int{2, 2}, Pads: [4]int{1, 0, 0, 1}, Dilations: [2]int{1, 1}, Kernel: [2]int{2, 2}})
		}, nil, tensorLit(Shape{1, 1, 2, 2}, 36, 15, 64, 26)},
		// dw[o,c] = dy[o] * x[c].
		{"channels", func(g *Graph) *Node {
			return ConvFilterGrad(constLit(g, Shape{1, 2, 1, 1}, 2, 3), constLit(g, Shape{1, 3, 1, 1}, 1, 10, 100),
				ConvAttr{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Kernel: [2]int{1, 1}})
		}, nil, tensorLit(Shape{3, 2, 1, 1}, 2, 3, 20, 30, 200, 300)},
		// Sums over the batch: 1*1 + 1*10 ... per tap.
		{"batch", func(g *Graph) *Node {
			return ConvFilterGrad(constLit(g, Shape{2, 1, 1, 2}, 1, 2, 10, 20), constLit(g, Shape{2, 1, 1, 1}, 1, 2),
				ConvAttr{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Kernel: [2]int{1, 2}})
		}, nil, tensorLit(Shape{1, 1, 1, 2}, 21, 42)},
		// x[r,c] = 4r+c+1, dilation 2, dy ones: dw[i,j] = sum_{r,c<2} x[r+2i, c+2j] = 14 + 32i + 8j.
		{"dilation 2", func(g *Graph) *Node {
			return ConvFilterGrad(constLit(g, Shape{1, 1, 4, 4}, seqFrom(1, 16)...), constLit(g, Shape{1, 1, 2, 2}, 1, 1, 1, 1),
				ConvAttr{Strides: [2]int{1, 1}, Dilations: [2]int{2, 2}, Kernel: [2]int{2, 2}})
		}, nil, tensorLit(Shape{1, 1, 2, 2}, 14, 22, 46, 54)},
	})
}

func TestEvalInstanceNorm(t *testing.T) {
	const eps = 1e-5
	// Sample 0: channel 0 {1,2,3,4} has mean 2.5 and variance 1.25;
	// channel 1 is constant. Sample 1: channel 0 {2,4,6,8} has mean 5 and
	// variance 5; channel 1 {-1,1,-1,1} has mean 0 and variance 1.
	x := func(g *Graph) *Node {
		return constLit(g, Shape{2, 2, 2, 2}, 1, 2, 3, 4, 5, 5, 5, 5, 2, 4, 6, 8, -1, 1, -1, 1)
	}
	a, b, c := 1/math.Sqrt(1.25+eps), 1/math.Sqrt(5+eps), 1/math.Sqrt(1+eps)
	runEvalCases(t, []evalCase{
		{"plain", func(g *Graph) *Node { return InstanceNorm(x(g), nil, nil, eps) }, nil,
			tensorLit(Shape{2, 2, 2, 2},
				-1.5*a, -0.5*a, 0.5*a, 1.5*a, 0, 0, 0, 0,
				-3*b, -1*b, 1*b, 3*b, -c, c, -c, c)},
		{"scale and bias", func(g *Graph) *Node {
			return InstanceNorm(x(g), constLit(g, Shape{2}, 2, 3), constLit(g, Shape{2}, 1, -1), eps)
		}, nil, tensorLit(Shape{2, 2, 2, 2},
			1-3*a, 1-a, 1+a, 1+3*a, -1, -1, -1, -1,
			1-6*b, 1-2*b, 1+2*b, 1+6*b, -1-3*c, -1+3*c, -1-3*c, -1+3*c)},
	})
}
