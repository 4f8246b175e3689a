package export

import (
	"fmt"
	"math"
	"testing"

	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/models"
)

// fp16PSNRFloor is the least PSNR (dB, peak-to-peak 2 for [-1,1] images)
// of a float16-weight model's output against the float32 model's on the
// same input. On the CPU the golden generators give 75.1 to 95.1 dB
// (TestFP16PSNR, measured); the floor leaves room for CUDA's own rounding
// (TF32 convolutions).
const fp16PSNRFloor = 60

// psnr returns the PSNR of got against want for values in [-1, 1].
func psnr(got, want []float32) float64 {
	var se float64
	for i := range got {
		d := float64(got[i]) - float64(want[i])
		se += d * d
	}
	mse := se / float64(len(got))
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(4/mse)
}

// goldenRun runs golden case c exported with opts on device d and returns
// the outputs of each input set.
func goldenRun(t *testing.T, c goldenCase, opts ONNXOptions, d ort.Device) [][]float32 {
	t.Helper()
	model, err := ONNX(loadGolden(t, c), opts)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := ort.NewSession(model, ort.SessionOptions{Device: d})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var outs [][]float32
	for _, io := range readGoldenIO(t, c.name) {
		in := []ort.Tensor{{Shape: int64s(io.image.Shape), Data: io.image.Floats}}
		if io.label != nil {
			in = append(in, ort.Tensor{Shape: int64s(io.label.Shape), Data: io.label.Floats})
		}
		out := []ort.Tensor{ort.NewTensor(int64s(io.outputs[0].Shape)...)}
		if err := sess.Run(in, out); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out[0].Data)
	}
	return outs
}

// goldenGenerators returns the generator cases of goldenCases.
func goldenGenerators() []goldenCase {
	var out []goldenCase
	for _, c := range goldenCases {
		if c.kind == models.CycleGANGenerator || c.kind == models.StarGANGenerator {
			out = append(out, c)
		}
	}
	return out
}

// TestFP16PSNR measures, on the CPU, the PSNR of each golden generator with
// float16 weights against the same generator with float32 weights: what
// fp16PSNRFloor is set from.
func TestFP16PSNR(t *testing.T) {
	if err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	for _, c := range goldenGenerators() {
		fp32 := goldenRun(t, c, ONNXOptions{}, ort.Device{})
		fp16 := goldenRun(t, c, ONNXOptions{FP16: true}, ort.Device{})
		for i := range fp32 {
			p := psnr(fp16[i], fp32[i])
			t.Logf("%s set %d: fp16 weights vs fp32 %.1f dB", c.name, i, p)
			if p < fp16PSNRFloor {
				t.Errorf("%s set %d: fp16 weights vs fp32 %.1f dB; want >= %d", c.name, i, p, fp16PSNRFloor)
			}
		}
	}
}

// TestGoldenCUDA runs every golden generator on cuda:0 (through I/O binding,
// as every GPU session runs) against PyTorch's outputs, within 1e-3 (TF32
// convolutions allowed), and its float16-weight export against the float32
// one within fp16PSNRFloor. It skips without a usable GPU.
func TestGoldenCUDA(t *testing.T) {
	if err := ort.CUDAWorks(0); err != nil {
		t.Skipf("no usable CUDA: %v", err)
	}
	cuda := ort.Device{Kind: ort.KindCUDA}
	for _, c := range goldenGenerators() {
		t.Run(fmt.Sprintf("%s/%s", c.name, c.pth), func(t *testing.T) {
			sets := readGoldenIO(t, c.name)
			fp32 := goldenRun(t, c, ONNXOptions{}, cuda)
			fp16 := goldenRun(t, c, ONNXOptions{FP16: true}, cuda)
			for i, io := range sets {
				if d := maxAbsDiff(fp32[i], io.outputs[0].Floats); d > 1e-3 {
					t.Errorf("set %d: max |diff| %.3g vs PyTorch on CUDA; want <= 1e-3", i, d)
				}
				if p := psnr(fp16[i], fp32[i]); p < fp16PSNRFloor {
					t.Errorf("set %d: fp16 vs fp32 on CUDA %.1f dB; want >= %d", i, p, fp16PSNRFloor)
				}
			}
		})
	}
}
