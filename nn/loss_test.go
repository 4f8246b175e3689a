package nn

import (
	"math"
	"testing"

	"github.com/ganrt/ganrt/graph"
)

func evalLoss(t *testing.T, build func(x, y *graph.Node) *graph.Node, xs, ys []float64, shape graph.Shape) float64 {
	t.Helper()
	g := graph.New()
	x, y := g.Input("x", shape), g.Input("y", shape)
	out, err := graph.Eval(map[string]*graph.Tensor{"x": graph.TensorOf(shape, xs), "y": graph.TensorOf(shape, ys)}, build(x, y))
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Data[0]
}

func TestLosses(t *testing.T) {
	softplus := func(v float64) float64 { return math.Log1p(math.Exp(v)) }
	cases := []struct {
		name   string
		build  func(x, y *graph.Node) *graph.Node
		x, y   []float64
		shape  graph.Shape
		want   float64
		relTol float64
	}{
		{"mse", MSE, []float64{1, 2, 3, 4}, []float64{0, 2, 5, 4}, graph.Shape{2, 2}, (1 + 0 + 4 + 0) / 4.0, 1e-15},
		{"l1", L1, []float64{1, 2, 3, 4}, []float64{0, 2, 5, 4}, graph.Shape{2, 2}, (1 + 0 + 2 + 0) / 4.0, 1e-15},
		// BCE with logits: softplus(x) - x*t = log(1+e^x) - x*t.
		{"bce", BCEWithLogits, []float64{2, -30, 0, 40}, []float64{1, 0, 1, 0}, graph.Shape{4},
			(softplus(2) - 2 + softplus(-30) + softplus(0) + 40) / 4, 1e-12},
		{"bce-sum", BCEWithLogitsSum, []float64{2, -3, 0.5, 1}, []float64{1, 0, 0, 1}, graph.Shape{2, 2},
			(softplus(2) - 2 + softplus(-3) + softplus(0.5) + softplus(1) - 1) / 2, 1e-12},
		// Cross-entropy of logits (1,2,3) with class 2 and (5,5,5) with class 0.
		{"crossentropy", CrossEntropy, []float64{1, 2, 3, 500, 500, 500}, []float64{0, 0, 1, 1, 0, 0}, graph.Shape{2, 3},
			(-(3 - math.Log(math.Exp(1)+math.Exp(2)+math.Exp(3))) + math.Log(3)) / 2, 1e-12},
	}
	for _, c := range cases {
		got := evalLoss(t, c.build, c.x, c.y, c.shape)
		if math.Abs(got-c.want) > c.relTol*math.Abs(c.want) {
			t.Errorf("%s: got %.15g; want %.15g", c.name, got, c.want)
		}
	}
}

func TestGANLossTargets(t *testing.T) {
	g := graph.New()
	pred := g.Input("p", graph.Shape{2})
	feeds := map[string]*graph.Tensor{"p": graph.TensorOf(graph.Shape{2}, []float64{0.5, -1})}
	cases := []struct {
		mode GANMode
		real bool
		want float64
	}{
		{LSGAN, true, (0.25 + 4) / 2},
		{LSGAN, false, (0.25 + 1) / 2},
		{WGANGP, true, 0.25},
		{WGANGP, false, -0.25},
		{Vanilla, true, (math.Log1p(math.Exp(-0.5)) + math.Log1p(math.Exp(1))) / 2},
	}
	for _, c := range cases {
		out, err := graph.Eval(feeds, GANLoss(c.mode, pred, c.real))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(out[0].Data[0]-c.want) > 1e-12 {
			t.Errorf("%s real=%v: got %.15g; want %.15g", c.mode, c.real, out[0].Data[0], c.want)
		}
	}
}
