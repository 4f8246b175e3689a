package demo

import (
	"context"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/ganrt/ganrt/eval"
	"github.com/ganrt/ganrt/runtime"
	"github.com/ganrt/ganrt/synth"
	"github.com/ganrt/ganrt/train"
)

// StarGANConfig sizes the StarGAN demo: the synthetic weather domains (day,
// dusk, fog, night, rain, snow; a folder each).
type StarGANConfig struct {
	// Out is the output folder, as for Config.
	Out string
	// Size is the image side; N the training images per domain; TestN the
	// test scenes per domain (each rendered in every domain as truth).
	Size, N, TestN int
	// ConvDim and RepeatNum size the generator (g_conv_dim, g_repeat_num);
	// the discriminator has conv_dim ConvDim and DRepeatNum layers.
	ConvDim, RepeatNum, DRepeatNum int
	// Batch, Iters (the last ItersDecay of them with the learning rates
	// decaying linearly), NCritic and LR (both networks).
	Batch, Iters, ItersDecay, NCritic int
	LR                                float64
	Threads                           int
	// GridScenes is how many test scenes the grid shows (from different
	// source domains).
	GridScenes int
	BenchSize  int
	Seed       uint64
	Device     string
}

// DefaultStarGAN is the `ganrt demo stargan` configuration: about four
// minutes of training on two cores.
var DefaultStarGAN = StarGANConfig{Out: "out/demo-stargan", Size: 32, N: 100, TestN: 4, ConvDim: 16, RepeatNum: 2, DRepeatNum: 3,
	Batch: 8, Iters: 3000, ItersDecay: 1500, NCritic: 2, LR: 2e-4, GridScenes: 4, BenchSize: 256, Seed: 2}

// RunStarGAN runs the StarGAN demo, printing progress and results to w.
func RunStarGAN(ctx context.Context, cfg StarGANConfig, progress train.Progress, w io.Writer) (*Result, error) {
	start := time.Now()
	if err := prepareOut(cfg.Out, "stargan"); err != nil {
		return nil, err
	}
	dataDir := filepath.Join(cfg.Out, "data")
	runDir := filepath.Join(cfg.Out, "run")
	if _, err := synth.WriteContext(ctx, dataDir, synth.Options{Kind: synth.KindWeatherSingle, N: cfg.N, TestN: cfg.TestN, Size: cfg.Size, Seed: cfg.Seed, Legible: true}); err != nil {
		return nil, err
	}
	var names []string
	for _, d := range synth.SingleDomains() {
		names = append(names, d.Name)
	}
	fmt.Fprintf(w, "1. data: %d %dx%d training scenes in each of %d domains (%s; legible: every window lit at night, no stars, no falling rain or snow), %d test scenes per domain rendered in every domain, in %s\n",
		cfg.N, cfg.Size, cfg.Size, len(names), strings.Join(names, ", "), cfg.TestN, dataDir)

	c := train.DefaultStarGANConfig
	c.Folders, c.Out, c.Seed = filepath.Join(dataDir, "train"), runDir, cfg.Seed
	c.CDim, c.ImageSize, c.CropSize = len(names), cfg.Size, cfg.Size
	c.GConvDim, c.DConvDim, c.GRepeatNum, c.DRepeatNum = cfg.ConvDim, cfg.ConvDim, cfg.RepeatNum, cfg.DRepeatNum
	c.Batch, c.Iters, c.ItersDecay, c.NCritic = cfg.Batch, cfg.Iters, cfg.ItersDecay, cfg.NCritic
	c.GLR, c.DLR, c.LRUpdateStep = cfg.LR, cfg.LR, 10
	c.SaveEvery, c.SampleEvery, c.Threads = cfg.Iters, 250, cfg.Threads
	if cfg.Device != "" {
		c.Device = cfg.Device
	}
	fmt.Fprintf(w, "2. training a StarGAN (conv_dim %d, repeat_num %d, batch %d, n_critic %d, lr %g) for %d iterations (the last %d decaying) on %s...\n",
		cfg.ConvDim, cfg.RepeatNum, cfg.Batch, cfg.NCritic, cfg.LR, cfg.Iters, cfg.ItersDecay, c.Device)
	trainStart := time.Now()
	if err := train.TrainStarGAN(ctx, c, progress, nil); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &Result{Train: time.Since(trainStart)}
	model := filepath.Join(cfg.Out, "stargan.onnx")
	if err := exportONNX(filepath.Join(runDir, fmt.Sprintf("%d-G.safetensors", cfg.Iters)), model); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "3. trained in %s; exported the generator to %s\n", res.Train.Round(time.Second), model)

	t, err := runtime.Open(model, runtime.Options{Device: cfg.Device})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	o := eval.Options{Input: filepath.Join(dataDir, "test"), Truth: filepath.Join(dataDir, "test_truth"), Train: c.Folders}
	if res.Report, err = eval.Run(ctx, t, o); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "4. against the true renders, every test scene to every other domain:\n")
	fmt.Fprint(w, indent(res.Report.Text()))

	grid, err := weatherGrid(ctx, t, o, res.Report, names, cfg.GridScenes)
	if err != nil {
		return nil, err
	}
	err = res.finish(ctx, w, start, finishing{out: cfg.Out, model: model, device: cfg.Device, benchSize: cfg.BenchSize, step: 5,
		gridDesc: "for each test scene a row of ganrt's translations (input, then one column per target domain) and a row of the true renders; pixels shown 3x",
		what:     "the StarGAN model"}, grid)
	return res, err
}

// weatherGrid shows up to n test scenes, each from another source domain:
// a row of translations (the input, then each target domain) and a row of
// the true renders, under titles naming the targets with the model's and
// the best baseline's mean figures for that target.
func weatherGrid(ctx context.Context, t *runtime.Translator, o eval.Options, rep *eval.Report, names []string, n int) (*image.RGBA, error) {
	byTarget := map[string]eval.Row{}
	for _, r := range rep.Rows {
		byTarget[r.Target] = r
	}
	titles := [][]string{{"input"}, {""}, {"best base:"}}
	for _, name := range names {
		r := byTarget[name]
		titles[0] = append(titles[0], name)
		titles[1] = append(titles[1], figureTitle(r.Model.PSNR, r.Model.SSIM))
		bp := r.Baselines[r.Best.PSNR]
		titles[2] = append(titles[2], figureTitle(bp.PSNR, r.Baselines[r.Best.SSIM].SSIM))
	}
	var rows [][]image.Image
	for k := range min(n, len(names)) {
		// Scene k of source domain k*len/n, spreading the sources.
		src := names[k*len(names)/max(n, 1)]
		files, err := filepath.Glob(filepath.Join(o.Input, src, "*.png"))
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("no test images in %s", filepath.Join(o.Input, src))
		}
		f := files[k%len(files)]
		in, err := t.DecodeFile(f)
		if err != nil {
			return nil, err
		}
		scene := strings.TrimSuffix(filepath.Base(f), ".png")
		model, truth := []image.Image{in}, []image.Image{in}
		for i := range names {
			label := make([]float32, len(names))
			label[i] = 1
			out, err := t.Translate(ctx, in, label)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			bits := make([]bool, len(names))
			bits[i] = true
			want, err := t.DecodeFile(filepath.Join(o.Truth, scene, synth.LabelString(bits)+".png"))
			if err != nil {
				return nil, err
			}
			model, truth = append(model, out), append(truth, want)
		}
		rows = append(rows, model, truth)
	}
	return composeGrid(titles, rows, 3), nil
}
