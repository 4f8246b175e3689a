package graph

import (
	"fmt"
	"strings"
)

// DType is the element type of a node's value.
type DType int

const (
	// Float32 is the type of every numeric value: images, weights, losses.
	Float32 DType = iota
	// Bool is the type of comparison results, used only as Where conditions.
	Bool
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Bool:
		return "bool"
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// Shape lists the dimensions of a value, outermost first (NCHW for images).
// A negative dimension is dynamic: known only when the graph runs.
type Shape []int

// Rank is the number of dimensions.
func (s Shape) Rank() int { return len(s) }

// Static reports whether every dimension is known.
func (s Shape) Static() bool {
	for _, d := range s {
		if d < 0 {
			return false
		}
	}
	return true
}

// Size is the number of elements, or -1 when a dimension is dynamic.
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// Equal reports whether two shapes have the same dimensions.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy that shares no memory with s.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			parts[i] = "?"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Graph is a set of nodes in creation (and so topological) order, with the
// named inputs and outputs that make it a function. A Graph is not safe for
// concurrent building.
type Graph struct {
	nodes   []*Node
	inputs  []*Node
	byName  map[string]*Node
	outputs []Output
}

// Output is a named result of a graph.
type Output struct {
	Name string
	Node *Node
}

// New returns an empty graph.
func New() *Graph { return &Graph{byName: map[string]*Node{}} }

// Build creates a graph with fn and returns it, converting a shape or
// argument panic raised while building into an error.
func Build(fn func(g *Graph)) (g *Graph, err error) {
	g = New()
	if err := Catch(func() { fn(g) }); err != nil {
		return nil, err
	}
	return g, nil
}

// Catch runs fn and returns the *Error it panicked with, if any. Other
// panics propagate. Code outside this package that builds graphs uses it at
// its own boundary.
func Catch(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	fn()
	return nil
}

// Nodes returns every node in creation order. The slice must not be modified.
func (g *Graph) Nodes() []*Node { return g.nodes }

// Inputs returns the input and parameter nodes in declaration order.
func (g *Graph) Inputs() []*Node { return g.inputs }

// Outputs returns the named outputs in declaration order.
func (g *Graph) Outputs() []Output { return g.outputs }

// Lookup returns the input or parameter with the given name, or nil.
func (g *Graph) Lookup(name string) *Node { return g.byName[name] }

// Output declares n as a result of the graph under name.
func (g *Graph) Output(name string, n *Node) {
	if n.g != g {
		panic(errorf(n, "output %q: node belongs to another graph", name))
	}
	for _, o := range g.outputs {
		if o.Name == name {
			panic(errorf(n, "output %q declared twice", name))
		}
	}
	g.outputs = append(g.outputs, Output{Name: name, Node: n})
}

// Node is one operation and the single tensor value it produces.
type Node struct {
	g      *Graph
	id     int
	op     Op
	inputs []*Node
	attr   any
	shape  Shape
	dtype  DType
}

// ID is the node's index in creation order.
func (n *Node) ID() int { return n.id }

// Op is the operation that produces the node's value.
func (n *Node) Op() Op { return n.op }

// Inputs are the node's operands, in the op's order. Must not be modified.
func (n *Node) Inputs() []*Node { return n.inputs }

// Attr is the op-specific attribute struct (ConvAttr, ReduceAttr, ...) or nil.
func (n *Node) Attr() any { return n.attr }

// Shape is the static shape of the value; negative dimensions are dynamic.
func (n *Node) Shape() Shape { return n.shape }

// DType is the element type of the value.
func (n *Node) DType() DType { return n.dtype }

// Graph is the graph that owns the node.
func (n *Node) Graph() *Graph { return n.g }

// Rank is the number of dimensions of the value.
func (n *Node) Rank() int { return len(n.shape) }

// Name is the declared name of an input or parameter, else "".
func (n *Node) Name() string {
	if a, ok := n.attr.(InputAttr); ok {
		return a.Name
	}
	return ""
}

func (n *Node) String() string {
	if name := n.Name(); name != "" {
		return fmt.Sprintf("%s#%d(%q)%v", n.op, n.id, name, n.shape)
	}
	return fmt.Sprintf("%s#%d%v", n.op, n.id, n.shape)
}

// Error is a graph-building error: an op applied to operands it cannot take.
type Error struct {
	Op     Op
	Shapes []Shape
	Msg    string
}

func (e *Error) Error() string {
	if len(e.Shapes) == 0 {
		return fmt.Sprintf("graph: %s: %s", e.Op, e.Msg)
	}
	parts := make([]string, len(e.Shapes))
	for i, s := range e.Shapes {
		parts[i] = s.String()
	}
	return fmt.Sprintf("graph: %s on %s: %s", e.Op, strings.Join(parts, ", "), e.Msg)
}

func errorf(n *Node, format string, args ...any) *Error {
	return &Error{Op: n.op, Shapes: []Shape{n.shape}, Msg: fmt.Sprintf(format, args...)}
}

// add creates a node of op over inputs, runs the op's shape rule and appends
// it to the graph. It panics with an *Error when the rule rejects the inputs.
func (g *Graph) add(op Op, attr any, inputs ...*Node) *Node {
	def := &opTable[op]
	if len(inputs) < def.minArity || (def.maxArity >= 0 && len(inputs) > def.maxArity) {
		panic(&Error{Op: op, Msg: fmt.Sprintf("takes %s inputs, got %d", def.arityString(), len(inputs))})
	}
	for _, in := range inputs {
		if in == nil {
			panic(&Error{Op: op, Msg: "nil input"})
		}
		if in.g != g {
			panic(&Error{Op: op, Msg: "inputs from different graphs"})
		}
	}
	n := &Node{g: g, id: len(g.nodes), op: op, inputs: inputs, attr: attr}
	shape, dtype, err := def.shape(n)
	if err != nil {
		shapes := make([]Shape, len(inputs))
		for i, in := range inputs {
			shapes[i] = in.shape
		}
		panic(&Error{Op: op, Shapes: shapes, Msg: err.Error()})
	}
	n.shape, n.dtype = shape, dtype
	g.nodes = append(g.nodes, n)
	return n
}

// graphOf returns the graph of the first non-nil node.
func graphOf(nodes ...*Node) *Graph {
	for _, n := range nodes {
		if n != nil {
			return n.g
		}
	}
	panic(&Error{Op: OpInvalid, Msg: "no operands"})
}
