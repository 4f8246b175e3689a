package nn

import (
	"math"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/graph"
)

// TestNormStatOutputs checks the statistics that train-mode norm layers
// with running statistics report: batch mean and unbiased variance over
// N, H, W for batch norm; per-image mean and unbiased variance over H, W
// averaged over N for affine instance norm. Eval-mode scopes report none.
func TestNormStatOutputs(t *testing.T) {
	const n, c, h, w = 2, 3, 2, 3
	x := make([]float32, n*c*h*w)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*1.7) + 0.1*float64(i%5))
	}
	at := func(b, ch, k int) float64 { return float64(x[(b*c+ch)*h*w+k]) }
	if got := NormStatName("G/", "model.2", "", "var"); got != "bnstat/G/model.2/var" {
		t.Errorf("NormStatName without a call tag = %q; want bnstat/G/model.2/var", got)
	}
	for _, tc := range []struct {
		kind  Norm
		train bool
	}{{NormBatch, true}, {NormInstanceAffine, true}, {NormBatch, false}, {NormInstanceAffine, false}, {NormInstance, true}} {
		var outs []graph.Output
		g, err := graph.Build(func(g *graph.Graph) {
			s := NewScope(g, "G/")
			s.Train = tc.train
			in := g.Input("x", graph.Shape{n, c, h, w})
			g.Output("y", ApplyNorm(s.Sub("model").Sub(2).WithCall("fake"), in, tc.kind, c))
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range g.Outputs() {
			if strings.HasPrefix(o.Name, NormStatPrefix) {
				outs = append(outs, o)
			}
		}
		tracks := tc.train && tc.kind != NormInstance
		if !tracks {
			if len(outs) != 0 {
				t.Errorf("%v train=%v: %d norm-statistics outputs; want none", tc.kind, tc.train, len(outs))
			}
			continue
		}
		if len(outs) != 2 || outs[0].Name != "bnstat/G/model.2@fake/mean" || outs[1].Name != "bnstat/G/model.2@fake/var" {
			t.Fatalf("%v: outputs %v; want bnstat/G/model.2@fake/{mean,var}", tc.kind, outs)
		}
		feeds := map[string]*graph.Tensor{"x": graph.TensorFromFloat32(graph.Shape{n, c, h, w}, x)}
		for _, in := range g.Inputs() {
			if in.Name() != "x" {
				v := make([]float32, in.Shape().Size())
				for i := range v {
					v[i] = 1
				}
				feeds[in.Name()] = graph.TensorFromFloat32(in.Shape(), v)
			}
		}
		got, err := graph.Eval(feeds, outs[0].Node, outs[1].Node)
		if err != nil {
			t.Fatal(err)
		}
		for ch := range c {
			var wantMean, wantVar float64
			if tc.kind == NormBatch {
				var sum, sq float64
				for b := range n {
					for k := range h * w {
						sum += at(b, ch, k)
					}
				}
				wantMean = sum / (n * h * w)
				for b := range n {
					for k := range h * w {
						sq += (at(b, ch, k) - wantMean) * (at(b, ch, k) - wantMean)
					}
				}
				wantVar = sq / (n*h*w - 1)
			} else {
				for b := range n {
					var sum, sq float64
					for k := range h * w {
						sum += at(b, ch, k)
					}
					m := sum / (h * w)
					for k := range h * w {
						sq += (at(b, ch, k) - m) * (at(b, ch, k) - m)
					}
					wantMean += m / n
					wantVar += sq / (h*w - 1) / n
				}
			}
			if d := math.Abs(float64(got[0].Float32()[ch]) - wantMean); d > 1e-6 {
				t.Errorf("%v channel %d: mean %v; want %v", tc.kind, ch, got[0].Float32()[ch], wantMean)
			}
			if d := math.Abs(float64(got[1].Float32()[ch]) - wantVar); d > 1e-5*wantVar {
				t.Errorf("%v channel %d: var %v; want %v", tc.kind, ch, got[1].Float32()[ch], wantVar)
			}
		}
	}
}

// TestNormStatsNeedTwoValues checks that a train-mode batch norm over one
// value per channel fails to build, as PyTorch refuses it.
func TestNormStatsNeedTwoValues(t *testing.T) {
	_, err := graph.Build(func(g *graph.Graph) {
		s := NewScope(g, "D/")
		s.Train = true
		ApplyNorm(s.Sub(3), g.Input("x", graph.Shape{1, 2, 1, 1}), NormBatch, 2)
	})
	if err == nil || !strings.Contains(err.Error(), "more than one value per channel") {
		t.Fatalf("got %v; want a 'more than one value per channel' error", err)
	}
}
