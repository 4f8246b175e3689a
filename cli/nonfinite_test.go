package cli

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/ckpt"
)

// TestAllowNonFinite checks that info reports NaN and infinite weights (text
// and --json) and that export, convert and translate refuse them unless
// --allow-nonfinite is given.
func TestAllowNonFinite(t *testing.T) {
	dir := t.TempDir()
	sd, err := ckpt.Read("../testdata/golden/cyclegan_resnet6_ngf8.pth")
	if err != nil {
		t.Fatal(err)
	}
	name := sd.Names()[0]
	w, _ := sd.Get(name)
	w.Floats[3], w.Floats[4] = float32(math.Inf(1)), float32(math.NaN())
	bad := filepath.Join(dir, "nan.safetensors")
	if err := ckpt.WriteSafetensors(bad, sd); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runCLI(t, "info", bad)
	if want := `non-finite: "` + name + `": 1 NaN, 1 infinite values`; err != nil || !strings.Contains(stdout, want) {
		t.Errorf("info (%v):\n%s\nwant %q", err, stdout, want)
	}
	stdout, _, err = runCLI(t, "info", "--json", bad)
	var infos []struct {
		NonFinite []ckpt.NonFinite `json:"non_finite"`
	}
	if err != nil || json.Unmarshal([]byte(stdout), &infos) != nil || len(infos) != 1 ||
		len(infos[0].NonFinite) != 1 || infos[0].NonFinite[0] != (ckpt.NonFinite{Name: name, NaN: 1, Inf: 1}) {
		t.Errorf("info --json (%v):\n%s\nwant non_finite [{%s 1 1}]", err, stdout, name)
	}

	onnx := filepath.Join(dir, "g.onnx")
	for _, args := range [][]string{
		{"export", bad, "-o", onnx},
		{"convert", bad, filepath.Join(dir, "g.safetensors")},
	} {
		_, _, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), name) ||
			!strings.Contains(err.Error(), "1 NaN, 1 infinite") || !strings.Contains(err.Error(), "--allow-nonfinite") {
			t.Errorf("%v: got error %v; want the file, tensor, counts and flag named", args, err)
		}
	}
	if _, err := os.Stat(onnx); !os.IsNotExist(err) {
		t.Errorf("refused export left %s behind", onnx)
	}
	if _, stderr, err := runCLI(t, "export", bad, "-o", onnx, "--allow-nonfinite"); err != nil {
		t.Fatalf("export --allow-nonfinite: %v\n%s", err, stderr)
	}
	// translate refuses the checkpoint and the exported ONNX model alike,
	// before it reads any image.
	for _, model := range []string{bad, onnx} {
		_, _, err := runCLI(t, "translate", "-m", model, filepath.Join(dir, "missing.png"), "-o", filepath.Join(dir, "out"))
		if err == nil || !strings.Contains(err.Error(), "1 NaN, 1 infinite") || !strings.Contains(err.Error(), "--allow-nonfinite") {
			t.Errorf("translate -m %s: got error %v; want the non-finite weights refused", model, err)
		}
	}
}
