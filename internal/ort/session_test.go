package ort

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	onnxruntime "github.com/yalue/onnxruntime_go"

	"github.com/ganrt/ganrt/internal/onnxpb"
)

func newSession(t testing.TB, model []byte, opts SessionOptions) *Session {
	t.Helper()
	mustInit(t)
	s, err := NewSession(model, opts)
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestAddRelu(t *testing.T) {
	s := newSession(t, addReluModel(t), SessionOptions{IntraOpThreads: 1})
	if s.Provider() != ProviderCPU || s.FallbackReason() != "" || s.Device() != (Device{}) {
		t.Errorf("Provider() = %q, FallbackReason() = %q, Device() = %v; want CPU, no fallback", s.Provider(), s.FallbackReason(), s.Device())
	}
	for _, n := range []int64{2, 5} { // the batch dimension is symbolic
		a := Tensor{Shape: []int64{n, 3}, Data: ramp(int(n*3), 1, -4)}
		b := Tensor{Shape: []int64{n, 3}, Data: ramp(int(n*3), -0.5, 1)}
		y := NewTensor(n, 3)
		want := make([]float32, len(y.Data))
		for i := range want {
			want[i] = max(0, a.Data[i]+b.Data[i])
		}
		for range 3 { // the same buffers again: cached wrappers
			clear(y.Data)
			if err := s.Run([]Tensor{a, b}, []Tensor{y}); err != nil {
				t.Fatal(err)
			}
			assertClose(t, y.Data, want, 0)
		}
	}
	if got := len(s.cache); got != 6 {
		t.Errorf("cache holds %d wrappers; want 6 (3 buffers x 2 shapes)", got)
	}
}

func TestConv(t *testing.T) {
	s := newSession(t, convModel(t, false), SessionOptions{})
	const n, h, w = 2, 5, 4
	x := Tensor{Shape: []int64{n, 1, h, w}, Data: ramp(n*h*w, 0.25, -2)}
	y := NewTensor(n, 2, h, w)
	if err := s.Run([]Tensor{x}, []Tensor{y}); err != nil {
		t.Fatal(err)
	}
	assertClose(t, y.Data, convRef(x.Data, n, h, w), 1e-5)
}

func TestInputsOutputs(t *testing.T) {
	mustInit(t)
	for _, wAsInput := range []bool{false, true} {
		model := convModel(t, wAsInput)
		s := newSession(t, model, SessionOptions{})
		in, out := s.Inputs(), s.Outputs()
		if got, want := fmt.Sprint(in), "[x float32[N,1,H,W]]"; got != want {
			t.Errorf("Inputs() = %s; want %s", got, want)
		}
		if got, want := fmt.Sprint(out), "[y float32[N,2,H,W]]"; got != want {
			t.Errorf("Outputs() = %s; want %s", got, want)
		}
		if !slices.Equal(in[0].Shape, []int64{-1, 1, -1, -1}) || in[0].Type != onnxpb.TensorProto_FLOAT {
			t.Errorf("input shape %v type %v; want [-1 1 -1 -1] FLOAT", in[0].Shape, in[0].Type)
		}
		// ORT's own reading of the model must agree with ours.
		oin, oout, err := onnxruntime.GetInputOutputInfoWithONNXData(model)
		if err != nil {
			t.Fatal(err)
		}
		compare := func(ort []onnxruntime.InputOutputInfo, ours []ValueInfo) {
			t.Helper()
			if len(ort) != len(ours) {
				t.Fatalf("wAsInput=%v: ORT sees %v; we see %v", wAsInput, ort, ours)
			}
			for j := range ort {
				if ort[j].Name != ours[j].Name || !slices.Equal([]int64(ort[j].Dimensions), ours[j].Shape) || int(ort[j].DataType) != int(ours[j].Type) {
					t.Errorf("wAsInput=%v: ORT sees %v; we see %v", wAsInput, ort[j].String(), ours[j])
				}
			}
		}
		compare(oin, in)
		compare(oout, out)
	}
}

func TestMetadata(t *testing.T) {
	s := newSession(t, addReluModel(t), SessionOptions{})
	m := s.Metadata()
	if m.ProducerName != "ganrt-test" || m.GraphName != "add_relu" || m.Domain != "ganrt.test" || m.Description != "a test model" || m.Version != 3 {
		t.Errorf("Metadata() = %+v", m)
	}
	want := map[string]string{"architecture": "test", "normalization": "[-1,1]"}
	if !maps.Equal(m.Custom, want) {
		t.Errorf("Custom = %v; want %v", m.Custom, want)
	}
	m.Custom["x"] = "y"
	if _, ok := s.Metadata().Custom["x"]; ok {
		t.Error("Metadata().Custom is not a copy")
	}
}

func TestRunAlloc(t *testing.T) {
	s := newSession(t, addReluModel(t), SessionOptions{})
	a := Tensor{Shape: []int64{4, 3}, Data: ramp(12, 1, -6)}
	outs, err := s.RunAlloc([]Tensor{a, a})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || !slices.Equal(outs[0].Shape, []int64{4, 3}) {
		t.Fatalf("RunAlloc = %+v; want one [4 3] output", outs)
	}
	want := make([]float32, 12)
	for i := range want {
		want[i] = max(0, 2*a.Data[i])
	}
	assertClose(t, outs[0].Data, want, 0)

	// A zero Tensor in Run's outputs is allocated the same way.
	ys := []Tensor{{}}
	if err := s.Run([]Tensor{a, a}, ys); err != nil {
		t.Fatal(err)
	}
	assertClose(t, ys[0].Data, want, 0)
}

func TestScalar(t *testing.T) {
	s := newSession(t, squareModel(t), SessionOptions{})
	if got := fmt.Sprint(s.Inputs()); got != "[x float32[]]" {
		t.Errorf("Inputs() = %s; want [x float32[]]", got)
	}
	x := Tensor{Shape: []int64{}, Data: []float32{3}}
	y := Tensor{Shape: []int64{}, Data: []float32{0}}
	if err := s.Run([]Tensor{x}, []Tensor{y}); err != nil {
		t.Fatal(err)
	}
	if y.Data[0] != 9 {
		t.Errorf("3*3 = %v; want 9", y.Data[0])
	}
	outs, err := s.RunAlloc([]Tensor{{Shape: []int64{}, Data: []float32{-2}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs[0].Shape) != 0 || outs[0].Data[0] != 4 {
		t.Errorf("RunAlloc(-2) = %+v; want scalar 4", outs[0])
	}
}

func TestRunErrors(t *testing.T) {
	s := newSession(t, addReluModel(t), SessionOptions{})
	a := Tensor{Shape: []int64{2, 3}, Data: make([]float32, 6)}
	y := NewTensor(2, 3)
	tests := []struct {
		name     string
		ins, out []Tensor
		want     string
	}{
		{"input count", []Tensor{a}, []Tensor{y}, "got 1 inputs, model has 2"},
		{"output count", []Tensor{a, a}, nil, "got 0 outputs, model has 1"},
		{"data length", []Tensor{a, {Shape: []int64{2, 3}, Data: make([]float32, 5)}}, []Tensor{y}, "has 6 elements, data has 5"},
		{"negative dim", []Tensor{a, {Shape: []int64{-2, 3}}}, []Tensor{y}, "negative dimension"},
		{"wrong output shape", []Tensor{a, a}, []Tensor{NewTensor(3, 2)}, "ort: run model:"},
		{"wrong input width", []Tensor{a, NewTensor(3, 2)}, []Tensor{y}, "ort: run model:"},
	}
	for _, tt := range tests {
		err := s.Run(tt.ins, tt.out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Run error = %v; want one containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := NewSession([]byte("not a model"), SessionOptions{}); err == nil {
		t.Error("NewSession(garbage) succeeded")
	}
	s2, err := NewSession(addReluModel(t), SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Errorf("second Close = %v; want nil", err)
	}
	if err := s2.Run([]Tensor{a, a}, []Tensor{y}); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v; want ErrClosed", err)
	}
}

// TestCacheBound checks that fresh buffers on every run do not grow the
// cache past its bound.
func TestCacheBound(t *testing.T) {
	s := newSession(t, addReluModel(t), SessionOptions{TensorCacheSize: 4})
	for i := range 20 {
		a := Tensor{Shape: []int64{1, 3}, Data: []float32{float32(i), 1, 2}}
		y := NewTensor(1, 3)
		if err := s.Run([]Tensor{a, a}, []Tensor{y}); err != nil {
			t.Fatal(err)
		}
		if y.Data[0] != float32(2*i) {
			t.Fatalf("run %d: got %v; want %v", i, y.Data[0], 2*i)
		}
	}
	if n := len(s.cache); n > 4 {
		t.Errorf("cache holds %d wrappers; want at most 4", n)
	}
	n := 0
	for e := s.lruHead; e != nil; e = e.next {
		n++
	}
	if n != len(s.cache) {
		t.Errorf("LRU list has %d entries, map %d", n, len(s.cache))
	}

	nc := newSession(t, addReluModel(t), SessionOptions{TensorCacheSize: -1})
	a, y := NewTensor(1, 3), NewTensor(1, 3)
	if err := nc.Run([]Tensor{a, a}, []Tensor{y}); err != nil {
		t.Fatal(err)
	}
	if nc.cache != nil {
		t.Error("TensorCacheSize -1 still caches")
	}
}

// TestRunAllocations checks that a steady loop over the same buffers does not
// allocate per element: the count is the same for a small and a large input,
// with and without I/O binding.
func TestRunAllocations(t *testing.T) {
	for _, s := range []*Session{
		newSession(t, convModel(t, false), SessionOptions{IntraOpThreads: 1}),
		bindingSession(t, convModel(t, false), true),
	} {
		allocs := func(h, w int) float64 {
			x := Tensor{Shape: []int64{1, 1, int64(h), int64(w)}, Data: ramp(h*w, 1, 0)}
			y := NewTensor(1, 2, int64(h), int64(w))
			return testing.AllocsPerRun(20, func() {
				if err := s.Run([]Tensor{x}, []Tensor{y}); err != nil {
					t.Fatal(err)
				}
			})
		}
		small, large := allocs(4, 4), allocs(128, 128)
		t.Logf("binding %v: allocations per Run: %v (4x4), %v (128x128)", s.bindRuns, small, large)
		if small != large || small > 16 {
			t.Errorf("binding %v: allocations per Run: %v (4x4), %v (128x128); want equal and few", s.bindRuns, small, large)
		}
	}
}

// TestConcurrentRun runs one session from many goroutines: shared inputs,
// private outputs, cached and fresh buffers, and a Close racing the Runs,
// without and with I/O binding.
// Run it with -race.
func TestConcurrentRun(t *testing.T) {
	for _, bind := range []BindingMode{BindNever, BindAlways} {
		t.Run(fmt.Sprintf("binding=%d", bind), func(t *testing.T) { concurrentRun(t, bind) })
	}
}

// concurrentRun is TestConcurrentRun with binding mode bind (staged through
// ORT memory when binding, as on a GPU).
func concurrentRun(t *testing.T, bind BindingMode) {
	mustInit(t)
	s, err := NewSession(convModel(t, false), SessionOptions{IntraOpThreads: 1, TensorCacheSize: 8, Binding: bind})
	if err != nil {
		t.Fatal(err)
	}
	s.bind.forceStaging = true
	const n, h, w = 1, 6, 7
	shared := Tensor{Shape: []int64{n, 1, h, w}, Data: ramp(n*h*w, 0.5, -3)}
	want := convRef(shared.Data, n, h, w)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			y := NewTensor(n, 2, h, w)
			for i := range 40 {
				if g%2 == 1 { // churn: fresh buffers every time
					y = NewTensor(n, 2, h, w)
				}
				if err := s.Run([]Tensor{shared}, []Tensor{y}); err != nil {
					errs <- err
					return
				}
				for j := range y.Data {
					if d := y.Data[j] - want[j]; d > 1e-5 || d < -1e-5 {
						errs <- fmt.Errorf("goroutine %d run %d: y[%d] = %v; want %v", g, i, j, y.Data[j], want[j])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Close while Runs are in flight: each Run succeeds or sees ErrClosed.
	var started sync.WaitGroup
	final := make([]error, 4)
	for g := range final {
		started.Add(1)
		wg.Go(func() {
			y := NewTensor(n, 2, h, w)
			started.Done()
			for {
				if final[g] = s.Run([]Tensor{shared}, []Tensor{y}); final[g] != nil {
					return
				}
			}
		})
	}
	started.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, err := range final {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Run during Close: %v; want ErrClosed after it", err)
		}
	}
}

func TestDeviceAuto(t *testing.T) {
	s := newSession(t, convModel(t, false), SessionOptions{Device: Device{Kind: KindAuto}})
	switch s.Provider() {
	case ProviderCPU:
		if s.FallbackReason() == "" || s.Device() != (Device{}) {
			t.Errorf("auto on CPU: FallbackReason() = %q, Device() = %v; want a reason and cpu", s.FallbackReason(), s.Device())
		}
		t.Logf("auto fell back to cpu: %s", s.FallbackReason())
	case ProviderCUDA:
		if s.FallbackReason() != "" || s.Device() != (Device{Kind: KindCUDA}) {
			t.Errorf("auto on CUDA: FallbackReason() = %q, Device() = %v", s.FallbackReason(), s.Device())
		}
	default:
		t.Errorf("auto picked %s", s.Provider())
	}
	x := Tensor{Shape: []int64{1, 1, 3, 3}, Data: ramp(9, 1, 0)}
	y := NewTensor(1, 2, 3, 3)
	if err := s.Run([]Tensor{x}, []Tensor{y}); err != nil {
		t.Fatal(err)
	}
	assertClose(t, y.Data, convRef(x.Data, 1, 3, 3), 1e-4)
}

func BenchmarkRunConv(b *testing.B) {
	for _, cached := range []bool{true, false} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			opts := SessionOptions{IntraOpThreads: 1}
			if !cached {
				opts.TensorCacheSize = -1
			}
			s := newSession(b, convModel(b, false), opts)
			x := Tensor{Shape: []int64{1, 1, 32, 32}, Data: ramp(32*32, 0.01, 0)}
			y := NewTensor(1, 2, 32, 32)
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Run([]Tensor{x}, []Tensor{y}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
