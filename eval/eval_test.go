package eval

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/runtime"
	"github.com/ganrt/ganrt/synth"
	"github.com/ganrt/ganrt/train"
)

// TestStarGANConvergence trains a tiny StarGAN on the six-domain synthetic
// weather set (folder per domain, 32x32) for 600 iterations (n_critic 2,
// learning rates 2e-4), exports the generator and evaluates every test
// scene against its true render in each other domain, beside the
// baselines. Measured at this configuration (232 s on 2 shared cores, about
// 80 s on quiet ones): over all targets PSNR 16.33 dB, +0.01 dB over the
// best baseline (mean_std, 16.32 dB) and +5.6 dB over identity; SSIM 0.174,
// -0.186 under the best baseline (histogram, 0.360). So this run does NOT
// beat the best baseline on SSIM: it learns the colours of the targets but
// not yet their structure. What it does beat, the test asserts with about
// half the measured margins: PSNR over the best baseline for fog (+2.82 dB
// measured) and snow (+0.88 dB), and over identity in total.
const (
	fogMarginPSNR, snowMarginPSNR = 1.4, 0.4
	identityMarginPSNR            = 3.0
	// totalMarginPSNR is how far under the best baseline the total PSNR may
	// be (measured +0.01 dB).
	totalMarginPSNR = -0.5
)

func TestStarGANConvergence(t *testing.T) {
	if testing.Short() {
		t.Skip("convergence run skipped with -short")
	}
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if _, err := synth.Write(dataDir, synth.Options{Kind: synth.KindWeatherSingle, N: 40, TestN: 3, Size: 32, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	c := train.DefaultStarGANConfig
	c.Folders, c.Out = filepath.Join(dataDir, "train"), filepath.Join(dir, "run")
	c.CDim, c.ImageSize, c.CropSize = 6, 32, 32
	c.GConvDim, c.DConvDim, c.GRepeatNum, c.DRepeatNum = 16, 16, 2, 3
	c.Batch, c.Iters, c.ItersDecay, c.LRUpdateStep = 8, 600, 300, 10
	c.NCritic, c.GLR, c.DLR = 2, 2e-4, 2e-4
	c.SaveEvery, c.SampleEvery = 0, 0
	if err := train.TrainStarGAN(context.Background(), c, nil, nil); err != nil {
		t.Fatal(err)
	}
	m, err := export.Load(filepath.Join(c.Out, "600-G.safetensors"), export.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Spec.Domains, ","); got != "day,dusk,fog,night,rain,snow" {
		t.Fatalf("checkpoint domains %q; want the folder names", got)
	}
	model := filepath.Join(dir, "g.onnx")
	if err := export.WriteONNX(m, model, export.ONNXOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := runtime.Open(model, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	rep, err := Run(context.Background(), tr, Options{Input: filepath.Join(dataDir, "test"), Truth: filepath.Join(dataDir, "test_truth"), Train: c.Folders})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.Text())
	if len(rep.Rows) != 6 || rep.Skipped != 18 {
		t.Errorf("got %d target rows and %d skipped pairs; want 6 targets and 18 (one per test image)", len(rep.Rows), rep.Skipped)
	}
	if got := rep.Rows[3].Target; got != "night" {
		t.Errorf("row 3 is named %q; want the domain night", got)
	}
	byTarget := map[string]Row{}
	for _, r := range rep.Rows {
		byTarget[r.Target] = r
	}
	for _, c := range []struct {
		target string
		want   float64
	}{{"fog", fogMarginPSNR}, {"snow", snowMarginPSNR}} {
		if m := byTarget[c.target].Margin.PSNR; m < c.want {
			t.Errorf("%s: PSNR margin over the best baseline %+.2f dB; want >= %+.2f dB", c.target, m, c.want)
		}
	}
	if m := rep.Total.Margin.PSNR; m < totalMarginPSNR {
		t.Errorf("total PSNR margin over the best baseline %+.2f dB; want >= %+.2f dB", m, totalMarginPSNR)
	}
	if g := rep.Total.Model.PSNR - rep.Total.Baselines[Identity].PSNR; g < identityMarginPSNR {
		t.Errorf("PSNR gain over identity %+.2f dB; want >= %+.2f dB", g, identityMarginPSNR)
	}
}
