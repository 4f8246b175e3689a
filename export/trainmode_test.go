package export

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/ckpt"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/models"
)

// TestGoldenTrainModeNorm checks a batch-norm generator against PyTorch in
// both modes: the default export gives eval()'s output (running
// statistics), --train-mode-norm gives train()'s (the statistics of each
// one-image batch), which is what the reference's test.py without --eval
// writes; the two differ by far more than the tolerance.
func TestGoldenTrainModeNorm(t *testing.T) {
	if err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	const name = "cyclegan_resnet6_ngf4_bn_trainnorm"
	m := loadGolden(t, goldenCase{name: name, kind: models.CycleGANGenerator})
	gold, err := ckpt.ReadSafetensors(goldenDir + "/" + name + ".io.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		train bool
		want  string // golden output prefix
	}{{false, "eval_output"}, {true, "output"}} {
		model, err := ONNX(m, ONNXOptions{TrainModeNorm: tc.train})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := ort.NewSession(model, ort.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i, in := range []string{"input0", "input1"} {
			x, _ := gold.Get(in)
			want, _ := gold.Get(tc.want + in[len(in)-1:])
			other, _ := gold.Get(map[bool]string{true: "eval_output", false: "output"}[tc.train] + in[len(in)-1:])
			out := []ort.Tensor{ort.NewTensor(int64s(want.Shape)...)}
			if err := sess.Run([]ort.Tensor{{Shape: int64s(x.Shape), Data: x.Floats}}, out); err != nil {
				t.Fatal(err)
			}
			d := maxAbsDiff(out[0].Data, want.Floats)
			if d > 1e-4 {
				t.Errorf("train mode %v, set %d %v: max |diff| %.3g vs PyTorch; want <= 1e-4", tc.train, i, x.Shape, d)
			}
			t.Logf("train mode %v, set %d %v: max |diff| %.2g vs PyTorch, %.3f vs the other mode's output", tc.train, i, x.Shape, d, maxAbsDiff(out[0].Data, other.Floats))
			if d := maxAbsDiff(want.Floats, other.Floats); d < 0.1 {
				t.Errorf("set %d: the modes differ by only %.3g; the case does not tell them apart", i, d)
			}
		}
		sess.Close()
		path := filepath.Join(t.TempDir(), "g.onnx")
		if err := os.WriteFile(path, model, 0o644); err != nil {
			t.Fatal(err)
		}
		info, err := Inspect(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Metadata[MetaNormMode]; (got == NormModeBatchStats) != tc.train {
			t.Errorf("train mode %v: %s = %q", tc.train, MetaNormMode, got)
		}
		if tc.train && (info.Inputs[0].Shape[0] != "1") {
			t.Errorf("train-mode model input %v; want a batch fixed at 1", info.Inputs[0].Shape)
		}
	}
	for _, tc := range []struct {
		m    *Model
		opts ONNXOptions
		want string
	}{
		{m, ONNXOptions{TrainModeNorm: true, Batch: 4}, "fixed at 1, not 4"},
		{loadGolden(t, goldenCases[0]), ONNXOptions{TrainModeNorm: true}, "only batch-norm generators"},
	} {
		if _, err := ONNX(tc.m, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v; want %q", tc.opts, err, tc.want)
		}
	}
}
