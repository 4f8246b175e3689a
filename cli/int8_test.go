package cli

import (
	"encoding/json"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInt8 exports an int8 model calibrated on synthetic scenes and checks
// that info says so and how it was calibrated, and that translate, eval,
// bench and serve run it unchanged.
func TestInt8(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	d := filepath.Join(dir, "data")
	if _, _, err := runCLI(t, "data", "synth", "--out", d, "-n", "4", "--test-n", "2", "--size", "32", "-q"); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "q.onnx")
	calib := filepath.Join(d, "trainA")
	if _, stderr, err := runCLI(t, "export", "../testdata/golden/cyclegan_resnet6_ngf8.pth", "-o", model,
		"--int8", "--calibrate", calib, "--calibration", "mse", "--calib-size", "32"); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	stdout, _, err := runCLI(t, "info", model)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"precision:  int8: static QDQ", "calibrated: mse over 4 images (32x32) of " + calib,
		"float:      first conv (model.1), last conv (model.23)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, stdout)
		}
	}
	stdout, _, err = runCLI(t, "info", "--json", model)
	if err != nil {
		t.Fatal(err)
	}
	var infos []map[string]any
	if err := json.Unmarshal([]byte(stdout), &infos); err != nil || len(infos) != 1 || !strings.HasPrefix(infos[0]["precision"].(string), "int8") {
		t.Errorf("info --json (%v):\n%s", err, stdout)
	}

	out := filepath.Join(dir, "out")
	if _, stderr, err := runCLI(t, "translate", "-m", model, "-q", filepath.Join(d, "testA"), "-o", out); err != nil {
		t.Fatalf("translate: %v\n%s", err, stderr)
	}
	for _, f := range []string{"000000.png", "000001.png"} {
		fh, err := os.Open(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(fh)
		fh.Close()
		if err != nil || img.Bounds().Dx() != 32 {
			t.Errorf("translate output %s: %v", f, err)
		}
	}
	stdout, stderr, err := runCLI(t, "eval", "--model", model, "--input", filepath.Join(d, "testA"), "--truth", filepath.Join(d, "testA_truth"), "--train", filepath.Join(d, "trainB"), "-q")
	if err != nil || !strings.Contains(stdout, "PSNR") {
		t.Errorf("eval: %v\n%s%s", err, stdout, stderr)
	}
	if stdout, _, err := runCLI(t, "bench", "-m", model, "--size", "32", "--batch", "1,2", "--iters", "2", "--warmup", "1", "--threads", "1"); err != nil || !strings.Contains(stdout, "session p50") {
		t.Errorf("bench: %v\n%s", err, stdout)
	}
	serveOnce(t, model)
}

// serveOnce serves model and translates one image through HTTP.
func serveOnce(t *testing.T, model string) {
	t.Helper()
	base, stop := startServe(t, model, "--threads", "1")
	translateThrough(t, base+"/translate", 24, 16)
	stop()
}

// TestExportPrecisionFlags checks the flag refusals of export and that
// info shows an fp16-compute model.
func TestExportPrecisionFlags(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	ck := "../testdata/golden/cyclegan_resnet6_ngf8.pth"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--calibrate", dir}, "--calibrate applies to --int8 only"},
		{[]string{"--calibration", "mse"}, "--calibration applies to --int8 only"},
		{[]string{"--int8"}, "--int8 needs --calibrate DIR"},
		{[]string{"--int8", "--calibrate", dir, "--fp16"}, "exclude one another"},
		{[]string{"--fp32-norm"}, "fp16 compute only"},
	} {
		args := append([]string{"export", ck, "-o", filepath.Join(dir, "x.onnx")}, tc.args...)
		if _, _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.onnx")); err == nil {
		t.Error("a refused export wrote its file")
	}
	f := filepath.Join(dir, "h.onnx")
	if _, _, err := runCLI(t, "export", ck, "-o", f, "--fp16-compute", "--fp32-norm"); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runCLI(t, "info", f)
	if err != nil || !strings.Contains(stdout, "precision:  float16 (norms in float32) compute, float32 input and output") {
		t.Errorf("info (%v):\n%s", err, stdout)
	}
}
