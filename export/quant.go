package export

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/internal/onnxpb"
)

// Metadata of int8 models.
const (
	// MetaQuantization describes the quantization scheme of an int8 model.
	MetaQuantization = "ganrt.quantization"
	// MetaCalibration says how the activation ranges were calibrated:
	// "METHOD over N images (HxW) of DIR".
	MetaCalibration = "ganrt.calibration"
	// MetaFloatLayers lists the convolutions an int8 model keeps in float.
	MetaFloatLayers = "ganrt.float_layers"
)

// Calibration methods of Int8Options.Method.
const (
	// CalibMinMax takes each activation's range as the smallest and largest
	// value seen over the calibration images.
	CalibMinMax = "minmax"
	// CalibPercentile clips each tail of the value distribution at
	// Int8Options.Percentile.
	CalibPercentile = "percentile"
	// CalibMSE picks the clipping range that minimizes the expected squared
	// error of quantizing the values seen (rounding noise inside the range,
	// clipping error outside it), over shrunken copies of the min/max range.
	CalibMSE = "mse"
)

// DefaultCalibration is the default calibration method: measured on images
// not used for calibration (benchmarks/README.md, int8 section), it gave
// the int8 output closest to fp32 on both models tried: 48.26 dB against
// percentile 99.99's 48.09 and min/max's 46.91 on a trained resnet_6blocks
// ngf 16, 30.41 against 30.29 and 28.14 on resnet_9blocks ngf 64 with
// random weights.
const DefaultCalibration = CalibMSE

// DefaultPercentile is CalibPercentile's default: 99.99% of the values lie
// inside the range, 0.005% clipped on each side.
const DefaultPercentile = 99.99

// calibBins is the histogram resolution of percentile and MSE calibration.
const calibBins = 2048

// tensorRange is the observed range of an activation tensor and, after the
// second calibration pass, its histogram over [Min, Max].
type tensorRange struct {
	Min, Max float64
	Hist     []float64
}

// observe widens the range to the values of x.
func (r *tensorRange) observe(x []float32) {
	for _, v := range x {
		f := float64(v)
		if f < r.Min {
			r.Min = f
		}
		if f > r.Max {
			r.Max = f
		}
	}
}

// histogram adds the values of x to the histogram over [Min, Max].
func (r *tensorRange) histogram(x []float32) {
	if r.Hist == nil {
		r.Hist = make([]float64, calibBins)
	}
	w := r.Max - r.Min
	if w <= 0 {
		r.Hist[0] += float64(len(x))
		return
	}
	k := calibBins / w
	for _, v := range x {
		b := int((float64(v) - r.Min) * k)
		b = max(0, min(b, calibBins-1))
		r.Hist[b]++
	}
}

// binValue is the centre of histogram bin b.
func (r *tensorRange) binValue(b int) float64 {
	return r.Min + (float64(b)+0.5)*(r.Max-r.Min)/calibBins
}

// choose returns the range [lo, hi] that method picks from the statistics.
func (r *tensorRange) choose(method string, percentile float64) (lo, hi float64) {
	if method == CalibMinMax || r.Hist == nil || r.Max <= r.Min {
		return r.Min, r.Max
	}
	if method == CalibPercentile {
		var total float64
		for _, c := range r.Hist {
			total += c
		}
		tail := total * (100 - percentile) / 200
		lo, hi = r.Min, r.Max
		var acc float64
		for b, c := range r.Hist {
			if acc+c > tail {
				lo = r.Min + float64(b)*(r.Max-r.Min)/calibBins
				break
			}
			acc += c
		}
		acc = 0
		for b := calibBins - 1; b >= 0; b-- {
			c := r.Hist[b]
			if acc+c > tail {
				hi = r.Min + float64(b+1)*(r.Max-r.Min)/calibBins
				break
			}
			acc += c
		}
		return max(lo, r.Min), min(hi, r.Max)
	}
	// MSE: shrink [min, max] towards zero by s and keep the best.
	best, bestErr := 1.0, math.Inf(1)
	for i := 100; i >= 10; i-- {
		s := float64(i) / 100
		e := r.quantError(r.Min*s, r.Max*s)
		if e < bestErr {
			best, bestErr = s, e
		}
	}
	return r.Min * best, r.Max * best
}

// quantError is the expected squared error of quantizing the histogram's
// values to uint8 over [lo, hi]: scale²/12 per value inside, the clipping
// distance squared outside.
func (r *tensorRange) quantError(lo, hi float64) float64 {
	scale, zp := uint8Params(lo, hi)
	qlo, qhi := (0-float64(zp))*scale, (255-float64(zp))*scale
	var e float64
	for b, c := range r.Hist {
		if c == 0 {
			continue
		}
		v := r.binValue(b)
		switch {
		case v < qlo:
			e += c * (v - qlo) * (v - qlo)
		case v > qhi:
			e += c * (v - qhi) * (v - qhi)
		default:
			e += c * scale * scale / 12
		}
	}
	return e
}

// uint8Params returns the scale and zero point of asymmetric uint8
// quantization of [lo, hi] (widened to hold 0): q = round(x/scale) + zp.
func uint8Params(lo, hi float64) (scale float64, zp uint8) {
	lo, hi = min(lo, 0), max(hi, 0)
	scale = (hi - lo) / 255
	if scale == 0 || math.IsNaN(scale) || math.IsInf(scale, 0) {
		return 1, 0
	}
	// Float32 scale, as the model stores it.
	scale = float64(float32(scale))
	z := math.Round(-lo / scale)
	return scale, uint8(max(0, min(z, 255)))
}

// convInfo is a convolution of the graph that the quantizer may rewrite.
type convInfo struct {
	node *onnxpb.NodeProto
	// axis is the output-channel axis of the weight: 0 for Conv
	// ([out, in/group, kh, kw]), 1 for ConvTranspose ([in, out/group, kh, kw]).
	axis int
}

// convNodes lists the Conv and ConvTranspose nodes in graph order.
func convNodes(g *onnxpb.GraphProto) []convInfo {
	var cs []convInfo
	for _, n := range g.Node {
		switch n.GetOpType() {
		case "Conv":
			cs = append(cs, convInfo{n, 0})
		case "ConvTranspose":
			cs = append(cs, convInfo{n, 1})
		}
	}
	return cs
}

// quantPlan says which convolutions to quantize and with which activation
// ranges.
type quantPlan struct {
	// quantize[i] says whether conv i (convNodes order) becomes int8.
	quantize []bool
	// ranges are the chosen activation ranges by tensor name.
	ranges map[string][2]float64
}

// quantizeModel rewrites mp in place into a static QDQ model: every conv i
// with plan.quantize[i] gets QuantizeLinear/DequantizeLinear (uint8,
// per-tensor) on its input and output, its weight stored as int8 with
// symmetric per-output-channel scales and a DequantizeLinear along the
// channel axis, and its bias as int32 at scale input_scale*weight_scale.
// ORT's QDQ fusion turns each DQ -> Conv -> Q group into QLinearConv.
func quantizeModel(mp *onnxpb.ModelProto, plan quantPlan) error {
	g := mp.Graph
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range g.Initializer {
		inits[t.GetName()] = t
	}
	convs := convNodes(g)
	if len(plan.quantize) != len(convs) {
		return fmt.Errorf("quantize: plan covers %d convolutions, the graph has %d", len(plan.quantize), len(convs))
	}
	quantized := map[*onnxpb.NodeProto]int{}
	for i, c := range convs {
		if plan.quantize[i] {
			quantized[c.node] = c.axis
		}
	}
	var (
		out      []*onnxpb.NodeProto // rewritten graph nodes, weights' DQ first
		weightDQ []*onnxpb.NodeProto
		newInits []*onnxpb.TensorProto
		removed  = map[string]bool{}
		dqOf     = map[string]string{} // activation -> its DQ output
	)
	scalar := func(name string, dt onnxpb.TensorProto_DataType, raw []byte) string {
		newInits = append(newInits, &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), RawData: raw})
		return name
	}
	// qdq returns the Q and DQ nodes of activation x with the range
	// calibrated for key; the DQ writes out.
	qdq := func(x, key, out string) ([]*onnxpb.NodeProto, error) {
		r, ok := plan.ranges[key]
		if !ok {
			return nil, fmt.Errorf("quantize: no calibrated range for tensor %q", key)
		}
		s, zp := uint8Params(r[0], r[1])
		sn := scalar(x+"_scale", onnxpb.TensorProto_FLOAT, f32bytes([]float32{float32(s)}))
		zn := scalar(x+"_zero_point", onnxpb.TensorProto_UINT8, []byte{zp})
		q := x + "_quantized"
		return []*onnxpb.NodeProto{
			{Name: proto.String("QuantizeLinear_" + x), OpType: proto.String("QuantizeLinear"), Input: []string{x, sn, zn}, Output: []string{q}},
			{Name: proto.String("DequantizeLinear_" + x), OpType: proto.String("DequantizeLinear"), Input: []string{q, sn, zn}, Output: []string{out}},
		}, nil
	}
	scaleOf := func(x string) float64 {
		r := plan.ranges[x]
		s, _ := uint8Params(r[0], r[1])
		return s
	}
	for _, n := range g.Node {
		axis, ok := quantized[n]
		if !ok {
			out = append(out, n)
			continue
		}
		if axis == 1 && groupOf(n) != 1 {
			return fmt.Errorf("quantize: %s %s has group %d; only group 1 is supported", n.GetOpType(), n.GetName(), groupOf(n))
		}
		if len(n.Input) < 2 {
			return fmt.Errorf("quantize: %s %s has no weight input", n.GetOpType(), n.GetName())
		}
		x := n.Input[0]
		xd, ok := dqOf[x]
		if !ok {
			xd = x + "_dequantized"
			pre, err := qdq(x, x, xd)
			if err != nil {
				return err
			}
			out = append(out, pre...)
			dqOf[x] = xd
		}
		n.Input[0] = xd
		xs := scaleOf(x)
		wt := inits[n.Input[1]]
		if wt == nil || wt.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
			return fmt.Errorf("quantize: weight %q of %s is not a float32 initializer", n.Input[1], n.GetName())
		}
		wq, ws, err := quantizeWeight(wt, axis)
		if err != nil {
			return err
		}
		wname := wt.GetName()
		removed[wname] = true
		newInits = append(newInits, wq,
			&onnxpb.TensorProto{Name: proto.String(wname + "_scale"), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Dims: []int64{int64(len(ws))}, RawData: f32bytes(ws)},
			&onnxpb.TensorProto{Name: proto.String(wname + "_zero_point"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT8)), Dims: []int64{int64(len(ws))}, RawData: make([]byte, len(ws))})
		weightDQ = append(weightDQ, dqNode(wname, wname+"_quantized", axis))
		if len(n.Input) > 2 && n.Input[2] != "" {
			bt := inits[n.Input[2]]
			if bt == nil || bt.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
				return fmt.Errorf("quantize: bias %q of %s is not a float32 initializer", n.Input[2], n.GetName())
			}
			bq, bs, err := quantizeBias(bt, ws, xs)
			if err != nil {
				return err
			}
			bname := bt.GetName()
			removed[bname] = true
			newInits = append(newInits, bq,
				&onnxpb.TensorProto{Name: proto.String(bname + "_scale"), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Dims: []int64{int64(len(bs))}, RawData: f32bytes(bs)},
				&onnxpb.TensorProto{Name: proto.String(bname + "_zero_point"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT32)), Dims: []int64{int64(len(bs))}, RawData: make([]byte, 4*len(bs))})
			weightDQ = append(weightDQ, dqNode(bname, bname+"_quantized", 0))
		}
		// The conv writes y_float, whose Q/DQ pair gives y back to the
		// consumers; a later conv reading y reuses the pair.
		y := n.Output[0]
		yf := y + "_float"
		post, err := qdq(yf, y, y)
		if err != nil {
			return err
		}
		n.Output[0] = yf
		out = append(out, n)
		out = append(out, post...)
		dqOf[y] = y
	}
	g.Node = append(weightDQ, out...)
	kept := g.Initializer[:0]
	for _, t := range g.Initializer {
		if !removed[t.GetName()] {
			kept = append(kept, t)
		}
	}
	g.Initializer = append(kept, newInits...)
	inputs := g.Input[:0]
	for _, v := range g.Input {
		if !removed[v.GetName()] {
			inputs = append(inputs, v)
		}
	}
	g.Input = inputs
	return nil
}

// dqNode dequantizes initializer q (with q's name minus "_quantized" plus
// "_scale" and "_zero_point") along axis into out.
func dqNode(out, q string, axis int) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{
		Name:   proto.String("DequantizeLinear_" + out),
		OpType: proto.String("DequantizeLinear"),
		Input:  []string{q, out + "_scale", out + "_zero_point"},
		Output: []string{out},
		Attribute: []*onnxpb.AttributeProto{{
			Name: proto.String("axis"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(axis)),
		}},
	}
}

func groupOf(n *onnxpb.NodeProto) int64 {
	for _, a := range n.Attribute {
		if a.GetName() == "group" {
			return a.GetI()
		}
	}
	return 1
}

// quantizeWeight returns w as int8 with symmetric scales per index of
// axis (max|w|/127 over the other axes), and the scales.
func quantizeWeight(w *onnxpb.TensorProto, axis int) (*onnxpb.TensorProto, []float32, error) {
	vals, err := tensorFloats(w)
	if err != nil {
		return nil, nil, err
	}
	if len(w.Dims) <= axis {
		return nil, nil, fmt.Errorf("quantize: weight %q has shape %v, no axis %d", w.GetName(), w.Dims, axis)
	}
	c := int(w.Dims[axis])
	inner := 1
	for _, d := range w.Dims[axis+1:] {
		inner *= int(d)
	}
	ch := func(i int) int { return (i / inner) % c }
	amax := make([]float64, c)
	for i, v := range vals {
		amax[ch(i)] = max(amax[ch(i)], math.Abs(float64(v)))
	}
	scales := make([]float32, c)
	for j, a := range amax {
		scales[j] = float32(a / 127)
		if scales[j] == 0 {
			scales[j] = 1
		}
	}
	q := make([]byte, len(vals))
	for i, v := range vals {
		r := math.Round(float64(v) / float64(scales[ch(i)]))
		q[i] = byte(int8(max(-127, min(r, 127))))
	}
	return &onnxpb.TensorProto{Name: proto.String(w.GetName() + "_quantized"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT8)),
		Dims: append([]int64(nil), w.Dims...), RawData: q}, scales, nil
}

// quantizeBias returns bias [C] as int32 at scale xs*ws[c], and the scales.
func quantizeBias(b *onnxpb.TensorProto, ws []float32, xs float64) (*onnxpb.TensorProto, []float32, error) {
	vals, err := tensorFloats(b)
	if err != nil {
		return nil, nil, err
	}
	if len(vals) != len(ws) {
		return nil, nil, fmt.Errorf("quantize: bias %q has %d elements for %d output channels", b.GetName(), len(vals), len(ws))
	}
	scales := make([]float32, len(ws))
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		scales[i] = float32(xs * float64(ws[i]))
		r := math.Round(float64(v) / float64(scales[i]))
		r = max(math.MinInt32, min(r, math.MaxInt32))
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(int32(r)))
	}
	return &onnxpb.TensorProto{Name: proto.String(b.GetName() + "_quantized"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT32)),
		Dims: append([]int64(nil), b.Dims...), RawData: raw}, scales, nil
}

// tensorFloats returns a float32 initializer's values (raw or float_data).
func tensorFloats(t *onnxpb.TensorProto) ([]float32, error) {
	if t.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
		return nil, fmt.Errorf("initializer %q is %s, not float32", t.GetName(), onnxpb.TensorProto_DataType(t.GetDataType()))
	}
	if len(t.RawData) > 0 {
		if len(t.RawData)%4 != 0 {
			return nil, fmt.Errorf("initializer %q: %d raw bytes, not a multiple of 4", t.GetName(), len(t.RawData))
		}
		v := make([]float32, len(t.RawData)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
		}
		return v, nil
	}
	return append([]float32(nil), t.FloatData...), nil
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// calibrationOutputs returns a copy of mp whose outputs also include every
// tensor in names (float32, shape left to ORT), for the calibration pass.
func calibrationOutputs(mp *onnxpb.ModelProto, names []string) *onnxpb.ModelProto {
	c := proto.Clone(mp).(*onnxpb.ModelProto)
	for _, n := range names {
		c.Graph.Output = append(c.Graph.Output, &onnxpb.ValueInfoProto{
			Name: proto.String(n),
			Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
				ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			}}},
		})
	}
	return c
}

// activationNames lists the input and output tensors of the convolutions
// marked in quantize, in graph order without repeats.
func activationNames(g *onnxpb.GraphProto, quantize []bool) []string {
	seen := map[string]bool{}
	var names []string
	for i, c := range convNodes(g) {
		if !quantize[i] {
			continue
		}
		for _, n := range []string{c.node.Input[0], c.node.Output[0]} {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}

// floatLayerNames describes the convolutions left in float, for
// MetaFloatLayers: "first conv (model.1), last conv (model.26)".
func floatLayerNames(g *onnxpb.GraphProto, quantize []bool) string {
	convs := convNodes(g)
	var parts []string
	for i, c := range convs {
		if quantize[i] {
			continue
		}
		w := strings.TrimSuffix(c.node.Input[1], ".weight")
		switch i {
		case 0:
			parts = append(parts, "first conv ("+w+")")
		case len(convs) - 1:
			parts = append(parts, "last conv ("+w+")")
		default:
			parts = append(parts, c.node.GetOpType()+" "+strconv.Itoa(i)+" ("+w+")")
		}
	}
	if len(parts) == 0 {
		return "none (every convolution is int8); tanh in float"
	}
	return strings.Join(parts, ", ") + "; tanh, norms, activations in float"
}
