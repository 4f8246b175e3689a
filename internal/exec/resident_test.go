package exec_test

import (
	"slices"
	"testing"

	. "github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/internal/exec"
	"github.com/ganrt/ganrt/internal/ort"
)

// sgdStep is a tiny training step: loss = sum(w * x), new/w = w - 0.1*x
// (the gradient of the loss), and a second graph that reads w only.
func sgdStep(t *testing.T) (step, read *exec.Exec) {
	t.Helper()
	requireORT(t)
	g, err := Build(func(g *Graph) {
		x := g.Input("x", Shape{2, 3})
		w := g.Param("w", Shape{2, 3})
		g.Output("loss", ReduceSum(Mul(w, x), false))
		g.Output("new/w", Sub(w, MulScalar(x, 0.1)))
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(func(g *Graph) {
		w := g.Param("w", Shape{2, 3})
		g.Output("twice", MulScalar(w, 2))
	})
	if err != nil {
		t.Fatal(err)
	}
	if step, err = exec.Compile(g, exec.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { step.Close() })
	if read, err = exec.Compile(r, exec.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { read.Close() })
	return step, read
}

// TestResident runs the step 3 times with w resident (read from the current
// buffer, the update written to the next and swapped in) and compares
// losses and weights bit for bit with RunInto on Go buffers swapped by
// hand; a second Exec then reads the resident w where it is. Only x and the
// loss cross: the traffic says so.
func TestResident(t *testing.T) {
	step, read := sgdStep(t)
	w0 := []float32{1, -2, 3, 0.5, 0.25, -1}
	xs := [][]float32{{1, 2, 3, 4, 5, 6}, {-1, 0.5, 2, 0, 1, 3}, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}}

	// Reference: Go buffers, swapped after each run.
	cur, next := slices.Clone(w0), make([]float32, 6)
	var wantLoss []float32
	for _, x := range xs {
		loss := []float32{0}
		if err := step.RunInto([]exec.Tensor{{Shape: []int64{2, 3}, Data: x}, {Shape: []int64{2, 3}, Data: cur}},
			[]exec.Tensor{{Shape: []int64{}, Data: loss}, {Shape: []int64{2, 3}, Data: next}}); err != nil {
			t.Fatal(err)
		}
		wantLoss = append(wantLoss, loss[0])
		cur, next = next, cur
	}

	r, err := exec.NewResident(ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	host := slices.Clone(w0)
	if err := r.Add("w", []int64{2, 3}, host); err != nil {
		t.Fatal(err)
	}
	if err := r.Add("w", []int64{3, 2}, host); err == nil {
		t.Error("Add of w with another shape succeeded")
	}
	bd, err := step.Bind(r)
	if err != nil {
		t.Fatal(err)
	}
	defer bd.Close()
	x := make([]float32, 6)
	loss := []float32{0}
	for _, err := range []error{
		bd.Input("x", exec.Tensor{Shape: []int64{2, 3}, Data: x}),
		bd.ResidentInput("w", "w"),
		bd.Output("loss", exec.Tensor{Shape: []int64{}, Data: loss}),
		bd.ResidentOutput("new/w", "w"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := bd.ResidentOutput("loss", "w"); err == nil {
		t.Error("two outputs updating w: no error")
	}
	if err := bd.ResidentInput("x", "nope"); err == nil {
		t.Error("ResidentInput of an unknown tensor: no error")
	}
	if err := bd.Output("loss", exec.Tensor{Shape: []int64{}, Data: loss}); err != nil {
		t.Fatal(err)
	}
	for i, xi := range xs {
		copy(x, xi)
		if err := bd.Run(); err != nil {
			t.Fatal(err)
		}
		if loss[0] != wantLoss[i] {
			t.Errorf("run %d: loss %v; want %v", i, loss[0], wantLoss[i])
		}
	}
	if !slices.Equal(host, w0) {
		t.Error("training changed the host buffer before Download")
	}
	if err := r.Download(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(host, cur) {
		t.Errorf("downloaded w = %v; want %v (bit for bit)", host, cur)
	}
	if tr := bd.Traffic(); tr != (ort.Traffic{Runs: 3, Up: 3 * 4 * 6, Down: 3 * 4}) {
		t.Errorf("step traffic = %+v; want x up and the loss down, 3 times", tr)
	}
	if tr := r.Traffic(); tr.Up != 4*6 || tr.Down != 4*6 {
		t.Errorf("resident traffic = %+v; want w up once and down once", tr)
	}

	rb, err := read.Bind(r)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	twice := make([]float32, 6)
	if err := rb.ResidentInput("w", "w"); err != nil {
		t.Fatal(err)
	}
	if err := rb.Output("twice", exec.Tensor{Shape: []int64{2, 3}, Data: twice}); err != nil {
		t.Fatal(err)
	}
	if err := rb.Run(); err != nil {
		t.Fatal(err)
	}
	for i := range twice {
		if twice[i] != 2*cur[i] {
			t.Fatalf("the second Exec reads w = %v; want twice %v", twice, cur)
		}
	}
	if n, elems := r.Len(); n != 1 || elems != 6 {
		t.Errorf("Len() = %d, %d; want 1, 6", n, elems)
	}
}
