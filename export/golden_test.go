package export

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/ckpt"
	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
)

const goldenDir = "../testdata/golden"

// goldenCase is a forward case of testdata/golden: NAME.pth with its
// PyTorch inputs and outputs in NAME.io.safetensors.
type goldenCase struct {
	name string
	kind string // detected spec kind
	pth  string // state dict file, default NAME.pth
}

var goldenCases = []goldenCase{
	{name: "cyclegan_resnet6_ngf8", kind: models.CycleGANGenerator},
	{name: "cyclegan_resnet9_ngf4", kind: models.CycleGANGenerator},
	{name: "cyclegan_resnet6_ngf4_dropout", kind: models.CycleGANGenerator},
	{name: "cyclegan_resnet6_ngf4_legacykeys", kind: models.CycleGANGenerator},
	{name: "cyclegan_unet7_ngf4", kind: models.CycleGANGenerator},
	{name: "cyclegan_unet5_ngf4", kind: models.CycleGANGenerator},
	{name: "cyclegan_patchgan_basic_ndf8", kind: models.CycleGANDiscriminator},
	{name: "cyclegan_patchgan_n2_ndf8", kind: models.CycleGANDiscriminator},
	{name: "cyclegan_pixel_ndf8", kind: models.CycleGANDiscriminator},
	{name: "cyclegan_pixel_ndf8", kind: models.CycleGANDiscriminator, pth: "cyclegan_pixel_ndf8.legacy.pth"},
	{name: "stargan_g_c5", kind: models.StarGANGenerator},
	{name: "stargan_d_img32_c5", kind: models.StarGANDiscriminator},
}

// goldenIO is one input/output set of a case.
type goldenIO struct {
	image, label *ckpt.Tensor
	outputs      []*ckpt.Tensor // generator: output; PatchGAN: output; StarGAN D: src, cls
}

func readGoldenIO(t *testing.T, name string) []goldenIO {
	t.Helper()
	sd, err := ckpt.ReadSafetensors(filepath.Join(goldenDir, name+".io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var sets []goldenIO
	for i := 0; ; i++ {
		img, ok := sd.Get(fmt.Sprintf("input%d", i))
		if !ok {
			break
		}
		set := goldenIO{image: img}
		set.label, _ = sd.Get(fmt.Sprintf("label%d", i))
		for _, key := range []string{"output", "out_src", "out_cls"} {
			if o, ok := sd.Get(fmt.Sprintf("%s%d", key, i)); ok {
				set.outputs = append(set.outputs, o)
			}
		}
		sets = append(sets, set)
	}
	if len(sets) == 0 {
		t.Fatalf("%s: no input0 tensor", name)
	}
	return sets
}

func maxAbsDiff(got []float32, want []float32) float64 {
	d := 0.0
	for i := range got {
		d = max(d, math.Abs(float64(got[i])-float64(want[i])))
	}
	return d
}

func toTensor(t *ckpt.Tensor) *graph.Tensor {
	return graph.TensorFromFloat32(graph.Shape(t.Shape), t.Floats)
}

// TestGoldenReferenceEvaluator runs every golden network through the IR on
// the reference evaluator and compares with PyTorch.
func TestGoldenReferenceEvaluator(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name+"/"+c.pth, func(t *testing.T) {
			m := loadGolden(t, c)
			for i, io := range readGoldenIO(t, c.name) {
				var outs []*graph.Node
				g, err := graph.Build(func(g *graph.Graph) {
					x := g.Input(InputImage, graph.Shape(io.image.Shape))
					var lbl *graph.Node
					if io.label != nil {
						lbl = g.Input(InputLabel, graph.Shape(io.label.Shape))
					}
					outs = m.Spec.Forward(nn.NewScope(g, ""), x, lbl)
				})
				if err != nil {
					t.Fatal(err)
				}
				feeds := map[string]*graph.Tensor{InputImage: toTensor(io.image)}
				if io.label != nil {
					feeds[InputLabel] = toTensor(io.label)
				}
				for _, in := range g.Inputs() {
					if v, ok := m.Weights[in.Name()]; ok {
						feeds[in.Name()] = graph.TensorFromFloat32(in.Shape(), v)
					}
				}
				got, err := graph.Eval(feeds, outs...)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(io.outputs) {
					t.Fatalf("set %d: %d outputs; golden has %d", i, len(got), len(io.outputs))
				}
				for k, want := range io.outputs {
					if !got[k].Shape.Equal(graph.Shape(want.Shape)) {
						t.Fatalf("set %d output %d: shape %v; want %v", i, k, got[k].Shape, want.Shape)
					}
					if d := maxAbsDiff(got[k].Float32(), want.Floats); d > 1e-4 {
						t.Errorf("set %d output %d: max |diff| %.3g vs PyTorch; want <= 1e-4", i, k, d)
					}
				}
			}
		})
	}
}

func loadGolden(t *testing.T, c goldenCase) *Model {
	t.Helper()
	pth := c.pth
	if pth == "" {
		pth = c.name + ".pth"
	}
	m, err := Load(filepath.Join(goldenDir, pth), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Spec.Kind != c.kind || !m.Detected {
		t.Fatalf("detected %s (detected=%v); want %s", m.Spec, m.Detected, c.kind)
	}
	return m
}

// TestGoldenONNXRuntime exports every golden generator to ONNX (float32
// and float16 weights, every supported opset) and runs it in ONNX Runtime,
// including non-square inputs through the dynamic height and width.
func TestGoldenONNXRuntime(t *testing.T) {
	if err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	for _, c := range goldenCases {
		if c.kind != models.CycleGANGenerator && c.kind != models.StarGANGenerator {
			continue
		}
		type variant struct {
			fp16  bool
			opset int
		}
		variants := []variant{{false, 0}, {true, 0}}
		for opset := graph.ONNXOpset + 1; opset <= graph.MaxONNXOpset; opset++ {
			variants = append(variants, variant{false, opset})
		}
		for _, v := range variants {
			fp16 := v.fp16
			t.Run(fmt.Sprintf("%s/fp16=%v/opset=%d", c.name, fp16, v.opset), func(t *testing.T) {
				m := loadGolden(t, c)
				model, err := ONNX(m, ONNXOptions{FP16: fp16, Opset: v.opset})
				if err != nil {
					t.Fatal(err)
				}
				sess, err := ort.NewSession(model, ort.SessionOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer sess.Close()
				for i, io := range readGoldenIO(t, c.name) {
					in := []ort.Tensor{{Shape: int64s(io.image.Shape), Data: io.image.Floats}}
					if io.label != nil {
						in = append(in, ort.Tensor{Shape: int64s(io.label.Shape), Data: io.label.Floats})
					}
					out := []ort.Tensor{ort.NewTensor(int64s(io.outputs[0].Shape)...)}
					if err := sess.Run(in, out); err != nil {
						t.Fatal(err)
					}
					tol := 1e-4
					if fp16 {
						// float16 weights: a relative rounding of 2^-11 per weight.
						tol = 2e-2
					}
					if d := maxAbsDiff(out[0].Data, io.outputs[0].Floats); d > tol {
						t.Errorf("set %d %v: max |diff| %.3g vs PyTorch; want <= %g", i, io.image.Shape, d, tol)
					}
				}
			})
		}
	}
}

func int64s(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

func TestExportDeterministic(t *testing.T) {
	m := loadGolden(t, goldenCases[0])
	a, err := ONNX(m, ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ONNX(m, ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatal("two exports of one model differ")
	}
}

func TestExportRejectsDiscriminator(t *testing.T) {
	m := loadGolden(t, goldenCases[6])
	if _, err := ONNX(m, ONNXOptions{}); err == nil || !strings.Contains(err.Error(), "needs a generator") {
		t.Fatalf("got %v; want an error saying export needs a generator", err)
	}
}
