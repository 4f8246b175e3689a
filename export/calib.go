package export

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/internal/onnxpb"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/train/data"
)

// Int8Options configures an int8 export (ONNXOptions.Int8): a static QDQ
// model with int8 weights (symmetric, one scale per output channel) and
// uint8 activations (one scale and zero point per tensor) calibrated on
// images.
type Int8Options struct {
	// Calibrate is the folder of calibration images (subfolders included;
	// the formats of data.ListImages). Use images the model will not be
	// judged on.
	Calibrate string
	// Images lists calibration images directly, instead of Calibrate.
	Images []string
	// Method is CalibMinMax, CalibPercentile or CalibMSE ("" is
	// DefaultCalibration).
	Method string
	// Percentile is CalibPercentile's share of values kept, in (90, 100)
	// (0 is DefaultPercentile).
	Percentile float64
	// MaxImages bounds the images used (0 is DefaultCalibImages), the
	// first ones in data.ListImages order.
	MaxImages int
	// Size is the side the images are resized to (bicubic, as the training
	// loader's --load-size) for the calibration pass; 0 is the export's
	// fixed size if it has one, else DefaultCalibSize. It must be a
	// multiple of the generator's Multiple.
	Size int
	// QuantizeFirst and QuantizeLast also quantize the first and the last
	// convolution, which are float by default: quantizing them cost 1.35
	// and 1.5 dB of PSNR against fp32 on the two models measured
	// (benchmarks/README.md, int8 section).
	QuantizeFirst, QuantizeLast bool
	// NoEqualize turns off channel equalization (see equalize): by default
	// each int8 convolution that feeds instance norm loses its bias and has
	// its output channels scaled to a common range first, which the norm
	// undoes, at the cost of one more calibration pass. Measured: +1.1 dB
	// PSNR against fp32 on both models of benchmarks/README.md (int8).
	NoEqualize bool
	// FloatConvTranspose keeps ConvTranspose layers (the decoder's
	// upsampling) in float.
	FloatConvTranspose bool
	// Threads is ORT's intra-op thread count for the calibration pass
	// (0: one per core).
	Threads int
}

// Calibration defaults and bounds.
const (
	DefaultCalibImages = 32
	MaxCalibImages     = 1024
	DefaultCalibSize   = 256
)

// method returns the calibration method and percentile, defaults applied.
func (q Int8Options) method() (string, float64, error) {
	m := q.Method
	if m == "" {
		m = DefaultCalibration
	}
	switch m {
	case CalibMinMax, CalibPercentile, CalibMSE:
	default:
		return "", 0, fmt.Errorf("calibration method %q: want %s, %s or %s", m, CalibMinMax, CalibPercentile, CalibMSE)
	}
	p := q.Percentile
	if p == 0 {
		p = DefaultPercentile
	}
	if p <= 90 || p >= 100 {
		return "", 0, fmt.Errorf("calibration percentile %g: want a value in (90, 100)", p)
	}
	return m, p, nil
}

// describe is MetaCalibration's value.
func (q Int8Options) describe(method string, p float64, n, h, w int) string {
	m := method
	if method == CalibPercentile {
		m = "percentile " + strconv.FormatFloat(p, 'g', -1, 64)
	}
	src := q.Calibrate
	if src == "" {
		src = "a list of images"
	}
	return fmt.Sprintf("%s over %d images (%dx%d) of %s", m, n, h, w, src)
}

// calibrationImages lists the calibration images: at most MaxImages (at
// most MaxCalibImages), each read by one run at a time, so the calibration
// holds one image and its activations at once and takes two model runs per
// image (one for min/max).
func (q Int8Options) calibrationImages() ([]string, error) {
	n := q.MaxImages
	if n == 0 {
		n = DefaultCalibImages
	}
	if n < 1 || n > MaxCalibImages {
		return nil, fmt.Errorf("calibration images %d: want 1 to %d", n, MaxCalibImages)
	}
	paths := q.Images
	if len(paths) == 0 {
		if q.Calibrate == "" {
			return nil, fmt.Errorf("int8 export needs calibration images (a folder)")
		}
		ps, err := data.ListImages(q.Calibrate, 0)
		if err != nil {
			return nil, fmt.Errorf("calibration: %w", err)
		}
		paths = ps
	}
	if len(paths) > n {
		paths = paths[:n]
	}
	return paths, nil
}

// ImageTensor reads path as a [1,3,h,w] tensor in [-1,1] (x/127.5-1),
// resized bicubically to w x h.
func ImageTensor(path string, h, w int) (ort.Tensor, error) {
	im, err := data.Load(path)
	if err != nil {
		return ort.Tensor{}, fmt.Errorf("calibration image: %w", err)
	}
	if im.W != w || im.H != h {
		im = data.Resize(im, w, h, data.Bicubic)
	}
	t := ort.NewTensor(1, 3, int64(h), int64(w))
	plane := h * w
	for i := range plane {
		for c := range 3 {
			t.Data[c*plane+i] = float32(im.Pix[i*3+c])/127.5 - 1
		}
	}
	return t, nil
}

// quantize calibrates the fp32 model mp on the images of q and rewrites it
// into int8 QDQ (see quantizeModel), adding the int8 metadata. spec is the
// generator (StarGAN calibrates with one-hot labels, cycling through the
// domains); h and w are the export's fixed size (0: dynamic).
func quantize(mp *onnxpb.ModelProto, spec models.Spec, q Int8Options, h, w int) error {
	method, p, err := q.method()
	if err != nil {
		return err
	}
	side := q.Size
	if side == 0 {
		side = DefaultCalibSize
	}
	if side%spec.Multiple() != 0 {
		return fmt.Errorf("calibration size %d: must be a multiple of %d", side, spec.Multiple())
	}
	if h == 0 || w == 0 {
		h, w = side, side
	}
	paths, err := q.calibrationImages()
	if err != nil {
		return err
	}
	convs := convNodes(mp.Graph)
	if len(convs) == 0 {
		return fmt.Errorf("int8: the graph has no convolution to quantize")
	}
	plan := quantPlan{quantize: make([]bool, len(convs)), ranges: map[string][2]float64{}}
	for i := range convs {
		plan.quantize[i] = (i != 0 || q.QuantizeFirst) && (i != len(convs)-1 || q.QuantizeLast) &&
			!(q.FloatConvTranspose && convs[i].node.GetOpType() == "ConvTranspose")
	}
	names := activationNames(mp.Graph, plan.quantize)
	if len(names) == 0 {
		return fmt.Errorf("int8: no convolution left to quantize (%d convolutions, first and last float)", len(convs))
	}
	run := func(names []string, see func(i int, x []float32)) error {
		return calibrationRun(mp, names, paths, spec, h, w, q.Threads, see)
	}
	if !q.NoEqualize {
		if err := equalize(mp, plan.quantize, run); err != nil {
			return err
		}
	}
	// Ranges start at [0, 0]: uint8 quantization holds 0 anyway.
	stats := make([]tensorRange, len(names))
	if err := run(names, func(i int, x []float32) { stats[i].observe(x) }); err != nil {
		return err
	}
	// Percentile and MSE: a second pass for histograms over the ranges.
	if method != CalibMinMax {
		if err := run(names, func(i int, x []float32) { stats[i].histogram(x) }); err != nil {
			return err
		}
	}
	for i, n := range names {
		lo, hi := stats[i].choose(method, p)
		plan.ranges[n] = [2]float64{lo, hi}
	}
	if err := quantizeModel(mp, plan); err != nil {
		return err
	}
	setMeta(mp, MetaWeights, "int8")
	setMeta(mp, MetaQuantization, "static QDQ: int8 weights, symmetric, one scale per output channel; uint8 activations, one scale and zero point per tensor, at the input and output of each int8 convolution; int32 bias where a convolution keeps one")
	cal := q.describe(method, p, len(paths), h, w)
	if !q.NoEqualize {
		cal += "; channels equalized before instance norms"
	}
	setMeta(mp, MetaCalibration, cal)
	setMeta(mp, MetaFloatLayers, floatLayerNames(mp.Graph, plan.quantize))
	return nil
}

// calibrationRun runs mp on each image of paths (resized to w x h) with
// the tensors names as extra outputs, and calls see(i, values) for each
// names[i] of each image. StarGAN gets one-hot labels cycling through the
// domains. One image and its activations are held at a time.
func calibrationRun(mp *onnxpb.ModelProto, names, paths []string, spec models.Spec, h, w, threads int, see func(i int, x []float32)) error {
	cm, err := proto.MarshalOptions{Deterministic: true}.Marshal(calibrationOutputs(mp, names))
	if err != nil {
		return err
	}
	sess, err := ort.NewSession(cm, ort.SessionOptions{IntraOpThreads: threads})
	if err != nil {
		return fmt.Errorf("calibration session: %w", err)
	}
	defer sess.Close()
	for k, path := range paths {
		x, err := ImageTensor(path, h, w)
		if err != nil {
			return err
		}
		in := []ort.Tensor{x}
		if spec.Kind == models.StarGANGenerator {
			l := ort.NewTensor(1, int64(spec.CDim))
			l.Data[k%spec.CDim] = 1
			in = append(in, l)
		}
		outs, err := sess.RunAlloc(in)
		if err != nil {
			return fmt.Errorf("calibration on %s: %w", path, err)
		}
		for i := range names {
			see(i, outs[1+i].Data)
		}
	}
	return nil
}

// setMeta sets (or adds) a metadata entry, keeping the entries sorted by
// key as graph.ToModelProto writes them.
func setMeta(mp *onnxpb.ModelProto, k, v string) {
	for _, p := range mp.MetadataProps {
		if p.GetKey() == k {
			p.Value = proto.String(v)
			return
		}
	}
	mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(v)})
	for i := len(mp.MetadataProps) - 1; i > 0 && mp.MetadataProps[i].GetKey() < mp.MetadataProps[i-1].GetKey(); i-- {
		mp.MetadataProps[i], mp.MetadataProps[i-1] = mp.MetadataProps[i-1], mp.MetadataProps[i]
	}
}
