package cli

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/train"
)

// trainOutputFlags are the output flags of both train commands.
var trainOutputFlags = []cli.Flag{quietFlag, printEveryFlag, jsonFlag}

// longRun is the estimated CPU run time from which training says how long
// it will take.
const longRun = 30 * time.Minute

// newTrainProgress returns the progress of a training run, with losses in
// order and, on the CPU, the advice of adviseCPU.
func newTrainProgress(c *cli.Context, name string, order []string, device, sized, smaller string) *progress {
	p := newProgress(c.App.ErrWriter, name, "it", c.Int(printEveryFlag.Name), c.Bool(quietFlag.Name))
	p.order = order
	if device == "cpu" {
		adviseCPU(p, sized, smaller)
	}
	return p
}

// adviseCPU makes p print, for a CPU run, a note at the start when the
// options are GPU-sized (sized describes them; "" when they are not), and
// an estimate after the first iterations when the run is long, both
// suggesting smaller options.
func adviseCPU(p *progress, sized, smaller string) {
	if sized != "" {
		p.startNote = fmt.Sprintf("note: these options are GPU-sized (%s): on the CPU an iteration takes seconds; "+
			"an estimate for the run follows after %d iterations. For a CPU run try %s", sized, warmup, smaller)
	}
	p.estimate = func(perStep time.Duration, left int) string {
		total := time.Duration(left) * perStep
		if total < longRun {
			return ""
		}
		msg := fmt.Sprintf("estimate: %.2fs per iteration on the CPU; the %d iterations left take about %s",
			perStep.Seconds(), left, formatDuration(total))
		if sized != "" {
			msg += "; Ctrl-C stops and saves. Smaller: " + smaller
		}
		return msg
	}
}

// cycleGANSize describes GPU-sized CycleGAN options (crops of 256 or more,
// or 64 generator filters, as the reference's defaults), or returns "".
func cycleGANSize(cfg train.CycleGANConfig) string {
	if cfg.CropSize < 256 && cfg.NGF < 64 {
		return ""
	}
	return fmt.Sprintf("%s, ngf %d, %dx%d crops", cfg.NetG, cfg.NGF, cfg.CropSize, cfg.CropSize)
}

const cycleGANSmaller = "--netg resnet_6blocks --ngf 32 --ndf 32 --load-size 143 --crop-size 128, or --max-iters N"

// starGANSize is cycleGANSize for StarGAN (images of 128 or more, or 64
// generator filters).
func starGANSize(cfg train.StarGANConfig) string {
	if cfg.ImageSize < 128 && cfg.GConvDim < 64 {
		return ""
	}
	return fmt.Sprintf("g_conv_dim %d, %d repeats, %dx%d images", cfg.GConvDim, cfg.GRepeatNum, cfg.ImageSize, cfg.ImageSize)
}

const starGANSmaller = "--image-size 64 --g-conv-dim 32 --d-conv-dim 32, or --max-iters N"

// trainSummary is the result of a training command (--json).
type trainSummary struct {
	Run string `json:"run"`
	// Generator is the checkpoint to export.
	Generator string `json:"generator"`
	// StartIteration is the iteration the run started or resumed from,
	// Iteration the last one done, Iterations the run's total.
	StartIteration int                `json:"start_iteration"`
	Iteration      int                `json:"iteration"`
	Iterations     int                `json:"iterations"`
	Interrupted    bool               `json:"interrupted"`
	Seconds        float64            `json:"seconds"`
	PerSecond      float64            `json:"iterations_per_second"`
	Losses         map[string]float64 `json:"losses"`
}

// finishTraining reports a training run that returned without an error:
// the summary on stdout (JSON with --json) and, when ctx was cancelled
// before the last iteration, an interruptError saying what was saved and
// how to continue. files names the checkpoint files of an iteration as a
// pattern, generator the generator's file.
func finishTraining(c *cli.Context, p *progress, kind, out string, files, generator func(iter int) string) error {
	first, last, elapsed, losses := p.Stats()
	s := trainSummary{Run: out, Generator: generator(last), StartIteration: first, Iteration: last, Iterations: p.total,
		Interrupted: c.Context.Err() != nil && last < p.total, Seconds: elapsed.Seconds(), Losses: losses}
	if elapsed > 0 {
		s.PerSecond = float64(last-first) / elapsed.Seconds()
	}
	w := c.App.Writer
	if c.Bool(jsonFlag.Name) {
		if err := writeJSON(w, s); err != nil {
			return err
		}
	} else {
		if last > first {
			fmt.Fprintf(w, "trained iterations %d to %d of %d in %s (%.3g it/s); ", first+1, last, p.total, formatDuration(elapsed), s.PerSecond)
		}
		fmt.Fprintf(w, "the run is in %s (index.html, loss.png, samples/)\n", out)
		if !s.Interrupted {
			fmt.Fprintf(w, "export the generator: ganrt export %s -o %s.onnx\n", s.Generator, filepath.Base(filepath.Clean(out)))
		}
	}
	if s.Interrupted {
		return &interruptError{fmt.Sprintf("interrupted at iteration %d of %d; saved %s; continue with: ganrt train %s --out %s --resume",
			last, p.total, files(last), kind, out)}
	}
	return nil
}

// trainLogger logs the trainers' warnings on stderr, and nothing with
// --quiet.
func trainLogger(c *cli.Context) *slog.Logger {
	level := slog.LevelWarn
	if c.Bool(quietFlag.Name) {
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
}
