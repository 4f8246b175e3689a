package ort

import (
	"slices"
	"sync"
	"testing"
)

// bindingSession returns a session of model that runs through I/O binding,
// staging host buffers through ORT-allocated memory when stage is set (as a
// GPU session does through pinned memory).
func bindingSession(t testing.TB, model []byte, stage bool) *Session {
	t.Helper()
	s := newSession(t, model, SessionOptions{IntraOpThreads: 1, Binding: BindAlways})
	s.bind.forceStaging = stage
	return s
}

// TestRunThroughBinding checks that Run through I/O binding (buffers bound
// directly, or staged through ORT memory) gives bit-identical outputs to Run
// without it, for new and reused buffers and changing shapes, and counts
// the host traffic.
func TestRunThroughBinding(t *testing.T) {
	plain := newSession(t, convModel(t, false), SessionOptions{IntraOpThreads: 1, Binding: BindNever})
	for _, stage := range []bool{false, true} {
		s := bindingSession(t, convModel(t, false), stage)
		if !s.bindRuns {
			t.Fatal("BindAlways session does not bind")
		}
		for _, hw := range [][2]int64{{5, 4}, {9, 7}, {5, 4}} {
			n, h, w := int64(2), hw[0], hw[1]
			x := Tensor{Shape: []int64{n, 1, h, w}, Data: ramp(int(n*h*w), 0.37, -3)}
			want, got := NewTensor(n, 2, h, w), NewTensor(n, 2, h, w)
			if err := plain.Run([]Tensor{x}, []Tensor{want}); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				x.Data[i] += 0.5 // a host input is read at Run, not at bind
				if err := plain.Run([]Tensor{x}, []Tensor{want}); err != nil {
					t.Fatal(err)
				}
				clear(got.Data)
				if err := s.Run([]Tensor{x}, []Tensor{got}); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Data, want.Data) {
					t.Fatalf("stage=%v %dx%d run %d: binding output differs from plain Run", stage, h, w, i)
				}
			}
		}
		if _, ok, why := s.PinnedMemory(); ok != stage || (!ok && why == "") {
			t.Errorf("stage=%v: PinnedMemory() ok = %v, why %q", stage, ok, why)
		}
	}
}

// TestBindingValues runs the conv model with its weight and output in
// ORT-allocated Values and the input in a Go buffer: the traffic counts only
// the Go buffer, and the result matches the reference.
func TestBindingValues(t *testing.T) {
	s := newSession(t, convModel(t, true), SessionOptions{IntraOpThreads: 1})
	mem := newMemory(t, SessionOptions{})
	const n, h, w = 1, 6, 5
	weights := make([]float32, len(convW)) // not the model's: the bound value overrides them
	for i, v := range convW {
		weights[i] = 2*v + 0.25
	}
	wv := newValueT(t, mem, 2, 1, 3, 3)
	if err := mem.Upload(wv, weights); err != nil {
		t.Fatal(err)
	}
	yv := newValueT(t, mem, n, 2, h, w)
	b, err := s.NewBinding()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	x := Tensor{Shape: []int64{n, 1, h, w}, Data: ramp(n*h*w, 0.25, -2)}
	if err := b.BindInput("x", x); err != nil {
		t.Fatal(err)
	}
	if err := b.BindInputValue("W", wv); err != nil { // overrides the initializer
		t.Fatal(err)
	}
	if err := b.BindOutputValue("y", yv); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := b.Run(); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]float32, yv.Len())
	if err := mem.Download(got, yv); err != nil {
		t.Fatal(err)
	}
	assertClose(t, got, convRefW(x.Data, weights, n, h, w), 1e-5)
	if tr := b.Traffic(); tr != (Traffic{Runs: 2, Up: 2 * 4 * n * h * w}) {
		t.Errorf("Traffic() = %+v; want 2 runs moving only x up", tr)
	}
	if tr := mem.Traffic(); tr.Up != 4*int64(len(weights)) || tr.Down != 4*int64(len(got)) {
		t.Errorf("memory traffic = %+v; want the weights up and y down", tr)
	}
}

// TestBindingSwap runs y = x*x with x and y in two Values swapped after
// every run, as a training step double-buffers its parameters.
func TestBindingSwap(t *testing.T) {
	s := newSession(t, squareModel(t), SessionOptions{})
	mem := newMemory(t, SessionOptions{})
	a, c := newValueT(t, mem), newValueT(t, mem)
	if err := mem.Upload(a, []float32{1.5}); err != nil {
		t.Fatal(err)
	}
	b, err := s.NewBinding()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := float32(1.5)
	for range 3 {
		if err := b.BindInputValue("x", a); err != nil {
			t.Fatal(err)
		}
		if err := b.BindOutputValue("y", c); err != nil {
			t.Fatal(err)
		}
		if err := b.Run(); err != nil {
			t.Fatal(err)
		}
		a, c = c, a
		want *= want
	}
	got := []float32{0}
	if err := mem.Download(got, a); err != nil {
		t.Fatal(err)
	}
	if got[0] != want {
		t.Errorf("after 3 squarings of 1.5: %v; want %v", got[0], want)
	}
	if tr := b.Traffic(); tr.Up != 0 || tr.Down != 0 || tr.Runs != 3 {
		t.Errorf("Traffic() = %+v; want 3 runs and no host bytes", tr)
	}
}

// TestBindingErrors checks unbound names and closed bindings and sessions.
func TestBindingErrors(t *testing.T) {
	s := newSession(t, addReluModel(t), SessionOptions{})
	b, err := s.NewBinding()
	if err != nil {
		t.Fatal(err)
	}
	a := Tensor{Shape: []int64{1, 3}, Data: []float32{1, 2, 3}}
	if err := b.BindInput("a", a); err != nil {
		t.Fatal(err)
	}
	if err := b.Run(); err == nil {
		t.Error("Run with unbound values succeeded")
	}
	if err := b.BindInput("b", Tensor{Shape: []int64{1, 3}, Data: []float32{1}}); err == nil {
		t.Error("BindInput of a tensor whose data does not fit its shape succeeded")
	}
	b.Close()
	if err := b.Run(); err == nil {
		t.Error("Run on a closed binding succeeded")
	}
}

// TestMemory checks Values on the CPU: allocation, host access, upload and
// download, and that errors name the mismatch.
func TestMemory(t *testing.T) {
	mem := newMemory(t, SessionOptions{})
	if mem.Info().Device != "cpu" || mem.Device() != (Device{}) {
		t.Errorf("memory on %v in %v; want the CPU", mem.Device(), mem.Info())
	}
	v := newValueT(t, mem, 2, 3)
	if len(v.Host()) != 6 || !slices.Equal(v.Shape(), []int64{2, 3}) {
		t.Fatalf("value: host %d elements, shape %v", len(v.Host()), v.Shape())
	}
	src := ramp(6, 1.25, -2)
	if err := mem.Upload(v, src); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Host(), src) {
		t.Errorf("Host() after Upload = %v; want %v", v.Host(), src)
	}
	dst := make([]float32, 6)
	if err := mem.Download(dst, v); err != nil || !slices.Equal(dst, src) {
		t.Errorf("Download = %v, %v; want %v", dst, err, src)
	}
	if err := mem.Upload(v, src[:5]); err == nil {
		t.Error("Upload of 5 elements into 6 succeeded")
	}
	if err := mem.Download(dst[:2], v); err == nil {
		t.Error("Download of 6 elements into 2 succeeded")
	}
	// Copies from many goroutines are serialized.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			w := newValueT(t, mem, 100)
			data := ramp(100, float32(i), 1)
			back := make([]float32, 100)
			if err := mem.Upload(w, data); err != nil {
				t.Error(err)
			}
			if err := mem.Download(back, w); err != nil || !slices.Equal(back, data) {
				t.Errorf("concurrent round trip: %v", err)
			}
		})
	}
	wg.Wait()
}

func newMemory(t testing.TB, opts SessionOptions) *Memory {
	t.Helper()
	mustInit(t)
	m, err := NewMemory(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func newValueT(t testing.TB, m *Memory, shape ...int64) *Value {
	t.Helper()
	v, err := m.NewValue(shape...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}
