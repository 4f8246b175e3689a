package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportTriton writes a Triton repository with `ganrt export --triton`
// and checks that its model.onnx has the bytes `ganrt export -o` writes.
func TestExportTriton(t *testing.T) {
	dir := t.TempDir()
	ckpt := "../testdata/golden/stargan_g_c5.pth"
	domains := "Black_Hair,Blond_Hair,Brown_Hair,Male,Young"
	onnx := filepath.Join(dir, "g.onnx")
	if _, stderr, err := runCLI(t, "export", ckpt, "--domains", domains, "-o", onnx); err != nil {
		t.Fatalf("export -o: %v\n%s", err, stderr)
	}
	repo := filepath.Join(dir, "models")
	stdout, stderr, err := runCLI(t, "export", ckpt, "--domains", domains, "--triton", repo, "--triton-name", "celeba", "--max-batch", "4")
	if err != nil {
		t.Fatalf("export --triton: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, filepath.Join(repo, "celeba")) {
		t.Errorf("stdout %q does not name the model folder", stdout)
	}
	want, _ := os.ReadFile(onnx)
	got, err := os.ReadFile(filepath.Join(repo, "celeba", "1", "model.onnx"))
	if err != nil || !bytes.Equal(got, want) || len(want) == 0 {
		t.Errorf("model.onnx (%d bytes, %v) differs from export -o (%d bytes)", len(got), err, len(want))
	}
	config, err := os.ReadFile(filepath.Join(repo, "celeba", "config.pbtxt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`name: "celeba"`, "max_batch_size: 4", "preferred_batch_size: [ 2, 4 ]", `name: "label"`, "dims: [ 5 ]"} {
		if !strings.Contains(string(config), s) {
			t.Errorf("config.pbtxt lacks %q:\n%s", s, config)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", ckpt, "--triton", repo, "--batch", "2"}, "dynamic batch"},
		{[]string{"export", ckpt}, "-o FILE.onnx or --triton DIR"},
		{[]string{"export", ckpt, "--triton", repo, "--max-batch", "0"}, "--max-batch 0"},
		{[]string{"export", ckpt, "--domains", domains, "--triton", repo, "--triton-name", "celeba", "--max-batch", "4"}, "already has version 1"},
		{[]string{"export", ckpt, "--domains", domains, "--triton", repo, "--triton-name", "celeba", "--model-version", "-1"}, "version -1"},
	} {
		if _, _, err := runCLI(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v; want one containing %q", tc.args, err, tc.want)
		}
	}

	// A training checkpoint's model is named after its run; a second
	// version goes beside the first, an existing one is replaced only with
	// --overwrite.
	run := filepath.Join(dir, "stargan_celeba", "models")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(ckpt)
	if err := os.WriteFile(filepath.Join(run, "200000-G.ckpt"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{}, {"--model-version", "2"}, {"--overwrite"}} {
		args = append([]string{"export", filepath.Join(run, "200000-G.ckpt"), "--domains", domains, "--triton", repo}, args...)
		if _, stderr, err := runCLI(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	for _, v := range []string{"1", "2"} {
		if got, err := os.ReadFile(filepath.Join(repo, "stargan_celeba", v, "model.onnx")); err != nil || !bytes.Equal(got, want) {
			t.Errorf("stargan_celeba version %s: %d bytes, %v; want the model", v, len(got), err)
		}
	}
}
