package export

import (
	"encoding/binary"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/internal/onnxpb"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/synth"
)

// writeScenes writes n synthetic day scenes (seeds from seed on) of side
// size as PNG files into a new folder and returns it.
func writeScenes(t *testing.T, seed uint64, n, size int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		im := synth.Render(synth.NewScene(seed+uint64(i)), synth.Domain{Time: synth.Day}, size)
		f, err := os.Create(filepath.Join(dir, string(rune('a'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, im); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sceneTensors loads every image of dir as [1,3,size,size] in [-1,1].
func sceneTensors(t *testing.T, dir string, size int) []ort.Tensor {
	t.Helper()
	paths, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var xs []ort.Tensor
	for _, p := range paths {
		x, err := ImageTensor(filepath.Join(dir, p.Name()), size, size)
		if err != nil {
			t.Fatal(err)
		}
		xs = append(xs, x)
	}
	return xs
}

// runModel runs a one-input model on each of xs and returns the outputs.
func runModel(t *testing.T, model []byte, xs []ort.Tensor) [][]float32 {
	t.Helper()
	s, err := ort.NewSession(model, ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ys [][]float32
	for _, x := range xs {
		out := []ort.Tensor{ort.NewTensor(x.Shape...)}
		if err := s.Run([]ort.Tensor{x}, out); err != nil {
			t.Fatal(err)
		}
		ys = append(ys, out[0].Data)
	}
	return ys
}

// psnrAll is the PSNR in dB of ys against ref for values in [-1,1] (peak
// to peak 2) over all images: 10*log10(4/MSE).
func psnrAll(ref, ys [][]float32) float64 {
	var se float64
	var n int
	for i := range ref {
		for j := range ref[i] {
			d := float64(ref[i][j]) - float64(ys[i][j])
			se += d * d
		}
		n += len(ref[i])
	}
	return 10 * math.Log10(4/(se/float64(n)))
}

func unmarshalModel(t *testing.T, b []byte) *onnxpb.ModelProto {
	t.Helper()
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(b, &mp); err != nil {
		t.Fatal(err)
	}
	return &mp
}

func metaOf(mp *onnxpb.ModelProto) map[string]string {
	m := map[string]string{}
	for _, p := range mp.MetadataProps {
		m[p.GetKey()] = p.GetValue()
	}
	return m
}

func attrI(n *onnxpb.NodeProto, name string) (int64, bool) {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			return a.GetI(), true
		}
	}
	return 0, false
}

// TestInt8Structure checks the QDQ graph of a small resnet_9blocks: every
// convolution but the first and the last reads its input, weight and bias
// through DequantizeLinear (the input's from a QuantizeLinear of the
// activation; the weight int8 per output channel on axis 0 for Conv, 1 for
// ConvTranspose; the bias int32 at input scale times weight scale) and
// writes through a QuantizeLinear; the edges stay float; the metadata
// records int8 and the calibration.
func TestInt8Structure(t *testing.T) {
	m := loadGolden(t, goldenCase{name: "cyclegan_resnet9_ngf4", kind: models.CycleGANGenerator})
	calib := writeScenes(t, 100, 3, 32)
	fp32, err := ONNX(m, ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Without equalization every int8 conv keeps its (int32) bias.
	model, err := ONNX(m, ONNXOptions{Int8: &Int8Options{Calibrate: calib, Method: CalibMinMax, Size: 32, NoEqualize: true}})
	if err != nil {
		t.Fatal(err)
	}
	mp := unmarshalModel(t, model)
	g := mp.Graph
	producer := map[string]*onnxpb.NodeProto{}
	consumers := map[string][]*onnxpb.NodeProto{}
	for _, n := range g.Node {
		for _, o := range n.Output {
			producer[o] = n
		}
		for _, in := range n.Input {
			consumers[in] = append(consumers[in], n)
		}
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range g.Initializer {
		inits[t.GetName()] = t
	}
	dqOf := func(name string) *onnxpb.NodeProto {
		if p := producer[name]; p != nil && p.GetOpType() == "DequantizeLinear" {
			return p
		}
		return nil
	}
	convs := convNodes(g)
	if len(convs) != 24 {
		t.Fatalf("%d convolutions; want 24 (22 Conv, 2 ConvTranspose)", len(convs))
	}
	for i, c := range convs {
		n := c.node
		edge := i == 0 || i == len(convs)-1
		xdq, wdq := dqOf(n.Input[0]), dqOf(n.Input[1])
		if edge {
			if xdq != nil || wdq != nil {
				t.Errorf("conv %d (%s) is an edge but reads quantized values", i, n.Input[1])
			}
			if _, ok := inits[n.Input[1]]; !ok {
				t.Errorf("edge conv %d: weight %s is not a float initializer", i, n.Input[1])
			}
			continue
		}
		if xdq == nil || producer[xdq.Input[0]].GetOpType() != "QuantizeLinear" {
			t.Errorf("conv %d (%s): input not from a QuantizeLinear/DequantizeLinear pair", i, n.Input[1])
			continue
		}
		if zp := inits[xdq.Input[2]]; zp.GetDataType() != int32(onnxpb.TensorProto_UINT8) || len(zp.Dims) != 0 {
			t.Errorf("conv %d: activation zero point %s dims %v; want a uint8 scalar", i, onnxpb.TensorProto_DataType(zp.GetDataType()), zp.Dims)
		}
		if wdq == nil {
			t.Errorf("conv %d: weight not from DequantizeLinear", i)
			continue
		}
		axis, _ := attrI(wdq, "axis")
		if int(axis) != c.axis {
			t.Errorf("conv %d (%s): weight axis %d; want %d", i, n.GetOpType(), axis, c.axis)
		}
		wq, ws := inits[wdq.Input[0]], inits[wdq.Input[1]]
		if wq.GetDataType() != int32(onnxpb.TensorProto_INT8) {
			t.Errorf("conv %d: weight is %s; want int8", i, onnxpb.TensorProto_DataType(wq.GetDataType()))
		}
		if len(ws.Dims) != 1 || ws.Dims[0] != wq.Dims[c.axis] {
			t.Errorf("conv %d: weight scale dims %v for weight %v axis %d; want one scale per output channel", i, ws.Dims, wq.Dims, c.axis)
		}
		// Symmetric: each channel reaches +-127 (or is all zero).
		inner := len(wq.RawData) / int(wq.Dims[0])
		if c.axis == 0 {
			for ch := range int(wq.Dims[0]) {
				peak := 0
				for _, b := range wq.RawData[ch*inner : (ch+1)*inner] {
					peak = max(peak, abs(int(int8(b))))
				}
				if peak != 127 && peak != 0 {
					t.Errorf("conv %d channel %d: peak |q| %d; want 127 (symmetric scale max|w|/127)", i, ch, peak)
					break
				}
			}
		}
		bdq := dqOf(n.Input[2])
		if bdq == nil || inits[bdq.Input[0]].GetDataType() != int32(onnxpb.TensorProto_INT32) {
			t.Errorf("conv %d: bias not int32 through DequantizeLinear", i)
		} else {
			xs := math.Float32frombits(binary.LittleEndian.Uint32(inits[xdq.Input[1]].RawData))
			w0 := math.Float32frombits(binary.LittleEndian.Uint32(ws.RawData))
			b0 := math.Float32frombits(binary.LittleEndian.Uint32(inits[bdq.Input[1]].RawData))
			if b0 != xs*w0 {
				t.Errorf("conv %d: bias scale %g; want input scale %g * weight scale %g", i, b0, xs, w0)
			}
		}
		cs := consumers[n.Output[0]]
		if len(cs) != 1 || cs[0].GetOpType() != "QuantizeLinear" {
			t.Errorf("conv %d: output not consumed by one QuantizeLinear", i)
		}
	}
	meta := metaOf(mp)
	if meta[MetaWeights] != "int8" || !strings.HasPrefix(meta[MetaCalibration], "minmax over 3 images (32x32) of "+calib) {
		t.Errorf("metadata weights %q calibration %q", meta[MetaWeights], meta[MetaCalibration])
	}
	if !strings.Contains(meta[MetaFloatLayers], "first conv (model.1)") || !strings.Contains(meta[MetaFloatLayers], "last conv (model.26)") {
		t.Errorf("float layers %q", meta[MetaFloatLayers])
	}
	// Quantizing the edges too leaves no float convolution.
	all, err := ONNX(m, ONNXOptions{Int8: &Int8Options{Calibrate: calib, Method: CalibMinMax, Size: 32, QuantizeFirst: true, QuantizeLast: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got := metaOf(unmarshalModel(t, all))[MetaFloatLayers]; !strings.HasPrefix(got, "none") {
		t.Errorf("with the edges quantized, float layers %q; want none", got)
	}
	// FloatConvTranspose leaves exactly the two upsampling layers float.
	up, err := ONNX(m, ONNXOptions{Int8: &Int8Options{Calibrate: calib, Method: CalibMinMax, Size: 32, FloatConvTranspose: true}})
	if err != nil {
		t.Fatal(err)
	}
	upg := unmarshalModel(t, up).Graph
	upInits := map[string]bool{}
	for _, in := range upg.Initializer {
		upInits[in.GetName()] = true
	}
	for i, c := range convNodes(upg) {
		float := upInits[c.node.Input[1]]
		if want := i == 0 || i == 23 || c.node.GetOpType() == "ConvTranspose"; float != want {
			t.Errorf("float upsampling: conv %d (%s %s) float %v; want %v", i, c.node.GetOpType(), c.node.Input[1], float, want)
		}
	}
	// int8 weights take a quarter of the bytes; this small model's float
	// edges and per-tensor constants keep it near half (measured 0.48).
	if r := float64(len(model)) / float64(len(fp32)); r > 0.6 {
		t.Errorf("int8 file %d bytes, fp32 %d: ratio %.2f; want <= 0.6", len(model), len(fp32), r)
	}
	// Deterministic bytes.
	again, err := ONNX(m, ONNXOptions{Int8: &Int8Options{Calibrate: calib, Method: CalibMinMax, Size: 32, NoEqualize: true}})
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(model) {
		t.Error("exporting twice gave different int8 bytes")
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// TestInt8Agreement checks that the int8 model of a small generator agrees
// with its fp32 model on scenes not used for calibration, for each
// calibration method, above a PSNR floor set under the measured values.
func TestInt8Agreement(t *testing.T) {
	m := loadGolden(t, goldenCase{name: "cyclegan_resnet9_ngf4", kind: models.CycleGANGenerator})
	const size = 64
	calib := writeScenes(t, 200, 4, size)
	held := sceneTensors(t, writeScenes(t, 300, 3, size), size)
	fp32, err := ONNX(m, ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := runModel(t, fp32, held)
	for _, method := range []string{CalibMinMax, CalibPercentile, CalibMSE} {
		model, err := ONNX(m, ONNXOptions{Int8: &Int8Options{Calibrate: calib, Method: method, Size: size}})
		if err != nil {
			t.Fatal(err)
		}
		p := psnrAll(ref, runModel(t, model, held))
		t.Logf("%s: int8 vs fp32 %.2f dB on %d held-out scenes", method, p, len(held))
		if p < 30 {
			t.Errorf("%s: int8 vs fp32 %.2f dB; want >= 30", method, p)
		}
	}
}

// TestInt8Options checks the refusals: no images, a bad method or
// percentile, a size the generator cannot take, int8 with fp16.
func TestInt8Options(t *testing.T) {
	m := loadGolden(t, goldenCase{name: "cyclegan_resnet9_ngf4", kind: models.CycleGANGenerator})
	calib := writeScenes(t, 1, 1, 16)
	for _, tc := range []struct {
		o    ONNXOptions
		want string
	}{
		{ONNXOptions{Int8: &Int8Options{}}, "needs calibration images"},
		{ONNXOptions{Int8: &Int8Options{Calibrate: t.TempDir()}}, "no images found"},
		{ONNXOptions{Int8: &Int8Options{Calibrate: calib, Method: "kl"}}, `method "kl"`},
		{ONNXOptions{Int8: &Int8Options{Calibrate: calib, Method: CalibPercentile, Percentile: 100}}, "percentile 100"},
		{ONNXOptions{Int8: &Int8Options{Calibrate: calib, Size: 30}}, "multiple of 4"},
		{ONNXOptions{Int8: &Int8Options{Calibrate: calib, MaxImages: MaxCalibImages + 1}}, "want 1 to"},
		{ONNXOptions{Int8: &Int8Options{Calibrate: calib}, FP16: true}, "exclude one another"},
		{ONNXOptions{FP32Norm: true}, "fp16 compute only"},
	} {
		_, err := ONNX(m, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v; want one containing %q", tc.o, err, tc.want)
		}
	}
}

// TestCalibrationRanges checks the range choice on a known histogram: a
// uniform [0, 1] body of 100,000 values with one outlier at 100. Min/max
// keeps the outlier, the percentile method clips it, and MSE weighs the one
// clipped value against the rounding noise of all the others: its range
// has the least expected error of the three, and clips a little.
func TestCalibrationRanges(t *testing.T) {
	x := make([]float32, 100000)
	for i := range x {
		x[i] = float32(i) / float32(len(x))
	}
	x[0] = 100
	var r tensorRange
	r.observe(x)
	r.histogram(x)
	if lo, hi := r.choose(CalibMinMax, 0); lo != 0 || hi != 100 {
		t.Errorf("minmax [%g, %g]; want [0, 100]", lo, hi)
	}
	if _, hi := r.choose(CalibPercentile, 99.99); hi > 1.1 {
		t.Errorf("percentile 99.99: hi %g; want about 1 (the outlier is 0.001%%)", hi)
	}
	elo, ehi := r.choose(CalibMSE, 0)
	plo, phi := r.choose(CalibPercentile, 99.99)
	mse, mm, pc := r.quantError(elo, ehi), r.quantError(0, 100), r.quantError(plo, phi)
	if mse > mm || mse > pc || ehi >= 100 {
		t.Errorf("mse range [%g, %g] error %g; min/max's %g, percentile's %g; want the least, clipping below 100", elo, ehi, mse, mm, pc)
	}
	if s, zp := uint8Params(-1, 3); math.Abs(s-4.0/255) > 1e-7 || zp != 64 {
		t.Errorf("uint8Params(-1, 3) = %g, %d; want %g, 64", s, zp, 4.0/255)
	}
}

// TestFP16Compute checks the fp16-compute graph: float16 weights, one Cast
// at the input and one at the output (and two per norm with FP32Norm),
// float32 I/O, and agreement with fp32 above a PSNR floor set under the
// measured value (ORT's CPU provider; see benchmarks/README.md).
func TestFP16Compute(t *testing.T) {
	m := loadGolden(t, goldenCase{name: "cyclegan_resnet9_ngf4", kind: models.CycleGANGenerator})
	const size = 64
	held := sceneTensors(t, writeScenes(t, 300, 2, size), size)
	fp32, err := ONNX(m, ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := runModel(t, fp32, held)
	for _, norm := range []bool{false, true} {
		model, err := ONNX(m, ONNXOptions{FP16Compute: true, FP32Norm: norm})
		if err != nil {
			t.Fatal(err)
		}
		mp := unmarshalModel(t, model)
		casts, norms := 0, 0
		for _, n := range mp.Graph.Node {
			switch n.GetOpType() {
			case "Cast":
				casts++
			case "InstanceNormalization":
				norms++
			}
		}
		want := 2
		if norm {
			want += 2 * norms
		}
		if casts != want {
			t.Errorf("fp32 norm %v: %d Casts; want %d", norm, casts, want)
		}
		for _, in := range mp.Graph.Initializer {
			isNorm := strings.HasSuffix(in.GetName(), "_scale") || strings.HasSuffix(in.GetName(), "_bias")
			if in.GetDataType() == int32(onnxpb.TensorProto_FLOAT) && !(norm && isNorm) {
				t.Errorf("fp32 norm %v: initializer %s is still float32", norm, in.GetName())
			}
		}
		for _, v := range append(mp.Graph.Input, mp.Graph.Output...) {
			if v.GetType().GetTensorType().GetElemType() != int32(onnxpb.TensorProto_FLOAT) {
				t.Errorf("I/O %s is not float32", v.GetName())
			}
		}
		if got := metaOf(mp)[MetaCompute]; !strings.HasPrefix(got, "float16") {
			t.Errorf("compute metadata %q", got)
		}
		p := psnrAll(ref, runModel(t, model, held))
		t.Logf("fp16 compute (fp32 norm %v) vs fp32: %.2f dB", norm, p)
		if p < 40 {
			t.Errorf("fp16 compute (fp32 norm %v) vs fp32: %.2f dB; want >= 40", norm, p)
		}
	}
}

// TestEqualize checks that channel equalization leaves the float model's
// output unchanged (instance norm undoes it) while it drops the biases of
// the convolutions before norms and brings their channels to one range.
func TestEqualize(t *testing.T) {
	m := loadGolden(t, goldenCase{name: "cyclegan_resnet9_ngf4", kind: models.CycleGANGenerator})
	const size = 32
	calib := writeScenes(t, 400, 2, size)
	held := sceneTensors(t, writeScenes(t, 500, 2, size), size)
	fp32, err := ONNX(m, ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mp := unmarshalModel(t, fp32)
	paths := []string{filepath.Join(calib, "a.png"), filepath.Join(calib, "b.png")}
	run := func(names []string, see func(i int, x []float32)) error {
		return calibrationRun(mp, names, paths, m.Spec, size, size, 1, see)
	}
	quantize := make([]bool, len(convNodes(mp.Graph)))
	for i := range quantize {
		quantize[i] = i != 0 && i != len(quantize)-1
	}
	if err := equalize(mp, quantize, run); err != nil {
		t.Fatal(err)
	}
	biased := 0
	var names []string
	var chans []int
	for _, c := range convNodes(mp.Graph) {
		if len(c.node.Input) > 2 {
			biased++
		} else {
			names = append(names, c.node.Output[0])
			for _, in := range mp.Graph.Initializer {
				if in.GetName() == c.node.Input[1] {
					chans = append(chans, int(in.Dims[c.axis]))
				}
			}
		}
	}
	// The first and the last conv keep theirs; the 22 between lose them.
	if biased != 2 || len(names) != 22 {
		t.Errorf("%d convolutions keep a bias, %d lost it; want 2 and 22", biased, len(names))
	}
	// Each equalized conv's channels now peak at the same |value| on the
	// calibration images.
	peaks := make([][]float64, len(names))
	if err := run(names, func(i int, x []float32) {
		if peaks[i] == nil {
			peaks[i] = make([]float64, chans[i])
		}
		plane := len(x) / chans[i]
		for k := range chans[i] {
			for _, v := range x[k*plane : (k+1)*plane] {
				peaks[i][k] = max(peaks[i][k], math.Abs(float64(v)))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	for i, p := range peaks {
		lo, hi := math.Inf(1), 0.0
		for _, v := range p {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo < 0.99*hi {
			t.Errorf("%s: channel peaks %.4g to %.4g after equalization; want equal within 1%% (upstream equalization moves them by rounding)", names[i], lo, hi)
		}
	}
	eq, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	p := psnrAll(runModel(t, fp32, held), runModel(t, eq, held))
	t.Logf("equalized fp32 vs fp32: %.1f dB on held-out scenes", p)
	// Measured 73.4 dB: the norm undoes the scaling up to rounding and its
	// epsilon, 30 dB above the int8 error.
	if p < 65 {
		t.Errorf("equalized fp32 vs fp32: %.1f dB; want >= 65 (the norm undoes the scaling)", p)
	}
}

// TestInt8StarGAN checks that a StarGAN generator (image and label inputs)
// calibrates and agrees with its fp32 model for each one-hot label.
func TestInt8StarGAN(t *testing.T) {
	m := loadGolden(t, goldenCase{name: "stargan_g_c5", kind: models.StarGANGenerator})
	const size = 32
	calib := writeScenes(t, 600, 3, size)
	held := sceneTensors(t, writeScenes(t, 700, 2, size), size)
	fp32, err := ONNX(m, ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := ONNX(m, ONNXOptions{Int8: &Int8Options{Calibrate: calib, Size: size}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(model []byte) [][]float32 {
		s, err := ort.NewSession(model, ort.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var ys [][]float32
		for _, x := range held {
			for c := range m.Spec.CDim {
				l := ort.NewTensor(1, int64(m.Spec.CDim))
				l.Data[c] = 1
				out := []ort.Tensor{ort.NewTensor(x.Shape...)}
				if err := s.Run([]ort.Tensor{x, l}, out); err != nil {
					t.Fatal(err)
				}
				ys = append(ys, out[0].Data)
			}
		}
		return ys
	}
	p := psnrAll(run(fp32), run(q))
	t.Logf("StarGAN int8 vs fp32: %.2f dB", p)
	if p < 30 {
		t.Errorf("StarGAN int8 vs fp32: %.2f dB; want >= 30", p)
	}
}
