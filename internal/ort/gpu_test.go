package ort

import (
	"errors"
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
