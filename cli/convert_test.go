package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertWarnings checks that convert says what the output will not
// know (StarGAN label names without --domains, U-Net dropout, which the
// keys cannot show) and that info shows U-Net dropout as unknown.
func TestConvertWarnings(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string // in stderr; "" for no warning
	}{
		{[]string{"../testdata/golden/stargan_g_c5.pth", "g.safetensors"}, "names no labels: its 5 label entries will be unnamed"},
		{[]string{"../testdata/golden/stargan_g_c5.pth", "g2.safetensors", "--domains", "Black_Hair,Blond_Hair,Brown_Hair,Male,Young"}, ""},
		{[]string{"../testdata/golden/cyclegan_unet5_ngf4.pth", "u.safetensors"}, "U-Net dropout is not visible in the keys"},
		{[]string{"../testdata/golden/cyclegan_unet5_ngf4.pth", "u2.safetensors", "--dropout"}, ""},
	} {
		args := append([]string{"convert", tc.args[0], filepath.Join(dir, tc.args[1])}, tc.args[2:]...)
		_, stderr, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if (tc.want == "") != (stderr == "") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: stderr %q; want %q", args, stderr, tc.want)
		}
	}
	stdout, _, err := runCLI(t, "info", "../testdata/golden/cyclegan_unet5_ngf4.pth", filepath.Join(dir, "u2.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "dropout unknown (not visible in the keys)") || !strings.Contains(stdout, "dropout true") {
		t.Errorf("info:\n%s\nwant the .pth's dropout unknown and the converted file's true", stdout)
	}
}

// TestExportTrainModeNorm exports a batch-norm generator in both modes and
// checks what info says about each; instance-norm models refuse the flag.
func TestExportTrainModeNorm(t *testing.T) {
	dir := t.TempDir()
	bn := "../testdata/golden/cyclegan_resnet6_ngf4_bn_trainnorm.pth"
	for _, tc := range []struct {
		args []string
		info string
	}{
		{[]string{"export", bn, "-o", filepath.Join(dir, "eval.onnx")}, "eval mode: batch norm with running statistics, dropout off; the reference's test.py without --eval uses batch statistics and active dropout"},
		{[]string{"export", bn, "-o", filepath.Join(dir, "train.onnx"), "--train-mode-norm"}, "batch norm with the statistics of each image (train mode"},
	} {
		if _, stderr, err := runCLI(t, tc.args...); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stderr)
		}
		stdout, _, err := runCLI(t, "info", tc.args[3])
		if err != nil || !strings.Contains(stdout, "inference:  "+tc.info) {
			t.Errorf("info %s (%v):\n%s\nwant %q", tc.args[3], err, stdout, tc.info)
		}
	}
	for _, args := range [][]string{
		{"export", "../testdata/golden/cyclegan_resnet6_ngf8.pth", "-o", filepath.Join(dir, "in.onnx"), "--train-mode-norm"},
		{"export", bn, "--triton", filepath.Join(dir, "repo"), "--train-mode-norm"},
	} {
		if _, _, err := runCLI(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
