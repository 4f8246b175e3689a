package cli

import (
	"bytes"
	"os"
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

// TestWritersRefuseTheirInput checks that export and convert refuse to
// write over their own input, by the same path, another spelling, a hard
// link or a symbolic link, and leave it unchanged.
func TestWritersRefuseTheirInput(t *testing.T) {
	dir := t.TempDir()
	g := filepath.Join(dir, "g.safetensors")
	if _, _, err := runCLI(t, "convert", "../testdata/golden/cyclegan_resnet6_ngf8.pth", g); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(g)
	if err != nil {
		t.Fatal(err)
	}
	hard, soft := filepath.Join(dir, "hard.onnx"), filepath.Join(dir, "soft.onnx")
	if err := os.Link(g, hard); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("g.safetensors", soft); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"export", g, "-o", g},
		{"export", g, "-o", filepath.Join(dir, ".", "g.safetensors")},
		{"export", g, "-o", hard},
		{"export", g, "-o", soft},
		{"export", soft, "-o", g},
		{"convert", g, g},
		{"convert", g, filepath.Join(dir, "soft.safetensors")},
	} {
		if len(args) == 3 && strings.HasSuffix(args[2], "soft.safetensors") {
			if err := os.Symlink("g.safetensors", args[2]); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
		}
		_, _, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), "would overwrite an input") {
			t.Errorf("ganrt %s: err = %v; want a refusal to overwrite the input", strings.Join(args, " "), err)
		}
		after, rerr := os.ReadFile(g)
		if rerr != nil || !bytes.Equal(after, before) {
			t.Fatalf("ganrt %s changed the input (%v)", strings.Join(args, " "), rerr)
		}
	}
	// Another output works.
	if _, _, err := runCLI(t, "export", g, "-o", filepath.Join(dir, "g.onnx")); err != nil {
		t.Errorf("export to a new file: %v", err)
	}
}
