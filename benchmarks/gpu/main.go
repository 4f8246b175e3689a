// Command gpu measures ganrt on a GPU against PyTorch eager on the same GPU
// and prints one Markdown table (scripts/gpu-check.sh runs it):
//   - CycleGAN generator inference (resnet_9blocks, ngf 64, random weights,
//     dynamic-size ONNX export) at SIZE x SIZE, batch 1 and 8, float32 and
//     float16 weights: ms per image end to end (runtime.Translator.Bench:
//     normalize, run through I/O binding, denormalize; the median run over
//     the batch);
//   - CycleGAN training (resnet_9blocks, ngf = ndf = 64, batch 1) at SIZE x
//     SIZE: seconds per iteration, the median after 3 warm-up iterations,
//     with parameters and Adam moments resident on the GPU;
//   - StarGAN training at 128x128 (conv_dim 64, batch 16, 5 attributes):
//     seconds per round of 5 critic steps and 1 generator step, the median
//     after the first round;
//   - the same with PyTorch when -python has a torch that sees the device
//     (benchmarks/train/torch_loops.py --device, benchmarks/gpu/torch_infer.py
//     eager in float32 and --half), and the ratios ganrt/PyTorch.
//
// Run it from the repository root:
//
//	go run ./benchmarks/gpu -device cuda [-iters 10] [-python /usr/bin/python3]
//
// The smaller flags (-size, -ngf, -stargan-size, -stargan-batch,
// -stargan-conv) let it run on a CPU to check the command itself.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
	"github.com/ganrt/ganrt/runtime"
	"github.com/ganrt/ganrt/synth"
	"github.com/ganrt/ganrt/train"
)

func main() {
	device := flag.String("device", "cuda", "ganrt device (cuda[:N]; cpu to check the command)")
	torchDevice := flag.String("torch-device", "", "PyTorch device (default: -device with cuda:N kept)")
	python := flag.String("python", "/usr/bin/python3", "Python with torch ('' skips PyTorch)")
	iters := flag.Int("iters", 10, "measured training iterations (CycleGAN) or rounds (StarGAN), and inference runs x2")
	size := flag.Int("size", 256, "CycleGAN image side")
	ngf := flag.Int("ngf", 64, "CycleGAN ngf = ndf")
	sgSize := flag.Int("stargan-size", 128, "StarGAN image side")
	sgBatch := flag.Int("stargan-batch", 16, "StarGAN batch")
	sgConv := flag.Int("stargan-conv", 64, "StarGAN conv_dim of G and D")
	flag.Parse()
	if *torchDevice == "" {
		*torchDevice = *device
	}
	tmp, err := os.MkdirTemp("", "ganrt-gpu-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx := context.Background()
	havePy := *python != "" && torchSees(*python, *torchDevice)

	fmt.Printf("| measurement (%s) | ganrt | PyTorch eager | ratio ganrt/PyTorch |\n|---|---|---|---|\n", *device)
	spec := models.Spec{Kind: models.CycleGANGenerator, NetG: "resnet_9blocks", InputNC: 3, OutputNC: 3, NGF: *ngf, Norm: "instance"}
	for _, fp16 := range []bool{false, true} {
		model := writeModel(tmp, spec, fp16)
		tr, err := runtime.Open(model, runtime.Options{Device: *device})
		if err != nil {
			log.Fatal(err)
		}
		for _, batch := range []int{1, 8} {
			r, err := tr.Bench(ctx, runtime.BenchOptions{Size: *size, Batch: batch, Warmup: 3, Iters: 2 * *iters})
			if err != nil {
				log.Fatal(err)
			}
			ms := float64(r.EndToEnd.P50) / 1e6 / float64(batch)
			pyMS := -1.0
			if havePy && !(fp16 && strings.HasPrefix(*torchDevice, "cpu")) { // no float16 reflection pad on the CPU
				args := []string{filepath.Join("benchmarks", "gpu", "torch_infer.py"), strconv.Itoa(*ngf), strconv.Itoa(*size), "9",
					strconv.Itoa(batch), strconv.Itoa(2 * *iters), "--device", *torchDevice}
				if fp16 {
					args = append(args, "--half")
				}
				pyMS = pyJSON(*python, args)["ms_per_image"]
			}
			kind := "fp32"
			if fp16 {
				kind = "fp16 weights (ganrt) / .half() (PyTorch)"
			}
			row(fmt.Sprintf("CycleGAN resnet_9blocks ngf %d inference %dx%d, batch %d, %s: ms per image (%s)", *ngf, *size, *size, batch, kind, tr.Info().Provider), ms, pyMS)
		}
		tr.Close()
	}

	cg := cycleGANSeconds(ctx, tmp, *device, *size, *ngf, *iters)
	pyCG := -1.0
	if havePy {
		pyCG = pyJSON(*python, []string{filepath.Join("benchmarks", "train", "torch_loops.py"), "cyclegan",
			strconv.Itoa(*ngf), strconv.Itoa(*size), "9", strconv.Itoa(*iters), "--device", *torchDevice})["sec"]
	}
	row(fmt.Sprintf("CycleGAN resnet_9blocks ngf %d training %dx%d, batch 1: s per iteration", *ngf, *size, *size), cg, pyCG)

	sg := starGANSeconds(ctx, tmp, *device, *sgSize, *sgBatch, *sgConv, *iters)
	pySG := -1.0
	if havePy {
		pySG = pyJSON(*python, []string{filepath.Join("benchmarks", "train", "torch_loops.py"), "stargan",
			strconv.Itoa(*sgConv), strconv.Itoa(*sgSize), strconv.Itoa(*sgBatch), "5", "6", "6", strconv.Itoa(*iters), "--device", *torchDevice})["sec"]
	}
	row(fmt.Sprintf("StarGAN conv_dim %d training %dx%d, batch %d, 5 attributes: s per round (5 D + 1 G)", *sgConv, *sgSize, *sgSize, *sgBatch), sg, pySG)
	if !havePy {
		fmt.Printf("\nPyTorch columns empty: %q has no torch that sees %s.\n", *python, *torchDevice)
	}
}

// row prints a table row; a negative PyTorch figure is not measured.
func row(name string, ganrt, torch float64) {
	if torch < 0 {
		fmt.Printf("| %s | %.4g | | |\n", name, ganrt)
		return
	}
	fmt.Printf("| %s | %.4g | %.4g | %.2f |\n", name, ganrt, torch, ganrt/torch)
}

// writeModel exports spec with random N(0, 0.02) weights (timing does not
// depend on the values) and returns the file.
func writeModel(dir string, spec models.Spec, fp16 bool) string {
	reg, err := spec.Registry()
	if err != nil {
		log.Fatal(err)
	}
	weights := nn.Init(reg, nn.InitNormal, 0.02, rand.New(rand.NewPCG(1, 2)))
	data, err := export.ONNX(&export.Model{Path: "random " + spec.NetG, Spec: spec, Weights: weights}, export.ONNXOptions{FP16: fp16})
	if err != nil {
		log.Fatal(err)
	}
	p := filepath.Join(dir, fmt.Sprintf("g_fp16_%v.onnx", fp16))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		log.Fatal(err)
	}
	return p
}

// iterTimes records the wall time between a trainer's iterations.
type iterTimes struct {
	last time.Time
	secs []float64
}

func (p *iterTimes) Start(done, total int) { p.last = time.Now() }

func (p *iterTimes) Iter(iter int, losses map[string]float64) {
	now := time.Now()
	p.secs = append(p.secs, now.Sub(p.last).Seconds())
	p.last = now
}

func (p *iterTimes) Finish() {}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// cycleGANSeconds trains CycleGAN on synthetic data and returns the median
// seconds per iteration after 3 warm-up iterations.
func cycleGANSeconds(ctx context.Context, tmp, device string, size, ngf, iters int) float64 {
	data := filepath.Join(tmp, "daynight")
	if _, err := synth.Write(data, synth.Options{Kind: synth.KindDayNight, N: 8, TestN: 1, Size: size, Seed: 1}); err != nil {
		log.Fatal(err)
	}
	c := train.DefaultCycleGANConfig
	c.Data, c.Out, c.Device = data, filepath.Join(tmp, "cyclegan"), device
	c.NGF, c.NDF, c.Preprocess, c.CropSize = ngf, ngf, "crop", size
	c.MaxIters, c.SaveEvery, c.SampleEvery, c.SaveEpochEvery = iters+3, 0, 0, 0
	var p iterTimes
	if err := train.TrainCycleGAN(ctx, c, &p, nil); err != nil {
		log.Fatal(err)
	}
	return median(p.secs[3:])
}

// starGANSeconds trains StarGAN on synthetic weather data and returns the
// median seconds per round of 5 iterations after the first round.
func starGANSeconds(ctx context.Context, tmp, device string, size, batch, conv, rounds int) float64 {
	data := filepath.Join(tmp, "weather")
	if _, err := synth.Write(data, synth.Options{Kind: synth.KindWeather, N: 2 * batch, TestN: 1, Size: size, Seed: 1}); err != nil {
		log.Fatal(err)
	}
	c := train.DefaultStarGANConfig
	c.CelebAImages, c.CelebAAttrs = filepath.Join(data, "images"), filepath.Join(data, "list_attr.txt")
	c.Attrs, c.Exclusive, c.CelebASplit = []string{"Day", "Night", "Fog", "Rain", "Snow"}, []string{"Day", "Night"}, -1
	c.Out, c.Device, c.ImageSize, c.CropSize, c.Batch = filepath.Join(tmp, "stargan"), device, size, size, batch
	c.GConvDim, c.DConvDim = conv, conv
	c.Iters, c.ItersDecay, c.SaveEvery, c.SampleEvery = 5*(rounds+1), 0, 0, 0
	var p iterTimes
	if err := train.TrainStarGAN(ctx, c, &p, nil); err != nil {
		log.Fatal(err)
	}
	var per []float64
	for i := 5; i+5 <= len(p.secs); i += 5 {
		s := 0.0
		for _, v := range p.secs[i : i+5] {
			s += v
		}
		per = append(per, s)
	}
	return median(per)
}

// torchSees reports whether python's torch runs on device.
func torchSees(python, device string) bool {
	out, err := exec.Command(python, "-c", "import sys, torch; torch.zeros(1, device=sys.argv[1]); print('ok')", device).Output()
	return err == nil && strings.TrimSpace(string(out)) == "ok"
}

// pyJSON runs python with args and decodes its one JSON line of numbers.
func pyJSON(python string, args []string) map[string]float64 {
	cmd := exec.Command(python, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		log.Fatalf("%s %v: %v", python, args, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(out, &raw); err != nil {
		log.Fatalf("%s %v: %v in %q", python, args, err, out)
	}
	m := map[string]float64{}
	for k, v := range raw {
		if f, ok := v.(float64); ok {
			m[k] = f
		}
	}
	return m
}
