package graph

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Op identifies an operation. Each Op has one row in opTable (arity and
// shape rule), gradRules, evalKernels and onnxLowerings.
type Op int

// The ops, in table order.
const (
	OpInvalid Op = iota
	OpInput
	OpConst
	OpAdd
	OpSub
	OpMul
	OpDiv
	OpPow
	OpNeg
	OpAbs
	OpSign
	OpExp
	OpLog
	OpSqrt
	OpRelu
	OpLeakyRelu
	OpTanh
	OpSigmoid
	OpGreater
	OpLess
	OpEqual
	OpWhere
	OpStopGradient
	OpReduceSum
	OpReduceMean
	OpReduceMax
	OpReshape
	OpTranspose
	OpSlice
	OpConcat
	OpExpand
	OpPad
	OpMatMul
	OpConv
	OpConvTranspose
	OpConvFilterGrad
	OpInstanceNorm
	numOps
)

// opDef is an op's row in opTable.
type opDef struct {
	name               string
	minArity, maxArity int // maxArity -1: any number
	shape              func(n *Node) (Shape, DType, error)
}

func (d *opDef) arityString() string {
	switch {
	case d.minArity == d.maxArity:
		return fmt.Sprint(d.minArity)
	case d.maxArity < 0:
		return fmt.Sprintf("%d or more", d.minArity)
	}
	return fmt.Sprintf("%d to %d", d.minArity, d.maxArity)
}

var opTable = [numOps]opDef{
	OpInvalid:        {"Invalid", 0, 0, nil},
	OpInput:          {"Input", 0, 0, shapeInput},
	OpConst:          {"Const", 0, 0, shapeConst},
	OpAdd:            {"Add", 2, 2, shapeBroadcast},
	OpSub:            {"Sub", 2, 2, shapeBroadcast},
	OpMul:            {"Mul", 2, 2, shapeBroadcast},
	OpDiv:            {"Div", 2, 2, shapeBroadcast},
	OpPow:            {"Pow", 2, 2, shapeBroadcast},
	OpNeg:            {"Neg", 1, 1, shapeUnary},
	OpAbs:            {"Abs", 1, 1, shapeUnary},
	OpSign:           {"Sign", 1, 1, shapeUnary},
	OpExp:            {"Exp", 1, 1, shapeUnary},
	OpLog:            {"Log", 1, 1, shapeUnary},
	OpSqrt:           {"Sqrt", 1, 1, shapeUnary},
	OpRelu:           {"Relu", 1, 1, shapeUnary},
	OpLeakyRelu:      {"LeakyRelu", 1, 1, shapeUnary},
	OpTanh:           {"Tanh", 1, 1, shapeUnary},
	OpSigmoid:        {"Sigmoid", 1, 1, shapeUnary},
	OpGreater:        {"Greater", 2, 2, shapeCompare},
	OpLess:           {"Less", 2, 2, shapeCompare},
	OpEqual:          {"Equal", 2, 2, shapeCompare},
	OpWhere:          {"Where", 3, 3, shapeWhere},
	OpStopGradient:   {"StopGradient", 1, 1, shapeUnary},
	OpReduceSum:      {"ReduceSum", 1, 1, shapeReduce},
	OpReduceMean:     {"ReduceMean", 1, 1, shapeReduce},
	OpReduceMax:      {"ReduceMax", 1, 1, shapeReduce},
	OpReshape:        {"Reshape", 1, 1, shapeReshape},
	OpTranspose:      {"Transpose", 1, 1, shapeTranspose},
	OpSlice:          {"Slice", 1, 1, shapeSlice},
	OpConcat:         {"Concat", 1, -1, shapeConcat},
	OpExpand:         {"Expand", 2, 2, shapeExpand},
	OpPad:            {"Pad", 1, 1, shapePad},
	OpMatMul:         {"MatMul", 2, 2, shapeMatMul},
	OpConv:           {"Conv", 2, 3, shapeConv},
	OpConvTranspose:  {"ConvTranspose", 2, 3, shapeConvTranspose},
	OpConvFilterGrad: {"ConvFilterGrad", 2, 2, shapeConvFilterGrad},
	OpInstanceNorm:   {"InstanceNorm", 1, 3, shapeInstanceNorm},
}

func (o Op) String() string {
	if o >= 0 && o < numOps {
		return opTable[o].name
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Ops returns every real op (excluding OpInvalid), in table order.
func Ops() []Op {
	ops := make([]Op, 0, numOps-1)
	for o := OpInvalid + 1; o < numOps; o++ {
		ops = append(ops, o)
	}
	return ops
}

// ---- attributes ----

// InputAttr describes a graph input (data fed per run) or parameter.
type InputAttr struct {
	Name  string
	Param bool // a trainable parameter: an initializer when exported with values
	Shape Shape
	DType DType
	// DimNames optionally names the dimensions for ONNX (dynamic ones get
	// "N", "H", ... from here, or generated names).
	DimNames []string
}

// ConstAttr holds a constant's value.
type ConstAttr struct{ Value *Tensor }

// LeakyReluAttr is LeakyRelu's negative slope.
type LeakyReluAttr struct{ Alpha float64 }

// ReduceAttr lists the reduced axes (non-negative, sorted, unique).
type ReduceAttr struct {
	Axes     []int
	KeepDims bool
}

// ReshapeAttr is the target shape; one entry may be -1 (inferred).
type ReshapeAttr struct{ Shape []int }

// TransposeAttr is the permutation: output axis i is input axis Perm[i].
type TransposeAttr struct{ Perm []int }

// SliceAttr follows ONNX Slice: per listed axis, start, end (exclusive,
// clamped; math.MaxInt32 or more means "to the end") and a non-zero step
// that may be negative.
type SliceAttr struct {
	Axes, Starts, Ends, Steps []int
}

// ConcatAttr is the axis along which inputs are joined.
type ConcatAttr struct{ Axis int }

// PadMode selects how Pad fills the border.
type PadMode int

const (
	// PadConstant fills with a constant value.
	PadConstant PadMode = iota
	// PadReflect mirrors without repeating the edge (ONNX "reflect").
	PadReflect
	// PadEdge repeats the edge value (ONNX "edge", PyTorch "replicate").
	PadEdge
)

func (m PadMode) String() string {
	return [...]string{"constant", "reflect", "edge"}[m]
}

// PadAttr follows ONNX Pad: Pads lists all begins then all ends, one per
// axis, non-negative.
type PadAttr struct {
	Mode  PadMode
	Pads  []int
	Value float64
}

// ConvAttr configures the 2-D convolution family over NCHW values.
// Pads are ONNX order: top, left, bottom, right.
type ConvAttr struct {
	Strides   [2]int
	Pads      [4]int
	Dilations [2]int
	// OutputPadding is ConvTranspose's extra bottom/right rows and columns.
	OutputPadding [2]int
	// Kernel is ConvFilterGrad's output kernel height and width.
	Kernel [2]int
}

// NormAttr is InstanceNorm's epsilon.
type NormAttr struct{ Epsilon float64 }

// ---- shape rules ----

func shapeInput(n *Node) (Shape, DType, error) {
	a := n.attr.(InputAttr)
	return a.Shape.Clone(), a.DType, nil
}

func shapeConst(n *Node) (Shape, DType, error) {
	return n.attr.(ConstAttr).Value.Shape.Clone(), Float32, nil
}

func shapeUnary(n *Node) (Shape, DType, error) {
	if n.inputs[0].dtype != Float32 {
		return nil, 0, errors.New("needs a float32 operand")
	}
	return n.inputs[0].shape.Clone(), Float32, nil
}

// broadcastShapes applies numpy broadcasting; dynamic dims are assumed
// compatible.
func broadcastShapes(shapes ...Shape) (Shape, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make(Shape, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case d == 1:
			case o == 1:
				out[off+i] = d
			case d < 0:
			case o < 0:
				out[off+i] = d
			case d != o:
				return nil, fmt.Errorf("dimensions %d and %d do not broadcast", o, d)
			}
		}
	}
	return out, nil
}

func shapeBroadcast(n *Node) (Shape, DType, error) {
	a, b := n.inputs[0], n.inputs[1]
	if a.dtype != Float32 || b.dtype != Float32 {
		return nil, 0, errors.New("needs float32 operands")
	}
	s, err := broadcastShapes(a.shape, b.shape)
	return s, Float32, err
}

func shapeCompare(n *Node) (Shape, DType, error) {
	s, _, err := shapeBroadcast(n)
	return s, Bool, err
}

func shapeWhere(n *Node) (Shape, DType, error) {
	c, a, b := n.inputs[0], n.inputs[1], n.inputs[2]
	if c.dtype != Bool || a.dtype != Float32 || b.dtype != Float32 {
		return nil, 0, errors.New("needs a bool condition and float32 values")
	}
	s, err := broadcastShapes(c.shape, a.shape, b.shape)
	return s, Float32, err
}

func shapeReduce(n *Node) (Shape, DType, error) {
	in := n.inputs[0].shape
	a := n.attr.(ReduceAttr)
	reduced := make([]bool, len(in))
	for _, ax := range a.Axes {
		if ax < 0 || ax >= len(in) {
			return nil, 0, fmt.Errorf("axis %d out of range", ax)
		}
		reduced[ax] = true
	}
	var out Shape
	for i, d := range in {
		switch {
		case !reduced[i]:
			out = append(out, d)
		case a.KeepDims:
			out = append(out, 1)
		}
	}
	if out == nil {
		out = Shape{}
	}
	return out, Float32, nil
}

func shapeReshape(n *Node) (Shape, DType, error) {
	in := n.inputs[0].shape
	target := n.attr.(ReshapeAttr).Shape
	out := make(Shape, len(target))
	infer, known := -1, 1
	for i, d := range target {
		switch {
		case d == -1 && infer >= 0:
			return nil, 0, errors.New("more than one -1 in target shape")
		case d == -1:
			infer = i
		case d < 0:
			return nil, 0, fmt.Errorf("bad target dimension %d", d)
		default:
			known *= d
		}
		out[i] = d
	}
	size := in.Size()
	switch {
	case infer >= 0 && size >= 0:
		if known == 0 || size%known != 0 {
			return nil, 0, fmt.Errorf("cannot reshape %d elements to %v", size, target)
		}
		out[infer] = size / known
	case infer < 0 && size >= 0 && size != known:
		return nil, 0, fmt.Errorf("cannot reshape %d elements to %v", size, target)
	}
	return out, n.inputs[0].dtype, nil
}

func shapeTranspose(n *Node) (Shape, DType, error) {
	in := n.inputs[0].shape
	perm := n.attr.(TransposeAttr).Perm
	if len(perm) != len(in) {
		return nil, 0, fmt.Errorf("permutation %v has wrong length", perm)
	}
	seen := make([]bool, len(in))
	out := make(Shape, len(in))
	for i, p := range perm {
		if p < 0 || p >= len(in) || seen[p] {
			return nil, 0, fmt.Errorf("bad permutation %v", perm)
		}
		seen[p] = true
		out[i] = in[p]
	}
	return out, n.inputs[0].dtype, nil
}

// sliceRange resolves one axis of an ONNX Slice against a dimension of
// size dim, with the ONNX clamping rules (for a negative step, start is
// clamped to [0, dim-1] and end to [-1, dim-1]): the first index and the
// number of elements taken.
func sliceRange(dim, start, end, step int) (first, count int) {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	if step > 0 {
		start = min(max(start, 0), dim)
		end = min(max(end, 0), dim)
		if end <= start {
			return start, 0
		}
		return start, (end - start + step - 1) / step
	}
	start = min(max(start, 0), dim-1)
	end = min(max(end, -1), dim-1)
	if end >= start {
		return start, 0
	}
	return start, (start - end - step - 1) / -step
}

func shapeSlice(n *Node) (Shape, DType, error) {
	in := n.inputs[0].shape
	a := n.attr.(SliceAttr)
	if len(a.Starts) != len(a.Axes) || len(a.Ends) != len(a.Axes) || len(a.Steps) != len(a.Axes) {
		return nil, 0, errors.New("axes, starts, ends and steps differ in length")
	}
	out := in.Clone()
	seen := make([]bool, len(in))
	for i, ax := range a.Axes {
		if ax < 0 || ax >= len(in) || seen[ax] {
			return nil, 0, fmt.Errorf("axis %d out of range or repeated", ax)
		}
		seen[ax] = true
		if a.Steps[i] == 0 {
			return nil, 0, errors.New("zero step")
		}
		if in[ax] < 0 {
			out[ax] = -1
			continue
		}
		_, out[ax] = sliceRange(in[ax], a.Starts[i], a.Ends[i], a.Steps[i])
	}
	return out, n.inputs[0].dtype, nil
}

func shapeConcat(n *Node) (Shape, DType, error) {
	axis := n.attr.(ConcatAttr).Axis
	first := n.inputs[0].shape
	if axis < 0 || axis >= len(first) {
		return nil, 0, fmt.Errorf("axis %d out of range", axis)
	}
	out := first.Clone()
	for _, in := range n.inputs[1:] {
		s := in.shape
		if len(s) != len(first) || in.dtype != n.inputs[0].dtype {
			return nil, 0, errors.New("operands differ in rank or type")
		}
		for i := range s {
			if i == axis {
				if out[i] < 0 || s[i] < 0 {
					out[i] = -1
				} else {
					out[i] += s[i]
				}
			} else if s[i] >= 0 && out[i] >= 0 && s[i] != out[i] {
				return nil, 0, fmt.Errorf("dimension %d differs", i)
			}
		}
	}
	return out, n.inputs[0].dtype, nil
}

func shapeExpand(n *Node) (Shape, DType, error) {
	s, err := broadcastShapes(n.inputs[0].shape, n.inputs[1].shape)
	return s, n.inputs[0].dtype, err
}

func shapePad(n *Node) (Shape, DType, error) {
	in := n.inputs[0].shape
	a := n.attr.(PadAttr)
	if len(a.Pads) != 2*len(in) {
		return nil, 0, fmt.Errorf("pads %v: want %d entries", a.Pads, 2*len(in))
	}
	out := in.Clone()
	for i := range in {
		b, e := a.Pads[i], a.Pads[i+len(in)]
		if b < 0 || e < 0 {
			return nil, 0, fmt.Errorf("negative pads %v", a.Pads)
		}
		if in[i] < 0 {
			continue
		}
		if a.Mode == PadReflect && (b >= in[i] || e >= in[i]) {
			return nil, 0, fmt.Errorf("reflect pad %d/%d needs a dimension larger than the pad, got %d", b, e, in[i])
		}
		out[i] = in[i] + b + e
	}
	return out, Float32, nil
}

func shapeMatMul(n *Node) (Shape, DType, error) {
	a, b := n.inputs[0].shape, n.inputs[1].shape
	if len(a) < 2 || len(b) < 2 {
		return nil, 0, errors.New("operands need rank 2 or more")
	}
	k1, k2 := a[len(a)-1], b[len(b)-2]
	if k1 >= 0 && k2 >= 0 && k1 != k2 {
		return nil, 0, fmt.Errorf("inner dimensions %d and %d differ", k1, k2)
	}
	batch, err := broadcastShapes(a[:len(a)-2], b[:len(b)-2])
	if err != nil {
		return nil, 0, err
	}
	return append(batch, a[len(a)-2], b[len(b)-1]), Float32, nil
}

// convOut is the output size of one spatial axis of a convolution.
func convOut(in, k, stride, padBegin, padEnd, dilation int) int {
	if in < 0 {
		return -1
	}
	return (in+padBegin+padEnd-dilation*(k-1)-1)/stride + 1
}

// convTransposeOut is the output size of one spatial axis of a transposed
// convolution: (in-1)*stride - pads + dilation*(k-1) + 1 + outputPadding.
func convTransposeOut(in, k, stride, padBegin, padEnd, dilation, outPad int) int {
	if in < 0 {
		return -1
	}
	return (in-1)*stride - padBegin - padEnd + dilation*(k-1) + 1 + outPad
}

func checkConvAttr(a ConvAttr) error {
	for i := range 2 {
		if a.Strides[i] < 1 || a.Dilations[i] < 1 {
			return fmt.Errorf("strides %v and dilations %v must be positive", a.Strides, a.Dilations)
		}
	}
	for _, p := range a.Pads {
		if p < 0 {
			return fmt.Errorf("negative pads %v", a.Pads)
		}
	}
	return nil
}

func checkBias(n *Node, channels int) error {
	if len(n.inputs) < 3 {
		return nil
	}
	b := n.inputs[2].shape
	if len(b) != 1 || (b[0] >= 0 && channels >= 0 && b[0] != channels) {
		return fmt.Errorf("bias %v: want [%d]", b, channels)
	}
	return nil
}

func shapeConv(n *Node) (Shape, DType, error) {
	x, w := n.inputs[0].shape, n.inputs[1].shape
	a := n.attr.(ConvAttr)
	if len(x) != 4 || len(w) != 4 {
		return nil, 0, errors.New("input and weight must be rank 4 (NCHW, OIHW)")
	}
	if err := checkConvAttr(a); err != nil {
		return nil, 0, err
	}
	if x[1] >= 0 && x[1] != w[1] {
		return nil, 0, fmt.Errorf("input has %d channels, weight expects %d", x[1], w[1])
	}
	if err := checkBias(n, w[0]); err != nil {
		return nil, 0, err
	}
	out := Shape{x[0], w[0],
		convOut(x[2], w[2], a.Strides[0], a.Pads[0], a.Pads[2], a.Dilations[0]),
		convOut(x[3], w[3], a.Strides[1], a.Pads[1], a.Pads[3], a.Dilations[1])}
	if (out[2] >= 0 && out[2] < 1) || (out[3] >= 0 && out[3] < 1) {
		return nil, 0, errors.New("input smaller than the kernel")
	}
	return out, Float32, nil
}

func shapeConvTranspose(n *Node) (Shape, DType, error) {
	x, w := n.inputs[0].shape, n.inputs[1].shape
	a := n.attr.(ConvAttr)
	if len(x) != 4 || len(w) != 4 {
		return nil, 0, errors.New("input and weight must be rank 4 (NCHW, [in,out,kh,kw])")
	}
	if err := checkConvAttr(a); err != nil {
		return nil, 0, err
	}
	if x[1] >= 0 && x[1] != w[0] {
		return nil, 0, fmt.Errorf("input has %d channels, weight expects %d", x[1], w[0])
	}
	for i := range 2 {
		if a.OutputPadding[i] < 0 || (a.OutputPadding[i] >= a.Strides[i] && a.OutputPadding[i] >= a.Dilations[i]) {
			return nil, 0, fmt.Errorf("output padding %v must be below stride or dilation", a.OutputPadding)
		}
	}
	if err := checkBias(n, w[1]); err != nil {
		return nil, 0, err
	}
	out := Shape{x[0], w[1],
		convTransposeOut(x[2], w[2], a.Strides[0], a.Pads[0], a.Pads[2], a.Dilations[0], a.OutputPadding[0]),
		convTransposeOut(x[3], w[3], a.Strides[1], a.Pads[1], a.Pads[3], a.Dilations[1], a.OutputPadding[1])}
	if (out[2] >= 0 && out[2] < 1) || (out[3] >= 0 && out[3] < 1) {
		return nil, 0, errors.New("empty output")
	}
	return out, Float32, nil
}

func shapeConvFilterGrad(n *Node) (Shape, DType, error) {
	x, dy := n.inputs[0].shape, n.inputs[1].shape
	a := n.attr.(ConvAttr)
	if len(x) != 4 || len(dy) != 4 {
		return nil, 0, errors.New("input and output gradient must be rank 4")
	}
	if err := checkConvAttr(a); err != nil {
		return nil, 0, err
	}
	if a.Kernel[0] < 1 || a.Kernel[1] < 1 {
		return nil, 0, fmt.Errorf("bad kernel %v", a.Kernel)
	}
	if !x.Static() || !dy.Static() {
		return nil, 0, errors.New("needs static shapes")
	}
	for i := range 2 {
		if o := convOut(x[2+i], a.Kernel[i], a.Strides[i], a.Pads[i], a.Pads[i+2], a.Dilations[i]); o != dy[2+i] {
			return nil, 0, fmt.Errorf("output gradient size %d does not match convolution output %d", dy[2+i], o)
		}
	}
	if x[0] != dy[0] {
		return nil, 0, errors.New("batch sizes differ")
	}
	return Shape{dy[1], x[1], a.Kernel[0], a.Kernel[1]}, Float32, nil
}

func shapeInstanceNorm(n *Node) (Shape, DType, error) {
	x := n.inputs[0].shape
	if len(x) != 4 {
		return nil, 0, errors.New("input must be rank 4 (NCHW)")
	}
	for _, p := range n.inputs[1:] {
		if s := p.shape; len(s) != 1 || (s[0] >= 0 && x[1] >= 0 && s[0] != x[1]) {
			return nil, 0, fmt.Errorf("scale/bias %v: want [%d]", s, x[1])
		}
	}
	return x.Clone(), Float32, nil
}

// ---- builders: sources ----

// Input declares a float32 input fed at run time, such as an image batch
// [N,3,H,W] in [-1,1]. Negative dimensions are dynamic; dimNames optionally
// names each dimension for export.
func (g *Graph) Input(name string, shape Shape, dimNames ...string) *Node {
	return g.declare(InputAttr{Name: name, Shape: shape.Clone(), DType: Float32, DimNames: dimNames})
}

// Param declares a trainable float32 parameter, such as a conv weight
// [out,in,kh,kw]; name is its state-dict key.
func (g *Graph) Param(name string, shape Shape) *Node {
	if !shape.Static() {
		panic(&Error{Op: OpInput, Shapes: []Shape{shape}, Msg: fmt.Sprintf("parameter %q needs a static shape", name)})
	}
	return g.declare(InputAttr{Name: name, Param: true, Shape: shape.Clone(), DType: Float32})
}

func (g *Graph) declare(a InputAttr) *Node {
	if a.Name == "" {
		panic(&Error{Op: OpInput, Msg: "empty name"})
	}
	if g.byName[a.Name] != nil {
		panic(&Error{Op: OpInput, Msg: fmt.Sprintf("name %q declared twice", a.Name)})
	}
	n := g.add(OpInput, a)
	g.inputs = append(g.inputs, n)
	g.byName[a.Name] = n
	return n
}

// Const adds a constant float32 value.
func (g *Graph) Const(t *Tensor) *Node {
	return g.add(OpConst, ConstAttr{Value: t.Clone()})
}

// Scalar adds a constant float32 scalar (shape []).
func (g *Graph) Scalar(v float64) *Node {
	return g.Const(&Tensor{Shape: Shape{}, Data: []float64{v}})
}

// ---- builders: elementwise ----

// Add is a+b with numpy broadcasting.
func Add(a, b *Node) *Node { return graphOf(a, b).add(OpAdd, nil, a, b) }

// Sub is a-b with numpy broadcasting.
func Sub(a, b *Node) *Node { return graphOf(a, b).add(OpSub, nil, a, b) }

// Mul is a*b with numpy broadcasting.
func Mul(a, b *Node) *Node { return graphOf(a, b).add(OpMul, nil, a, b) }

// Div is a/b with numpy broadcasting.
func Div(a, b *Node) *Node { return graphOf(a, b).add(OpDiv, nil, a, b) }

// Pow is a**b with numpy broadcasting.
func Pow(a, b *Node) *Node { return graphOf(a, b).add(OpPow, nil, a, b) }

// AddScalar is x+c.
func AddScalar(x *Node, c float64) *Node { return Add(x, x.g.Scalar(c)) }

// MulScalar is x*c.
func MulScalar(x *Node, c float64) *Node { return Mul(x, x.g.Scalar(c)) }

// Neg is -x.
func Neg(x *Node) *Node { return x.g.add(OpNeg, nil, x) }

// Abs is |x|.
func Abs(x *Node) *Node { return x.g.add(OpAbs, nil, x) }

// Sign is -1, 0 or 1 by the sign of x; its gradient is zero.
func Sign(x *Node) *Node { return x.g.add(OpSign, nil, x) }

// Exp is e**x.
func Exp(x *Node) *Node { return x.g.add(OpExp, nil, x) }

// Log is the natural logarithm.
func Log(x *Node) *Node { return x.g.add(OpLog, nil, x) }

// Sqrt is the square root.
func Sqrt(x *Node) *Node { return x.g.add(OpSqrt, nil, x) }

// Relu is max(x, 0).
func Relu(x *Node) *Node { return x.g.add(OpRelu, nil, x) }

// LeakyRelu is x for x >= 0, else alpha*x.
func LeakyRelu(x *Node, alpha float64) *Node {
	return x.g.add(OpLeakyRelu, LeakyReluAttr{Alpha: alpha}, x)
}

// Tanh is the hyperbolic tangent.
func Tanh(x *Node) *Node { return x.g.add(OpTanh, nil, x) }

// Sigmoid is 1/(1+e**-x).
func Sigmoid(x *Node) *Node { return x.g.add(OpSigmoid, nil, x) }

// Greater is a>b as a bool value; not differentiable.
func Greater(a, b *Node) *Node { return graphOf(a, b).add(OpGreater, nil, a, b) }

// Less is a<b as a bool value; not differentiable.
func Less(a, b *Node) *Node { return graphOf(a, b).add(OpLess, nil, a, b) }

// Equal is a==b as a bool value; not differentiable.
func Equal(a, b *Node) *Node { return graphOf(a, b).add(OpEqual, nil, a, b) }

// Where picks a where cond is true, else b, with broadcasting.
func Where(cond, a, b *Node) *Node { return graphOf(cond, a, b).add(OpWhere, nil, cond, a, b) }

// StopGradient passes x through; gradients do not flow back through it.
func StopGradient(x *Node) *Node { return x.g.add(OpStopGradient, nil, x) }

// ---- builders: reductions ----

func normAxes(x *Node, axes []int) []int {
	out := make([]int, 0, len(axes))
	for _, a := range axes {
		if a < 0 {
			a += x.Rank()
		}
		out = append(out, a)
	}
	sort.Ints(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			panic(&Error{Op: OpReduceSum, Shapes: []Shape{x.shape}, Msg: fmt.Sprintf("repeated axis in %v", axes)})
		}
	}
	return out
}

func allAxes(x *Node, axes []int) []int {
	if len(axes) > 0 {
		return axes
	}
	all := make([]int, x.Rank())
	for i := range all {
		all[i] = i
	}
	return all
}

// ReduceSum sums over axes (all axes when none are given).
func ReduceSum(x *Node, keepDims bool, axes ...int) *Node {
	return x.g.add(OpReduceSum, ReduceAttr{Axes: normAxes(x, allAxes(x, axes)), KeepDims: keepDims}, x)
}

// ReduceMean averages over axes (all axes when none are given).
func ReduceMean(x *Node, keepDims bool, axes ...int) *Node {
	return x.g.add(OpReduceMean, ReduceAttr{Axes: normAxes(x, allAxes(x, axes)), KeepDims: keepDims}, x)
}

// ReduceMax takes the maximum over axes (all axes when none are given).
// Its gradient flows to every position equal to the maximum.
func ReduceMax(x *Node, keepDims bool, axes ...int) *Node {
	return x.g.add(OpReduceMax, ReduceAttr{Axes: normAxes(x, allAxes(x, axes)), KeepDims: keepDims}, x)
}

// ---- builders: layout ----

// Reshape reinterprets x with a new shape of the same size (row-major);
// one dimension may be -1 and is inferred.
func Reshape(x *Node, shape ...int) *Node {
	return x.g.add(OpReshape, ReshapeAttr{Shape: append([]int(nil), shape...)}, x)
}

// Transpose permutes axes: output axis i is input axis perm[i].
func Transpose(x *Node, perm ...int) *Node {
	return x.g.add(OpTranspose, TransposeAttr{Perm: append([]int(nil), perm...)}, x)
}

// Slice takes x[start:end:step] along one axis, with ONNX clamping and
// negative indices; end End means "to the end" (positive steps).
func Slice(x *Node, axis, start, end, step int) *Node {
	if axis < 0 {
		axis += x.Rank()
	}
	return x.g.add(OpSlice, SliceAttr{Axes: []int{axis}, Starts: []int{start}, Ends: []int{end}, Steps: []int{step}}, x)
}

// SliceAxes is ONNX Slice over several axes at once.
func SliceAxes(x *Node, a SliceAttr) *Node {
	a.Axes = append([]int(nil), a.Axes...)
	for i, ax := range a.Axes {
		if ax < 0 {
			a.Axes[i] = ax + x.Rank()
		}
	}
	return x.g.add(OpSlice, a, x)
}

// End is a Slice end that means "to the end of the axis" for a positive
// step. For a negative step, slice to the start with end -dim-1.
const End = math.MaxInt32

// Concat joins xs along axis.
func Concat(axis int, xs ...*Node) *Node {
	g := graphOf(xs...)
	if axis < 0 && len(xs) > 0 {
		axis += xs[0].Rank()
	}
	return g.add(OpConcat, ConcatAttr{Axis: axis}, xs...)
}

// Expand broadcasts x against like's shape (ONNX Expand with Shape(like)):
// the result has shape broadcast(x, like). Only x is differentiated; like
// contributes its shape alone, so it may have dynamic dimensions.
func Expand(x, like *Node) *Node { return graphOf(x, like).add(OpExpand, nil, x, like) }

// Pad pads x with pads listed as all begins then all ends, per axis.
func Pad(x *Node, mode PadMode, value float64, pads ...int) *Node {
	return x.g.add(OpPad, PadAttr{Mode: mode, Pads: append([]int(nil), pads...), Value: value}, x)
}

// Pad2D pads the two spatial axes of an NCHW value by p on every side.
func Pad2D(x *Node, mode PadMode, p int) *Node {
	return Pad(x, mode, 0, 0, 0, p, p, 0, 0, p, p)
}

// MatMul is numpy matmul over the last two axes, broadcasting batch axes.
func MatMul(a, b *Node) *Node { return graphOf(a, b).add(OpMatMul, nil, a, b) }

// ---- builders: convolution and normalization ----

// ConvOpts configures Conv and ConvTranspose; zero strides and dilations
// mean 1. Pad is applied on every side (zero padding).
type ConvOpts struct {
	Stride, Pad, Dilation int
	// OutputPadding is ConvTranspose's output_padding (both axes).
	OutputPadding int
}

func (o ConvOpts) attr() ConvAttr {
	s, d := max(o.Stride, 1), max(o.Dilation, 1)
	return ConvAttr{
		Strides:       [2]int{s, s},
		Pads:          [4]int{o.Pad, o.Pad, o.Pad, o.Pad},
		Dilations:     [2]int{d, d},
		OutputPadding: [2]int{o.OutputPadding, o.OutputPadding},
	}
}

// Conv is a 2-D cross-correlation of x [N,C,H,W] with w [O,C,kh,kw] plus an
// optional bias b [O] (nil for none), giving [N,O,H',W'].
func Conv(x, w, b *Node, o ConvOpts) *Node { return ConvWith(x, w, b, o.attr()) }

// ConvWith is Conv with a full attribute set.
func ConvWith(x, w, b *Node, a ConvAttr) *Node {
	a.OutputPadding, a.Kernel = [2]int{}, [2]int{}
	return x.g.add(OpConv, a, convInputs(x, w, b)...)
}

// ConvTranspose is the transposed convolution of x [N,C,H,W] with w
// [C,O,kh,kw] plus an optional bias b [O], giving [N,O,H',W'] with
// H' = (H-1)*stride - 2*pad + dilation*(kh-1) + 1 + outputPadding.
// It is also the input gradient of Conv.
func ConvTranspose(x, w, b *Node, o ConvOpts) *Node { return ConvTransposeWith(x, w, b, o.attr()) }

// ConvTransposeWith is ConvTranspose with a full attribute set.
func ConvTransposeWith(x, w, b *Node, a ConvAttr) *Node {
	a.Kernel = [2]int{}
	return x.g.add(OpConvTranspose, a, convInputs(x, w, b)...)
}

// ConvFilterGrad is the filter gradient of Conv(x, w) with attributes a:
// given x [N,C,H,W] and the output gradient dy [N,O,H',W'], it returns
// dw [O,C,a.Kernel[0],a.Kernel[1]].
func ConvFilterGrad(x, dy *Node, a ConvAttr) *Node {
	a.OutputPadding = [2]int{}
	return x.g.add(OpConvFilterGrad, a, x, dy)
}

func convInputs(x, w, b *Node) []*Node {
	if b == nil {
		return []*Node{x, w}
	}
	return []*Node{x, w, b}
}

// InstanceNorm normalizes each sample and channel of x [N,C,H,W] over H x W
// with the biased variance, (x-mean)/sqrt(var+eps), then applies the
// optional per-channel scale [C] and bias [C] (both nil, or both given).
func InstanceNorm(x, scale, bias *Node, eps float64) *Node {
	if (scale == nil) != (bias == nil) {
		panic(&Error{Op: OpInstanceNorm, Shapes: []Shape{x.shape}, Msg: "scale and bias must both be given or both be nil"})
	}
	if scale == nil {
		return x.g.add(OpInstanceNorm, NormAttr{Epsilon: eps}, x)
	}
	return x.g.add(OpInstanceNorm, NormAttr{Epsilon: eps}, x, scale, bias)
}
