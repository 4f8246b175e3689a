package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestLRPolicy(t *testing.T) {
	cases := []struct {
		p    LRPolicy
		e    int
		want float64
	}{
		{LRPolicy{Name: "linear", Epochs: 100, EpochsDecay: 100}, 1, 1},
		{LRPolicy{Name: "linear", Epochs: 100, EpochsDecay: 100}, 100, 1},
		{LRPolicy{Name: "linear", Epochs: 100, EpochsDecay: 100}, 101, 1 - 1.0/101},
		{LRPolicy{Name: "linear", Epochs: 100, EpochsDecay: 100}, 200, 1 - 100.0/101},
		{LRPolicy{Name: "step", DecayIters: 50}, 50, 1},
		{LRPolicy{Name: "step", DecayIters: 50}, 51, 0.1},
		{LRPolicy{Name: "cosine", Epochs: 4}, 3, 0.5},
	}
	for _, c := range cases {
		got, err := c.p.Factor(c.e)
		if err != nil || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s epoch %d: got %v, %v; want %v", c.p.Name, c.e, got, err, c.want)
		}
	}
	if _, err := (LRPolicy{Name: "plateau"}).Factor(1); err == nil {
		t.Error("unknown policy: got nil error")
	}
}

func TestStarGANDecay(t *testing.T) {
	// The reference: 200000 iterations, the last 100000 decaying, an update
	// every 1000. Iteration 100999 ends with the first update.
	d := StarGANDecay{Iters: 200000, DecayIters: 100000, UpdateStep: 1000}
	ref := d
	ref.Reference = true
	cases := []struct {
		i             int
		linear, refLR float64
	}{
		{0, 1e-4, 1e-4},
		{100999, 1e-4, 1e-4},
		{101000, 1e-4 * 0.99, 1e-4 - 1e-9},
		{199999, 1e-4 * 0.01, 1e-4 - 99*1e-9},
	}
	for _, c := range cases {
		if got := d.LR(1e-4, c.i); math.Abs(got-c.linear) > 1e-15 {
			t.Errorf("linear LR(%d) = %.10g; want %.10g", c.i, got, c.linear)
		}
		if got := ref.LR(1e-4, c.i); math.Abs(got-c.refLR) > 1e-15 {
			t.Errorf("reference LR(%d) = %.10g; want %.10g", c.i, got, c.refLR)
		}
	}
	// Linear reaches zero once the last update is done.
	if got := d.LR(1e-4, 200000); got != 0 {
		t.Errorf("linear LR after the last iteration = %v; want 0", got)
	}
}

func TestImagePool(t *testing.T) {
	p := NewImagePool(2)
	r := rand.New(rand.NewPCG(1, 1))
	out := make([]float32, 2)
	p.Query([]float32{1, 2}, 1, out, r) // fills the pool
	if out[0] != 1 || out[1] != 2 || len(p.Images()) != 2 {
		t.Fatalf("filling: got %v with %d stored; want [1 2] with 2", out, len(p.Images()))
	}
	swapped, kept := 0, 0
	for i := range 200 {
		v := float32(10 + i)
		p.Query([]float32{v}, 1, out[:1], r)
		if out[0] == v {
			kept++
		} else {
			swapped++
		}
	}
	// About half the queries return a stored image.
	if swapped < 70 || kept < 70 {
		t.Errorf("got %d swapped and %d kept of 200; want about half each", swapped, kept)
	}
	off := NewImagePool(0)
	off.Query([]float32{5, 6}, 2, out, r)
	if out[0] != 5 || out[1] != 6 || len(off.Images()) != 0 {
		t.Errorf("pool 0: got %v; want the input, nothing stored", out)
	}
}
