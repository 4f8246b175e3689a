package eval

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/runtime"
	"github.com/ganrt/ganrt/synth"
)

// openGolden exports a committed reference checkpoint (random weights) and
// opens it.
func openGolden(t *testing.T, ckpt string, ov export.Overrides) *runtime.Translator {
	t.Helper()
	m, err := export.Load(filepath.Join("..", "testdata", "golden", ckpt), ov)
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(t.TempDir(), "g.onnx")
	if err := export.WriteONNX(m, model, export.ONNXOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := runtime.Open(model, runtime.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestRunCycleGAN evaluates an untrained CycleGAN generator on a tiny
// day/night set: every pair has the model's and each baseline's figures,
// the total is their mean, the best baseline of each figure is the best
// one, the identity baseline is the input itself, and the JSON report
// holds every figure.
func TestRunCycleGAN(t *testing.T) {
	dir := t.TempDir()
	if _, err := synth.Write(dir, synth.Options{N: 4, TestN: 3, Size: 24, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	tr := openGolden(t, "cyclegan_resnet6_ngf8.pth", export.Overrides{})
	rep, err := Run(context.Background(), tr, Options{Input: filepath.Join(dir, "testA"), Truth: filepath.Join(dir, "testA_truth"), Train: filepath.Join(dir, "trainB")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Images) != 3 || len(rep.Rows) != 0 || rep.Total.Model.N != 3 || rep.TrainImages[""] != 4 {
		t.Fatalf("got %d images, %d rows, total n %d, %d training images; want 3, 0, 3, 4", len(rep.Images), len(rep.Rows), rep.Total.Model.N, rep.TrainImages[""])
	}
	if rep.Images[0].File != "000000.png" {
		t.Errorf("first image named %q; want 000000.png", rep.Images[0].File)
	}
	var sum float64
	for _, im := range rep.Images {
		sum += im.Baselines[MeanStd].PSNR
		if len(im.Baselines) != len(Baselines) {
			t.Errorf("%s: %d baselines; want %d", im.File, len(im.Baselines), len(Baselines))
		}
	}
	if got := rep.Total.Baselines[MeanStd].PSNR; math.Abs(got-sum/3) > 1e-9 {
		t.Errorf("total mean_std PSNR %v; want the mean of the images' %v", got, sum/3)
	}
	best := rep.Total.Best
	for _, b := range Baselines {
		s := rep.Total.Baselines[b]
		if s.PSNR > rep.Total.Baselines[best.PSNR].PSNR || s.SSIM > rep.Total.Baselines[best.SSIM].SSIM || s.L1 < rep.Total.Baselines[best.L1].L1 {
			t.Errorf("baseline %s beats the one named best (%+v)", b, best)
		}
	}
	if m := rep.Total.Margin.PSNR; math.Abs(m-(rep.Total.Model.PSNR-rep.Total.Baselines[best.PSNR].PSNR)) > 1e-12 {
		t.Errorf("PSNR margin %v is not model minus best baseline", m)
	}
	// An untrained generator loses to the colour baselines: the report
	// must say so.
	if rep.Total.Better() || !strings.Contains(rep.Text(), "does not beat") {
		t.Errorf("an untrained generator reported better than the baselines:\n%s", rep.Text())
	}
	if !strings.Contains(rep.Text(), "*") {
		t.Errorf("the text marks no best baseline:\n%s", rep.Text())
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Images []struct {
			File      string
			Model     struct{ L1, PSNR, SSIM float64 }
			Baselines map[string]struct{ L1, PSNR, SSIM float64 }
		}
		Total struct {
			Best   map[string]string `json:"best_baseline"`
			Margin map[string]float64
		}
	}
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Images) != 3 || back.Images[1].Baselines[Histogram].SSIM == 0 || back.Images[1].Model.PSNR == 0 ||
		back.Total.Best["ssim"] == "" || len(back.Total.Margin) != 3 {
		t.Errorf("JSON lacks figures: %s", js)
	}
}

// TestRunStarGANNames evaluates an untrained StarGAN generator (c_dim 5)
// on the multi-label weather set (CelebA layout): rows are named by their
// domains ("Night", "Day+Fog"), not label digits, and the baselines take
// each target's statistics from the training images with that label.
func TestRunStarGANNames(t *testing.T) {
	dir := t.TempDir()
	if _, err := synth.Write(dir, synth.Options{Kind: synth.KindWeather, N: 120, TestN: 2, Size: 16, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	tr := openGolden(t, "stargan_g_c5.pth", export.Overrides{Domains: synth.Attrs()})
	rep, err := Run(context.Background(), tr, Options{Input: filepath.Join(dir, "test", "images"), Truth: filepath.Join(dir, "test_truth"), Train: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) == 0 {
		t.Fatal("no rows")
	}
	for _, r := range rep.Rows {
		bits, err := synth.ParseLabel(r.Label)
		if err != nil {
			t.Fatalf("row label %q: %v", r.Label, err)
		}
		var want []string
		for i, b := range bits {
			if b {
				want = append(want, synth.Attrs()[i])
			}
		}
		if r.Target != strings.Join(want, "+") {
			t.Errorf("row %s named %q; want %q", r.Label, r.Target, strings.Join(want, "+"))
		}
		if rep.TrainImages[r.Label] == 0 {
			t.Errorf("row %s: no training images counted", r.Label)
		}
	}
	if !strings.Contains(rep.Text(), "Night") {
		t.Errorf("the text names no domain:\n%s", rep.Text())
	}
	if _, err := Run(context.Background(), tr, Options{Input: filepath.Join(dir, "test", "images"), Truth: filepath.Join(dir, "test_truth")}); err == nil {
		t.Error("Run without training images: got no error")
	}
}
