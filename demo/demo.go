// Package demo is ganrt's end-to-end demonstration (`make demo`): it
// generates a synthetic day/night data set with ground truth, trains a
// small CycleGAN on it for a fixed time (on the CPU by default), exports the day-to-night
// generator to ONNX, translates the test images, writes a side-by-side grid
// and reports the error against the true night renders beside the identity
// baseline, and the inference latency.
package demo

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ganrt/ganrt/eval"
	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/runtime"
	"github.com/ganrt/ganrt/synth"
	"github.com/ganrt/ganrt/train"
)

// Config sizes the demo.
type Config struct {
	// Out is the folder for everything the demo writes.
	Out string
	// Train is the training time budget.
	Train time.Duration
	// Iters, when positive, also stops training after that many iterations.
	Iters int
	// Size is the image side; N and TestN the training images per domain
	// and test scenes.
	Size, N, TestN int
	// NGF is the width of the generators and discriminators.
	NGF int
	// BenchSize is the image side of the latency measurement.
	BenchSize int
	Seed      uint64
	// Device is where training and translation run: "" or cpu, cuda[:N],
	// auto.
	Device string
}

// Default runs in about five minutes on two cores.
var Default = Config{Out: "out/demo", Train: 4 * time.Minute, Size: 64, N: 300, TestN: 24, NGF: 16, BenchSize: 256, Seed: 1}

// Run runs the demo, printing progress and results to w. Cancelling ctx
// stops it (training saves its checkpoint first).
func Run(ctx context.Context, cfg Config, progress train.Progress, w io.Writer) error {
	_, err := run(ctx, cfg, progress, w)
	return err
}

// run is Run, returning the evaluation report.
func run(ctx context.Context, cfg Config, progress train.Progress, w io.Writer) (*eval.Report, error) {
	dataDir := filepath.Join(cfg.Out, "data")
	runDir := filepath.Join(cfg.Out, "run")
	if err := replaceable(cfg.Out); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(cfg.Out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(cfg.Out, demoMarker), []byte("made by ganrt demo; the next demo run into this folder replaces it\n"), 0o644); err != nil {
		return nil, err
	}
	start := time.Now()
	if _, err := synth.WriteContext(ctx, dataDir, synth.Options{Kind: synth.KindDayNight, N: cfg.N, TestN: cfg.TestN, Size: cfg.Size, Seed: cfg.Seed}); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "1. data: %d day and %d night %dx%d training scenes (unpaired), %d test scenes with true night renders, in %s\n",
		cfg.N, cfg.N, cfg.Size, cfg.Size, cfg.TestN, dataDir)

	tc := train.DefaultCycleGANConfig
	tc.Data, tc.Out, tc.Seed = dataDir, runDir, cfg.Seed
	tc.NetG, tc.NGF, tc.NDF = "resnet_6blocks", cfg.NGF, cfg.NGF
	tc.MaxIters = cfg.Iters
	tc.LoadSize, tc.CropSize = cfg.Size+cfg.Size/8, cfg.Size
	tc.Epochs, tc.EpochsDecay = 1000, 0
	tc.SaveEvery, tc.SampleEvery = 100, 100
	if cfg.Device != "" {
		tc.Device = cfg.Device
	}
	fmt.Fprintf(w, "2. training a CycleGAN (%s, ngf %d, %dx%d crops) for %s on %s...\n", tc.NetG, tc.NGF, tc.CropSize, tc.CropSize, cfg.Train, tc.Device)
	tctx, cancel := context.WithTimeout(ctx, cfg.Train)
	err := train.TrainCycleGAN(tctx, tc, progress, nil)
	cancel()
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	model := filepath.Join(cfg.Out, "day2night.onnx")
	m, err := export.Load(filepath.Join(runDir, "latest_net_G_A.safetensors"), export.Overrides{})
	if err != nil {
		return nil, err
	}
	if err := export.WriteONNX(m, model, export.ONNXOptions{}); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "3. exported G_A (day -> night) to %s\n", model)

	t, err := runtime.Open(model, runtime.Options{Device: cfg.Device})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	grid, err := sideBySide(ctx, t, filepath.Join(dataDir, "testA"), filepath.Join(dataDir, "testA_truth"), 6)
	if err != nil {
		return nil, err
	}
	gridPath := filepath.Join(cfg.Out, "grid.png")
	if err := runtime.WriteFile(gridPath, grid, runtime.EncodeOptions{}); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "4. translated the test scenes; %s shows day input | ganrt night | true night, one scene a row\n", gridPath)

	rep, err := eval.Run(ctx, t, filepath.Join(dataDir, "testA"), filepath.Join(dataDir, "testA_truth"))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "5. against the true night renders of %d test scenes:\n   model:    L1 %.4f  PSNR %.2f dB\n   identity: L1 %.4f  PSNR %.2f dB  (the day input itself)\n   gain:     %+.2f dB\n",
		rep.Total.Model.N, rep.Total.Model.L1, rep.Total.Model.PSNR, rep.Total.Identity.L1, rep.Total.Identity.PSNR, rep.Gain())

	b, err := t.Bench(ctx, runtime.BenchOptions{Size: cfg.BenchSize, Batch: 1, Warmup: 3, Iters: 20})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "6. latency at %dx%d, batch 1, %s: p50 %.1f ms end to end (ONNX Runtime session %.1f ms, overhead x%.3f)\n",
		cfg.BenchSize, cfg.BenchSize, t.Info().Device, ms(b.EndToEnd.P50), ms(b.Session.P50), b.Overhead)
	fmt.Fprintf(w, "done in %s\n", time.Since(start).Round(time.Second))
	if rep.Gain() <= 0 {
		return rep, errors.New("the model does not beat the identity baseline: training did not learn the translation")
	}
	return rep, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// sideBySide builds a grid of up to rows test scenes: input, translation,
// truth.
func sideBySide(ctx context.Context, t *runtime.Translator, input, truth string, rows int) (*image.RGBA, error) {
	files, err := filepath.Glob(filepath.Join(input, "*.png"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no test images in %s", input)
	}
	files = files[:min(rows, len(files))]
	var cells [][]image.Image
	for _, f := range files {
		in, err := t.DecodeFile(f)
		if err != nil {
			return nil, err
		}
		out, err := t.Translate(ctx, in, nil)
		if err != nil {
			return nil, err
		}
		want, err := t.DecodeFile(filepath.Join(truth, filepath.Base(f)))
		if err != nil {
			return nil, err
		}
		cells = append(cells, []image.Image{in, out, want})
	}
	const gap = 4
	w, h := cells[0][0].Bounds().Dx(), cells[0][0].Bounds().Dy()
	grid := image.NewRGBA(image.Rect(0, 0, 3*w+2*gap, len(cells)*(h+gap)-gap))
	draw.Draw(grid, grid.Bounds(), image.White, image.Point{}, draw.Src)
	for r, row := range cells {
		for c, im := range row {
			at := image.Pt(c*(w+gap), r*(h+gap))
			draw.Draw(grid, image.Rectangle{Min: at, Max: at.Add(image.Pt(w, h))}, im, im.Bounds().Min, draw.Src)
		}
	}
	return grid, nil
}

// demoMarker is the file that marks a folder as the demo's own, which a
// later demo may replace.
const demoMarker = ".ganrt-demo"

// replaceable accepts an Out folder the demo may remove: missing, empty, or
// made by an earlier demo (it holds demoMarker, or data/synth.json from
// before the marker). Anything else holds what the user wrote, and is
// refused.
func replaceable(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo: --out %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	for _, p := range []string{demoMarker, filepath.Join("data", "synth.json")} {
		if fi, err := os.Lstat(filepath.Join(dir, p)); err == nil && fi.Mode().IsRegular() {
			return nil
		}
	}
	return fmt.Errorf("demo: --out %s holds files the demo did not make (%s, ...) and would be replaced; choose a new or empty folder", dir, entries[0].Name())
}
