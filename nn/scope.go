package nn

import (
	"fmt"

	"github.com/ganrt/ganrt/graph"
)

// Kind tells what a state-dict entry is, for initialization and for
// telling trainable parameters from buffers.
type Kind int

const (
	// ConvWeight is a Conv [out,in,kh,kw] or ConvTranspose [in,out,kh,kw] weight.
	ConvWeight Kind = iota
	// ConvBias is a convolution bias [out].
	ConvBias
	// NormWeight is a normalization layer's scale [C].
	NormWeight
	// NormBias is a normalization layer's shift [C].
	NormBias
	// RunningMean is a norm layer's running mean [C] (buffer, initially 0).
	RunningMean
	// RunningVar is a norm layer's running variance [C] (buffer, initially 1).
	RunningVar
	// BatchesTracked is a norm layer's int64 scalar counter (buffer, initially 0).
	BatchesTracked
)

// Trainable reports whether entries of this kind are optimized.
func (k Kind) Trainable() bool { return k <= NormBias }

// Entry describes one state-dict entry of a network.
type Entry struct {
	// Name is the state-dict key within its network (model.1.weight).
	Name  string
	Shape graph.Shape
	Kind  Kind
	// FanIn and FanOut are PyTorch's _calculate_fan_in_and_fan_out of the
	// weight that this entry belongs to (biases carry their weight's).
	FanIn, FanOut int
}

// Registry collects the state-dict entries that a network declares, in
// declaration order, which is the reference's state-dict order.
type Registry struct {
	Entries []Entry
	nodes   map[string]*graph.Node
}

// Trainable returns the trainable entries in order.
func (r *Registry) Trainable() []Entry {
	var out []Entry
	for _, e := range r.Entries {
		if e.Kind.Trainable() {
			out = append(out, e)
		}
	}
	return out
}

// NumParams is the total number of trainable parameter elements.
func (r *Registry) NumParams() int {
	n := 0
	for _, e := range r.Trainable() {
		n += e.Shape.Size()
	}
	return n
}

// Node returns the graph node of entry name, or nil for an entry that the
// forward pass does not use (instance-norm running statistics).
func (r *Registry) Node(name string) *graph.Node { return r.nodes[name] }

// Scope declares a network's parameters in a graph under a key prefix. The
// graph node of a parameter is named Prefix+key, so that several networks
// (G_A, G_B, ...) can share one training graph; the registry records the
// bare keys. Declaring the same key twice returns the same node, so a
// network applied twice shares its weights.
type Scope struct {
	g      *graph.Graph
	prefix string // graph-node name prefix, e.g. "G_A/"
	path   string // key path within the network, e.g. "model.10.conv_block."
	reg    *Registry
	// Train selects training behaviour: dropout masks become graph inputs
	// and batch norm uses batch statistics.
	Train bool
	// BatchStats makes batch norm use batch statistics outside training,
	// as PyTorch's train() mode does at test time (the CycleGAN reference's
	// test.py without --eval); dropout stays off and no statistics are
	// reported.
	BatchStats bool
	// Call tags one application of a network in a graph that applies it
	// more than once, so that each application gets its own dropout masks.
	Call string
}

// NewScope returns the root scope of a network whose parameter nodes are
// named prefix+key in g.
func NewScope(g *graph.Graph, prefix string) *Scope {
	return &Scope{g: g, prefix: prefix, reg: &Registry{nodes: map[string]*graph.Node{}}}
}

// Graph is the graph parameters are declared in.
func (s *Scope) Graph() *graph.Graph { return s.g }

// Registry returns what the network has declared so far.
func (s *Scope) Registry() *Registry { return s.reg }

// Prefix is the graph-node name prefix of the network's parameters.
func (s *Scope) Prefix() string { return s.prefix }

// WithCall returns the scope for another application of the same network:
// parameters are shared, dropout masks are tagged with call.
func (s *Scope) WithCall(call string) *Scope {
	c := *s
	c.Call = call
	return &c
}

// Sub returns the scope of a submodule: keys gain "name.".
func (s *Scope) Sub(name any) *Scope {
	c := *s
	c.path = fmt.Sprintf("%s%v.", s.path, name)
	return &c
}

// Param declares (or returns the already declared) entry key of this scope
// as a graph parameter node.
func (s *Scope) Param(key string, shape graph.Shape, kind Kind, fanIn, fanOut int) *graph.Node {
	name := s.path + key
	if n := s.reg.nodes[name]; n != nil {
		if !n.Shape().Equal(shape) {
			panic(&graph.Error{Op: graph.OpInput, Shapes: []graph.Shape{n.Shape(), shape}, Msg: fmt.Sprintf("parameter %q redeclared with another shape", name)})
		}
		return n
	}
	n := s.g.Param(s.prefix+name, shape)
	s.reg.nodes[name] = n
	s.reg.Entries = append(s.reg.Entries, Entry{Name: name, Shape: shape.Clone(), Kind: kind, FanIn: fanIn, FanOut: fanOut})
	return n
}

// Buffer records an entry of this scope that the forward pass does not use.
func (s *Scope) Buffer(key string, shape graph.Shape, kind Kind) {
	name := s.path + key
	for _, e := range s.reg.Entries {
		if e.Name == name {
			return
		}
	}
	s.reg.Entries = append(s.reg.Entries, Entry{Name: name, Shape: shape.Clone(), Kind: kind})
}
