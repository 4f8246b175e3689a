package graph

import "fmt"

// gradRule returns, for node n whose output has adjoint g, the adjoint
// contribution of each input (nil where an input gets none). Rules build
// ordinary nodes, so their results can be differentiated again.
type gradRule func(n, g *Node) []*Node

// noGrad marks an op that is not differentiable (or whose gradient is zero
// everywhere it is defined).
func noGrad(n, g *Node) []*Node { return nil }

// gradRules has one row per op; every row is set (a test walks it). Each
// rule's comment gives the math: y = f(a, b), g = dL/dy -> dL/da, dL/db.
var gradRules = [numOps]gradRule{
	OpInput:          noGrad,
	OpConst:          noGrad,
	OpAdd:            gradAdd,
	OpSub:            gradSub,
	OpMul:            gradMul,
	OpDiv:            gradDiv,
	OpPow:            gradPow,
	OpNeg:            func(n, g *Node) []*Node { return []*Node{Neg(g)} },                                                   // -a -> -g
	OpAbs:            func(n, g *Node) []*Node { return []*Node{Mul(g, Sign(n.inputs[0]))} },                                // |a| -> g*sign(a)
	OpSign:           noGrad,                                                                                                // zero almost everywhere
	OpExp:            func(n, g *Node) []*Node { return []*Node{Mul(g, n)} },                                                // e^a -> g*y
	OpLog:            func(n, g *Node) []*Node { return []*Node{Div(g, n.inputs[0])} },                                      // log a -> g/a
	OpSqrt:           func(n, g *Node) []*Node { return []*Node{Div(MulScalar(g, 0.5), n)} },                                // sqrt a -> g/(2y)
	OpRelu:           func(n, g *Node) []*Node { return []*Node{Where(positive(n.inputs[0]), g, zerosLike(g))} },            // a>0 ? g : 0
	OpLeakyRelu:      gradLeakyRelu,                                                                                         // a>0 ? g : alpha*g
	OpTanh:           func(n, g *Node) []*Node { return []*Node{Mul(g, Sub(n.g.Scalar(1), Mul(n, n)))} },                    // g*(1-y^2)
	OpSigmoid:        func(n, g *Node) []*Node { return []*Node{Mul(g, Mul(n, Sub(n.g.Scalar(1), n)))} },                    // g*y*(1-y)
	OpGreater:        noGrad,                                                                                                // bool
	OpLess:           noGrad,                                                                                                // bool
	OpEqual:          noGrad,                                                                                                // bool
	OpWhere:          gradWhere,                                                                                             // c ? a : b -> -, c?g:0, c?0:g
	OpStopGradient:   noGrad,                                                                                                // by definition
	OpReduceSum:      func(n, g *Node) []*Node { return []*Node{Expand(keepReduced(n, g), n.inputs[0])} },                   // broadcast g back
	OpReduceMean:     gradReduceMean,                                                                                        // broadcast g/count back
	OpReduceMax:      gradReduceMax,                                                                                         // g shared among the maxima
	OpReshape:        func(n, g *Node) []*Node { return []*Node{Reshape(g, reshapeTarget(n.inputs[0].shape)...)} },          // reshape back
	OpTranspose:      func(n, g *Node) []*Node { return []*Node{Transpose(g, invertPerm(n.attr.(TransposeAttr).Perm)...)} }, // inverse permutation
	OpSlice:          gradSlice,                                                                                             // scatter g into zeros
	OpConcat:         gradConcat,                                                                                            // slice g per input
	OpExpand:         func(n, g *Node) []*Node { return []*Node{unbroadcast(g, n.inputs[0]), nil} },                         // sum over broadcast axes
	OpPad:            gradPad,                                                                                               // fold the border back in
	OpMatMul:         gradMatMul,                                                                                            // g@b^T, a^T@g
	OpConv:           gradConv,                                                                                              // convT(g,w), filtergrad(a,g), sum g
	OpConvTranspose:  gradConvTranspose,                                                                                     // conv(g,w), filtergrad(g,a), sum g
	OpConvFilterGrad: gradConvFilterGrad,                                                                                    // convT(dy,g), conv(a,g)
	OpInstanceNorm:   gradInstanceNorm,                                                                                      // see rule
}

// Grad returns the gradients of the scalar sum over i of <seeds[i], ys[i]>
// with respect to each of xs. With nil seeds every y must have one element
// and its seed is 1. The gradients are ordinary nodes of the same graph
// (shape of the matching x), so Grad can be applied to them again. An x that
// does not influence any y gets zeros.
func Grad(ys, xs, seeds []*Node) (grads []*Node, err error) {
	err = Catch(func() { grads = grad(ys, xs, seeds) })
	return grads, err
}

func grad(ys, xs, seeds []*Node) []*Node {
	if len(ys) == 0 || len(xs) == 0 {
		panic(&Error{Op: OpInvalid, Msg: "grad needs outputs and inputs"})
	}
	if seeds != nil && len(seeds) != len(ys) {
		panic(&Error{Op: OpInvalid, Msg: fmt.Sprintf("%d seeds for %d outputs", len(seeds), len(ys))})
	}
	g := graphOf(ys...)
	for _, n := range append(append([]*Node(nil), ys...), xs...) {
		if n == nil || n.g != g {
			panic(&Error{Op: OpInvalid, Msg: "grad operands must be nodes of one graph"})
		}
	}
	// The nodes through which gradient flows: descendants of xs that are
	// ancestors of ys. Ids are topological, so one forward and one backward
	// sweep find them.
	fromX := make([]bool, len(g.nodes))
	for _, x := range xs {
		fromX[x.id] = true
	}
	for _, n := range g.nodes {
		if fromX[n.id] || gradRules[n.op] == nil {
			continue
		}
		for _, in := range n.inputs {
			if fromX[in.id] {
				fromX[n.id] = true
				break
			}
		}
	}
	adj := make(map[int]*Node)
	last := 0
	for i, y := range ys {
		var seed *Node
		if seeds == nil {
			if y.shape.Size() != 1 {
				panic(&Error{Op: y.op, Shapes: []Shape{y.shape}, Msg: "grad without seeds needs outputs with one element"})
			}
			seed = Expand(g.Scalar(1), y)
		} else {
			seed = seeds[i]
			if !compatible(seed.shape, y.shape) {
				panic(&Error{Op: y.op, Shapes: []Shape{y.shape, seed.shape}, Msg: "seed shape differs from output shape"})
			}
		}
		accumulate(adj, y, seed)
		last = max(last, y.id)
	}
	for id := last; id >= 0; id-- {
		n := g.nodes[id]
		a := adj[id]
		if a == nil || !fromX[id] || n.op == OpInput {
			continue
		}
		contribs := gradRules[n.op](n, a)
		for i, c := range contribs {
			if c == nil || !fromX[n.inputs[i].id] {
				continue
			}
			in := n.inputs[i]
			if !compatible(c.shape, in.shape) {
				panic(&Error{Op: n.op, Shapes: []Shape{in.shape, c.shape}, Msg: fmt.Sprintf("gradient rule gave input %d a gradient of another shape", i)})
			}
			accumulate(adj, in, c)
		}
	}
	out := make([]*Node, len(xs))
	for i, x := range xs {
		if a := adj[x.id]; a != nil {
			out[i] = a
		} else {
			out[i] = Expand(g.Scalar(0), x)
		}
	}
	return out
}

func accumulate(adj map[int]*Node, n, g *Node) {
	if prev := adj[n.id]; prev != nil {
		adj[n.id] = Add(prev, g)
	} else {
		adj[n.id] = g
	}
}

// compatible reports whether two shapes can be the same at run time.
func compatible(a, b Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] >= 0 && b[i] >= 0 && a[i] != b[i] {
			return false
		}
	}
	return true
}

// ---- helpers ----

func zerosLike(x *Node) *Node { return Expand(x.g.Scalar(0), x) }

func positive(x *Node) *Node { return Greater(x, x.g.Scalar(0)) }

// unbroadcast sums g over the axes along which x was broadcast, giving x's
// shape: the one place where broadcasting is undone.
func unbroadcast(g, x *Node) *Node {
	if compatible(g.shape, x.shape) {
		return g
	}
	lead := g.Rank() - x.Rank()
	var axes []int
	for i := range g.Rank() {
		if i < lead || (x.shape[i-lead] == 1 && g.shape[i] != 1) {
			axes = append(axes, i)
		}
	}
	s := ReduceSum(g, true, axes...)
	if lead > 0 || !compatible(s.shape, x.shape) {
		s = Reshape(s, reshapeTarget(x.shape)...)
	}
	return s
}

// reshapeTarget turns a shape into a Reshape target, with its one dynamic
// dimension (if any) inferred.
func reshapeTarget(s Shape) []int {
	t := []int(s.Clone())
	dyn := 0
	for i, d := range t {
		if d < 0 {
			t[i] = -1
			dyn++
		}
	}
	if dyn > 1 {
		panic(&Error{Op: OpReshape, Shapes: []Shape{s}, Msg: "gradient needs at most one dynamic dimension"})
	}
	return t
}

// keepReduced reshapes a reduction's adjoint g to the reduction's shape
// with kept (size 1) axes, so that it broadcasts against the input.
func keepReduced(n, g *Node) *Node {
	a := n.attr.(ReduceAttr)
	if a.KeepDims {
		return g
	}
	kept := n.inputs[0].shape.Clone()
	for _, ax := range a.Axes {
		kept[ax] = 1
	}
	return Reshape(g, reshapeTarget(kept)...)
}

func reducedCount(n *Node) int {
	in := n.inputs[0].shape
	count := 1
	for _, ax := range n.attr.(ReduceAttr).Axes {
		if in[ax] < 0 {
			panic(&Error{Op: n.op, Shapes: []Shape{in}, Msg: "gradient of a mean over a dynamic axis"})
		}
		count *= in[ax]
	}
	return count
}

func invertPerm(p []int) []int {
	inv := make([]int, len(p))
	for i, v := range p {
		inv[v] = i
	}
	return inv
}

// ---- rules ----

// a+b -> g, g
func gradAdd(n, g *Node) []*Node {
	return []*Node{unbroadcast(g, n.inputs[0]), unbroadcast(g, n.inputs[1])}
}

// a-b -> g, -g
func gradSub(n, g *Node) []*Node {
	return []*Node{unbroadcast(g, n.inputs[0]), unbroadcast(Neg(g), n.inputs[1])}
}

// a*b -> g*b, g*a
func gradMul(n, g *Node) []*Node {
	a, b := n.inputs[0], n.inputs[1]
	return []*Node{unbroadcast(Mul(g, b), a), unbroadcast(Mul(g, a), b)}
}

// a/b -> g/b, -g*a/b^2
func gradDiv(n, g *Node) []*Node {
	a, b := n.inputs[0], n.inputs[1]
	ga := Div(g, b)
	return []*Node{unbroadcast(ga, a), unbroadcast(Neg(Mul(ga, Div(a, b))), b)}
}

// a^b -> g*b*a^(b-1), g*y*log(a)
func gradPow(n, g *Node) []*Node {
	a, b := n.inputs[0], n.inputs[1]
	ga := Mul(g, Mul(b, Pow(a, AddScalar(b, -1))))
	var gb *Node
	if b.op != OpConst {
		gb = unbroadcast(Mul(g, Mul(n, Log(a))), b)
	}
	return []*Node{unbroadcast(ga, a), gb}
}

// a>0 ? g : alpha*g (PyTorch's choice at a == 0: alpha*g)
func gradLeakyRelu(n, g *Node) []*Node {
	alpha := n.attr.(LeakyReluAttr).Alpha
	return []*Node{Where(positive(n.inputs[0]), g, MulScalar(g, alpha))}
}

// c ? a : b -> none, c ? g : 0, c ? 0 : g
func gradWhere(n, g *Node) []*Node {
	c, a, b := n.inputs[0], n.inputs[1], n.inputs[2]
	z := zerosLike(g)
	return []*Node{nil, unbroadcast(Where(c, g, z), a), unbroadcast(Where(c, z, g), b)}
}

// mean(a) -> broadcast(g)/count
func gradReduceMean(n, g *Node) []*Node {
	scaled := MulScalar(keepReduced(n, g), 1/float64(reducedCount(n)))
	return []*Node{Expand(scaled, n.inputs[0])}
}

// max(a) -> g/k at each of the k positions equal to the maximum, else 0
func gradReduceMax(n, g *Node) []*Node {
	x := n.inputs[0]
	a := n.attr.(ReduceAttr)
	mask := Equal(x, keepReduced(n, n))
	ones := Where(mask, Expand(n.g.Scalar(1), x), zerosLike(x))
	count := ReduceSum(ones, true, a.Axes...)
	share := Div(keepReduced(n, g), count)
	return []*Node{Where(mask, Expand(share, x), zerosLike(x))}
}

// a[start:end:step] -> g scattered back into zeros, axis by axis
func gradSlice(n, g *Node) []*Node {
	x := n.inputs[0]
	a := n.attr.(SliceAttr)
	for i := len(a.Axes) - 1; i >= 0; i-- {
		ax := a.Axes[i]
		dim := x.shape[ax]
		if dim < 0 {
			panic(&Error{Op: n.op, Shapes: []Shape{x.shape}, Msg: "gradient of a slice along a dynamic axis"})
		}
		first, count := sliceRange(dim, a.Starts[i], a.Ends[i], a.Steps[i])
		g = scatterAxis(g, ax, dim, first, count, a.Steps[i])
	}
	return []*Node{g}
}

// scatterAxis places g, which holds count elements taken along axis from
// positions first, first+step, ... of a dimension of size dim, at those
// positions of a zero value of size dim.
func scatterAxis(g *Node, axis, dim, first, count, step int) *Node {
	if count == 0 {
		s := g.shape.Clone()
		s[axis] = dim
		return g.g.Const(NewTensor(s))
	}
	if step < 0 {
		g = reverseAxis(g, axis)
		first += (count - 1) * step
		step = -step
	}
	if step > 1 {
		// Interleave step-1 zeros after each element: [.., count, ..] ->
		// [.., count, step, ..] -> [.., count*step, ..], then trim.
		s := g.shape
		spread := append(append(s[:axis+1].Clone(), 1), s[axis+1:]...)
		g = Reshape(g, reshapeTarget(spread)...)
		pads := make([]int, 2*len(spread))
		pads[len(spread)+axis+1] = step - 1
		g = Pad(g, PadConstant, 0, pads...)
		flat := s.Clone()
		flat[axis] = count * step
		g = Reshape(g, reshapeTarget(flat)...)
		g = Slice(g, axis, 0, (count-1)*step+1, 1)
	}
	covered := (count-1)*step + 1
	pads := make([]int, 2*g.Rank())
	pads[axis] = first
	pads[g.Rank()+axis] = dim - first - covered
	return Pad(g, PadConstant, 0, pads...)
}

// reverseAxis flips x along a static axis.
func reverseAxis(x *Node, axis int) *Node {
	d := x.shape[axis]
	return Slice(x, axis, d-1, -d-1, -1)
}

// concat(a...) -> the matching slice of g for each input
func gradConcat(n, g *Node) []*Node {
	axis := n.attr.(ConcatAttr).Axis
	out := make([]*Node, len(n.inputs))
	off := 0
	for i, in := range n.inputs {
		d := in.shape[axis]
		if d < 0 {
			panic(&Error{Op: n.op, Shapes: []Shape{in.shape}, Msg: "gradient of a concat along a dynamic axis"})
		}
		out[i] = Slice(g, axis, off, off+d, 1)
		off += d
	}
	return out
}

// pad(a) -> the interior of g, plus the border folded back onto the
// elements it copies (reflect, edge), axis by axis. On the last two axes
// the fold is one MatMul with a constant 0/1 matrix (few nodes, which is
// what matters for the many small pads of a ResNet); elsewhere it is built
// from slices.
func gradPad(n, g *Node) []*Node {
	x := n.inputs[0]
	a := n.attr.(PadAttr)
	r := x.Rank()
	for ax := r - 1; ax >= 0; ax-- {
		b, e := a.Pads[ax], a.Pads[r+ax]
		if b == 0 && e == 0 {
			continue
		}
		dim := x.shape[ax]
		if dim < 0 {
			panic(&Error{Op: n.op, Shapes: []Shape{x.shape}, Msg: "gradient of a pad along a dynamic axis"})
		}
		if a.Mode != PadConstant && ax >= r-2 {
			g = foldByMatMul(g, a.Mode, ax == r-1, b, e, dim)
			continue
		}
		mid := Slice(g, ax, b, b+dim, 1)
		switch a.Mode {
		case PadReflect:
			if b > 0 {
				// out[i] = x[b-i] for i < b: x positions b..1
				mid = Add(mid, padAxis(reverseAxis(Slice(g, ax, 0, b, 1), ax), ax, 1, dim-1-b))
			}
			if e > 0 {
				// out[b+dim+j] = x[dim-2-j]: x positions dim-2 down to dim-1-e
				mid = Add(mid, padAxis(reverseAxis(Slice(g, ax, b+dim, End, 1), ax), ax, dim-1-e, 1))
			}
		case PadEdge:
			if b > 0 {
				mid = Add(mid, padAxis(ReduceSum(Slice(g, ax, 0, b, 1), true, ax), ax, 0, dim-1))
			}
			if e > 0 {
				mid = Add(mid, padAxis(ReduceSum(Slice(g, ax, b+dim, End, 1), true, ax), ax, dim-1, 0))
			}
		}
		g = mid
	}
	return []*Node{g}
}

// padSource is the input index that output index i of a reflect or edge
// pad by b before an axis of size dim copies.
func padSource(mode PadMode, i, b, dim int) int {
	j := i - b
	switch {
	case j < 0 && mode == PadReflect:
		return -j
	case j < 0:
		return 0
	case j >= dim && mode == PadReflect:
		return 2*(dim-1) - j
	case j >= dim:
		return dim - 1
	}
	return j
}

// foldByMatMul sums the gradient g of a reflect or edge pad (b before, e
// after) back onto the dim source positions of the last axis (MatMul(g, F))
// or of the second to last (MatMul(F^T, g)), with F[i][src] = 1 when padded
// position i copies position src.
func foldByMatMul(g *Node, mode PadMode, last bool, b, e, dim int) *Node {
	n := dim + b + e
	if last {
		f := NewTensor(Shape{n, dim})
		for i := range n {
			f.Data[i*dim+padSource(mode, i, b, dim)] = 1
		}
		return MatMul(g, g.g.Const(f))
	}
	ft := NewTensor(Shape{dim, n})
	for i := range n {
		ft.Data[padSource(mode, i, b, dim)*n+i] = 1
	}
	return MatMul(g.g.Const(ft), g)
}

// padAxis zero-pads x by before/after along one axis.
func padAxis(x *Node, axis, before, after int) *Node {
	pads := make([]int, 2*x.Rank())
	pads[axis], pads[x.Rank()+axis] = before, after
	return Pad(x, PadConstant, 0, pads...)
}

// transposeLast swaps the last two axes.
func transposeLast(x *Node) *Node {
	perm := make([]int, x.Rank())
	for i := range perm {
		perm[i] = i
	}
	perm[len(perm)-1], perm[len(perm)-2] = perm[len(perm)-2], perm[len(perm)-1]
	return Transpose(x, perm...)
}

// a@b -> g@b^T, a^T@g
func gradMatMul(n, g *Node) []*Node {
	a, b := n.inputs[0], n.inputs[1]
	return []*Node{unbroadcast(MatMul(g, transposeLast(b)), a), unbroadcast(MatMul(transposeLast(a), g), b)}
}

// outputPaddingFor returns the ConvTranspose output padding that maps a
// conv's output size back to its input size in (static) shape want.
func outputPaddingFor(a ConvAttr, from, want Shape, k [2]int) [2]int {
	var op [2]int
	for i := range 2 {
		if from[2+i] < 0 || want[2+i] < 0 {
			panic(&Error{Op: OpConv, Shapes: []Shape{from, want}, Msg: "convolution gradient needs static spatial sizes"})
		}
		op[i] = want[2+i] - convTransposeOut(from[2+i], k[i], a.Strides[i], a.Pads[i], a.Pads[i+2], a.Dilations[i], 0)
	}
	return op
}

func kernelOf(w *Node) [2]int { return [2]int{w.shape[2], w.shape[3]} }

func biasGrad(n, g *Node) *Node {
	if len(n.inputs) < 3 {
		return nil
	}
	return ReduceSum(g, false, 0, 2, 3)
}

// conv(x, w) + b -> convT(g, w), filtergrad(x, g), sum_{n,h,w} g
func gradConv(n, g *Node) []*Node {
	x, w := n.inputs[0], n.inputs[1]
	a := n.attr.(ConvAttr)
	ta := a
	ta.OutputPadding = outputPaddingFor(a, g.shape, x.shape, kernelOf(w))
	fa := a
	fa.Kernel = kernelOf(w)
	return []*Node{ConvTransposeWith(g, w, nil, ta), ConvFilterGrad(x, g, fa), biasGrad(n, g)}
}

// convT(x, w) + b -> conv(g, w), filtergrad(g, x), sum_{n,h,w} g
// (convT is the adjoint of conv, so the roles of input and output swap)
func gradConvTranspose(n, g *Node) []*Node {
	x, w := n.inputs[0], n.inputs[1]
	a := n.attr.(ConvAttr)
	fa := a
	fa.Kernel = kernelOf(w)
	return []*Node{ConvWith(g, w, nil, a), ConvFilterGrad(g, x, fa), biasGrad(n, g)}
}

// filtergrad(x, dy), bilinear in x and dy -> convT(dy, g), conv(x, g)
func gradConvFilterGrad(n, g *Node) []*Node {
	x, dy := n.inputs[0], n.inputs[1]
	a := n.attr.(ConvAttr)
	ta := a
	ta.OutputPadding = outputPaddingFor(a, dy.shape, x.shape, a.Kernel)
	return []*Node{ConvTransposeWith(dy, g, nil, ta), ConvWith(x, g, nil, a)}
}

// y = xhat*s + b with xhat = (x-mean)/sqrt(var+eps) over H x W ->
// dx = rstd*(gs - mean(gs) - xhat*mean(gs*xhat)) with gs = g*s,
// ds = sum_{n,h,w} g*xhat, db = sum_{n,h,w} g.
// Built from primitives so that it can be differentiated again.
func gradInstanceNorm(n, g *Node) []*Node {
	x := n.inputs[0]
	eps := n.attr.(NormAttr).Epsilon
	mean := ReduceMean(x, true, 2, 3)
	xc := Sub(x, mean)
	variance := ReduceMean(Mul(xc, xc), true, 2, 3)
	rstd := Div(n.g.Scalar(1), Sqrt(AddScalar(variance, eps)))
	xhat := Mul(xc, rstd)
	gs := g
	if len(n.inputs) == 3 {
		gs = Mul(g, Reshape(n.inputs[1], 1, -1, 1, 1))
	}
	dx := Mul(rstd, Sub(Sub(gs, ReduceMean(gs, true, 2, 3)), Mul(xhat, ReduceMean(Mul(gs, xhat), true, 2, 3))))
	if len(n.inputs) == 1 {
		return []*Node{dx}
	}
	return []*Node{dx, ReduceSum(Mul(g, xhat), false, 0, 2, 3), ReduceSum(g, false, 0, 2, 3)}
}
