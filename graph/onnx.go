package graph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/internal/onnxpb"
)

// The ONNX versions ToONNX writes.
const (
	// ONNXOpset is the default-domain opset of exported models.
	ONNXOpset = 17
	// MaxONNXOpset is the newest opset ToONNX can write (ONNXOptions.Opset).
	MaxONNXOpset = 21
	// ONNXIRVersion is the ModelProto ir_version at ONNXOpset.
	ONNXIRVersion = 8
	// ONNXProducer is the ModelProto producer_name.
	ONNXProducer = "ganrt"
)

// irVersionFor is the IR version of the ONNX release that introduced
// opset (1.12 and 1.13: 8; 1.14 and 1.15: 9; 1.16: 10).
func irVersionFor(opset int) int64 {
	switch {
	case opset <= 18:
		return ONNXIRVersion
	case opset <= 20:
		return 9
	}
	return 10
}

// ConvTransposeLowering selects how OpConvTranspose (a decoder's upsampling
// layer and the input gradient of every Conv) becomes ONNX. The zero value,
// ConvTransposeAuto, picks per node what measured fastest
// (benchmarks/README.md); the others exist for the benchmark and are checked
// against Eval like it.
type ConvTransposeLowering int

const (
	// ConvTransposeAuto, the default, is ConvTransposeSubPixel for stride 1
	// (where it is a plain Conv with the flipped kernel) and
	// ConvTransposeNative otherwise.
	ConvTransposeAuto ConvTransposeLowering = iota
	// ConvTransposeNative is ONNX ConvTranspose.
	ConvTransposeNative
	// ConvTransposeSubPixel is one stride-1 Conv whose output channels
	// hold the stride*stride phases of the result: the phase sub-kernels
	// w[:, :, a::s, b::s], flipped and zero-padded to a common size, are
	// gathered from w inside the graph, and DepthToSpace (CRD) and a crop
	// interleave the phases. For stride 1 it is a Conv with the flipped
	// kernel. It falls back to ConvTransposeNative for dilations other than
	// 1, unequal strides, or pads so large that the Conv would need negative
	// padding.
	ConvTransposeSubPixel
	// ConvTransposePhases is ConvTransposeSubPixel with one Conv per phase
	// and its exact sub-kernel (no zero taps), the phases joined by Concat
	// and DepthToSpace (DCR). It falls back to ConvTransposeSubPixel where
	// a phase has no taps or would need negative padding.
	ConvTransposePhases
	// ConvTransposeZeroInsert inserts stride-1 zeros between the input's
	// rows and columns and runs a stride-1 Conv with the flipped kernel. It
	// falls back to ConvTransposeNative where the Conv would need negative
	// padding.
	ConvTransposeZeroInsert
	numConvTransposeLowerings
)

func (l ConvTransposeLowering) String() string {
	switch l {
	case ConvTransposeAuto:
		return "auto"
	case ConvTransposeNative:
		return "native"
	case ConvTransposeSubPixel:
		return "subpixel"
	case ConvTransposePhases:
		return "phases"
	case ConvTransposeZeroInsert:
		return "zeroinsert"
	}
	return fmt.Sprintf("ConvTransposeLowering(%d)", int(l))
}

// FilterGradLowering selects how OpConvFilterGrad (the weight gradient of a
// Conv; ONNX has no such op) becomes ONNX. The zero value, FilterGradAuto,
// picks per node what measured fastest (benchmarks/README.md); the others
// exist for the benchmark and are checked against Eval like it.
type FilterGradLowering int

const (
	// FilterGradAuto, the default, is FilterGradIm2colDy for stride 1 when
	// the unfolded output gradient is smaller than the unfolded input
	// (fewer output than input channels), else FilterGradIm2col.
	FilterGradAuto FilterGradLowering = iota
	// FilterGradIm2col unfolds the padded input into one matrix
	// [C*kh*kw, N*H'*W'] (one strided Slice per kernel tap, concatenated)
	// and multiplies the output gradient [O, N*H'*W'] by it (one Gemm,
	// transB), giving [O, C*kh*kw].
	FilterGradIm2col
	// FilterGradIm2colDy unfolds the output gradient instead: per kernel tap
	// it is padded (shifted) onto the padded input's grid, the taps stacked
	// into [O*kh*kw, N*Hp*Wp] and multiplied by the padded input
	// [C, N*Hp*Wp] (one Gemm, transB). Stride 1 only; other strides use
	// FilterGradIm2col.
	FilterGradIm2colDy
	// FilterGradTaps is FilterGradIm2col without the big matrix: one Gemm
	// per kernel tap, each giving that tap's [O, C].
	FilterGradTaps
	// FilterGradConv is a Conv of the input with batch and channel axes
	// swapped, [C, N, H, W], by the output gradient as a kernel
	// [O, N, H', W'], with strides and dilations exchanged.
	FilterGradConv
	// FilterGradUnfold unfolds the input with one grouped Conv whose
	// one-hot kernels [C*kh*kw, 1, kh, kw] copy each tap (group C), giving
	// [N, C*kh*kw, H', W'] in a single node, then multiplies the output
	// gradient [O, N*H'*W'] by it (one Gemm, transB).
	FilterGradUnfold
	numFilterGradLowerings
)

func (l FilterGradLowering) String() string {
	switch l {
	case FilterGradAuto:
		return "auto"
	case FilterGradIm2col:
		return "im2col"
	case FilterGradIm2colDy:
		return "im2col-dy"
	case FilterGradTaps:
		return "taps"
	case FilterGradConv:
		return "conv"
	case FilterGradUnfold:
		return "unfold"
	}
	return fmt.Sprintf("FilterGradLowering(%d)", int(l))
}

// ONNXOptions configures ToONNX. The zero value exports every parameter as a
// graph input, which is what a training step wants.
type ONNXOptions struct {
	// Params holds parameter values by name, row-major float32 with the
	// parameter's shape (a conv weight [out,in,kh,kw]). A parameter with a
	// value becomes an initializer; one without becomes a graph input.
	// Naming anything that is not a parameter of the graph is an error.
	Params map[string][]float32
	// Metadata is written as metadata_props, sorted by key.
	Metadata map[string]string
	// DocString is the model's doc_string.
	DocString string
	// ProducerVersion is the model's producer_version (producer_name is
	// always ONNXProducer).
	ProducerVersion string
	// GraphName is the graph's name; "" means "ganrt".
	GraphName string
	// OutputDimNames optionally names the dynamic dimensions of outputs,
	// by output name, as InputAttr.DimNames does for inputs ("N", "", "H",
	// "W"); dynamic dimensions left unnamed are written as unknown.
	OutputDimNames map[string][]string
	// ConvTranspose selects the lowering of ConvTranspose.
	ConvTranspose ConvTransposeLowering
	// FilterGrad selects the lowering of ConvFilterGrad.
	FilterGrad FilterGradLowering
	// Opset is the default-domain opset to write, ONNXOpset through
	// MaxONNXOpset (0: ONNXOpset). From 18 on, ReduceMean and ReduceMax take
	// their axes as an input; nothing else ganrt emits differs up to 21.
	Opset int
}

// ToONNX serializes g as an ONNX model (opset opts.Opset, by default
// ONNXOpset with IR version ONNXIRVersion). Only nodes that g's outputs depend on are written. Graph
// inputs and outputs keep their names; dynamic dimensions become dim_params
// named by the input's DimNames or, failing that, "<input>_<axis>".
// Exporting the same graph with the same options twice gives identical
// bytes.
func ToONNX(g *Graph, opts ONNXOptions) ([]byte, error) {
	m, err := ToModelProto(g, opts)
	if err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("graph: onnx: marshal: %w", err)
	}
	return b, nil
}

// ToModelProto is ToONNX before serialization.
func ToModelProto(g *Graph, opts ONNXOptions) (*onnxpb.ModelProto, error) {
	e, err := newExporter(g, opts)
	if err != nil {
		return nil, err
	}
	gp, err := e.export()
	if err != nil {
		return nil, err
	}
	m := &onnxpb.ModelProto{
		IrVersion:    proto.Int64(irVersionFor(e.opset)),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(e.opset))}},
		ProducerName: proto.String(ONNXProducer),
		Graph:        gp,
	}
	if opts.ProducerVersion != "" {
		m.ProducerVersion = proto.String(opts.ProducerVersion)
	}
	if opts.DocString != "" {
		m.DocString = proto.String(opts.DocString)
	}
	keys := make([]string, 0, len(opts.Metadata))
	for k := range opts.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(opts.Metadata[k])})
	}
	return m, nil
}

// lowerFn writes the ONNX nodes (and initializers) computing n from the
// values named in, the last of which must be named out.
type lowerFn func(e *exporter, n *Node, in []string, out string) error

// onnxLowerings has one row per op; every row is set (a test walks it).
var onnxLowerings = [numOps]lowerFn{
	OpInput:          lowerInput, // graph input or initializer; never called
	OpConst:          lowerConst, // initializer
	OpAdd:            direct("Add"),
	OpSub:            direct("Sub"),
	OpMul:            direct("Mul"),
	OpDiv:            direct("Div"),
	OpPow:            direct("Pow"),
	OpNeg:            direct("Neg"),
	OpAbs:            direct("Abs"),
	OpSign:           direct("Sign"),
	OpExp:            direct("Exp"),
	OpLog:            direct("Log"),
	OpSqrt:           direct("Sqrt"),
	OpRelu:           direct("Relu"),
	OpLeakyRelu:      lowerLeakyRelu,
	OpTanh:           direct("Tanh"),
	OpSigmoid:        direct("Sigmoid"),
	OpGreater:        direct("Greater"),
	OpLess:           direct("Less"),
	OpEqual:          direct("Equal"),
	OpWhere:          direct("Where"),
	OpStopGradient:   direct("Identity"),
	OpReduceSum:      lowerReduceSum,
	OpReduceMean:     lowerReduce("ReduceMean"),
	OpReduceMax:      lowerReduce("ReduceMax"),
	OpReshape:        lowerReshape,
	OpTranspose:      lowerTranspose,
	OpSlice:          lowerSlice,
	OpConcat:         lowerConcat,
	OpExpand:         lowerExpand,
	OpPad:            lowerPad,
	OpMatMul:         direct("MatMul"),
	OpConv:           lowerConv,
	OpConvTranspose:  lowerConvTranspose,
	OpConvFilterGrad: lowerConvFilterGrad,
	OpInstanceNorm:   lowerInstanceNorm,
}

// exporter holds the state of one ToModelProto call.
type exporter struct {
	g     *Graph
	opts  ONNXOptions
	opset int

	names   map[*Node]string // value name of every emitted node
	used    map[string]bool  // every value name taken
	counter int              // node-name counter

	nodes []*onnxpb.NodeProto
	inits []*onnxpb.TensorProto
}

func newExporter(g *Graph, opts ONNXOptions) (*exporter, error) {
	if g == nil {
		return nil, errors.New("graph: onnx: nil graph")
	}
	if len(g.outputs) == 0 {
		return nil, errors.New("graph: onnx: graph has no outputs")
	}
	if opts.ConvTranspose < 0 || opts.ConvTranspose >= numConvTransposeLowerings {
		return nil, fmt.Errorf("graph: onnx: unknown %v", opts.ConvTranspose)
	}
	if opts.FilterGrad < 0 || opts.FilterGrad >= numFilterGradLowerings {
		return nil, fmt.Errorf("graph: onnx: unknown %v", opts.FilterGrad)
	}
	if opts.Opset == 0 {
		opts.Opset = ONNXOpset
	}
	if opts.Opset < ONNXOpset || opts.Opset > MaxONNXOpset {
		return nil, fmt.Errorf("graph: onnx: opset %d is not supported (want %d to %d)", opts.Opset, ONNXOpset, MaxONNXOpset)
	}
	names := make([]string, 0, len(opts.Params))
	for name := range opts.Params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n := g.byName[name]
		switch {
		case n == nil:
			return nil, fmt.Errorf("graph: onnx: value given for %q, which the graph does not declare", name)
		case !n.attr.(InputAttr).Param:
			return nil, fmt.Errorf("graph: onnx: value given for %q, which is an input, not a parameter", name)
		case len(opts.Params[name]) != n.shape.Size():
			return nil, fmt.Errorf("graph: onnx: parameter %q: %d values for shape %v", name, len(opts.Params[name]), n.shape)
		}
	}
	return &exporter{g: g, opts: opts, opset: opts.Opset, names: map[*Node]string{}, used: map[string]bool{}}, nil
}

// deps are the nodes whose values n's lowering reads.
func deps(n *Node) []*Node {
	if n.op == OpExpand && n.inputs[1].shape.Static() {
		return n.inputs[:1] // the target shape is a constant
	}
	return n.inputs
}

func (e *exporter) export() (*onnxpb.GraphProto, error) {
	g := e.g
	// Reachability: ids are topological, so one backward sweep suffices.
	live := make([]bool, len(g.nodes))
	for _, o := range g.outputs {
		live[o.Node.id] = true
	}
	for i := len(g.nodes) - 1; i >= 0; i-- {
		if live[i] {
			for _, in := range deps(g.nodes[i]) {
				live[in.id] = true
			}
		}
	}

	// Reserve the declared names first, so generated names avoid them.
	for _, n := range g.inputs {
		if live[n.id] {
			e.used[n.Name()] = true
			e.names[n] = n.Name()
		}
	}
	var aliases []Output // outputs that need an Identity
	for _, o := range g.outputs {
		if e.used[o.Name] {
			return nil, fmt.Errorf("graph: onnx: output name %q is already an input or output name", o.Name)
		}
		e.used[o.Name] = true
		if _, named := e.names[o.Node]; named || o.Node.op == OpConst {
			aliases = append(aliases, o)
			continue
		}
		e.names[o.Node] = o.Name
	}

	gp := &onnxpb.GraphProto{Name: proto.String(e.opts.GraphName)}
	if e.opts.GraphName == "" {
		gp.Name = proto.String("ganrt")
	}
	for _, n := range g.inputs {
		if !live[n.id] {
			continue
		}
		a := n.attr.(InputAttr)
		if v, ok := e.opts.Params[a.Name]; ok {
			e.inits = append(e.inits, tensorProto(a.Name, n.shape, v))
			continue
		}
		gp.Input = append(gp.Input, inputInfo(a))
	}

	for _, n := range g.nodes {
		if !live[n.id] || n.op == OpInput {
			continue
		}
		out, ok := e.names[n]
		if !ok {
			out = e.unique(fmt.Sprintf("v%d", n.id))
			e.names[n] = out
		}
		ins := deps(n)
		in := make([]string, len(ins))
		for i, x := range ins {
			in[i] = e.names[x]
		}
		if err := onnxLowerings[n.op](e, n, in, out); err != nil {
			shapes := make([]Shape, len(n.inputs))
			for i, x := range n.inputs {
				shapes[i] = x.shape
			}
			return nil, fmt.Errorf("graph: onnx: %v: %w", &Error{Op: n.op, Shapes: shapes, Msg: fmt.Sprintf("node %d", n.id)}, err)
		}
	}
	for _, o := range aliases {
		e.emit("Identity", []string{e.names[o.Node]}, o.Name)
	}
	for _, o := range g.outputs {
		gp.Output = append(gp.Output, valueInfo(o.Name, o.Node.dtype, o.Node.shape, e.opts.OutputDimNames[o.Name]))
	}
	gp.Node = e.nodes
	gp.Initializer = e.inits
	return gp, nil
}

// unique returns base, or base with a numeric suffix when base is taken,
// and marks the result taken.
func (e *exporter) unique(base string) string {
	name := base
	for i := 1; e.used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	e.used[name] = true
	return name
}

// tmp names an intermediate value of node n's lowering.
func (e *exporter) tmp(n *Node, what string) string {
	return e.unique(fmt.Sprintf("v%d_%s", n.id, what))
}

// emit appends one ONNX node named "<opType>_<counter>" and returns out.
func (e *exporter) emit(opType string, in []string, out string, attrs ...*onnxpb.AttributeProto) string {
	e.nodes = append(e.nodes, &onnxpb.NodeProto{
		Name:      proto.String(fmt.Sprintf("%s_%d", opType, e.counter)),
		OpType:    proto.String(opType),
		Input:     in,
		Output:    []string{out},
		Attribute: attrs,
	})
	e.counter++
	return out
}

// emitTmp emits a node whose output is a fresh intermediate of n.
func (e *exporter) emitTmp(n *Node, what, opType string, in []string, attrs ...*onnxpb.AttributeProto) string {
	return e.emit(opType, in, e.tmp(n, what), attrs...)
}

// ints adds an int64 initializer of shape dims (nil: 1-D) for n.
func (e *exporter) ints(n *Node, what string, vals []int64, dims ...int64) string {
	name := e.tmp(n, what)
	if dims == nil {
		dims = []int64{int64(len(vals))}
	}
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	e.inits = append(e.inits, &onnxpb.TensorProto{
		Name:     proto.String(name),
		Dims:     dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)),
		RawData:  raw,
	})
	return name
}

// floats adds a float32 initializer for n.
func (e *exporter) floats(n *Node, what string, shape Shape, vals []float32) string {
	name := e.tmp(n, what)
	e.inits = append(e.inits, tensorProto(name, shape, vals))
	return name
}

func tensorProto(name string, shape Shape, vals []float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &onnxpb.TensorProto{
		Name:     proto.String(name),
		Dims:     int64s(shape),
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		RawData:  raw,
	}
}

func int64s[T ~[]int](s T) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

func elemType(d DType) int32 {
	if d == Bool {
		return int32(onnxpb.TensorProto_BOOL)
	}
	return int32(onnxpb.TensorProto_FLOAT)
}

// valueInfo describes a value: static dimensions as dim_value, dynamic ones
// as dim_param from params (where given and not empty) or as unknown.
func valueInfo(name string, d DType, shape Shape, params []string) *onnxpb.ValueInfoProto {
	dims := make([]*onnxpb.TensorShapeProto_Dimension, len(shape))
	for i, v := range shape {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch {
		case v >= 0:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}
		case i < len(params) && params[i] != "":
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: params[i]}
		}
		dims[i] = dim
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(elemType(d)),
			Shape:    &onnxpb.TensorShapeProto{Dim: dims},
		}}},
	}
}

// inputInfo describes a graph input, naming its dynamic dimensions.
func inputInfo(a InputAttr) *onnxpb.ValueInfoProto {
	params := make([]string, len(a.Shape))
	for i := range params {
		if i < len(a.DimNames) && a.DimNames[i] != "" {
			params[i] = a.DimNames[i]
		} else {
			params[i] = fmt.Sprintf("%s_%d", a.Name, i)
		}
	}
	return valueInfo(a.Name, a.DType, a.Shape, params)
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrInts(name string, vs []int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: vs}
}

func attrFloat(name string, v float64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(float32(v))}
}

func attrString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// ---- lowerings ----

// direct lowers an op to the ONNX op of the same inputs and no attributes.
func direct(opType string) lowerFn {
	return func(e *exporter, n *Node, in []string, out string) error {
		e.emit(opType, in, out)
		return nil
	}
}

func lowerInput(e *exporter, n *Node, in []string, out string) error {
	return errors.New("internal error: inputs are graph inputs or initializers, not nodes")
}

func lowerConst(e *exporter, n *Node, in []string, out string) error {
	t := n.attr.(ConstAttr).Value
	e.inits = append(e.inits, tensorProto(out, t.Shape, t.Float32()))
	return nil
}

func lowerLeakyRelu(e *exporter, n *Node, in []string, out string) error {
	e.emit("LeakyRelu", in, out, attrFloat("alpha", n.attr.(LeakyReluAttr).Alpha))
	return nil
}

// lowerReduceSum passes the axes as an input (opset 13 and later).
func lowerReduceSum(e *exporter, n *Node, in []string, out string) error {
	a := n.attr.(ReduceAttr)
	if len(a.Axes) == 0 { // a scalar: nothing to reduce
		e.emit("Identity", in, out)
		return nil
	}
	axes := e.ints(n, "axes", int64s(a.Axes))
	e.emit("ReduceSum", []string{in[0], axes}, out, attrInt("keepdims", boolInt(a.KeepDims)))
	return nil
}

// lowerReduce lowers ReduceMean and ReduceMax, whose axes are an attribute
// in opset 17 and an input from 18 on.
func lowerReduce(opType string) lowerFn {
	return func(e *exporter, n *Node, in []string, out string) error {
		a := n.attr.(ReduceAttr)
		if len(a.Axes) == 0 {
			e.emit("Identity", in, out)
			return nil
		}
		keep := attrInt("keepdims", boolInt(a.KeepDims))
		if e.opset >= 18 {
			e.emit(opType, []string{in[0], e.ints(n, "axes", int64s(a.Axes))}, out, keep)
			return nil
		}
		e.emit(opType, in, out, attrInts("axes", int64s(a.Axes)), keep)
		return nil
	}
}

// lowerReshape passes the IR's target through, -1 included. A 0 in the
// target is a real empty dimension, so allowzero is set exactly then.
func lowerReshape(e *exporter, n *Node, in []string, out string) error {
	target := n.attr.(ReshapeAttr).Shape
	allowZero := false
	for _, d := range target {
		allowZero = allowZero || d == 0
	}
	shape := e.ints(n, "shape", int64s(target))
	e.emit("Reshape", []string{in[0], shape}, out, attrInt("allowzero", boolInt(allowZero)))
	return nil
}

func lowerTranspose(e *exporter, n *Node, in []string, out string) error {
	e.emit("Transpose", in, out, attrInts("perm", int64s(n.attr.(TransposeAttr).Perm)))
	return nil
}

func lowerSlice(e *exporter, n *Node, in []string, out string) error {
	a := n.attr.(SliceAttr)
	e.emit("Slice", []string{in[0],
		e.ints(n, "starts", int64s(a.Starts)),
		e.ints(n, "ends", int64s(a.Ends)),
		e.ints(n, "axes", int64s(a.Axes)),
		e.ints(n, "steps", int64s(a.Steps)),
	}, out)
	return nil
}

func lowerConcat(e *exporter, n *Node, in []string, out string) error {
	e.emit("Concat", in, out, attrInt("axis", int64(n.attr.(ConcatAttr).Axis)))
	return nil
}

// lowerExpand is Expand(x, Shape(like)), with a constant shape when like's
// shape is static.
func lowerExpand(e *exporter, n *Node, in []string, out string) error {
	var shape string
	if like := n.inputs[1]; like.shape.Static() {
		shape = e.ints(n, "shape", int64s(like.shape))
	} else {
		shape = e.emitTmp(n, "shape", "Shape", in[1:2])
	}
	e.emit("Expand", []string{in[0], shape}, out)
	return nil
}

func lowerPad(e *exporter, n *Node, in []string, out string) error {
	a := n.attr.(PadAttr)
	inputs := []string{in[0], e.ints(n, "pads", int64s(a.Pads))}
	if a.Mode == PadConstant && a.Value != 0 {
		inputs = append(inputs, e.floats(n, "value", Shape{}, []float32{float32(a.Value)}))
	}
	e.emit("Pad", inputs, out, attrString("mode", a.Mode.String()))
	return nil
}

// convAttrs are the attributes shared by Conv and ConvTranspose; the kernel
// shape is given when the weight's is static.
func convAttrs(w Shape, strides [2]int, pads [4]int, dilations [2]int) []*onnxpb.AttributeProto {
	attrs := []*onnxpb.AttributeProto{
		attrInts("dilations", int64s(dilations[:])),
		attrInt("group", 1),
	}
	if w[2] >= 0 && w[3] >= 0 {
		attrs = append(attrs, attrInts("kernel_shape", int64s(w[2:])))
	}
	return append(attrs, attrInts("pads", int64s(pads[:])), attrInts("strides", int64s(strides[:])))
}

func lowerConv(e *exporter, n *Node, in []string, out string) error {
	a := n.attr.(ConvAttr)
	e.emit("Conv", in, out, convAttrs(n.inputs[1].shape, a.Strides, a.Pads, a.Dilations)...)
	return nil
}

func lowerConvTranspose(e *exporter, n *Node, in []string, out string) error {
	l := e.opts.ConvTranspose
	if l == ConvTransposeAuto {
		l = ConvTransposeNative
		if n.attr.(ConvAttr).Strides == [2]int{1, 1} {
			l = ConvTransposeSubPixel
		}
	}
	switch l {
	case ConvTransposePhases:
		if ok, err := lowerConvTransposePhases(e, n, in, out); ok || err != nil {
			return err
		}
		fallthrough
	case ConvTransposeSubPixel:
		if ok, err := lowerConvTransposeSubPixel(e, n, in, out); ok || err != nil {
			return err
		}
	case ConvTransposeZeroInsert:
		if ok, err := lowerConvTransposeZeroInsert(e, n, in, out); ok || err != nil {
			return err
		}
	}
	return lowerConvTransposeNative(e, n, in, out)
}

func lowerConvTransposeNative(e *exporter, n *Node, in []string, out string) error {
	a := n.attr.(ConvAttr)
	attrs := convAttrs(n.inputs[1].shape, a.Strides, a.Pads, a.Dilations)
	attrs = append(attrs, attrInts("output_padding", int64s(a.OutputPadding[:])))
	e.emit("ConvTranspose", in, out, attrs...)
	return nil
}

// subPixelAxis is the plan of one spatial axis of a sub-pixel ConvTranspose.
type subPixelAxis struct {
	k         int       // the sub-convolution's kernel size
	padBegin  int       // its padding
	padEnd    int       //
	crop      int       // rows to drop at the end of the interleaved result
	taps      [][]int64 // taps[a][j]: the ConvTranspose kernel row feeding phase a, sub-kernel row j (or kernel: zero)
	zeroPhase bool      // some phase gets no tap at all
}

// planSubPixel plans one axis of a dilation-1 ConvTranspose of kernel size
// kernel, stride s, pads pb/pe and output padding op as a stride-1
// correlation whose output phase a (output row s*q+a) is
//
//	y[s*q+a] = sum_j xpad[q+j] * w[taps[a][j]],  xpad = x padded by padBegin.
//
// Output row Y = t*s + i - pb collects x[t]*w[i]. With Z = Y+pb, phase a's
// rows have Z ≡ rho = (a+pb) mod s, so only taps i = rho + s*m contribute,
// from t = Z div s - m = q + c - m, c = (a+pb) div s. ok is false when the
// correlation would need negative padding.
func planSubPixel(kernel, s, pb, pe, op int) (p subPixelAxis, ok bool) {
	type phase struct{ rho, c, m int }
	phases := make([]phase, s)
	padBegin := math.MinInt
	last := math.MinInt // largest x offset (relative to q) read, over phases
	for a := range phases {
		rho, c := (a+pb)%s, (a+pb)/s
		m := 0
		if rho < kernel {
			m = (kernel - rho + s - 1) / s
		}
		phases[a] = phase{rho, c, m}
		if m == 0 {
			p.zeroPhase = true
			continue
		}
		// Phase a reads x[q+c-m+1 .. q+c].
		padBegin = max(padBegin, m-1-c)
		last = max(last, c)
	}
	if padBegin < 0 {
		return p, false
	}
	p.padBegin = padBegin
	p.k = last + padBegin + 1
	// The output has Q = L-1 + ceil(e/s) rows per phase, e = kernel+op-pb-pe,
	// so Q - L does not depend on the input size L.
	ext := kernel + op - pb - pe
	qMinusL := ceilDiv(ext, s) - 1
	p.padEnd = qMinusL - padBegin + p.k - 1
	p.crop = s*ceilDiv(ext, s) - ext
	if p.padEnd < 0 {
		return p, false
	}
	p.taps = make([][]int64, s)
	for a, ph := range phases {
		p.taps[a] = make([]int64, p.k)
		for j := range p.taps[a] {
			// xpad[q+j] = x[q+j-padBegin] = x[q+c-mm], tap i = rho + s*mm.
			mm := ph.c - (j - padBegin)
			if mm >= 0 && mm < ph.m {
				p.taps[a][j] = int64(ph.rho + s*mm)
			} else {
				p.taps[a][j] = int64(kernel) // the zero row appended to w
			}
		}
	}
	return p, true
}

// cropEnd slices crop[0] rows and crop[1] columns off the end of the NCHW
// value x into out (a fresh intermediate of n when out is "").
func (e *exporter) cropEnd(n *Node, x, out string, crop [2]int) string {
	var starts, ends, axes []int64
	for i, c := range crop {
		if c > 0 {
			starts, ends, axes = append(starts, 0), append(ends, -int64(c)), append(axes, int64(2+i))
		}
	}
	in := []string{x, e.ints(n, "cstarts", starts), e.ints(n, "cends", ends), e.ints(n, "caxes", axes)}
	if out == "" {
		return e.emitTmp(n, "crop", "Slice", in)
	}
	return e.emit("Slice", in, out)
}

func ceilDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) == (b < 0) {
		q++
	}
	return q
}

// lowerConvTransposeSubPixel writes the sub-pixel form (see
// ConvTransposeSubPixel) and reports whether it applied.
func lowerConvTransposeSubPixel(e *exporter, n *Node, in []string, out string) (bool, error) {
	a := n.attr.(ConvAttr)
	w := n.inputs[1].shape // [C, O, kh, kw]
	s := a.Strides[0]
	if a.Strides[1] != s || a.Dilations != [2]int{1, 1} || !w.Static() {
		return false, nil
	}
	ph, okh := planSubPixel(w[2], s, a.Pads[0], a.Pads[2], a.OutputPadding[0])
	pw, okw := planSubPixel(w[3], s, a.Pads[1], a.Pads[3], a.OutputPadding[1])
	if !okh || !okw {
		return false, nil
	}
	c, o := int64(w[0]), int64(w[1])
	ss := int64(s * s)
	// Weight: w as [C*O, kh*kw] times a 0/1 selection matrix gives every
	// phase's flipped, zero-padded sub-kernel, [C, O, s, s, kh', kw'] (one
	// small MatMul: ORT's Pad and Gather take milliseconds on a 256x256
	// kernel), reordered to [O, s, s, C, kh', kw'] so that output channel
	// o*s*s + ah*s + aw is phase (ah, aw) of channel o, as DepthToSpace's
	// CRD mode reads it.
	kk := w[2] * w[3]
	cols := s * s * ph.k * pw.k
	sel := make([]float32, kk*cols)
	for ah := range s {
		for aw := range s {
			for jh := range ph.k {
				for jw := range pw.k {
					th, tw := int(ph.taps[ah][jh]), int(pw.taps[aw][jw])
					if th < w[2] && tw < w[3] {
						sel[(th*w[3]+tw)*cols+((ah*s+aw)*ph.k+jh)*pw.k+jw] = 1
					}
				}
			}
		}
	}
	wm := e.emitTmp(n, "wm", "Reshape", []string{in[1], e.ints(n, "wmshape", []int64{c * o, int64(kk)})})
	wsel := e.emitTmp(n, "wsel", "MatMul", []string{wm, e.floats(n, "sel", Shape{kk, cols}, sel)})
	var wk string
	if s == 1 {
		w4 := e.emitTmp(n, "w4", "Reshape", []string{wsel, e.ints(n, "w4shape", []int64{c, o, int64(ph.k), int64(pw.k)})})
		wk = e.emitTmp(n, "wk", "Transpose", []string{w4}, attrInts("perm", []int64{1, 0, 2, 3}))
	} else {
		w6 := e.emitTmp(n, "w6", "Reshape", []string{wsel, e.ints(n, "w6shape", []int64{c, o, int64(s), int64(s), int64(ph.k), int64(pw.k)})})
		wt := e.emitTmp(n, "wt", "Transpose", []string{w6}, attrInts("perm", []int64{1, 2, 3, 0, 4, 5}))
		wk = e.emitTmp(n, "wk", "Reshape", []string{wt, e.ints(n, "wkshape", []int64{o * ss, c, int64(ph.k), int64(pw.k)})})
	}
	conv := []string{in[0], wk}
	if len(in) == 3 {
		bo := e.emitTmp(n, "bo", "Reshape", []string{in[2], e.ints(n, "boshape", []int64{o, 1})})
		be := e.emitTmp(n, "be", "Expand", []string{bo, e.ints(n, "beshape", []int64{o, ss})})
		conv = append(conv, e.emitTmp(n, "bk", "Reshape", []string{be, e.ints(n, "bkshape", []int64{o * ss})}))
	}
	pads := [4]int{ph.padBegin, pw.padBegin, ph.padEnd, pw.padEnd}
	attrs := convAttrs(Shape{int(o * ss), int(c), ph.k, pw.k}, [2]int{1, 1}, pads, [2]int{1, 1})
	if s == 1 { // one phase, never cropped: a Conv with the flipped kernel
		e.emit("Conv", conv, out, attrs...)
		return true, nil
	}
	y := e.emitTmp(n, "phases", "Conv", conv, attrs...)
	mode := attrString("mode", "CRD")
	if ph.crop == 0 && pw.crop == 0 {
		e.emit("DepthToSpace", []string{y}, out, attrInt("blocksize", int64(s)), mode)
		return true, nil
	}
	y = e.emitTmp(n, "interleaved", "DepthToSpace", []string{y}, attrInt("blocksize", int64(s)), mode)
	e.cropEnd(n, y, out, [2]int{ph.crop, pw.crop})
	return true, nil
}

// lowerConvTransposeZeroInsert writes the zero-insertion form (see
// ConvTransposeZeroInsert) and reports whether it applied.
func lowerConvTransposeZeroInsert(e *exporter, n *Node, in []string, out string) (bool, error) {
	a := n.attr.(ConvAttr)
	w := n.inputs[1].shape // [C, O, kh, kw]
	if !w.Static() {
		return false, nil
	}
	var pads [4]int
	for i := range 2 {
		span := a.Dilations[i] * (w[2+i] - 1)
		pads[i] = span - a.Pads[i]
		pads[i+2] = span - a.Pads[i+2] + a.OutputPadding[i]
		if pads[i] < 0 || pads[i+2] < 0 {
			return false, nil
		}
	}
	x := in[0]
	if sh, sw := int64(a.Strides[0]), int64(a.Strides[1]); sh > 1 || sw > 1 {
		// [N,C,H,W] -> [N,C,H,1,W,1] -> pad to [N,C,H,sh,W,sw] -> [N,C,H*sh,W*sw],
		// then drop the trailing zeros: [N,C,(H-1)*sh+1,(W-1)*sw+1].
		u := e.emitTmp(n, "unsq", "Unsqueeze", []string{x, e.ints(n, "uaxes", []int64{3, 5})})
		p := e.emitTmp(n, "zeros", "Pad", []string{u, e.ints(n, "zpads", []int64{0, 0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1})}, attrString("mode", "constant"))
		shape := e.emitTmp(n, "xshape", "Shape", []string{x})
		target := e.emitTmp(n, "zshape", "Mul", []string{shape, e.ints(n, "zscale", []int64{1, 1, sh, sw})})
		r := e.emitTmp(n, "spread", "Reshape", []string{p, target})
		x = e.cropEnd(n, r, "", [2]int{int(sh - 1), int(sw - 1)})
	}
	// Kernel [C,O,kh,kw] -> [O,C,kh,kw], flipped in both spatial axes.
	wt := e.emitTmp(n, "wt", "Transpose", []string{in[1]}, attrInts("perm", []int64{1, 0, 2, 3}))
	wf := e.emitTmp(n, "wflip", "Slice", []string{wt,
		e.ints(n, "fstarts", []int64{-1, -1}),
		e.ints(n, "fends", []int64{math.MinInt64, math.MinInt64}),
		e.ints(n, "faxes", []int64{2, 3}),
		e.ints(n, "fsteps", []int64{-1, -1}),
	})
	conv := append([]string{x, wf}, in[2:]...)
	e.emit("Conv", conv, out, convAttrs(Shape{w[1], w[0], w[2], w[3]}, [2]int{1, 1}, pads, a.Dilations)...)
	return true, nil
}

func lowerConvFilterGrad(e *exporter, n *Node, in []string, out string) error {
	a := n.attr.(ConvAttr)
	x, dy := n.inputs[0].shape, n.inputs[1].shape
	l := e.opts.FilterGrad
	if l == FilterGradAuto {
		// Elements of each unfolded matrix, per batch item and tap.
		ux := x[1] * dy[2] * dy[3]
		udy := dy[1] * (x[2] + a.Pads[0] + a.Pads[2]) * (x[3] + a.Pads[1] + a.Pads[3])
		l = FilterGradIm2col
		if a.Strides == [2]int{1, 1} && udy < ux {
			l = FilterGradIm2colDy
		}
	}
	switch l {
	case FilterGradConv:
		return lowerFilterGradConv(e, n, in, out)
	case FilterGradUnfold:
		return lowerFilterGradUnfold(e, n, in, out)
	case FilterGradIm2colDy:
		if a.Strides == [2]int{1, 1} {
			return lowerFilterGradIm2colDy(e, n, in, out)
		}
	case FilterGradTaps:
		return lowerFilterGradTaps(e, n, in, out, false)
	}
	return lowerFilterGradTaps(e, n, in, out, true)
}

// lowerFilterGradConv: dw[o,c,i,j] = sum_{n,y,x} dy[n,o,y,x] *
// xpad[n,c,y*s+i*d,x*s+j*d] is a correlation over the batch axis of
// x^T [C,N,H,W] with dy^T [O,N,H',W'] as the kernel, stride d, dilation s,
// giving [C,O,kh(+extra),kw(+extra)].
func lowerFilterGradConv(e *exporter, n *Node, in []string, out string) error {
	a := n.attr.(ConvAttr)
	x, dy := n.inputs[0].shape, n.inputs[1].shape
	swap := attrInts("perm", []int64{1, 0, 2, 3})
	xt := e.emitTmp(n, "xt", "Transpose", in[:1], swap)
	dyt := e.emitTmp(n, "dyt", "Transpose", in[1:2], swap)
	var outHW [2]int
	for i := range 2 {
		outHW[i] = convOut(x[2+i], dy[2+i], a.Dilations[i], a.Pads[i], a.Pads[i+2], a.Strides[i])
	}
	attrs := convAttrs(Shape{dy[1], dy[0], dy[2], dy[3]}, a.Dilations, a.Pads, a.Strides)
	r := e.emitTmp(n, "dwt", "Conv", []string{xt, dyt}, attrs...)
	if outHW != a.Kernel {
		r = e.emitTmp(n, "dwtk", "Slice", []string{r,
			e.ints(n, "kstarts", []int64{0, 0}),
			e.ints(n, "kends", int64s(a.Kernel[:])),
			e.ints(n, "kaxes", []int64{2, 3}),
		})
	}
	e.emit("Transpose", []string{r}, out, swap)
	return nil
}

// lowerFilterGradTaps: tap (i,j) of dw is dy [O, N*H'*W'] times the
// transposed strided slice xpad[:, :, i*d::s, j*d::s] as [C, N*H'*W'].
// With im2col, the slices are stacked into one [C*kh*kw, N*H'*W'] matrix
// and multiplied once.
func lowerFilterGradTaps(e *exporter, n *Node, in []string, out string, im2col bool) error {
	a := n.attr.(ConvAttr)
	x, dy := n.inputs[0].shape, n.inputs[1].shape
	nb, c, o := int64(x[0]), int64(x[1]), int64(dy[1])
	hp, wp := dy[2], dy[3]
	p := nb * int64(hp*wp)
	kh, kw := a.Kernel[0], a.Kernel[1]

	// [O, N*H'*W'] and the padded input as [C, N, Hp, Wp] (for N = 1 a
	// Reshape, not a Transpose, swaps the axes).
	dyT, xT := in[1], in[0]
	swap := attrInts("perm", []int64{1, 0, 2, 3})
	if nb > 1 {
		dyT = e.emitTmp(n, "dyt", "Transpose", []string{dyT}, swap)
	}
	dyM := e.emitTmp(n, "dym", "Reshape", []string{dyT, e.ints(n, "dyshape", []int64{o, p})})
	if a.Pads != [4]int{} {
		pads := []int64{0, 0, int64(a.Pads[0]), int64(a.Pads[1]), 0, 0, int64(a.Pads[2]), int64(a.Pads[3])}
		xT = e.emitTmp(n, "xpad", "Pad", []string{xT, e.ints(n, "pads", pads)}, attrString("mode", "constant"))
	}
	if nb > 1 {
		xT = e.emitTmp(n, "xt", "Transpose", []string{xT}, swap)
	} else if im2col {
		xp := x[2:].Clone()
		xp[0] += a.Pads[0] + a.Pads[2]
		xp[1] += a.Pads[1] + a.Pads[3]
		xT = e.emitTmp(n, "xt", "Reshape", []string{xT, e.ints(n, "xtshape", []int64{c, 1, int64(xp[0]), int64(xp[1])})})
	}
	// Shared Slice operands: axes and steps.
	axes := e.ints(n, "axes", []int64{2, 3})
	steps := e.ints(n, "steps", int64s(a.Strides[:]))
	var tapShape string
	if !im2col {
		tapShape = e.ints(n, "tapshape", []int64{c, p})
	}
	taps := make([]string, 0, kh*kw)
	for i := range kh {
		for j := range kw {
			y0, x0 := i*a.Dilations[0], j*a.Dilations[1]
			starts := e.ints(n, fmt.Sprintf("start%d_%d", i, j), []int64{int64(y0), int64(x0)})
			ends := e.ints(n, fmt.Sprintf("end%d_%d", i, j), []int64{int64(y0 + a.Strides[0]*(hp-1) + 1), int64(x0 + a.Strides[1]*(wp-1) + 1)})
			sl := e.emitTmp(n, fmt.Sprintf("tap%d_%d", i, j), "Slice", []string{xT, starts, ends, axes, steps})
			if !im2col {
				sl = e.emitTmp(n, fmt.Sprintf("tapm%d_%d", i, j), "Reshape", []string{sl, tapShape})
			}
			taps = append(taps, sl)
		}
	}
	transB := attrInt("transB", 1)
	if im2col {
		// Taps [C, N, H', W'] side by side on axis 1 are [C, kh*kw, N, H', W']:
		// row c*kh*kw + t of [C*kh*kw, N*H'*W'], dw's own layout.
		cols := e.emitTmp(n, "cols", "Concat", taps, attrInt("axis", 1))
		cols = e.emitTmp(n, "colm", "Reshape", []string{cols, e.ints(n, "colmshape", []int64{c * int64(kh*kw), p})})
		dw := e.emitTmp(n, "dwm", "Gemm", []string{dyM, cols}, transB)
		e.emit("Reshape", []string{dw, e.ints(n, "dwshape", []int64{o, c, int64(kh), int64(kw)})}, out)
		return nil
	}
	col := e.ints(n, "colshape", []int64{o, c, 1})
	parts := make([]string, len(taps))
	for t, sl := range taps {
		g := e.emitTmp(n, fmt.Sprintf("dw%d", t), "Gemm", []string{dyM, sl}, transB)
		parts[t] = e.emitTmp(n, fmt.Sprintf("dwc%d", t), "Reshape", []string{g, col})
	}
	var cat string
	if len(parts) == 1 {
		cat = parts[0]
	} else {
		cat = e.emitTmp(n, "dwcat", "Concat", parts, attrInt("axis", 2))
	}
	e.emit("Reshape", []string{cat, e.ints(n, "dwshape", []int64{o, c, int64(kh), int64(kw)})}, out)
	return nil
}

// lowerFilterGradUnfold: a grouped Conv with one-hot kernels unfolds x
// into cols [N, C*kh*kw, H', W'] (channel c, tap t at c*kh*kw+t, which is
// dw's own layout), and dw = dy [O, N*H'*W'] x cols^T.
func lowerFilterGradUnfold(e *exporter, n *Node, in []string, out string) error {
	a := n.attr.(ConvAttr)
	x, dy := n.inputs[0].shape, n.inputs[1].shape
	nb, c, o := int64(x[0]), x[1], int64(dy[1])
	kh, kw := a.Kernel[0], a.Kernel[1]
	kk := kh * kw
	p := nb * int64(dy[2]*dy[3])
	onehot := make([]float32, c*kk*kk)
	for ch := range c {
		for t := range kk {
			onehot[(ch*kk+t)*kk+t] = 1
		}
	}
	kernel := e.floats(n, "onehot", Shape{c * kk, 1, kh, kw}, onehot)
	attrs := convAttrs(Shape{c * kk, 1, kh, kw}, a.Strides, a.Pads, a.Dilations)
	for i, at := range attrs {
		if at.GetName() == "group" {
			attrs[i] = attrInt("group", int64(c))
		}
	}
	cols := e.emitTmp(n, "cols", "Conv", []string{in[0], kernel}, attrs...)
	dyT := in[1]
	if nb > 1 {
		swap := attrInts("perm", []int64{1, 0, 2, 3})
		cols = e.emitTmp(n, "colst", "Transpose", []string{cols}, swap)
		dyT = e.emitTmp(n, "dyt", "Transpose", []string{dyT}, swap)
	}
	cols = e.emitTmp(n, "colm", "Reshape", []string{cols, e.ints(n, "colshape", []int64{int64(c * kk), p})})
	dyM := e.emitTmp(n, "dym", "Reshape", []string{dyT, e.ints(n, "dyshape", []int64{o, p})})
	dw := e.emitTmp(n, "dwm", "Gemm", []string{dyM, cols}, attrInt("transB", 1))
	e.emit("Reshape", []string{dw, e.ints(n, "dwshape", []int64{o, int64(c), int64(kh), int64(kw)})}, out)
	return nil
}

// lowerInstanceNorm is ONNX InstanceNormalization; without scale and bias
// it gets constant ones and zeros of [C], so C must be static.
func lowerInstanceNorm(e *exporter, n *Node, in []string, out string) error {
	eps := attrFloat("epsilon", n.attr.(NormAttr).Epsilon)
	if len(in) == 3 {
		e.emit("InstanceNormalization", in, out, eps)
		return nil
	}
	c := n.inputs[0].shape[1]
	if c < 0 {
		return errors.New("instance norm without scale and bias needs a static channel count")
	}
	ones, zeros := make([]float32, c), make([]float32, c)
	for i := range ones {
		ones[i] = 1
	}
	e.emit("InstanceNormalization", []string{in[0],
		e.floats(n, "scale", Shape{c}, ones),
		e.floats(n, "bias", Shape{c}, zeros),
	}, out, eps)
	return nil
}

// lowerFilterGradIm2colDy: for stride 1, dw[o,c,i,j] = sum_{n,u,v}
// D_ij[n,o,u,v] * xpad[n,c,u,v], where D_ij is dy shifted by (i*d, j*d) onto
// the padded input's grid, so the unfolded matrix is built from dy (O
// channels) rather than from x (C channels).
func lowerFilterGradIm2colDy(e *exporter, n *Node, in []string, out string) error {
	a := n.attr.(ConvAttr)
	x, dy := n.inputs[0].shape, n.inputs[1].shape
	nb, c, o := int64(x[0]), int64(x[1]), int64(dy[1])
	hp, wp := x[2]+a.Pads[0]+a.Pads[2], x[3]+a.Pads[1]+a.Pads[3]
	kh, kw := a.Kernel[0], a.Kernel[1]
	p := nb * int64(hp*wp)
	swap := attrInts("perm", []int64{1, 0, 2, 3})

	xT, dyT := in[0], in[1]
	if a.Pads != [4]int{} {
		pads := []int64{0, 0, int64(a.Pads[0]), int64(a.Pads[1]), 0, 0, int64(a.Pads[2]), int64(a.Pads[3])}
		xT = e.emitTmp(n, "xpad", "Pad", []string{xT, e.ints(n, "pads", pads)}, attrString("mode", "constant"))
	}
	if nb > 1 {
		xT = e.emitTmp(n, "xt", "Transpose", []string{xT}, swap)
		dyT = e.emitTmp(n, "dyt", "Transpose", []string{dyT}, swap)
	} else {
		dyT = e.emitTmp(n, "dyt", "Reshape", []string{dyT, e.ints(n, "dytshape", []int64{o, 1, int64(dy[2]), int64(dy[3])})})
	}
	xM := e.emitTmp(n, "xm", "Reshape", []string{xT, e.ints(n, "xshape", []int64{c, p})})
	// dy as [O, N, H', W'], each tap shifted onto [O, N, Hp, Wp]; side by
	// side on axis 1 they are [O, kh*kw, N, Hp, Wp] = [O*kh*kw, N*Hp*Wp].
	taps := make([]string, 0, kh*kw)
	for i := range kh {
		for j := range kw {
			y0, x0 := i*a.Dilations[0], j*a.Dilations[1]
			pads := []int64{0, 0, int64(y0), int64(x0), 0, 0, int64(hp - dy[2] - y0), int64(wp - dy[3] - x0)}
			taps = append(taps, e.emitTmp(n, fmt.Sprintf("dyshift%d_%d", i, j), "Pad", []string{dyT, e.ints(n, fmt.Sprintf("shift%d_%d", i, j), pads)}, attrString("mode", "constant")))
		}
	}
	cols := e.emitTmp(n, "cols", "Concat", taps, attrInt("axis", 1))
	cols = e.emitTmp(n, "colm", "Reshape", []string{cols, e.ints(n, "colmshape", []int64{o * int64(kh*kw), p})})
	dw := e.emitTmp(n, "dwm", "Gemm", []string{cols, xM}, attrInt("transB", 1))
	dw = e.emitTmp(n, "dwk", "Reshape", []string{dw, e.ints(n, "dwshape", []int64{o, int64(kh), int64(kw), c})})
	e.emit("Transpose", []string{dw}, out, attrInts("perm", []int64{0, 3, 1, 2}))
	return nil
}

// lowerConvTransposePhases writes ConvTransposePhases and reports whether
// it applied.
func lowerConvTransposePhases(e *exporter, n *Node, in []string, out string) (bool, error) {
	a := n.attr.(ConvAttr)
	w := n.inputs[1].shape // [C, O, kh, kw]
	s := a.Strides[0]
	if s < 2 || a.Strides[1] != s || a.Dilations != [2]int{1, 1} || !w.Static() {
		return false, nil
	}
	ph, okh := planSubPixel(w[2], s, a.Pads[0], a.Pads[2], a.OutputPadding[0])
	pw, okw := planSubPixel(w[3], s, a.Pads[1], a.Pads[3], a.OutputPadding[1])
	if !okh || !okw || ph.zeroPhase || pw.zeroPhase {
		return false, nil
	}
	// Each phase's taps are a contiguous run j0..j1 of the merged kernel;
	// its own Conv pads by padBegin-j0 and padEnd-(k-1-j1).
	type run struct {
		taps             []int64
		padBegin, padEnd int
	}
	runs := func(p subPixelAxis, kernel int) ([]run, bool) {
		rs := make([]run, s)
		for a, taps := range p.taps {
			j0, j1 := -1, -1
			for j, t := range taps {
				if t != int64(kernel) {
					if j0 < 0 {
						j0 = j
					}
					j1 = j
				}
			}
			rs[a] = run{taps: taps[j0 : j1+1], padBegin: p.padBegin - j0, padEnd: p.padEnd - (p.k - 1 - j1)}
			if rs[a].padBegin < 0 || rs[a].padEnd < 0 {
				return nil, false
			}
		}
		return rs, true
	}
	rh, okh := runs(ph, w[2])
	rw, okw := runs(pw, w[3])
	if !okh || !okw {
		return false, nil
	}
	swap := attrInts("perm", []int64{1, 0, 2, 3})
	wt := e.emitTmp(n, "wt", "Transpose", in[1:2], swap) // [O, C, kh, kw]
	phases := make([]string, 0, s*s)
	for ah, r := range rh {
		wh := e.emitTmp(n, fmt.Sprintf("wh%d", ah), "Gather", []string{wt, e.ints(n, fmt.Sprintf("tapsh%d", ah), r.taps)}, attrInt("axis", 2))
		for aw, c := range rw {
			wk := e.emitTmp(n, fmt.Sprintf("w%d_%d", ah, aw), "Gather", []string{wh, e.ints(n, fmt.Sprintf("tapsw%d_%d", ah, aw), c.taps)}, attrInt("axis", 3))
			conv := append([]string{in[0], wk}, in[2:]...)
			pads := [4]int{r.padBegin, c.padBegin, r.padEnd, c.padEnd}
			attrs := convAttrs(Shape{w[1], w[0], len(r.taps), len(c.taps)}, [2]int{1, 1}, pads, [2]int{1, 1})
			phases = append(phases, e.emitTmp(n, fmt.Sprintf("phase%d_%d", ah, aw), "Conv", conv, attrs...))
		}
	}
	y := e.emitTmp(n, "phases", "Concat", phases, attrInt("axis", 1))
	mode := attrString("mode", "DCR")
	if ph.crop == 0 && pw.crop == 0 {
		e.emit("DepthToSpace", []string{y}, out, attrInt("blocksize", int64(s)), mode)
		return true, nil
	}
	y = e.emitTmp(n, "interleaved", "DepthToSpace", []string{y}, attrInt("blocksize", int64(s)), mode)
	e.cropEnd(n, y, out, [2]int{ph.crop, pw.crop})
	return true, nil
}
