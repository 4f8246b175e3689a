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
	// Longer also evaluates the shipped run's generator
	// (LongerStarGANRun) on the same test scenes and shows it in the grid.
	// It was trained at 32x32: other sizes leave it out.
	Longer bool
}

// DefaultStarGAN is the `ganrt demo stargan` configuration: about four
// minutes of training on two cores.
var DefaultStarGAN = StarGANConfig{Out: "out/demo-stargan", Size: 32, N: 100, TestN: 4, ConvDim: 16, RepeatNum: 2, DRepeatNum: 3,
	Batch: 8, Iters: 3000, ItersDecay: 1500, NCritic: 2, LR: 2e-4, GridScenes: 4, BenchSize: 256, Seed: 2, Longer: true}

// data are the options of the demo's synthetic weather set.
func (c StarGANConfig) data() synth.Options {
	return synth.Options{Kind: synth.KindWeatherSingle, N: c.N, TestN: c.TestN, Size: c.Size, Seed: c.Seed, Legible: true}
}

// RunStarGAN runs the StarGAN demo, printing progress and results to w.
func RunStarGAN(ctx context.Context, cfg StarGANConfig, progress train.Progress, w io.Writer) (*Result, error) {
	start := time.Now()
	if err := prepareOut(cfg.Out, "stargan"); err != nil {
		return nil, err
	}
	dataDir := filepath.Join(cfg.Out, "data")
	runDir := filepath.Join(cfg.Out, "run")
	if _, err := synth.WriteContext(ctx, dataDir, cfg.data()); err != nil {
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
	fmt.Fprintf(w, "4. the %d-iteration run against the true renders, every test scene to every other domain:\n", cfg.Iters)
	fmt.Fprint(w, indent(res.Report.Text()))
	runs := []gridRun{{title: fmt.Sprintf("%d it", cfg.Iters), t: t, rep: res.Report}}

	step := 5
	if cfg.Longer && cfg.Size == LongerStarGANRun.Size {
		lt, rep, err := evalLonger(ctx, cfg.Out, longerStarGANRunFile, "longer_run_G.safetensors", cfg.Device, o)
		if err != nil {
			return nil, err
		}
		defer lt.Close()
		res.Longer = rep
		runs = append(runs, gridRun{title: fmt.Sprintf("shipped %d it", LongerStarGANRun.Iters), t: lt, rep: res.Longer})
		fmt.Fprintf(w, "5. the shipped run (%d iterations at lr %g, the best checkpoint on validation scenes of another seed; see demo/longrun/README.md) on the same scenes:\n", LongerStarGANRun.Iters, LongerStarGANRun.LR)
		fmt.Fprint(w, indent(res.Longer.Text()))
		step = 6
	}

	grid, err := weatherGrid(ctx, o, runs, names, cfg.GridScenes)
	if err != nil {
		return nil, err
	}
	err = res.finish(ctx, w, start, finishing{out: cfg.Out, model: model, device: cfg.Device, benchSize: cfg.BenchSize, step: step,
		gridDesc: "for each test scene a row of translations per run (input, then one column per target domain; the demo's run first) and a row of the true renders; pixels shown 3x",
		what:     fmt.Sprintf("the %d-iteration StarGAN model", cfg.Iters)}, grid)
	return res, err
}

// weatherGrid shows up to n test scenes, each from another source domain:
// for each a row of translations per run (the input, then each target
// domain) and a row of the true renders, under titles naming the targets
// with each run's and the best baseline's mean figures for that target.
func weatherGrid(ctx context.Context, o eval.Options, runs []gridRun, names []string, n int) (*image.RGBA, error) {
	titles := [][]string{append([]string{"input"}, names...)}
	for _, run := range runs {
		byTarget := targetRows(run.rep)
		line := []string{run.title + ":"}
		for _, name := range names {
			r := byTarget[name]
			line = append(line, figureTitle(r.Model.PSNR, r.Model.SSIM))
		}
		titles = append(titles, line)
	}
	byTarget := targetRows(runs[0].rep)
	line := []string{"best base:"}
	for _, name := range names {
		r := byTarget[name]
		line = append(line, figureTitle(r.Baselines[r.Best.PSNR].PSNR, r.Baselines[r.Best.SSIM].SSIM))
	}
	titles = append(titles, line)

	t := runs[0].t
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
		truth := []image.Image{in}
		for i := range names {
			bits := make([]bool, len(names))
			bits[i] = true
			want, err := t.DecodeFile(filepath.Join(o.Truth, scene, synth.LabelString(bits)+".png"))
			if err != nil {
				return nil, err
			}
			truth = append(truth, want)
		}
		for _, run := range runs {
			cells := []image.Image{in}
			for i := range names {
				label := make([]float32, len(names))
				label[i] = 1
				out, err := run.t.Translate(ctx, in, label)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
				cells = append(cells, out)
			}
			rows = append(rows, cells)
		}
		rows = append(rows, truth)
	}
	return composeGrid(titles, rows, 3), nil
}

// targetRows indexes a report's rows by target domain.
func targetRows(rep *eval.Report) map[string]eval.Row {
	m := map[string]eval.Row{}
	for _, r := range rep.Rows {
		m[r.Target] = r
	}
	return m
}
