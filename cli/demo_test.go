package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/synth"
)

// TestDemoRefusesFolder: `ganrt demo --out DIR` into a folder holding a
// file of the user's fails before any work and leaves the file.
func TestDemoRefusesFolder(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "thesis.tex")
	if err := os.WriteFile(mine, []byte("chapter 1"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"demo", "--out", dir}, {"demo", "stargan", "--out", dir}} {
		_, _, err := runCLI(t, append(args, "-q")...)
		if err == nil || !strings.Contains(err.Error(), "not a previous demo output") {
			t.Errorf("%v: got %v; want a refusal", args, err)
		}
		if b, err := os.ReadFile(mine); err != nil || string(b) != "chapter 1" {
			t.Fatalf("%v: the user's file after the refusal: %q, %v", args, b, err)
		}
	}
}

// TestEvalJSON: `ganrt eval --json` gives every figure of the model and of
// each baseline, per image and in total, and the text marks the best
// baseline.
func TestEvalJSON(t *testing.T) {
	dir := t.TempDir()
	if _, err := synth.Write(dir, synth.Options{N: 3, TestN: 2, Size: 16, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	args := []string{"eval", "--model", "../testdata/golden/cyclegan_resnet6_ngf8.pth", "--input", filepath.Join(dir, "testA"),
		"--truth", filepath.Join(dir, "testA_truth"), "--train", filepath.Join(dir, "trainB"), "-q"}
	stdout, stderr, err := runCLI(t, append(args, "--json")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep struct {
		Images []struct {
			File      string                        `json:"file"`
			Model     map[string]float64            `json:"model"`
			Baselines map[string]map[string]float64 `json:"baselines"`
		} `json:"images"`
		Total struct {
			Baselines map[string]map[string]float64 `json:"baselines"`
			Best      map[string]string             `json:"best_baseline"`
			Margin    map[string]float64            `json:"margin"`
		} `json:"total"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, stdout)
	}
	if len(rep.Images) != 2 || rep.Images[1].File != "000001.png" || len(rep.Images[0].Model) != 3 || len(rep.Images[0].Baselines) != 3 {
		t.Fatalf("eval --json images: %+v", rep.Images)
	}
	for _, b := range []string{"identity", "mean_std", "histogram"} {
		if f := rep.Total.Baselines[b]; len(f) != 4 || f["ssim"] == 0 {
			t.Errorf("total %s: %v; want n, l1, psnr, ssim", b, f)
		}
	}
	if rep.Total.Best["psnr"] == "" || len(rep.Total.Margin) != 3 {
		t.Errorf("best %v, margin %v", rep.Total.Best, rep.Total.Margin)
	}
	stdout, _, err = runCLI(t, args...)
	if err != nil || !strings.Contains(stdout, "*") || !strings.Contains(stdout, "margin") {
		t.Errorf("eval text (%v):\n%s", err, stdout)
	}
}
