// Command int8 measures ganrt's int8 (static QDQ) and fp16-compute exports
// against the fp32 export of the same generator:
//
//   - quality: for each calibration setting, the PSNR of the int8 output
//     against the fp32 output on images not used for calibration (mean and
//     worst image), and the fp16-compute PSNR;
//   - speed: fp32 and int8 latency at batch 1 and 8, interleaved
//     (fp32, int8, fp32, int8, ...), medians over the rounds.
//
// The generator is -ckpt, or by default the CycleGAN reference's
// resnet_9blocks ngf 64 with random N(0, 0.02) weights (the reference's
// init). Run it from the repository root:
//
//	go run ./benchmarks/int8 -calib DIR/trainA -test DIR/testA -mode quality
//	go run ./benchmarks/int8 -calib DIR/trainA -test DIR/testA -mode speed -rounds 5
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
	"github.com/ganrt/ganrt/train/data"
)

// realisticSpec is the CycleGAN reference's default generator at full
// width: resnet_9blocks, ngf 64, instance norm (11.4 M parameters).
var realisticSpec = models.Spec{Kind: models.CycleGANGenerator, NetG: "resnet_9blocks",
	InputNC: 3, OutputNC: 3, NGF: 64, Norm: "instance"}

func main() {
	ckpt := flag.String("ckpt", "", "generator checkpoint (default: resnet_9blocks ngf 64, random weights)")
	calib := flag.String("calib", "", "calibration image folder")
	test := flag.String("test", "", "held-out image folder (quality and speed inputs)")
	mode := flag.String("mode", "quality", "quality or speed")
	size := flag.Int("size", 256, "image side")
	nCalib := flag.Int("calib-images", export.DefaultCalibImages, "calibration images")
	nTest := flag.Int("test-images", 16, "held-out images")
	rounds := flag.Int("rounds", 5, "speed: interleaved rounds")
	iters := flag.Int("iters", 3, "speed: runs per model per round and batch")
	batches := flag.String("batches", "1,8", "speed: batch sizes")
	methods := flag.String("methods", "minmax,percentile:99.9,percentile:99.99,percentile:99.999,mse", "quality: calibration settings")
	edges := flag.String("edges", "float,int8", "quality: first/last conv settings")
	flag.Parse()
	if err := run(*ckpt, *calib, *test, *mode, *size, *nCalib, *nTest, *rounds, *iters, *batches, *methods, *edges); err != nil {
		fmt.Fprintln(os.Stderr, "int8:", err)
		os.Exit(1)
	}
}

func loadModel(path string) (*export.Model, error) {
	if path != "" {
		return export.Load(path, export.Overrides{})
	}
	reg, err := realisticSpec.Registry()
	if err != nil {
		return nil, err
	}
	w := nn.Init(reg, nn.InitNormal, 0.02, rand.New(rand.NewPCG(1, 2)))
	return &export.Model{Path: "random resnet_9blocks ngf 64", Spec: realisticSpec, Weights: w}, nil
}

// images loads up to n images of dir as [1,3,size,size] tensors in [-1,1].
func images(dir string, n, size int) ([]ort.Tensor, error) {
	paths, err := data.ListImages(dir, 0)
	if err != nil {
		return nil, err
	}
	paths = paths[:min(n, len(paths))]
	var ts []ort.Tensor
	for _, p := range paths {
		im, err := data.Load(p)
		if err != nil {
			return nil, err
		}
		if im.W != size || im.H != size {
			im = data.Resize(im, size, size, data.Bicubic)
		}
		t := ort.NewTensor(1, 3, int64(size), int64(size))
		plane := size * size
		for i := range plane {
			for c := range 3 {
				t.Data[c*plane+i] = float32(im.Pix[i*3+c])/127.5 - 1
			}
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func calibPaths(dir string, n int) ([]string, error) {
	paths, err := data.ListImages(dir, 0)
	if err != nil {
		return nil, err
	}
	return paths[:min(n, len(paths))], nil
}

// outputs runs model on each input and returns the outputs.
func outputs(model []byte, xs []ort.Tensor) ([][]float32, error) {
	s, err := ort.NewSession(model, ort.SessionOptions{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var ys [][]float32
	for _, x := range xs {
		out := []ort.Tensor{ort.NewTensor(x.Shape...)}
		if err := s.Run([]ort.Tensor{x}, out); err != nil {
			return nil, err
		}
		ys = append(ys, out[0].Data)
	}
	return ys, nil
}

// psnr is the PSNR in dB of b against a for values in [-1,1] (peak to
// peak 2): 10*log10(4/MSE).
func psnr(a, b []float32) float64 {
	var se float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	return 10 * math.Log10(4/(se/float64(len(a))))
}

// agreement is the PSNR of ys against ref over all images (one MSE) and
// the worst image's.
func agreement(ref, ys [][]float32) (all, worst float64) {
	var cat, catRef []float32
	worst = math.Inf(1)
	for i := range ref {
		cat = append(cat, ys[i]...)
		catRef = append(catRef, ref[i]...)
		worst = min(worst, psnr(ref[i], ys[i]))
	}
	return psnr(catRef, cat), worst
}

func run(ckpt, calib, test, mode string, size, nCalib, nTest, rounds, iters int, batches, methods, edges string) error {
	if calib == "" || test == "" {
		return fmt.Errorf("need -calib and -test folders")
	}
	m, err := loadModel(ckpt)
	if err != nil {
		return err
	}
	paths, err := calibPaths(calib, nCalib)
	if err != nil {
		return err
	}
	xs, err := images(test, nTest, size)
	if err != nil {
		return err
	}
	fmt.Printf("model: %s (%s); %d calibration images of %s, %d held-out images of %s, %dx%d\n",
		m.Path, m.Spec, len(paths), calib, len(xs), test, size, size)
	fmt.Printf("CPU: %s, %d cores; flags: %s; load %s\n", cpuModel(), runtime.NumCPU(), cpuFlags(), loadavg())
	fp32, err := export.ONNX(m, export.ONNXOptions{})
	if err != nil {
		return err
	}
	switch mode {
	case "quality":
		return quality(m, fp32, paths, xs, size, methods, edges)
	case "speed":
		return speed(m, fp32, paths, xs, size, rounds, iters, batches)
	}
	return fmt.Errorf("mode %q: want quality or speed", mode)
}

func quality(m *export.Model, fp32 []byte, paths []string, xs []ort.Tensor, size int, methods, edges string) error {
	ref, err := outputs(fp32, xs)
	if err != nil {
		return err
	}
	fmt.Println("\n| variant | calibration | first/last conv | PSNR vs fp32, all images (dB) | worst image (dB) | export s |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, e := range strings.Split(edges, ",") {
		for _, meth := range strings.Split(methods, ",") {
			name, pct, _ := strings.Cut(meth, ":")
			q := &export.Int8Options{Images: paths, Method: name, Size: size, QuantizeFirst: e == "int8", QuantizeLast: e == "int8"}
			if pct != "" {
				if _, err := fmt.Sscan(pct, &q.Percentile); err != nil {
					return fmt.Errorf("method %q: %w", meth, err)
				}
			}
			t0 := time.Now()
			model, err := export.ONNX(m, export.ONNXOptions{Int8: q})
			if err != nil {
				return err
			}
			dt := time.Since(t0)
			ys, err := outputs(model, xs)
			if err != nil {
				return err
			}
			all, worst := agreement(ref, ys)
			fmt.Printf("| int8 | %s | %s | %.2f | %.2f | %.1f |\n", meth, e, all, worst, dt.Seconds())
		}
	}
	for _, norm := range []bool{false, true} {
		model, err := export.ONNX(m, export.ONNXOptions{FP16Compute: true, FP32Norm: norm})
		if err != nil {
			return err
		}
		ys, err := outputs(model, xs)
		if err != nil {
			return err
		}
		all, worst := agreement(ref, ys)
		what := "norms fp16"
		if norm {
			what = "norms fp32"
		}
		fmt.Printf("| fp16 compute (ORT CPU) | %s | - | %.2f | %.2f | - |\n", what, all, worst)
	}
	return nil
}

func speed(m *export.Model, fp32 []byte, paths []string, xs []ort.Tensor, size, rounds, iters int, batches string) error {
	int8, err := export.ONNX(m, export.ONNXOptions{Int8: &export.Int8Options{Images: paths, Size: size}})
	if err != nil {
		return err
	}
	models := []struct {
		name string
		data []byte
	}{{"fp32", fp32}, {"int8", int8}}
	sessions := make([]*ort.Session, len(models))
	for i, mm := range models {
		s, err := ort.NewSession(mm.data, ort.SessionOptions{})
		if err != nil {
			return err
		}
		defer s.Close()
		sessions[i] = s
	}
	fmt.Println("\n| batch | fp32 ms/batch (median, min-max of round medians) | int8 ms/batch | int8/fp32 | load before -> after |")
	fmt.Println("|---|---|---|---|---|")
	for _, bs := range strings.Split(batches, ",") {
		var b int
		if _, err := fmt.Sscan(bs, &b); err != nil {
			return fmt.Errorf("batch %q: %w", bs, err)
		}
		x := ort.NewTensor(int64(b), 3, int64(size), int64(size))
		for n := range b {
			copy(x.Data[n*3*size*size:], xs[n%len(xs)].Data)
		}
		outs := make([]ort.Tensor, len(models))
		for i := range models {
			outs[i] = ort.NewTensor(x.Shape...)
			// Warm-up run.
			if err := sessions[i].Run([]ort.Tensor{x}, outs[i:i+1]); err != nil {
				return err
			}
		}
		load0 := loadavg()
		med := make([][]float64, len(models))
		for range rounds {
			for i := range models {
				var ds []float64
				for range iters {
					t0 := time.Now()
					if err := sessions[i].Run([]ort.Tensor{x}, outs[i:i+1]); err != nil {
						return err
					}
					ds = append(ds, float64(time.Since(t0))/1e6)
				}
				med[i] = append(med[i], median(ds))
			}
		}
		a, q := median(med[0]), median(med[1])
		fmt.Printf("| %d | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2f | %s -> %s |\n", b,
			a, slices.Min(med[0]), slices.Max(med[0]), q, slices.Min(med[1]), slices.Max(med[1]), q/a, load0, loadavg())
	}
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// cpuFlags lists the int8-relevant x86 flags the CPU has.
func cpuFlags() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	have := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "flags" {
			for _, f := range strings.Fields(v) {
				have[f] = true
			}
			break
		}
	}
	var out []string
	for _, f := range []string{"avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"} {
		if have[f] {
			out = append(out, f)
		} else {
			out = append(out, "no "+f)
		}
	}
	return strings.Join(out, " ")
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
