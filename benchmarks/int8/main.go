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
//	go run ./benchmarks/int8 -calib DIR/trainA -test DIR/testA -mode export   # int8*.onnx here
//	go run ./benchmarks/int8 ... -mode speed -variants int8=int8.onnx,up=int8_float_up.onnx
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/onnxpb"
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
	equalize := flag.String("equalize", "true", "quality: channel equalization settings (false,true; the export default is true)")
	variants := flag.String("variants", "", "speed: NAME=FILE.onnx,... models timed against the fp32 export (default: int8 with the default calibration, made here)")
	flag.Parse()
	if err := run(*ckpt, *calib, *test, *mode, *size, *nCalib, *nTest, *rounds, *iters, *batches, *methods, *edges+"/"+*equalize, *variants); err != nil {
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
	paths, err := calibPaths(dir, n)
	if err != nil {
		return nil, err
	}
	var ts []ort.Tensor
	for _, p := range paths {
		t, err := export.ImageTensor(p, size, size)
		if err != nil {
			return nil, err
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
	return outputsOpt(model, xs, ort.SessionOptions{})
}

func outputsOpt(model []byte, xs []ort.Tensor, o ort.SessionOptions) ([][]float32, error) {
	s, err := ort.NewSession(model, o)
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

func run(ckpt, calib, test, mode string, size, nCalib, nTest, rounds, iters int, batches, methods, edges, variants string) error {
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
	case "export":
		return writeVariants(m, paths, size)
	case "speed":
		return speed(m, fp32, paths, xs, size, rounds, iters, batches, variants)
	}
	return fmt.Errorf("mode %q: want quality, export or speed", mode)
}

func quality(m *export.Model, fp32 []byte, paths []string, xs []ort.Tensor, size int, methods, edges string) error {
	ref, err := outputs(fp32, xs)
	if err != nil {
		return err
	}
	fmt.Println("\n| variant | calibration | first/last conv | PSNR vs fp32, all images (dB) | worst image (dB) | export s |")
	fmt.Println("|---|---|---|---|---|---|")
	edges, eqs, _ := strings.Cut(edges, "/")
	for _, eq := range strings.Split(eqs, ",") {
		for _, e := range strings.Split(edges, ",") {
			for _, meth := range strings.Split(methods, ",") {
				name, pct, _ := strings.Cut(meth, ":")
				q := &export.Int8Options{Images: paths, Method: name, Size: size, QuantizeFirst: e == "int8", QuantizeLast: e == "int8", NoEqualize: eq != "true"}
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
				fmt.Printf("| int8%s | %s | %s | %.2f | %.2f | %.1f |\n", map[bool]string{true: ", equalized"}[eq == "true"], meth, e, all, worst, dt.Seconds())
			}
		}
	}
	emu, err := fp16Rounding(fp32)
	if err != nil {
		return err
	}
	ys, err := outputsOpt(emu, xs, ort.SessionOptions{GraphOptLevel: ort.GraphOptDisabled})
	if err != nil {
		return err
	}
	for _, y := range ys {
		for _, v := range y {
			if float16.Fromfloat32(v).Float32() != v {
				return fmt.Errorf("fp16 emulation: output %g is not a float16 value: ORT removed the rounding Casts", v)
			}
		}
	}
	all, worst := agreement(ref, ys)
	fmt.Printf("| fp16 storage emulated (every op's output and the weights rounded to float16, fp32 arithmetic inside each op) | - | - | %.2f | %.2f | - |\n", all, worst)
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

// writeVariants writes the int8 variants that speed mode times (-variants)
// into the current folder, so that the calibration runs outside the quiet
// timing window: int8.onnx (the defaults), int8_float_up.onnx (ConvTranspose
// kept float), int8_edges.onnx (first and last conv int8 too).
func writeVariants(m *export.Model, paths []string, size int) error {
	for _, v := range []struct {
		name string
		q    export.Int8Options
	}{
		{"int8.onnx", export.Int8Options{}},
		{"int8_float_up.onnx", export.Int8Options{FloatConvTranspose: true}},
		{"int8_edges.onnx", export.Int8Options{QuantizeFirst: true, QuantizeLast: true}},
	} {
		name, q := v.name, v.q
		q.Images, q.Size = paths, size
		b, err := export.ONNX(m, export.ONNXOptions{Int8: &q})
		if err != nil {
			return err
		}
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", name)
	}
	return nil
}

func speed(m *export.Model, fp32 []byte, paths []string, xs []ort.Tensor, size, rounds, iters int, batches, variants string) error {
	type variant struct {
		name string
		data []byte
	}
	models := []variant{{"fp32", fp32}}
	if variants == "" {
		int8, err := export.ONNX(m, export.ONNXOptions{Int8: &export.Int8Options{Images: paths, Size: size}})
		if err != nil {
			return err
		}
		models = append(models, variant{"int8", int8})
	}
	for _, v := range strings.Split(variants, ",") {
		if v == "" {
			continue
		}
		name, file, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("variant %q: want NAME=FILE", v)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		models = append(models, variant{name, b})
	}
	sessions := make([]*ort.Session, len(models))
	for i, mm := range models {
		s, err := ort.NewSession(mm.data, ort.SessionOptions{})
		if err != nil {
			return err
		}
		defer s.Close()
		sessions[i] = s
	}
	fmt.Printf("\nrounds %d, %d runs per model per round (interleaved), ms per batch: median of round medians (min-max)\n\n| batch |", rounds, iters)
	for _, v := range models {
		fmt.Printf(" %s ms |", v.name)
	}
	for _, v := range models[1:] {
		fmt.Printf(" %s/fp32 |", v.name)
	}
	fmt.Print(" load before -> after |\n|---|")
	fmt.Println(strings.Repeat("---|", 2*len(models)))
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
		fmt.Printf("| %d |", b)
		for i := range models {
			fmt.Printf(" %.0f (%.0f-%.0f) |", median(med[i]), slices.Min(med[i]), slices.Max(med[i]))
		}
		for i := range models[1:] {
			fmt.Printf(" %.3f |", median(med[i+1])/median(med[0]))
		}
		fmt.Printf(" %s -> %s |\n", load0, loadavg())
	}
	return nil
}

// fp16Rounding returns the fp32 model with its float32 weights rounded to
// float16 values and every node's float output passed through a Cast to
// float16 and back: float16 storage of each tensor between ops, float32
// arithmetic inside each op (as a GPU's fp16 kernels with fp32
// accumulation compute). ORT's CPU provider has no float16 Conv, so the
// fp16-compute model itself runs there through Casts ORT inserts and
// removes; this emulation, run with graph optimization disabled so the
// Casts stay, estimates the fp16 error.
func fp16Rounding(fp32 []byte) ([]byte, error) {
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(fp32, &mp); err != nil {
		return nil, err
	}
	g := mp.Graph
	for _, t := range g.Initializer {
		if t.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
			continue
		}
		for i := 0; i+4 <= len(t.RawData); i += 4 {
			f := math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[i:]))
			binary.LittleEndian.PutUint32(t.RawData[i:], math.Float32bits(float16.Fromfloat32(f).Float32()))
		}
	}
	cast := func(in, out string, to onnxpb.TensorProto_DataType) *onnxpb.NodeProto {
		return &onnxpb.NodeProto{Name: proto.String("Cast_" + out), OpType: proto.String("Cast"), Input: []string{in}, Output: []string{out},
			Attribute: []*onnxpb.AttributeProto{{Name: proto.String("to"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(to))}}}
	}
	var nodes []*onnxpb.NodeProto
	for _, v := range g.Input {
		if v.GetName() == export.InputImage {
			nodes = append(nodes, cast(v.GetName(), "image_h", onnxpb.TensorProto_FLOAT16), cast("image_h", "image_r", onnxpb.TensorProto_FLOAT))
		}
	}
	for _, n := range g.Node {
		for i, in := range n.Input {
			if in == export.InputImage {
				n.Input[i] = "image_r"
			}
		}
		switch n.GetOpType() {
		case "Shape", "Slice", "Gather", "Unsqueeze", "Squeeze":
			nodes = append(nodes, n)
			continue
		}
		y := n.Output[0]
		n.Output[0] = y + "_f32"
		nodes = append(nodes, n, cast(y+"_f32", y+"_h", onnxpb.TensorProto_FLOAT16), cast(y+"_h", y, onnxpb.TensorProto_FLOAT))
	}
	g.Node = nodes
	g.ValueInfo = nil
	return proto.Marshal(&mp)
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
