package export

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/ckpt"
)

// poisoned writes the golden CycleGAN generator with 2 NaN and 1 infinite
// value in its first weight, as a safetensors file, and returns its path and
// the tensor's name.
func poisoned(t *testing.T) (string, string) {
	t.Helper()
	sd, err := ckpt.Read(filepath.Join(goldenDir, "cyclegan_resnet6_ngf8.pth"))
	if err != nil {
		t.Fatal(err)
	}
	name := sd.Names()[0]
	w, _ := sd.Get(name)
	w.Floats[0], w.Floats[1], w.Floats[2] = float32(math.NaN()), float32(math.Inf(-1)), float32(math.NaN())
	path := filepath.Join(t.TempDir(), "nan.safetensors")
	if err := ckpt.WriteSafetensors(path, sd); err != nil {
		t.Fatal(err)
	}
	return path, name
}

func TestNonFiniteWeightsAreRefused(t *testing.T) {
	path, name := poisoned(t)
	_, err := Load(path, Overrides{})
	var nf *NonFiniteError
	if !errors.As(err, &nf) {
		t.Fatalf("Load: got error %v; want a *NonFiniteError", err)
	}
	want := path + `: tensor "` + name + `": 2 NaN, 1 infinite values`
	if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.Contains(msg, "--allow-nonfinite") {
		t.Errorf("error %q; want it to start with %q and name the flag", msg, want)
	}
	if _, err := Convert(path, filepath.Join(t.TempDir(), "g.onnx"), Overrides{}, ONNXOptions{}); !errors.As(err, &nf) {
		t.Errorf("Convert: got error %v; want a *NonFiniteError", err)
	}
	m, err := Load(path, Overrides{AllowNonFinite: true})
	if err != nil {
		t.Fatalf("Load with AllowNonFinite: %v", err)
	}

	// info reports the counts, for the checkpoint and for its ONNX export.
	onnx := filepath.Join(t.TempDir(), "g.onnx")
	if err := WriteONNX(m, onnx, ONNXOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, onnx} {
		info, err := Inspect(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(info.NonFinite) != 1 || info.NonFinite[0].NaN != 2 || info.NonFinite[0].Inf != 1 {
			t.Errorf("%s: NonFinite = %v; want one tensor with 2 NaN and 1 infinite", p, info.NonFinite)
		}
		if !strings.Contains(info.Text(), "non-finite: ") || !strings.Contains(info.Text(), ": 2 NaN, 1 infinite values") {
			t.Errorf("%s: text\n%s\nwant the non-finite line", p, info.Text())
		}
	}
	clean, err := Inspect(filepath.Join(goldenDir, "cyclegan_resnet6_ngf8.pth"))
	if err != nil || clean.NonFinite != nil {
		t.Errorf("clean file: NonFinite = %v, %v; want none", clean.NonFinite, err)
	}
}
