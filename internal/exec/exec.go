// Package exec compiles an IR graph (package graph) into an ONNX Runtime
// session and runs it on float32 buffers owned by Go. It is how training
// steps and the reference-agreement tests run graphs on ORT.
//
// # Compiling
//
// [Compile] serializes the graph with graph.ToONNX (parameters given values
// in Options.Params become initializers; all others, and every input,
// become model inputs) and creates an ort.Session for it. The [Exec] lists
// the model inputs it needs, in the order of the positional API, with
// [Exec.Inputs], and its outputs with [Exec.Outputs]. Graph inputs that no
// output depends on are pruned from the model; feeding them by name is
// accepted and ignored.
//
// # Running and buffer ownership
//
// There are three ways to run, from convenient to fast:
//
//   - [Exec.Run] takes feeds by name and returns new output tensors that
//     the caller owns.
//   - [Exec.RunBuffered] takes inputs by position and returns outputs in
//     buffers that the Exec owns and reuses: they are valid until the next
//     RunBuffered call, which overwrites them. In a steady loop (same input
//     shapes) it allocates no tensor memory.
//   - [Exec.RunInto] takes inputs and outputs by position; the caller owns
//     and sizes every buffer. A training loop that feeds the new parameters
//     of step k to step k+1 keeps two sets of buffers and swaps them, since
//     an output must never share memory with an input of the same run.
//
// A fourth way keeps tensors on the device between runs: [Exec.Bind] binds
// inputs and outputs by name to host buffers or to tensors of a [Resident]
// (device memory shared by several Execs, double-buffered so that a run's
// updates become the next run's inputs without a copy); see Bound.
//
// Inputs are only read. ORT keeps a wrapper for each (buffer, shape) pair it
// has seen, so reusing the same slices across runs is what makes runs cheap;
// see ort.Session.Run.
//
// Run and RunInto are safe for concurrent use under ort.Session's rules;
// RunBuffered is not (its buffers are shared). The creator calls Close.
package exec

import (
	"fmt"
	"slices"
	"sync"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/internal/ort"
)

// Tensor is a row-major float32 tensor: a shape and its data (NCHW for
// images, [batch, channels, height, width]).
type Tensor = ort.Tensor

// Options configures Compile.
type Options struct {
	// Session configures the ORT session: device, threads, optimization.
	Session ort.SessionOptions
	// Params holds values of parameters that become initializers (frozen
	// weights, inference style); see graph.ONNXOptions.Params. Parameters
	// without a value are model inputs fed at every run (training style).
	Params map[string][]float32
	// ConvTranspose and FilterGrad select convolution-gradient lowerings;
	// the zero values are the fastest measured.
	ConvTranspose graph.ConvTransposeLowering
	FilterGrad    graph.FilterGradLowering
	// Opset is the ONNX opset to compile to (0: graph.ONNXOpset).
	Opset int
	// Resident, when not nil, holds the tensors that callers which bind
	// (Exec.Bind; train's steps) keep on the device across the Execs they
	// compile with these options. Compile itself does not use it.
	Resident *Resident
}

// Value is a model input or output: its name and its shape in the graph
// (negative dimensions are dynamic).
type Value struct {
	Name  string
	Shape graph.Shape
}

// Exec is a graph compiled for ORT.
type Exec struct {
	sess    *ort.Session
	model   []byte
	inputs  []Value
	outputs []Value
	index   map[string]int  // model input name -> position
	pruned  map[string]bool // graph inputs not in the model

	mu      sync.Mutex // guards the RunBuffered state below
	inShape [][]int64  // input shapes of the last RunBuffered
	outBuf  []Tensor   // RunBuffered's outputs
}

// Compile exports g to ONNX and loads it into an ORT session. Every output
// and every model input must be float32. The caller calls Close.
func Compile(g *graph.Graph, opts Options) (*Exec, error) {
	for _, o := range g.Outputs() {
		if o.Node.DType() != graph.Float32 {
			return nil, fmt.Errorf("exec: output %q is %v; only float32 outputs can be run", o.Name, o.Node.DType())
		}
	}
	model, err := graph.ToONNX(g, graph.ONNXOptions{
		Params:        opts.Params,
		ConvTranspose: opts.ConvTranspose,
		FilterGrad:    opts.FilterGrad,
		Opset:         opts.Opset,
	})
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	sess, err := ort.NewSession(model, opts.Session)
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	x := &Exec{sess: sess, model: model, index: map[string]int{}, pruned: map[string]bool{}}
	for i, v := range sess.Inputs() {
		n := g.Lookup(v.Name)
		if n == nil {
			sess.Close()
			return nil, fmt.Errorf("exec: internal error: model input %q is not a graph input", v.Name)
		}
		x.inputs = append(x.inputs, Value{Name: v.Name, Shape: n.Shape().Clone()})
		x.index[v.Name] = i
	}
	for _, n := range g.Inputs() {
		if _, ok := x.index[n.Name()]; !ok && opts.Params[n.Name()] == nil {
			x.pruned[n.Name()] = true
		}
	}
	for _, o := range g.Outputs() {
		x.outputs = append(x.outputs, Value{Name: o.Name, Shape: o.Node.Shape().Clone()})
	}
	return x, nil
}

// Close frees the ORT session; it waits for runs in flight.
func (x *Exec) Close() error { return x.sess.Close() }

// Inputs returns the model inputs in positional order, with their graph
// shapes.
func (x *Exec) Inputs() []Value { return cloneValues(x.inputs) }

// Outputs returns the outputs in positional order, with their graph shapes
// (the graph's declared output order).
func (x *Exec) Outputs() []Value { return cloneValues(x.outputs) }

// Model returns the serialized ONNX model; the caller must not modify it.
func (x *Exec) Model() []byte { return x.model }

// Session returns the underlying ORT session (device, provider).
func (x *Exec) Session() *ort.Session { return x.sess }

func cloneValues(vs []Value) []Value {
	out := make([]Value, len(vs))
	for i, v := range vs {
		out[i] = Value{Name: v.Name, Shape: v.Shape.Clone()}
	}
	return out
}

// Run runs the graph on feeds by name. A feed's Shape may be nil when the
// input's graph shape is static. Feeds for graph inputs that the model pruned
// are ignored; a missing feed or an unknown name is an error. The returned
// tensors are new and belong to the caller.
func (x *Exec) Run(feeds map[string]Tensor) (map[string]Tensor, error) {
	inputs := make([]Tensor, len(x.inputs))
	for name, t := range feeds {
		i, ok := x.index[name]
		if !ok {
			if x.pruned[name] {
				continue
			}
			return nil, fmt.Errorf("exec: feed %q is not an input of the model", name)
		}
		inputs[i] = t
	}
	for i, v := range x.inputs {
		if _, ok := feeds[v.Name]; !ok {
			return nil, fmt.Errorf("exec: no feed for input %q %v", v.Name, v.Shape)
		}
		if inputs[i].Shape == nil {
			if !v.Shape.Static() {
				return nil, fmt.Errorf("exec: feed %q needs a shape: the input's shape %v is dynamic", v.Name, v.Shape)
			}
			inputs[i].Shape = toInt64(v.Shape)
		}
	}
	outs, err := x.sess.RunAlloc(inputs)
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	m := make(map[string]Tensor, len(outs))
	for i, o := range outs {
		m[x.outputs[i].Name] = o
	}
	return m, nil
}

// RunInto runs the graph on inputs (in Inputs order) and writes outputs (in
// Outputs order) into the caller's buffers: each output's Shape and Data
// sized to what the graph produces. An output with nil Shape and Data is
// allocated by ORT and set. No output may share memory with an input.
func (x *Exec) RunInto(inputs, outputs []Tensor) error {
	if err := x.sess.Run(inputs, outputs); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}

// RunBuffered runs the graph on inputs (in Inputs order) and returns the
// outputs (in Outputs order) in buffers owned by the Exec. The buffers are
// valid until the next RunBuffered call, which overwrites them; copy what
// must outlive it, and never feed them back as inputs of the next call.
// When the input shapes equal those of the previous call the buffers are
// reused, so a steady loop allocates no tensor memory; otherwise ORT sizes
// new ones. RunBuffered calls are serialized.
func (x *Exec) RunBuffered(inputs []Tensor) ([]Tensor, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	same := x.outBuf != nil && len(inputs) == len(x.inShape)
	for i := 0; same && i < len(inputs); i++ {
		same = slices.Equal(inputs[i].Shape, x.inShape[i])
	}
	if same {
		if err := x.sess.Run(inputs, x.outBuf); err != nil {
			return nil, fmt.Errorf("exec: %w", err)
		}
		return x.outBuf, nil
	}
	x.outBuf, x.inShape = nil, nil
	outs := make([]Tensor, len(x.outputs))
	if err := x.sess.Run(inputs, outs); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	x.outBuf = outs
	x.inShape = make([][]int64, len(inputs))
	for i, t := range inputs {
		x.inShape[i] = slices.Clone(t.Shape)
	}
	return x.outBuf, nil
}

func toInt64(s graph.Shape) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}
