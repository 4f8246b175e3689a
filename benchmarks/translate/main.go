// Command translate measures ganrt's end-to-end translation time against a
// bare ONNX Runtime session run on the same tensor, in Go and from Node
// (onnxruntime-node), on the CycleGAN reference's default generator
// (resnet_9blocks, ngf 64, random weights) generated into a temporary
// folder. Run from the repository root:
//
//	bash benchmarks/translate/install-node.sh   # once, for the Node column
//	go run ./benchmarks/translate [-size 256] [-batch 1] [-iters 20] [-warmup 3] [-threads 0]
//
// It alternates the two Go measurements (translate, bare session) within
// each iteration so that both see the same machine state, then runs the
// Node script on the same model file, and prints medians, means and the
// ratios. The Go benchmarks in translate_test.go measure the same two Go
// paths with `go test -bench`; benchmarks/README.md has the figures.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"time"

	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/runtime"
)

func main() {
	size := flag.Int("size", 256, "image side")
	batch := flag.Int("batch", 1, "images per run")
	iters := flag.Int("iters", 20, "measured iterations")
	warmup := flag.Int("warmup", 3, "unmeasured iterations first")
	threads := flag.Int("threads", 0, "ONNX Runtime intra-op threads for all three (0: ORT's default)")
	node := flag.Bool("node", true, "also time onnxruntime-node (needs install-node.sh)")
	keep := flag.String("model", "", "write the model to this file (or use it, if it exists) instead of a temporary one")
	flag.Parse()
	if err := run(*keep, *size, *batch, *iters, *warmup, *threads, *node); err != nil {
		fmt.Fprintln(os.Stderr, "translate bench:", err)
		os.Exit(1)
	}
}

// scriptDir is this folder, found from the working directory (the
// repository root or the folder itself).
func scriptDir() string {
	for _, d := range []string{"benchmarks/translate", "."} {
		if _, err := os.Stat(filepath.Join(d, "bare_ort.mjs")); err == nil {
			return d
		}
	}
	return "benchmarks/translate"
}

// stats are the median, mean and minimum of durations, in ms.
type stats struct{ p50, mean, min float64 }

func summarize(ds []time.Duration) stats {
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return stats{p50: ms(s[(len(s)-1)/2]), mean: ms(sum / time.Duration(len(s))), min: ms(s[0])}
}

// inputs returns batch photo-like images and the same images as the model
// input tensor.
func inputs(size, batch int) ([]image.Image, ort.Tensor) {
	r := rand.New(rand.NewPCG(5, 6))
	imgs := make([]image.Image, batch)
	x := ort.NewTensor(int64(batch), 3, int64(size), int64(size))
	plane := size * size
	for n := range imgs {
		m := image.NewRGBA(image.Rect(0, 0, size, size))
		for y := range size {
			for xx := range size {
				o := y*m.Stride + 4*xx
				px := [3]uint8{uint8(xx*255/size) ^ uint8(r.IntN(32)), uint8(y*255/size) ^ uint8(r.IntN(32)), uint8(r.IntN(256))}
				copy(m.Pix[o:], px[:])
				m.Pix[o+3] = 0xff
				for c, v := range px {
					x.Data[(n*3+c)*plane+y*size+xx] = float32(v)/127.5 - 1
				}
			}
		}
		imgs[n] = m
	}
	return imgs, x
}

func run(model string, size, batch, iters, warmup, threads int, withNode bool) error {
	if _, err := os.Stat(model); model == "" || err != nil {
		dir, err := os.MkdirTemp("", "ganrt-bench-translate-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		p, err := writeModel(dir)
		if err != nil {
			return err
		}
		if model == "" {
			model = p
		} else if err := os.Rename(p, model); err != nil {
			return err
		}
	}
	if abs, err := filepath.Abs(model); err == nil {
		model = abs // the Node script runs in its own folder
	}
	var inCall time.Duration // ORT Run time inside the current Translate call
	t, err := runtime.Open(model, runtime.Options{IntraOpThreads: threads, OnBatch: func(s runtime.BatchStats) { inCall += s.Run }})
	if err != nil {
		return err
	}
	defer t.Close()
	data, err := os.ReadFile(model)
	if err != nil {
		return err
	}
	sess, err := ort.NewSession(data, ort.SessionOptions{IntraOpThreads: threads, ModelDir: filepath.Dir(model)})
	if err != nil {
		return err
	}
	defer sess.Close()

	imgs, x := inputs(size, batch)
	y := ort.NewTensor(int64(batch), 3, int64(size), int64(size))
	ctx := context.Background()
	var e2e, bare, inside []time.Duration
	for i := range warmup + iters {
		inCall = 0
		t0 := time.Now()
		if _, err := t.TranslateBatch(ctx, imgs, nil); err != nil {
			return err
		}
		t1 := time.Now()
		if err := sess.Run([]ort.Tensor{x}, []ort.Tensor{y}); err != nil {
			return err
		}
		t2 := time.Now()
		if i >= warmup {
			e2e, bare, inside = append(e2e, t1.Sub(t0)), append(bare, t2.Sub(t1)), append(inside, inCall)
		}
	}
	tr, br, ir := summarize(e2e), summarize(bare), summarize(inside)
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range bytes.SplitSeq(b, []byte("\n")) {
			if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.Equal(bytes.TrimSpace(k), []byte("model name")) {
				cpu = string(bytes.TrimSpace(v))
				break
			}
		}
	}
	fmt.Printf("resnet_9blocks ngf 64 (random weights), %dx%d, batch %d, %d iterations after %d warm-up; ONNX Runtime %s; %s, %d CPUs; intra-op threads %d (0: ORT default)\n\n",
		size, size, batch, iters, warmup, ort.Version(), cpu, goruntime.NumCPU(), threads)
	fmt.Printf("%-38s %10s %10s %10s\n", "per run, ms", "median", "mean", "min")
	row := func(name string, s stats) { fmt.Printf("%-38s %10.1f %10.1f %10.1f\n", name, s.p50, s.mean, s.min) }
	row("ganrt Translate (end-to-end)", tr)
	row("  of which ORT Run inside Translate", ir)
	row("Go bare session run (same tensor)", br)
	var nr stats
	if withNode {
		n, err := nodeRun(model, size, batch, iters, warmup, threads)
		if err != nil {
			fmt.Printf("%-38s %s\n", "onnxruntime-node session.run", err)
			withNode = false
		} else {
			nr = n
			row("onnxruntime-node session.run", nr)
		}
	}
	fmt.Printf("\nratios (median / median; mean / mean)\n")
	fmt.Printf("  ganrt Translate / its own ORT Run   %.4f  %.4f  (same calls: the pre/post-processing cost)\n", tr.p50/ir.p50, tr.mean/ir.mean)
	fmt.Printf("  ganrt Translate / Go bare session   %.3f  %.3f\n", tr.p50/br.p50, tr.mean/br.mean)
	if withNode {
		fmt.Printf("  ganrt Translate / onnxruntime-node  %.3f  %.3f\n", tr.p50/nr.p50, tr.mean/nr.mean)
		fmt.Printf("  Go bare session / onnxruntime-node  %.3f  %.3f\n", br.p50/nr.p50, br.mean/nr.mean)
	}
	return nil
}

// nodeRun runs bare_ort.mjs on the model and returns its timings.
func nodeRun(model string, size, batch, iters, warmup, threads int) (stats, error) {
	dir := scriptDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node")); err != nil {
		return stats{}, fmt.Errorf("skipped: run `bash %s/install-node.sh` first", dir)
	}
	cmd := exec.Command("node", "bare_ort.mjs", "--model", model, "--size", fmt.Sprint(size), "--batch", fmt.Sprint(batch),
		"--iters", fmt.Sprint(iters), "--warmup", fmt.Sprint(warmup), "--threads", fmt.Sprint(threads))
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return stats{}, fmt.Errorf("node bare_ort.mjs: %w", err)
	}
	var r struct {
		Version string    `json:"onnxruntime_version"`
		Times   []float64 `json:"times_ms"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Times) == 0 {
		return stats{}, fmt.Errorf("node bare_ort.mjs output %q: %v", out, err)
	}
	if r.Version != ort.Version() {
		fmt.Fprintf(os.Stderr, "note: onnxruntime-node is ONNX Runtime %s, Go loaded %s\n", r.Version, ort.Version())
	}
	ds := make([]time.Duration, len(r.Times))
	for i, ms := range r.Times {
		ds[i] = time.Duration(ms * 1e6)
	}
	return summarize(ds), nil
}
