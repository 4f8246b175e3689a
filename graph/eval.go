package graph

import (
	"fmt"
	"math"
	"strings"
)

// This file is the plain-Go reference evaluator: one float64 kernel per op,
// written as simple loops for clarity. It is the oracle that gradient rules
// (finite differences) and ONNX lowerings (agreement with ONNX Runtime) are
// checked against, so every kernel follows ONNX/PyTorch semantics exactly,
// and computes its output shape from the run-time shapes of its operands
// (node shapes may be dynamic).

// evalKernel computes a node's value from its operands' values. It never
// modifies its operands and returns a fresh tensor (the Const kernel
// excepted: it returns the constant itself, which Eval copies before handing
// it out). It panics with an *Error when the run-time shapes are invalid.
type evalKernel func(n *Node, in []*Tensor) *Tensor

// evalKernels is the reference kernel of each op. OpInput's row is a
// sentinel: Eval resolves inputs from its feeds and never calls it.
var evalKernels = [numOps]evalKernel{
	OpInput:          evalInput,
	OpConst:          evalConst,
	OpAdd:            evalAdd,
	OpSub:            evalSub,
	OpMul:            evalMul,
	OpDiv:            evalDiv,
	OpPow:            evalPow,
	OpNeg:            evalNeg,
	OpAbs:            evalAbs,
	OpSign:           evalSign,
	OpExp:            evalExp,
	OpLog:            evalLog,
	OpSqrt:           evalSqrt,
	OpRelu:           evalRelu,
	OpLeakyRelu:      evalLeakyRelu,
	OpTanh:           evalTanh,
	OpSigmoid:        evalSigmoid,
	OpGreater:        evalGreater,
	OpLess:           evalLess,
	OpEqual:          evalEqual,
	OpWhere:          evalWhere,
	OpStopGradient:   evalStopGradient,
	OpReduceSum:      evalReduceSum,
	OpReduceMean:     evalReduceMean,
	OpReduceMax:      evalReduceMax,
	OpReshape:        evalReshape,
	OpTranspose:      evalTranspose,
	OpSlice:          evalSlice,
	OpConcat:         evalConcat,
	OpExpand:         evalExpand,
	OpPad:            evalPad,
	OpMatMul:         evalMatMul,
	OpConv:           evalConv,
	OpConvTranspose:  evalConvTranspose,
	OpConvFilterGrad: evalConvFilterGrad,
	OpInstanceNorm:   evalInstanceNorm,
}

// Eval computes the values of nodes (all of one graph) with the reference
// evaluator. feeds holds a value for each input and parameter that the
// nodes depend on, keyed by its declared name; its shape must match the
// declared one except in dynamic dimensions. Feeds for inputs that the
// nodes do not depend on are ignored.
//
// Only the nodes the requested ones depend on are computed, each once, in
// creation (topological) order. Bool values are 0 or 1. The returned
// tensors share no memory with the feeds, the graph's constants or each
// other. A feed that is missing or has the wrong shape, and an operand
// that a kernel rejects at run time, give an error that names the input or
// the node; the latter wraps an *Error with the run-time shapes.
func Eval(feeds map[string]*Tensor, nodes ...*Node) ([]*Tensor, error) {
	if len(nodes) == 0 {
		return []*Tensor{}, nil
	}
	top := 0
	for i, n := range nodes {
		if n == nil {
			return nil, fmt.Errorf("graph: eval: node %d of %d is nil", i, len(nodes))
		}
		if n.g != nodes[0].g {
			return nil, fmt.Errorf("graph: eval: %v and %v belong to different graphs", nodes[0], n)
		}
		top = max(top, n.id)
	}
	g := nodes[0].g

	// Mark what the requested nodes depend on and when each value is used
	// last, so that intermediate values can be dropped early.
	needed := make([]bool, top+1)
	requested := make([]bool, top+1)
	lastUse := make([]int, top+1)
	stack := make([]*Node, 0, len(nodes))
	for _, n := range nodes {
		requested[n.id] = true
		stack = append(stack, n)
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if needed[n.id] {
			continue
		}
		needed[n.id] = true
		for _, in := range n.inputs {
			lastUse[in.id] = max(lastUse[in.id], n.id)
			stack = append(stack, in)
		}
	}

	vals := make([]*Tensor, top+1)
	for id := 0; id <= top; id++ {
		if !needed[id] {
			continue
		}
		n := g.nodes[id]
		if n.op == OpInput {
			t, err := feedFor(n, feeds)
			if err != nil {
				return nil, err
			}
			vals[id] = t
			continue
		}
		in := make([]*Tensor, len(n.inputs))
		for i, x := range n.inputs {
			in[i] = vals[x.id]
		}
		t, err := runKernel(n, in)
		if err != nil {
			return nil, err
		}
		vals[id] = t
		for _, x := range n.inputs {
			if lastUse[x.id] == id && !requested[x.id] {
				vals[x.id] = nil
			}
		}
	}

	out := make([]*Tensor, len(nodes))
	handed := map[*Tensor]bool{}
	for i, n := range nodes {
		t := vals[n.id]
		if n.op == OpInput || n.op == OpConst || handed[t] {
			t = t.Clone()
		}
		handed[t] = true
		out[i] = t
	}
	return out, nil
}

// feedFor returns the fed value of input n after checking its shape.
func feedFor(n *Node, feeds map[string]*Tensor) (*Tensor, error) {
	name := n.Name()
	t := feeds[name]
	if t == nil {
		return nil, fmt.Errorf("graph: eval: input %q %v is not fed", name, n.shape)
	}
	if !t.Shape.Static() || len(t.Data) != t.Shape.Size() {
		return nil, fmt.Errorf("graph: eval: input %q: fed %d values with shape %v", name, len(t.Data), t.Shape)
	}
	if !shapeFits(n.shape, t.Shape) {
		return nil, fmt.Errorf("graph: eval: input %q: fed shape %v, declared %v", name, t.Shape, n.shape)
	}
	return t, nil
}

// shapeFits reports whether a run-time shape matches a declared one whose
// negative dimensions match anything.
func shapeFits(declared, actual Shape) bool {
	if len(declared) != len(actual) {
		return false
	}
	for i, d := range declared {
		if d >= 0 && d != actual[i] {
			return false
		}
	}
	return true
}

// runKernel runs n's kernel, turning an *Error panic into an error that
// names the node, and checks the result against the node's static shape.
func runKernel(n *Node, in []*Tensor) (t *Tensor, err error) {
	if n.op <= OpInvalid || n.op >= numOps || evalKernels[n.op] == nil {
		return nil, fmt.Errorf("graph: eval %v: no reference kernel", n)
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			t, err = nil, &evalError{node: n, err: e}
		}
	}()
	t = evalKernels[n.op](n, in)
	if !shapeFits(n.shape, t.Shape) {
		return nil, fmt.Errorf("graph: eval %v: kernel result %v disagrees with the node's shape", n, t.Shape)
	}
	return t, nil
}

// evalError is a kernel's *Error with the node it occurred at.
type evalError struct {
	node *Node
	err  *Error
}

func (e *evalError) Error() string {
	return fmt.Sprintf("graph: eval %v: %s", e.node, strings.TrimPrefix(e.err.Error(), "graph: "))
}

func (e *evalError) Unwrap() error { return e.err }

// kernelError is the *Error a kernel panics with: n's op, the run-time
// shapes of its operands and a message.
func kernelError(n *Node, in []*Tensor, format string, args ...any) *Error {
	shapes := make([]Shape, len(in))
	for i, t := range in {
		shapes[i] = t.Shape
	}
	return &Error{Op: n.op, Shapes: shapes, Msg: fmt.Sprintf(format, args...)}
}

// ---- indexing helpers ----

// rowStrides returns the row-major element strides of shape.
func rowStrides(shape Shape) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// walkOffsets walks every element of shape in row-major order and returns, for
// each, the source index off + sum(idx[i] * st[i]). With suitable strides
// this is a broadcast (stride 0), a transpose (permuted strides) or a slice
// (start offset, strides times steps, possibly negative).
func walkOffsets(shape Shape, st []int, off int) []int {
	out := make([]int, shape.Size())
	idx := make([]int, len(shape))
	p := off
	for i := range out {
		out[i] = p
		for a := len(shape) - 1; a >= 0; a-- {
			idx[a]++
			p += st[a]
			if idx[a] < shape[a] {
				break
			}
			p -= st[a] * shape[a]
			idx[a] = 0
		}
	}
	return out
}

// broadcastOffsets maps each element of shape out to the element of a
// tensor of shape in (numpy-broadcast to out) that it reads.
func broadcastOffsets(in, out Shape) []int {
	src := rowStrides(in)
	st := make([]int, len(out))
	for i := range in {
		if in[i] != 1 {
			st[len(out)-len(in)+i] = src[i]
		}
	}
	return walkOffsets(out, st, 0)
}

// gatherAt returns src's elements at idx as a tensor of shape.
func gatherAt(shape Shape, src []float64, idx []int) *Tensor {
	t := NewTensor(shape)
	for i, p := range idx {
		t.Data[i] = src[p]
	}
	return t
}

// broadcastTo returns t numpy-broadcast to shape, sharing t when the shapes
// are equal.
func broadcastTo(t *Tensor, shape Shape) *Tensor {
	if t.Shape.Equal(shape) {
		return t
	}
	return gatherAt(shape, t.Data, broadcastOffsets(t.Shape, shape))
}

// runtimeBroadcast broadcasts the run-time shapes of in.
func runtimeBroadcast(n *Node, in []*Tensor) Shape {
	shapes := make([]Shape, len(in))
	for i, t := range in {
		shapes[i] = t.Shape
	}
	s, err := broadcastShapes(shapes...)
	if err != nil {
		panic(kernelError(n, in, "%v", err))
	}
	return s
}

// ---- sources ----

func evalInput(n *Node, in []*Tensor) *Tensor {
	panic(&Error{Op: OpInput, Shapes: []Shape{n.shape},
		Msg: fmt.Sprintf("input %q has no kernel: Eval takes its value from the feeds", n.Name())})
}

func evalConst(n *Node, in []*Tensor) *Tensor { return n.attr.(ConstAttr).Value }

// ---- elementwise ----

// zipWith applies f to the numpy-broadcast elements of in[0] and in[1].
func zipWith(n *Node, in []*Tensor, f func(a, b float64) float64) *Tensor {
	shape := runtimeBroadcast(n, in)
	a, b := broadcastTo(in[0], shape), broadcastTo(in[1], shape)
	out := NewTensor(shape)
	for i := range out.Data {
		out.Data[i] = f(a.Data[i], b.Data[i])
	}
	return out
}

// mapEach applies f to every element of x.
func mapEach(x *Tensor, f func(v float64) float64) *Tensor {
	out := NewTensor(x.Shape)
	for i, v := range x.Data {
		out.Data[i] = f(v)
	}
	return out
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func evalAdd(n *Node, in []*Tensor) *Tensor {
	return zipWith(n, in, func(a, b float64) float64 { return a + b })
}

func evalSub(n *Node, in []*Tensor) *Tensor {
	return zipWith(n, in, func(a, b float64) float64 { return a - b })
}

func evalMul(n *Node, in []*Tensor) *Tensor {
	return zipWith(n, in, func(a, b float64) float64 { return a * b })
}

func evalDiv(n *Node, in []*Tensor) *Tensor {
	return zipWith(n, in, func(a, b float64) float64 { return a / b })
}

func evalPow(n *Node, in []*Tensor) *Tensor { return zipWith(n, in, math.Pow) }

func evalGreater(n *Node, in []*Tensor) *Tensor {
	return zipWith(n, in, func(a, b float64) float64 { return boolValue(a > b) })
}

func evalLess(n *Node, in []*Tensor) *Tensor {
	return zipWith(n, in, func(a, b float64) float64 { return boolValue(a < b) })
}

func evalEqual(n *Node, in []*Tensor) *Tensor {
	return zipWith(n, in, func(a, b float64) float64 { return boolValue(a == b) })
}

// evalWhere picks in[1] where the condition in[0] is non-zero, else in[2].
func evalWhere(n *Node, in []*Tensor) *Tensor {
	shape := runtimeBroadcast(n, in)
	c, a, b := broadcastTo(in[0], shape), broadcastTo(in[1], shape), broadcastTo(in[2], shape)
	out := NewTensor(shape)
	for i := range out.Data {
		if c.Data[i] != 0 {
			out.Data[i] = a.Data[i]
		} else {
			out.Data[i] = b.Data[i]
		}
	}
	return out
}

func evalNeg(n *Node, in []*Tensor) *Tensor {
	return mapEach(in[0], func(v float64) float64 { return -v })
}

func evalAbs(n *Node, in []*Tensor) *Tensor { return mapEach(in[0], math.Abs) }

// evalSign is -1, 0 or 1 (NaN stays NaN).
func evalSign(n *Node, in []*Tensor) *Tensor {
	return mapEach(in[0], func(v float64) float64 {
		switch {
		case v > 0:
			return 1
		case v < 0:
			return -1
		}
		return v
	})
}

func evalExp(n *Node, in []*Tensor) *Tensor  { return mapEach(in[0], math.Exp) }
func evalLog(n *Node, in []*Tensor) *Tensor  { return mapEach(in[0], math.Log) }
func evalSqrt(n *Node, in []*Tensor) *Tensor { return mapEach(in[0], math.Sqrt) }
func evalTanh(n *Node, in []*Tensor) *Tensor { return mapEach(in[0], math.Tanh) }

func evalRelu(n *Node, in []*Tensor) *Tensor {
	return mapEach(in[0], func(v float64) float64 {
		if v < 0 {
			return 0
		}
		return v
	})
}

// evalLeakyRelu is x for x >= 0, else alpha*x.
func evalLeakyRelu(n *Node, in []*Tensor) *Tensor {
	alpha := n.attr.(LeakyReluAttr).Alpha
	return mapEach(in[0], func(v float64) float64 {
		if v < 0 {
			return alpha * v
		}
		return v
	})
}

// evalSigmoid is 1/(1+e**-x), in a form that does not overflow.
func evalSigmoid(n *Node, in []*Tensor) *Tensor {
	return mapEach(in[0], func(v float64) float64 {
		if v >= 0 {
			return 1 / (1 + math.Exp(-v))
		}
		e := math.Exp(v)
		return e / (1 + e)
	})
}

func evalStopGradient(n *Node, in []*Tensor) *Tensor { return in[0].Clone() }

// ---- reductions ----

// reduceAxes folds x over the node's axes with f from init. It returns the
// result and the number of elements folded into each output element.
func reduceAxes(n *Node, x *Tensor, init float64, f func(acc, v float64) float64) (*Tensor, int) {
	a := n.attr.(ReduceAttr)
	keep := x.Shape.Clone()
	for _, ax := range a.Axes {
		keep[ax] = 1
	}
	// Each input element adds to the element of the keep-dims result it
	// broadcasts from; dropping the size-1 axes leaves that order alone.
	out := NewTensor(reducedShape(x.Shape, a))
	for i := range out.Data {
		out.Data[i] = init
	}
	for i, p := range broadcastOffsets(keep, x.Shape) {
		out.Data[p] = f(out.Data[p], x.Data[i])
	}
	count := 1
	for _, ax := range a.Axes {
		count *= x.Shape[ax]
	}
	return out, count
}

// reducedShape is the output shape of a reduction of a value of shape s.
func reducedShape(s Shape, a ReduceAttr) Shape {
	reduced := make([]bool, len(s))
	for _, ax := range a.Axes {
		reduced[ax] = true
	}
	out := Shape{}
	for i, d := range s {
		switch {
		case !reduced[i]:
			out = append(out, d)
		case a.KeepDims:
			out = append(out, 1)
		}
	}
	return out
}

func evalReduceSum(n *Node, in []*Tensor) *Tensor {
	out, _ := reduceAxes(n, in[0], 0, func(acc, v float64) float64 { return acc + v })
	return out
}

// evalReduceMean is the sum divided by the number of reduced elements.
func evalReduceMean(n *Node, in []*Tensor) *Tensor {
	out, count := reduceAxes(n, in[0], 0, func(acc, v float64) float64 { return acc + v })
	for i := range out.Data {
		out.Data[i] /= float64(count)
	}
	return out
}

// evalReduceMax is the maximum; a NaN operand gives NaN.
func evalReduceMax(n *Node, in []*Tensor) *Tensor {
	out, _ := reduceAxes(n, in[0], math.Inf(-1), func(acc, v float64) float64 {
		if v > acc || math.IsNaN(v) {
			return v
		}
		return acc
	})
	return out
}

// ---- layout ----

// evalReshape copies x under the target shape, inferring a -1 dimension
// from the run-time size.
func evalReshape(n *Node, in []*Tensor) *Tensor {
	x := in[0]
	target := n.attr.(ReshapeAttr).Shape
	shape := make(Shape, len(target))
	infer, known := -1, 1
	for i, d := range target {
		if d == -1 {
			infer = i
		} else {
			known *= d
		}
		shape[i] = d
	}
	size := len(x.Data)
	if infer >= 0 {
		if known == 0 || size%known != 0 {
			panic(kernelError(n, in, "cannot reshape %d elements to %v", size, target))
		}
		shape[infer] = size / known
	} else if known != size {
		panic(kernelError(n, in, "cannot reshape %d elements to %v", size, target))
	}
	return TensorOf(shape, append([]float64(nil), x.Data...))
}

// evalTranspose makes output axis i input axis perm[i].
func evalTranspose(n *Node, in []*Tensor) *Tensor {
	x := in[0]
	perm := n.attr.(TransposeAttr).Perm
	src := rowStrides(x.Shape)
	shape := make(Shape, len(perm))
	st := make([]int, len(perm))
	for i, p := range perm {
		shape[i], st[i] = x.Shape[p], src[p]
	}
	return gatherAt(shape, x.Data, walkOffsets(shape, st, 0))
}

// evalSlice is ONNX Slice, resolved per axis by sliceRange (the same rule
// as the node's shape). With a negative step, sliceRange clamps a start
// below -dim to "before 0" (numpy) and treats End as an ordinary index, so
// both give an empty axis, where ONNX Runtime starts at 0 and reads End as
// "through index 0"; reverse with an end of -dim-1 or math.MinInt32.
func evalSlice(n *Node, in []*Tensor) *Tensor {
	x := in[0]
	a := n.attr.(SliceAttr)
	src := rowStrides(x.Shape)
	shape, st := x.Shape.Clone(), append([]int(nil), src...)
	off := 0
	seen := make([]bool, len(shape))
	for i, ax := range a.Axes {
		if seen[ax] {
			panic(kernelError(n, in, "axis %d sliced twice", ax))
		}
		seen[ax] = true
		first, count := sliceRange(x.Shape[ax], a.Starts[i], a.Ends[i], a.Steps[i])
		shape[ax] = count
		st[ax] = src[ax] * a.Steps[i]
		off += first * src[ax] // unused when count is 0
	}
	return gatherAt(shape, x.Data, walkOffsets(shape, st, off))
}

// evalConcat joins the operands along the node's axis.
func evalConcat(n *Node, in []*Tensor) *Tensor {
	axis := n.attr.(ConcatAttr).Axis
	shape := in[0].Shape.Clone()
	shape[axis] = 0
	for _, t := range in {
		for i, d := range t.Shape {
			if i != axis && d != shape[i] {
				panic(kernelError(n, in, "dimension %d differs", i))
			}
		}
		shape[axis] += t.Shape[axis]
	}
	out := NewTensor(shape)
	outer := 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	inner := len(out.Data) / max(outer, 1)
	pos := 0
	for _, t := range in {
		block := len(t.Data) / max(outer, 1)
		for o := range outer {
			copy(out.Data[o*inner+pos:o*inner+pos+block], t.Data[o*block:(o+1)*block])
		}
		pos += block
	}
	return out
}

// evalExpand broadcasts in[0] against the run-time shape of in[1].
func evalExpand(n *Node, in []*Tensor) *Tensor {
	shape, err := broadcastShapes(in[0].Shape, in[1].Shape)
	if err != nil {
		panic(kernelError(n, in, "%v", err))
	}
	return gatherAt(shape, in[0].Data, broadcastOffsets(in[0].Shape, shape))
}

// evalPad is ONNX Pad: constant, reflect (mirror without repeating the
// edge) or edge (repeat the edge); pads are all begins then all ends.
func evalPad(n *Node, in []*Tensor) *Tensor {
	x := in[0]
	a := n.attr.(PadAttr)
	rank := len(x.Shape)
	src := rowStrides(x.Shape)
	shape := make(Shape, rank)
	// from[ax][j] is the source offset along ax of output coordinate j, or
	// -1 where the output takes the constant value.
	from := make([][]int, rank)
	for ax, dim := range x.Shape {
		b, e := a.Pads[ax], a.Pads[ax+rank]
		switch {
		case a.Mode == PadReflect && (b >= dim || e >= dim) && (b > 0 || e > 0):
			panic(kernelError(n, in, "reflect pad %d/%d needs axis %d larger than the pad", b, e, ax))
		case a.Mode == PadEdge && dim == 0 && (b > 0 || e > 0):
			panic(kernelError(n, in, "edge pad of empty axis %d", ax))
		}
		shape[ax] = dim + b + e
		from[ax] = make([]int, shape[ax])
		for j := range from[ax] {
			i := j - b
			if i < 0 || i >= dim {
				switch a.Mode {
				case PadConstant:
					from[ax][j] = -1
					continue
				case PadReflect:
					if i < 0 {
						i = -i
					} else {
						i = 2*(dim-1) - i
					}
				case PadEdge:
					i = min(max(i, 0), dim-1)
				}
			}
			from[ax][j] = i * src[ax]
		}
	}
	out := NewTensor(shape)
	idx := make([]int, rank)
	for k := range out.Data {
		p := 0
		for ax, j := range idx {
			if from[ax][j] < 0 {
				p = -1
				break
			}
			p += from[ax][j]
		}
		if p < 0 {
			out.Data[k] = a.Value
		} else {
			out.Data[k] = x.Data[p]
		}
		for ax := rank - 1; ax >= 0; ax-- {
			idx[ax]++
			if idx[ax] < shape[ax] {
				break
			}
			idx[ax] = 0
		}
	}
	return out
}

// evalMatMul is numpy matmul of a [..., M, K] and b [..., K, N] with
// broadcast batch axes.
func evalMatMul(n *Node, in []*Tensor) *Tensor {
	a, b := in[0], in[1]
	ra, rb := len(a.Shape), len(b.Shape)
	m, k, k2, cols := a.Shape[ra-2], a.Shape[ra-1], b.Shape[rb-2], b.Shape[rb-1]
	if k != k2 {
		panic(kernelError(n, in, "inner dimensions %d and %d differ", k, k2))
	}
	batchA, batchB := a.Shape[:ra-2], b.Shape[:rb-2]
	batch, err := broadcastShapes(batchA, batchB)
	if err != nil {
		panic(kernelError(n, in, "%v", err))
	}
	out := NewTensor(append(batch.Clone(), m, cols))
	offA, offB := broadcastOffsets(batchA, batch), broadcastOffsets(batchB, batch)
	for bi := range offA {
		as := a.Data[offA[bi]*m*k:]
		bs := b.Data[offB[bi]*k*cols:]
		os := out.Data[bi*m*cols:]
		for i := range m {
			for l := range k {
				v := as[i*k+l]
				for j := range cols {
					os[i*cols+j] += v * bs[l*cols+j]
				}
			}
		}
	}
	return out
}

// ---- convolution and normalization ----

// nchw unpacks an NCHW (or OIHW) shape.
func nchw(s Shape) (int, int, int, int) { return s[0], s[1], s[2], s[3] }

// checkBiasLen panics unless the optional bias in[2] has c elements.
func checkBiasLen(n *Node, in []*Tensor, c int) []float64 {
	if len(in) < 3 {
		return nil
	}
	if len(in[2].Data) != c {
		panic(kernelError(n, in, "bias has %d elements, want %d", len(in[2].Data), c))
	}
	return in[2].Data
}

// evalConv is the cross-correlation of x [N,C,H,W] with w [O,C,kh,kw] plus
// bias [O]: y[n,o,y,x] = b[o] + sum_{c,i,j} w[o,c,i,j] *
// x[n,c,y*sh-top+i*dh, x*sw-left+j*dw], zero outside x.
func evalConv(n *Node, in []*Tensor) *Tensor {
	x, w := in[0], in[1]
	a := n.attr.(ConvAttr)
	nb, c, h, wd := nchw(x.Shape)
	o, wc, kh, kw := nchw(w.Shape)
	if wc != c {
		panic(kernelError(n, in, "input has %d channels, weight expects %d", c, wc))
	}
	oh := convOut(h, kh, a.Strides[0], a.Pads[0], a.Pads[2], a.Dilations[0])
	ow := convOut(wd, kw, a.Strides[1], a.Pads[1], a.Pads[3], a.Dilations[1])
	if oh < 1 || ow < 1 {
		panic(kernelError(n, in, "input smaller than the kernel"))
	}
	bias := checkBiasLen(n, in, o)
	out := NewTensor(Shape{nb, o, oh, ow})
	for b := range nb {
		for oc := range o {
			plane := out.Data[(b*o+oc)*oh*ow : (b*o+oc+1)*oh*ow]
			if bias != nil {
				for i := range plane {
					plane[i] = bias[oc]
				}
			}
			for ic := range c {
				src := x.Data[(b*c+ic)*h*wd : (b*c+ic+1)*h*wd]
				for i := range kh {
					for j := range kw {
						wv := w.Data[((oc*c+ic)*kh+i)*kw+j]
						for y := range oh {
							iy := y*a.Strides[0] - a.Pads[0] + i*a.Dilations[0]
							if iy < 0 || iy >= h {
								continue
							}
							row, orow := src[iy*wd:(iy+1)*wd], plane[y*ow:(y+1)*ow]
							for xx := range ow {
								ix := xx*a.Strides[1] - a.Pads[1] + j*a.Dilations[1]
								if ix >= 0 && ix < wd {
									orow[xx] += wv * row[ix]
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

// evalConvTranspose is the adjoint of Conv in its input: x [N,C,H,W], w
// [C,O,kh,kw] and bias [O] give y [N,O,H',W'] with H' = (H-1)*sh - top -
// bottom + dh*(kh-1) + 1 + outputPadding, where each x[n,c,y,x] *
// w[c,o,i,j] adds to y[n,o,y*sh-top+i*dh, x*sw-left+j*dw] when inside.
func evalConvTranspose(n *Node, in []*Tensor) *Tensor {
	x, w := in[0], in[1]
	a := n.attr.(ConvAttr)
	nb, c, h, wd := nchw(x.Shape)
	wc, o, kh, kw := nchw(w.Shape)
	if wc != c {
		panic(kernelError(n, in, "input has %d channels, weight expects %d", c, wc))
	}
	oh := convTransposeOut(h, kh, a.Strides[0], a.Pads[0], a.Pads[2], a.Dilations[0], a.OutputPadding[0])
	ow := convTransposeOut(wd, kw, a.Strides[1], a.Pads[1], a.Pads[3], a.Dilations[1], a.OutputPadding[1])
	if oh < 1 || ow < 1 {
		panic(kernelError(n, in, "empty output"))
	}
	bias := checkBiasLen(n, in, o)
	out := NewTensor(Shape{nb, o, oh, ow})
	for b := range nb {
		for oc := range o {
			plane := out.Data[(b*o+oc)*oh*ow : (b*o+oc+1)*oh*ow]
			if bias != nil {
				for i := range plane {
					plane[i] = bias[oc]
				}
			}
			for ic := range c {
				src := x.Data[(b*c+ic)*h*wd : (b*c+ic+1)*h*wd]
				for i := range kh {
					for j := range kw {
						wv := w.Data[((ic*o+oc)*kh+i)*kw+j]
						for y := range h {
							oy := y*a.Strides[0] - a.Pads[0] + i*a.Dilations[0]
							if oy < 0 || oy >= oh {
								continue
							}
							row, orow := src[y*wd:(y+1)*wd], plane[oy*ow:(oy+1)*ow]
							for xx := range wd {
								ox := xx*a.Strides[1] - a.Pads[1] + j*a.Dilations[1]
								if ox >= 0 && ox < ow {
									orow[ox] += wv * row[xx]
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

// evalConvFilterGrad is the gradient of sum(dy * Conv(x, w)) in w: x
// [N,C,H,W] and dy [N,O,H',W'] give dw [O,C,kh,kw] with dw[o,c,i,j] =
// sum_{n,y,x} dy[n,o,y,x] * x[n,c,y*sh-top+i*dh, x*sw-left+j*dw], zero
// outside x.
func evalConvFilterGrad(n *Node, in []*Tensor) *Tensor {
	x, dy := in[0], in[1]
	a := n.attr.(ConvAttr)
	nb, c, h, wd := nchw(x.Shape)
	nd, o, oh, ow := nchw(dy.Shape)
	kh, kw := a.Kernel[0], a.Kernel[1]
	if nd != nb {
		panic(kernelError(n, in, "batch sizes differ"))
	}
	wantH := convOut(h, kh, a.Strides[0], a.Pads[0], a.Pads[2], a.Dilations[0])
	wantW := convOut(wd, kw, a.Strides[1], a.Pads[1], a.Pads[3], a.Dilations[1])
	if oh != wantH || ow != wantW {
		panic(kernelError(n, in, "output gradient is %dx%d, convolution output %dx%d", oh, ow, wantH, wantW))
	}
	out := NewTensor(Shape{o, c, kh, kw})
	for b := range nb {
		for oc := range o {
			g := dy.Data[(b*o+oc)*oh*ow : (b*o+oc+1)*oh*ow]
			for ic := range c {
				src := x.Data[(b*c+ic)*h*wd : (b*c+ic+1)*h*wd]
				for i := range kh {
					for j := range kw {
						sum := 0.0
						for y := range oh {
							iy := y*a.Strides[0] - a.Pads[0] + i*a.Dilations[0]
							if iy < 0 || iy >= h {
								continue
							}
							row, grow := src[iy*wd:(iy+1)*wd], g[y*ow:(y+1)*ow]
							for xx := range ow {
								ix := xx*a.Strides[1] - a.Pads[1] + j*a.Dilations[1]
								if ix >= 0 && ix < wd {
									sum += grow[xx] * row[ix]
								}
							}
						}
						out.Data[((oc*c+ic)*kh+i)*kw+j] += sum
					}
				}
			}
		}
	}
	return out
}

// evalInstanceNorm normalizes x [N,C,H,W] per sample and channel over H x
// W: (x-mean)/sqrt(var+eps) with the biased variance, then scale[c] and
// bias[c] when given.
func evalInstanceNorm(n *Node, in []*Tensor) *Tensor {
	x := in[0]
	eps := n.attr.(NormAttr).Epsilon
	nb, c, h, wd := nchw(x.Shape)
	var scale, bias []float64
	for k, p := range in[1:] {
		if len(p.Data) != c {
			panic(kernelError(n, in, "scale/bias has %d elements, want %d", len(p.Data), c))
		}
		if k == 0 {
			scale = p.Data
		} else {
			bias = p.Data
		}
	}
	out := NewTensor(x.Shape)
	hw := h * wd
	for b := range nb {
		for ch := range c {
			src := x.Data[(b*c+ch)*hw : (b*c+ch+1)*hw]
			dst := out.Data[(b*c+ch)*hw : (b*c+ch+1)*hw]
			mean := 0.0
			for _, v := range src {
				mean += v
			}
			mean /= float64(hw)
			variance := 0.0
			for _, v := range src {
				variance += (v - mean) * (v - mean)
			}
			variance /= float64(hw)
			inv := 1 / math.Sqrt(variance+eps)
			for i, v := range src {
				y := (v - mean) * inv
				if scale != nil {
					y *= scale[ch]
				}
				if bias != nil {
					y += bias[ch]
				}
				dst[i] = y
			}
		}
	}
	return out
}
