package cli

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/runtime"
)

// Flags of bench.
var (
	benchSizeFlag = &cli.IntFlag{Name: "size", Category: catRuntime, Value: 256,
		Usage: "side of the square test images"}
	benchBatchFlag = &cli.StringFlag{Name: "batch", Category: catRuntime, Value: "1,8",
		Usage: "batch sizes to measure, comma-separated"}
	benchItersFlag = &cli.IntFlag{Name: "iters", Category: catRuntime, Value: runtime.DefaultBenchIters,
		Usage: "measured runs per batch size"}
	benchWarmupFlag = &cli.IntFlag{Name: "warmup", Category: catRuntime, Value: runtime.DefaultBenchWarmup,
		Usage: "unmeasured runs first, per batch size"}
	benchTargetFlag = &cli.StringFlag{Name: "target", Category: catModel,
		Usage: "StarGAN target label (default: the first label)"}
)

var benchCommand = &cli.Command{
	Name:  "bench",
	Usage: "measure inference latency and throughput of an exported generator",
	Description: `Runs the model on random SIZE x SIZE images held in memory, for each batch
size: --warmup runs, then --iters measured runs. For every run it records
the time inside ONNX Runtime (session) and the whole translation
(end-to-end: normalize and pad into the input tensor, run, crop and
denormalize into images; no file decoding, encoding or resizing), and
prints their p50/p90/p99, the throughput (images per second, end-to-end)
and the overhead (mean end-to-end / mean session).

Examples:
   ganrt bench -m horse2zebra.onnx
   ganrt bench -m horse2zebra.onnx --size 512 --batch 1,2,4 --iters 50 --json
   ganrt bench -m stargan.onnx --size 128 --device cuda --target Blond_Hair`,
	Flags: append(append([]cli.Flag{}, runtimeFlags...),
		benchSizeFlag, benchBatchFlag, benchItersFlag, benchWarmupFlag, benchTargetFlag, jsonFlag, quietFlag),
	Action: benchAction,
}

// benchReport is bench's JSON output.
type benchReport struct {
	Model      string        `json:"model"`
	Network    string        `json:"network"`
	Device     string        `json:"device"`
	Provider   string        `json:"provider"`
	Fallback   string        `json:"fallback_reason,omitempty"`
	ORTVersion string        `json:"onnxruntime_version"`
	Threads    int           `json:"intra_op_threads"`
	Results    []benchResult `json:"results"`
}

type benchResult struct {
	Size            int       `json:"size"`
	Batch           int       `json:"batch"`
	Warmup          int       `json:"warmup"`
	Iters           int       `json:"iters"`
	SessionMS       latencyMS `json:"session_ms"`
	EndToEndMS      latencyMS `json:"end_to_end_ms"`
	ImagesPerSecond float64   `json:"images_per_second"`
	Overhead        float64   `json:"overhead"`
}

type latencyMS struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
}

func toMS(l runtime.Latency) latencyMS {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return latencyMS{P50: ms(l.P50), P90: ms(l.P90), P99: ms(l.P99), Mean: ms(l.Mean), Min: ms(l.Min)}
}

// parseBatches parses "1,8" into batch sizes.
func parseBatches(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--batch %q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func benchAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("bench takes no arguments, got %q", c.Args().Slice())
	}
	o, err := runtimeOptions(c)
	if err != nil {
		return err
	}
	batches, err := parseBatches(c.String(benchBatchFlag.Name))
	if err != nil {
		return err
	}
	t, err := openModel(c.String(rtModelFlag.Name), o, true) // speed does not depend on the values
	if err != nil {
		return err
	}
	defer t.Close()
	info := t.Info()
	var label []float32
	if target := c.String(benchTargetFlag.Name); target != "" {
		if label, err = t.Target(target, nil); err != nil {
			return fmt.Errorf("--target: %w", err)
		}
	}
	rep := benchReport{Model: info.Path, Network: info.Spec.String(), Device: info.Device, Provider: info.Provider,
		Fallback: info.FallbackReason, ORTVersion: ort.Version(), Threads: o.IntraOpThreads}
	for _, b := range batches {
		if !c.Bool(quietFlag.Name) {
			fmt.Fprintf(c.App.ErrWriter, "bench: batch %d: %d warm-up and %d measured runs\n", b, c.Int(benchWarmupFlag.Name), c.Int(benchItersFlag.Name))
		}
		r, err := t.Bench(c.Context, runtime.BenchOptions{Size: c.Int(benchSizeFlag.Name), Batch: b,
			Warmup: c.Int(benchWarmupFlag.Name), Iters: c.Int(benchItersFlag.Name), Label: label})
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, benchResult{Size: r.Size, Batch: r.Batch, Warmup: r.Warmup, Iters: r.Iters,
			SessionMS: toMS(r.Session), EndToEndMS: toMS(r.EndToEnd), ImagesPerSecond: r.ImagesPerSecond, Overhead: r.Overhead})
	}
	w := c.App.Writer
	if c.Bool(jsonFlag.Name) {
		return writeJSON(w, rep)
	}
	fmt.Fprintf(w, "model    %s: %s\n", rep.Model, rep.Network)
	fmt.Fprintf(w, "device   %s (%s), ONNX Runtime %s", rep.Device, rep.Provider, rep.ORTVersion)
	if rep.Fallback != "" {
		fmt.Fprintf(w, "; %s", rep.Fallback)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "images   %dx%d in memory; %d warm-up + %d measured runs per batch size; times per run, ms\n\n",
		c.Int(benchSizeFlag.Name), c.Int(benchSizeFlag.Name), c.Int(benchWarmupFlag.Name), c.Int(benchItersFlag.Name))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "batch\tsession p50\tp90\tp99\tend-to-end p50\tp90\tp99\timages/s\toverhead\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%.3fx\t\n", r.Batch,
			r.SessionMS.P50, r.SessionMS.P90, r.SessionMS.P99, r.EndToEndMS.P50, r.EndToEndMS.P90, r.EndToEndMS.P99,
			r.ImagesPerSecond, r.Overhead)
	}
	return tw.Flush()
}
