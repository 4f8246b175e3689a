package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/ort"
)

// TestCycleGANBatchNorm trains the tiny CycleGAN with --norm batch (batch
// 2) on synthetic data: 3 iterations straight and 2 + a resume for 1 more
// must agree exactly, running statistics and num_batches_tracked included,
// and the trained G_A must export to an ONNX model that normalizes with the
// running statistics (so each image's output is independent of its batch).
func TestCycleGANBatchNorm(t *testing.T) {
	if err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	dataDir := synthData(t)
	config := func(out string, iters int) CycleGANConfig {
		c := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), out))
		c.Norm, c.Batch, c.MaxIters = "batch", 2, iters
		c.SampleEvery, c.SaveEpochEvery = 0, 0
		return c
	}
	straight := config("straight", 3)
	if err := TrainCycleGAN(context.Background(), straight, nil, nil); err != nil {
		t.Fatal(err)
	}
	split := config("split", 2)
	if err := TrainCycleGAN(context.Background(), split, nil, nil); err != nil {
		t.Fatal(err)
	}
	split.MaxIters, split.Resume = 3, true
	if err := TrainCycleGAN(context.Background(), split, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"G_A", "G_B", "D_A", "D_B"} {
		file := "latest_net_" + name + ".safetensors"
		sameWeights(t, filepath.Join(straight.Out, file), filepath.Join(split.Out, file))
		stats := 0
		for key, ta := range readNet(t, filepath.Join(straight.Out, file)).All() {
			va := ta.Floats
			if ta.Ints != nil {
				va = []float32{float32(ta.Ints[0])}
			}
			switch filepath.Ext(key) {
			case ".num_batches_tracked":
				// Each net runs three times per iteration: G_A on real_A,
				// fake_A and real_B; D_A on fake_B, real_B and the pooled fake.
				if va[0] != 9 {
					t.Errorf("%s %s = %v after 3 iterations; want 9", name, key, va[0])
				}
				stats++
			case ".running_mean":
				if maxAbs(va) == 0 {
					t.Errorf("%s %s never moved", name, key)
				}
			}
		}
		if stats == 0 {
			t.Errorf("%s has no batch norm", name)
		}
	}
	lossA, err := os.ReadFile(filepath.Join(straight.Out, "loss_log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lossB, err := os.ReadFile(filepath.Join(split.Out, "loss_log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if stripSec(t, lossA) != stripSec(t, lossB) {
		t.Fatalf("loss logs differ:\n%s\n%s", lossA, lossB)
	}

	m, err := export.Load(filepath.Join(straight.Out, "latest_net_G_A.safetensors"), export.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	model, err := export.ONNX(m, export.ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := ort.NewSession(model, ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	const per = 3 * 16 * 24
	pair := make([]float32, 2*per)
	for i := range pair {
		pair[i] = float32(math.Sin(float64(i)*0.37)) * 0.9
	}
	both := []ort.Tensor{ort.NewTensor(2, 3, 16, 24)}
	if err := sess.Run([]ort.Tensor{{Shape: []int64{2, 3, 16, 24}, Data: pair}}, both); err != nil {
		t.Fatal(err)
	}
	one := []ort.Tensor{ort.NewTensor(1, 3, 16, 24)}
	if err := sess.Run([]ort.Tensor{{Shape: []int64{1, 3, 16, 24}, Data: pair[per:]}}, one); err != nil {
		t.Fatal(err)
	}
	for i, v := range one[0].Data {
		if w := both[0].Data[per+i]; math.Abs(float64(v-w)) > 1e-6 || !(v >= -1 && v <= 1) {
			t.Fatalf("exported G_A: output[%d] = %v alone, %v in a batch of 2; want equal, in [-1,1]", i, v, w)
		}
	}
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}
