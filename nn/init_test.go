package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ganrt/ganrt/graph"
)

func testRegistry(t *testing.T) *Registry {
	t.Helper()
	var reg *Registry
	if _, err := graph.Build(func(g *graph.Graph) {
		s := NewScope(g, "")
		x := g.Input("x", graph.Shape{1, 8, 16, 16})
		h := Conv2d(s.Sub(0), x, 8, 64, 3, graph.ConvOpts{Pad: 1}, true)
		h = ApplyNorm(s.Sub(1), h, NormInstanceAffine, 64)
		ConvTranspose2d(s.Sub(2), h, 64, 32, 4, graph.ConvOpts{Stride: 2, Pad: 1}, false)
		reg = s.Registry()
	}); err != nil {
		t.Fatal(err)
	}
	return reg
}

func stats(v []float32) (mean, std float64) {
	for _, x := range v {
		mean += float64(x)
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (float64(x) - mean) * (float64(x) - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)))
}

func TestInitDistributions(t *testing.T) {
	reg := testRegistry(t)
	// conv 0: fan_in 8*9=72, fan_out 64*9=576.
	cases := []struct {
		scheme  InitScheme
		gain    float64
		wantStd float64
	}{
		{InitNormal, 0.02, 0.02},
		{InitXavier, 0.02, 0.02 * math.Sqrt(2.0/(72+576))},
		{InitKaiming, 0.02, math.Sqrt(2.0 / 72)},
		{InitPyTorch, 0, 1 / math.Sqrt(72) / math.Sqrt(3)},
	}
	for _, c := range cases {
		w := Init(reg, c.scheme, c.gain, rand.New(rand.NewPCG(1, 2)))
		mean, std := stats(w["0.weight"])
		if math.Abs(mean) > 0.1*c.wantStd || math.Abs(std-c.wantStd) > 0.05*c.wantStd {
			t.Errorf("%s: weight mean %.4g std %.4g; want 0 and %.4g", c.scheme, mean, std, c.wantStd)
		}
		if c.scheme != InitPyTorch && w["0.bias"][5] != 0 {
			t.Errorf("%s: bias not zero", c.scheme)
		}
		if w["1.running_var"][3] != 1 || w["1.running_mean"][3] != 0 {
			t.Errorf("%s: running stats not 1/0", c.scheme)
		}
	}
}

func TestInitOrthogonal(t *testing.T) {
	reg := testRegistry(t)
	w := Init(reg, InitOrthogonal, 1, rand.New(rand.NewPCG(3, 4)))["0.weight"]
	// 64 rows of 72: the rows are orthonormal.
	rows, cols := 64, 72
	for i := range rows {
		for j := range rows {
			dot := 0.0
			for k := range cols {
				dot += float64(w[i*cols+k]) * float64(w[j*cols+k])
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(dot-want) > 1e-5 {
				t.Fatalf("row %d . row %d = %.6g; want %v", i, j, dot, want)
			}
		}
	}
}

func TestInitDeterministic(t *testing.T) {
	reg := testRegistry(t)
	a := Init(reg, InitNormal, 0.02, rand.New(rand.NewPCG(9, 9)))
	b := Init(reg, InitNormal, 0.02, rand.New(rand.NewPCG(9, 9)))
	for k := range a {
		for i := range a[k] {
			if a[k][i] != b[k][i] {
				t.Fatalf("%s[%d] differs between runs with one seed", k, i)
			}
		}
	}
}
