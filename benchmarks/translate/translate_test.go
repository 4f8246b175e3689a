package main

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/runtime"
)

var (
	modelOnce sync.Once
	modelPath string
	modelErr  error
	modelDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if modelDir != "" {
		os.RemoveAll(modelDir)
	}
	os.Exit(code)
}

// benchModel returns the resnet_9blocks ngf 64 model, generated once.
func benchModel(b *testing.B) string {
	b.Helper()
	if err := ort.Init(""); err != nil {
		b.Fatalf("these benchmarks need the ONNX Runtime library; run `make ort`: %v", err)
	}
	modelOnce.Do(func() {
		if modelDir, modelErr = os.MkdirTemp("", "ganrt-bench-translate-"); modelErr == nil {
			modelPath, modelErr = writeModel(modelDir)
		}
	})
	if modelErr != nil {
		b.Fatal(modelErr)
	}
	return modelPath
}

// BenchmarkTranslate256 is ganrt's end-to-end time for one 256x256 image in
// memory: normalize, run, denormalize into a new image.
func BenchmarkTranslate256(b *testing.B) {
	t, err := runtime.Open(benchModel(b), runtime.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer t.Close()
	imgs, _ := inputs(256, 1)
	ctx := context.Background()
	if _, err := t.Translate(ctx, imgs[0], nil); err != nil { // warm-up
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := t.Translate(ctx, imgs[0], nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSession256 is a bare ORT session run on the same image's
// tensor, with the output buffer reused.
func BenchmarkSession256(b *testing.B) {
	data, err := os.ReadFile(benchModel(b))
	if err != nil {
		b.Fatal(err)
	}
	s, err := ort.NewSession(data, ort.SessionOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	_, x := inputs(256, 1)
	y := ort.NewTensor(1, 3, 256, 256)
	if err := s.Run([]ort.Tensor{x}, []ort.Tensor{y}); err != nil { // warm-up
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.Run([]ort.Tensor{x}, []ort.Tensor{y}); err != nil {
			b.Fatal(err)
		}
	}
}
