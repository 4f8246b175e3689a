package nn

import (
	"math"
	"testing"

	"github.com/ganrt/ganrt/graph"
)

// TestAdamUpdateSequence runs the Adam graph for three steps on two
// parameters with changing gradients and compares with the update worked
// out by hand (step 1) and with a scalar re-statement of PyTorch's loop.
func TestAdamUpdateSequence(t *testing.T) {
	adam := Adam{Beta1: 0.5, Beta2: 0.999, Eps: 1e-8}
	g := graph.New()
	p, gr := g.Input("p", graph.Shape{2}), g.Input("g", graph.Shape{2})
	m, v := g.Input("m", graph.Shape{2}), g.Input("v", graph.Shape{2})
	ss, bc := g.Input("step_size", graph.Shape{}), g.Input("bc2_sqrt", graph.Shape{})
	np, nm, nv := adam.Update(p, gr, m, v, ss, bc)

	const lr = 2e-4
	params := []float64{1, -0.5}
	ms, vs := []float64{0, 0}, []float64{0, 0}
	gradSeq := [][]float64{{0.5, -2}, {0.1, 3}, {-0.2, 0}}
	for step, grads := range gradSeq {
		t1 := step + 1
		sc := adam.Scalars(lr, t1)
		out, err := graph.Eval(map[string]*graph.Tensor{
			"p": graph.TensorOf(graph.Shape{2}, append([]float64(nil), params...)),
			"g": graph.TensorOf(graph.Shape{2}, grads),
			"m": graph.TensorOf(graph.Shape{2}, ms), "v": graph.TensorOf(graph.Shape{2}, vs),
			"step_size": graph.TensorOf(graph.Shape{}, []float64{sc.StepSize}),
			"bc2_sqrt":  graph.TensorOf(graph.Shape{}, []float64{sc.BC2Sqrt}),
		}, np, nm, nv)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, 2)
		for i, gi := range grads {
			mi := 0.5*ms[i] + 0.5*gi
			vi := 0.999*vs[i] + 0.001*gi*gi
			mhat := mi / (1 - math.Pow(0.5, float64(t1)))
			vhat := vi / (1 - math.Pow(0.999, float64(t1)))
			want[i] = params[i] - lr*mhat/(math.Sqrt(vhat)+1e-8)
			ms[i], vs[i] = mi, vi
		}
		if step == 0 {
			// By hand: m^ = g and v^ = g^2, so each parameter moves by lr
			// against the sign of its gradient.
			hand := []float64{1 - lr*0.5/(0.5+1e-8), -0.5 + lr*2/(2+1e-8)}
			for i := range hand {
				if math.Abs(want[i]-hand[i]) > 1e-15 {
					t.Fatalf("scalar restatement %v disagrees with hand values %v", want, hand)
				}
			}
		}
		for i := range want {
			if d := math.Abs(out[0].Data[i] - want[i]); d > 1e-12 {
				t.Fatalf("step %d param %d: got %.15g; want %.15g", t1, i, out[0].Data[i], want[i])
			}
			if out[1].Data[i] != ms[i] || math.Abs(out[2].Data[i]-vs[i]) > 1e-15*vs[i] {
				t.Fatalf("step %d moments %d: got m %v v %v; want m %v v %v", t1, i, out[1].Data[i], out[2].Data[i], ms[i], vs[i])
			}
		}
		params = want
	}
}
