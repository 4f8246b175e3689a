package ort

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// requireGPU skips the test unless kind's provider can be used, and returns a
// session on it, skipping too when no GPU is present.
func requireGPU(t *testing.T, opts SessionOptions) *Session {
	t.Helper()
	mustInit(t)
	if err := CheckProvider(opts.Device.Kind); err != nil {
		t.Skipf("skipping %v: %v", opts.Device, err)
	}
	s, err := NewSession(convModel(t, false), opts)
	if err != nil {
		// The provider loaded, but CUDA found no usable GPU.
		if msg := err.Error(); strings.Contains(msg, "no CUDA-capable device") || strings.Contains(msg, "CUDA driver version is insufficient") {
			t.Skipf("skipping %v: no usable GPU: %v", opts.Device, err)
		}
		t.Fatalf("NewSession on %v: %v", opts.Device, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkConvOn runs the conv model on s and compares with the reference.
func checkConvOn(t *testing.T, s *Session, tol float64) {
	t.Helper()
	const n, h, w = 2, 16, 12
	x := Tensor{Shape: []int64{n, 1, h, w}, Data: ramp(n*h*w, 0.01, -1)}
	y := NewTensor(n, 2, h, w)
	for range 2 {
		if err := s.Run([]Tensor{x}, []Tensor{y}); err != nil {
			t.Fatal(err)
		}
		assertClose(t, y.Data, convRef(x.Data, n, h, w), tol)
	}
}

func TestCUDA(t *testing.T) {
	s := requireGPU(t, SessionOptions{
		Device: Device{Kind: KindCUDA},
		CUDA:   CUDAOptions{ConvAlgoSearch: ConvAlgoHeuristic},
	})
	if s.Provider() != ProviderCUDA {
		t.Errorf("Provider() = %s; want %s", s.Provider(), ProviderCUDA)
	}
	checkConvOn(t, s, 1e-4)
}

func TestTensorRT(t *testing.T) {
	s := requireGPU(t, SessionOptions{
		Device:   Device{Kind: KindTensorRT},
		TensorRT: TensorRTOptions{EngineCacheDir: t.TempDir()},
	})
	if s.Provider() != ProviderTensorRT {
		t.Errorf("Provider() = %s; want %s", s.Provider(), ProviderTensorRT)
	}
	checkConvOn(t, s, 1e-3)
}

// TestGPUUnavailable checks the error for an explicit GPU device when its
// provider cannot be used (the CPU library from `make ort`).
func TestGPUUnavailable(t *testing.T) {
	mustInit(t)
	for _, k := range []Kind{KindCUDA, KindTensorRT} {
		if CheckProvider(k) == nil {
			t.Logf("%v is usable here; nothing to check", k)
			continue
		}
		_, err := NewSession(convModel(t, false), SessionOptions{Device: Device{Kind: k}})
		want := map[Kind]string{KindCUDA: "make ort-gpu", KindTensorRT: EnvLibraryPath}[k]
		if !errors.Is(err, ErrProviderUnavailable) || !strings.Contains(err.Error(), want) {
			t.Errorf("NewSession on %v = %v; want ErrProviderUnavailable saying %q", k, err, want)
		}
	}
}

// TestCUDABinding checks I/O binding and device memory on cuda:0: Values in
// GPU memory (no host view), a round trip through Upload and Download, a
// session run with input and output in GPU memory, Run through binding
// (with pinned host memory where the provider has it) equal to a run
// without it, and the resident tensors' traffic.
func TestCUDABinding(t *testing.T) {
	if err := CUDAWorks(0); err != nil {
		t.Skipf("no usable CUDA: %v", err)
	}
	opts := SessionOptions{Device: Device{Kind: KindCUDA}, CUDA: CUDAOptions{ConvAlgoSearch: ConvAlgoHeuristic}}
	mem := newMemory(t, opts)
	if mem.Info().OnHost() {
		t.Fatalf("CUDA memory is %v; want GPU memory", mem.Info())
	}
	v := newValueT(t, mem, 1, 1, 16, 12)
	if v.Host() != nil {
		t.Error("a GPU value has a host view")
	}
	x := ramp(16*12, 0.01, -1)
	back := make([]float32, len(x))
	if err := mem.Upload(v, x); err != nil {
		t.Fatal(err)
	}
	if err := mem.Download(back, v); err != nil || !slices.Equal(back, x) {
		t.Fatalf("round trip through GPU memory: %v", err)
	}
	s := newSession(t, convModel(t, false), opts)
	if !s.bindRuns {
		t.Error("a CUDA session does not run through I/O binding")
	}
	pinned, ok, why := s.PinnedMemory()
	t.Logf("pinned host memory: %v %v %s", pinned, ok, why)
	y := newValueT(t, mem, 1, 2, 16, 12)
	b, err := s.NewBinding()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := errors.Join(b.BindInputValue("x", v), b.BindOutputValue("y", y)); err != nil {
		t.Fatal(err)
	}
	if err := b.Run(); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, y.Len())
	if err := mem.Download(got, y); err != nil {
		t.Fatal(err)
	}
	assertClose(t, got, convRef(x, 1, 16, 12), 1e-3)
	if tr := b.Traffic(); tr.Up != 0 || tr.Down != 0 {
		t.Errorf("device-to-device run moved %+v through the host", tr)
	}
	checkConvOn(t, s, 1e-3) // Run through binding and pinned staging
}
