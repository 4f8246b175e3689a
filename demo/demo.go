// Package demo is ganrt's end-to-end demonstration (`make demo`): it
// generates a synthetic day/night data set with ground truth, trains a
// small CycleGAN on it for a fixed, seeded number of iterations (on the CPU
// by default), exports the day-to-night generator to ONNX, translates the
// test scenes, writes a labelled grid, and reports L1, PSNR and SSIM
// against the true night renders beside the baselines that learn nothing
// (see package eval), then the inference latency as `ganrt bench` measures
// it. A longer run's generator, trained by a documented `ganrt train`
// command and shipped in the binary (LongerRun), is evaluated on the same
// scenes and shown beside it.
//
// RunStarGAN is the same for StarGAN on the synthetic weather domains.
package demo

import (
	"context"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"time"

	"github.com/ganrt/ganrt/eval"
	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/atomicfile"
	"github.com/ganrt/ganrt/runtime"
	"github.com/ganrt/ganrt/synth"
	"github.com/ganrt/ganrt/train"
)

// Config sizes the CycleGAN demo.
type Config struct {
	// Out is the folder for everything the demo writes: new, empty, or a
	// previous demo's output (replaced); anything else is refused.
	Out string
	// Size is the image side; N the training images per domain; TestN the
	// test scenes (each with its true night render).
	Size, N, TestN int
	// NGF is the width of the generators and discriminators (resnet_6blocks).
	NGF int
	// Epochs at the learning rate LR, then EpochsDecay of linear decay to
	// zero; an epoch is N iterations (batch 1), so training runs
	// N*(Epochs+EpochsDecay) iterations whatever the machine.
	Epochs, EpochsDecay int
	LR                  float64
	// Threads are ONNX Runtime's intra-op threads for training (0: one per
	// core). The default is 1, so that every machine trains the same run:
	// another count changes the order of float sums, and over 1000
	// iterations a GAN amplifies that into other (similar) figures.
	Threads int
	// GridScenes is how many test scenes the grid shows.
	GridScenes int
	// BenchSize is the image side of the latency measurement.
	BenchSize int
	Seed      uint64
	// Device is where training and translation run: "" or cpu, cuda[:N],
	// auto.
	Device string
	// Longer also evaluates the shipped longer run's generator (LongerRun)
	// on the same test scenes and shows it in the grid. It was trained at
	// 64x64: other sizes leave it out.
	Longer bool
}

// Iters is the number of training iterations.
func (c Config) Iters() int { return c.N * (c.Epochs + c.EpochsDecay) }

// data are the options of the demo's synthetic day/night set.
func (c Config) data() synth.Options {
	return synth.Options{Kind: synth.KindDayNight, N: c.N, TestN: c.TestN, Size: c.Size, Seed: c.Seed, Legible: true}
}

// Default is the `make demo` configuration: 1000 iterations, about four
// minutes on two cores.
var Default = Config{Out: "out/demo", Size: 64, N: 250, TestN: 24, NGF: 16, Epochs: 2, EpochsDecay: 2, LR: 2e-4,
	GridScenes: 6, BenchSize: 256, Seed: 1, Longer: true, Threads: 1}

// Result is what a demo measured.
type Result struct {
	// Report compares the demo's model and the baselines with the truth;
	// Longer the shipped longer run (nil when not evaluated).
	Report, Longer *eval.Report
	// Train is the training time; Total the whole demo's.
	Train, Total time.Duration
	// Bench is the latency measurement of the demo's model.
	Bench runtime.BenchResult
}

// Run runs the demo, printing progress and results to w. Cancelling ctx
// stops it (training saves its checkpoint first).
func Run(ctx context.Context, cfg Config, progress train.Progress, w io.Writer) (*Result, error) {
	start := time.Now()
	if err := prepareOut(cfg.Out, "cyclegan"); err != nil {
		return nil, err
	}
	dataDir := filepath.Join(cfg.Out, "data")
	runDir := filepath.Join(cfg.Out, "run")
	if _, err := synth.WriteContext(ctx, dataDir, cfg.data()); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "1. data: %d day and %d night %dx%d training scenes (unpaired; legible: every window lit at night, no stars), %d test scenes with true night renders, in %s\n",
		cfg.N, cfg.N, cfg.Size, cfg.Size, cfg.TestN, dataDir)

	tc := train.DefaultCycleGANConfig
	tc.Data, tc.Out, tc.Seed = dataDir, runDir, cfg.Seed
	tc.NetG, tc.NGF, tc.NDF = "resnet_6blocks", cfg.NGF, cfg.NGF
	tc.LoadSize, tc.CropSize = cfg.Size+cfg.Size/8, cfg.Size
	tc.Epochs, tc.EpochsDecay, tc.LR = cfg.Epochs, cfg.EpochsDecay, cfg.LR
	tc.SaveEvery, tc.SampleEvery = 250, 250
	tc.Threads = cfg.Threads
	if cfg.Device != "" {
		tc.Device = cfg.Device
	}
	fmt.Fprintf(w, "2. training a CycleGAN (%s, ngf %d, %dx%d crops, lr %g) for %d iterations (%d epochs + %d of decay) on %s...\n",
		tc.NetG, tc.NGF, tc.CropSize, tc.CropSize, tc.LR, cfg.Iters(), cfg.Epochs, cfg.EpochsDecay, tc.Device)
	trainStart := time.Now()
	if err := train.TrainCycleGAN(ctx, tc, progress, nil); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &Result{Train: time.Since(trainStart)}

	model := filepath.Join(cfg.Out, "day2night.onnx")
	if err := exportONNX(filepath.Join(runDir, "latest_net_G_A.safetensors"), model); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "3. trained in %s; exported G_A (day -> night) to %s\n", res.Train.Round(time.Second), model)

	t, err := runtime.Open(model, runtime.Options{Device: cfg.Device})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	evalOpts := eval.Options{Input: filepath.Join(dataDir, "testA"), Truth: filepath.Join(dataDir, "testA_truth"), Train: filepath.Join(dataDir, "trainB")}
	if res.Report, err = eval.Run(ctx, t, evalOpts); err != nil {
		return nil, err
	}
	runs := []gridRun{{title: fmt.Sprintf("%d-it demo run", cfg.Iters()), t: t, rep: res.Report}}
	fmt.Fprintf(w, "4. %d-iteration run against the true night renders of the %d test scenes:\n", cfg.Iters(), res.Report.Total.Model.N)
	fmt.Fprint(w, indent(res.Report.Text()))

	if cfg.Longer && cfg.Size == LongerRun.Size {
		lt, rep, err := evalLonger(ctx, cfg.Out, longerRunFile, "longer_run_G_A.safetensors", cfg.Device, evalOpts)
		if err != nil {
			return nil, err
		}
		defer lt.Close()
		res.Longer = rep
		runs = append(runs, gridRun{title: "longer run", t: lt, rep: res.Longer})
		fmt.Fprintf(w, "5. the longer run (%d iterations, shipped; see demo/longrun/README.md) on the same scenes:\n", LongerRun.Iters)
		fmt.Fprint(w, indent(res.Longer.Text()))
	}

	grid, err := dayNightGrid(ctx, t, evalOpts, res.Report, runs, cfg.GridScenes)
	if err != nil {
		return nil, err
	}
	err = res.finish(ctx, w, start, finishing{out: cfg.Out, model: model, device: cfg.Device, benchSize: cfg.BenchSize, step: 6,
		gridDesc: "one column per method (day input, best baseline, the runs, true night), one test scene a row, pixels shown 2x",
		what:     fmt.Sprintf("the %d-iteration model", cfg.Iters())}, grid)
	return res, err
}

// finishing is what the last steps of a demo need: where the grid goes, the
// model to time, and how the messages name them.
type finishing struct {
	out, model, device string
	benchSize, step    int
	gridDesc, what     string
}

// finish writes grid to OUT/grid.png, measures the model's latency as
// `ganrt bench` does, prints both as steps f.step and f.step+1 and the total
// time, and returns an error when the model does not beat the best baseline
// on both PSNR and SSIM.
func (res *Result) finish(ctx context.Context, w io.Writer, start time.Time, f finishing, grid image.Image) error {
	gridPath := filepath.Join(f.out, "grid.png")
	if err := runtime.WriteFile(gridPath, grid, runtime.EncodeOptions{}); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d. %s: %s\n", f.step, gridPath, f.gridDesc)
	var err error
	if res.Bench, err = benchModel(ctx, f.model, f.device, f.benchSize); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d. %s\n", f.step+1, benchLine(f.model, f.device, res.Bench))
	res.Total = time.Since(start)
	fmt.Fprintf(w, "done in %s\n", res.Total.Round(time.Second))
	if !res.Report.Total.Better() {
		return fmt.Errorf("%s does not beat the best baseline on both PSNR (%+.2f dB) and SSIM (%+.4f)",
			f.what, res.Report.Total.Margin.PSNR, res.Report.Total.Margin.SSIM)
	}
	return nil
}

// exportONNX exports a generator checkpoint to an ONNX file.
func exportONNX(ckpt, onnx string) error {
	m, err := export.Load(ckpt, export.Overrides{})
	if err != nil {
		return err
	}
	return export.WriteONNX(m, onnx, export.ONNXOptions{})
}

// indent indents each line of s by three spaces.
func indent(s string) string {
	out := make([]byte, 0, len(s)+64)
	start := true
	for i := 0; i < len(s); i++ {
		if start {
			out = append(out, "   "...)
		}
		out = append(out, s[i])
		start = s[i] == '\n'
	}
	return string(out)
}

// benchModel measures the latency of an exported model as `ganrt bench
// --model MODEL --size SIZE --batch 1` does with its default flags: a
// session of its own opened with the same options (intra-op threads 0: one
// per physical core), runtime.DefaultBenchWarmup warm-up and
// runtime.DefaultBenchIters measured runs on in-memory images.
func benchModel(ctx context.Context, model, device string, size int) (runtime.BenchResult, error) {
	t, err := runtime.Open(model, runtime.Options{Device: device, GraphOptLevel: runtime.GraphOptAll})
	if err != nil {
		return runtime.BenchResult{}, err
	}
	defer t.Close()
	return t.Bench(ctx, runtime.BenchOptions{Size: size, Batch: 1, Warmup: runtime.DefaultBenchWarmup, Iters: runtime.DefaultBenchIters})
}

// benchLine says what benchModel measured and how to measure it again.
func benchLine(model, device string, b runtime.BenchResult) string {
	if device == "" {
		device = "cpu"
	}
	return fmt.Sprintf("latency at %dx%d, batch 1, %s, intra-op threads one per core: p50 %.1f ms per image in the ONNX Runtime session, %.1f ms end to end (in-memory image to image, x%.3f); %d warm-up + %d measured runs, as `ganrt bench --model %s --size %d --batch 1 --device %s` measures it",
		b.Size, b.Size, device, ms(b.Session.P50), ms(b.EndToEnd.P50), b.Overhead, b.Warmup, b.Iters, model, b.Size, device)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// evalLonger writes the shipped generator at path in longrun into out as
// name, exports it to out/longer_run.onnx, opens that on device and
// evaluates it with o. The caller closes the translator.
func evalLonger(ctx context.Context, out, path, name, device string, o eval.Options) (*runtime.Translator, *eval.Report, error) {
	g, err := longerRunG(path)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: the longer run: %w", err)
	}
	ckpt := filepath.Join(out, name)
	if err := atomicfile.WriteBytes(ckpt, g); err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	model := filepath.Join(out, "longer_run.onnx")
	if err := exportONNX(ckpt, model); err != nil {
		return nil, nil, fmt.Errorf("demo: the longer run's generator: %w", err)
	}
	t, err := runtime.Open(model, runtime.Options{Device: device})
	if err != nil {
		return nil, nil, err
	}
	rep, err := eval.Run(ctx, t, o)
	if err != nil {
		t.Close()
		return nil, nil, err
	}
	return t, rep, nil
}

// gridRun is one trained model shown in the grid.
type gridRun struct {
	title string
	t     *runtime.Translator
	rep   *eval.Report
}

// dayNightGrid lays out up to n test scenes, one a row: the day input, the
// best baseline on PSNR, each run's night, and the true night, each
// column titled with its figures over all test scenes.
func dayNightGrid(ctx context.Context, t *runtime.Translator, o eval.Options, rep *eval.Report, runs []gridRun, n int) (*image.RGBA, error) {
	files, err := filepath.Glob(filepath.Join(o.Input, "*.png"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no test images in %s", o.Input)
	}
	files = files[:min(n, len(files))]
	best := rep.Total.Best.PSNR
	stats, err := trainStats(t, o.Train)
	if err != nil {
		return nil, err
	}
	idStats, bs := rep.Total.Baselines[eval.Identity], rep.Total.Baselines[best]
	titles := [][]string{
		{"day input", "baseline:"},
		{"", best},
		{figureTitle(idStats.PSNR, idStats.SSIM), figureTitle(bs.PSNR, bs.SSIM)},
	}
	for _, r := range runs {
		titles[0] = append(titles[0], r.title)
		titles[1] = append(titles[1], "")
		titles[2] = append(titles[2], figureTitle(r.rep.Total.Model.PSNR, r.rep.Total.Model.SSIM))
	}
	titles[0] = append(titles[0], "true night")
	var rows [][]image.Image
	for _, f := range files {
		in, err := t.DecodeFile(f)
		if err != nil {
			return nil, err
		}
		want, err := t.DecodeFile(filepath.Join(o.Truth, filepath.Base(f)))
		if err != nil {
			return nil, err
		}
		cells := []image.Image{in, baselineImage(best, in, stats)}
		for _, r := range runs {
			out, err := r.t.Translate(ctx, in, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			cells = append(cells, out)
		}
		rows = append(rows, append(cells, want))
	}
	return composeGrid(titles, rows, 2), nil
}

// figureTitle is a column's figures: mean PSNR and SSIM.
func figureTitle(psnr, ssim float64) string { return fmt.Sprintf("%.1fdB %.3f", psnr, ssim) }
