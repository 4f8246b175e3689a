// Package train trains CycleGAN and StarGAN. Each training step (forward,
// losses, gradients by graph.Grad, Adam) is one IR graph, serialized to ONNX
// and run by ONNX Runtime through internal/exec. Parameters and optimizer
// state live in Go buffers that are reused across steps, or, on a GPU, in
// device memory (an exec.Resident) between steps, with only the batch going
// up and losses and images coming down (see Step). Go owns the data,
// randomness, image pool, schedules, checkpoints and logs.
package train

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/internal/exec"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
)

// Net is one network under training: its spec, the prefix of its nodes in
// step graphs ("G_A/") and its current values by state-dict key (buffers
// included).
type Net struct {
	Name   string
	Spec   models.Spec
	Reg    *nn.Registry
	Values map[string][]float32
}

// NewNet registers a network of spec under name, with initial values.
func NewNet(name string, spec models.Spec, values map[string][]float32) (*Net, error) {
	reg, err := spec.Registry()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, e := range reg.Entries {
		if v, ok := values[e.Name]; !ok || len(v) != e.Shape.Size() {
			return nil, fmt.Errorf("%s: no initial value of size %d for %s", name, e.Shape.Size(), e.Name)
		}
	}
	return &Net{Name: name, Spec: spec, Reg: reg, Values: values}, nil
}

// Prefix is the graph-name prefix of the net's parameters.
func (n *Net) Prefix() string { return n.Name + "/" }

// Scope returns a training scope for the net in g; declare each net once
// per graph and use WithCall for further applications.
func (n *Net) Scope(g *graph.Graph) *nn.Scope {
	s := nn.NewScope(g, n.Prefix())
	s.Train = true
	return s
}

// Optimizer is Adam over the trainable parameters of some nets, with its
// moments in Go buffers keyed by graph parameter name.
type Optimizer struct {
	// Name prefixes the optimizer's graph inputs ("opt_G").
	Name string
	Adam nn.Adam
	Nets []*Net
	// Step counts the updates done (PyTorch's state step).
	Step int
	M, V map[string][]float32
}

// NewOptimizer returns an optimizer with zero moments.
func NewOptimizer(name string, adam nn.Adam, nets ...*Net) *Optimizer {
	o := &Optimizer{Name: name, Adam: adam, Nets: nets, M: map[string][]float32{}, V: map[string][]float32{}}
	for _, n := range nets {
		for _, e := range n.Reg.Trainable() {
			o.M[n.Prefix()+e.Name] = make([]float32, e.Shape.Size())
			o.V[n.Prefix()+e.Name] = make([]float32, e.Shape.Size())
		}
	}
	return o
}

// Graph-name conventions of step graphs.
const (
	newPrefix  = "new/"
	mPrefix    = "adam_m/"
	vPrefix    = "adam_v/"
	newMPrefix = "new_m/"
	newVPrefix = "new_v/"
	gradPrefix = "grad/"
	lossPrefix = "loss/"
)

// addUpdate appends the optimizer's Adam update of every trainable
// parameter of its nets (declared in g) for the scalar loss, and declares
// the outputs new/, new_m/ and new_v/ of each. With grads it also outputs
// each gradient under grad/ (for parity tests).
func (o *Optimizer) addUpdate(g *graph.Graph, loss *graph.Node, grads bool) error {
	var params []*graph.Node
	for _, n := range o.Nets {
		for _, e := range n.Reg.Trainable() {
			p := g.Lookup(n.Prefix() + e.Name)
			if p == nil {
				return fmt.Errorf("%s: parameter %s is not in the step graph", o.Name, n.Prefix()+e.Name)
			}
			params = append(params, p)
		}
	}
	gs, err := graph.Grad([]*graph.Node{loss}, params, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", o.Name, err)
	}
	return graph.Catch(func() {
		stepSize := g.Input(o.Name+"/step_size", graph.Shape{})
		bc2 := g.Input(o.Name+"/bc2_sqrt", graph.Shape{})
		for i, p := range params {
			name := p.Name()
			m := g.Input(mPrefix+name, p.Shape())
			v := g.Input(vPrefix+name, p.Shape())
			np, nm, nv := o.Adam.Update(p, gs[i], m, v, stepSize, bc2)
			g.Output(newPrefix+name, np)
			g.Output(newMPrefix+name, nm)
			g.Output(newVPrefix+name, nv)
			if grads {
				g.Output(gradPrefix+name, gs[i])
			}
		}
	})
}

// Step is a compiled step graph with the Go buffers it reads and writes.
//
// When compiled with exec.Options.Resident, the trainable parameters and
// Adam moments that the step reads and updates live in that Resident on
// the device instead: every step of a run reads and updates them there,
// the Go buffers in Net.Values and Optimizer.M/V keep the values they had
// when first compiled until syncHost downloads the current ones, and only
// Data, the optimizer scalars, non-trainable buffers and Out cross.
type Step struct {
	x    *exec.Exec
	nets map[string]*Net // by prefix
	opts []*Optimizer
	// Data holds the buffers of data inputs (images, labels, masks) by
	// name; the caller fills them before Run.
	Data map[string][]float32
	// Out holds the buffers of outputs that are not parameter updates
	// (losses, images, gradients, norm statistics) by name, valid after Run.
	Out map[string][]float32
	// spare holds the second buffer of each double-buffered tensor.
	spare       map[string][]float32
	ins, outs   []exec.Tensor
	scalarFeeds map[string][]float32
	// norms lists the train-mode net applications whose norm statistics
	// Run folds into the running statistics, in order (see trackNorms);
	// normTracked tells that the order was set, normStats that the graph
	// has norm-statistics outputs.
	norms                  []normCall
	normTracked, normStats bool
	// bound runs the step through I/O binding with the parameters and
	// moments resident on the device; nil when they live in Go buffers.
	bound *exec.Bound
}

// Compile compiles a step graph for ORT. nets are the networks whose
// parameters appear in g; opts are the optimizers whose updates it outputs.
func Compile(g *graph.Graph, nets []*Net, opts []*Optimizer, eo exec.Options) (*Step, error) {
	x, err := exec.Compile(g, eo)
	if err != nil {
		return nil, err
	}
	s := newStep(nets, opts)
	s.x = x
	for _, in := range x.Inputs() {
		if s.source(in.Name) == nil {
			if !in.Shape.Static() {
				x.Close()
				return nil, fmt.Errorf("step input %s has dynamic shape %v", in.Name, in.Shape)
			}
			s.Data[in.Name] = make([]float32, in.Shape.Size())
		}
	}
	for _, out := range x.Outputs() {
		if !out.Shape.Static() {
			x.Close()
			return nil, fmt.Errorf("step output %s has dynamic shape %v", out.Name, out.Shape)
		}
		size := out.Shape.Size()
		s.normStats = s.normStats || strings.HasPrefix(out.Name, nn.NormStatPrefix)
		if target := s.target(out.Name); target != nil {
			s.spare[out.Name] = make([]float32, size)
		} else {
			s.Out[out.Name] = make([]float32, size)
		}
	}
	s.ins = make([]exec.Tensor, len(x.Inputs()))
	s.outs = make([]exec.Tensor, len(x.Outputs()))
	if eo.Resident != nil {
		if err := s.bindResident(eo.Resident); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// newStep returns a Step of nets and opts without a compiled graph.
func newStep(nets []*Net, opts []*Optimizer) *Step {
	s := &Step{nets: map[string]*Net{}, opts: opts, Data: map[string][]float32{},
		Out: map[string][]float32{}, spare: map[string][]float32{}, scalarFeeds: map[string][]float32{}}
	for _, n := range nets {
		s.nets[n.Prefix()] = n
	}
	for _, o := range opts {
		s.scalarFeeds[o.Name+"/step_size"] = []float32{0}
		s.scalarFeeds[o.Name+"/bc2_sqrt"] = []float32{0}
	}
	return s
}

// bindResident binds the step's inputs and outputs by role: trainable
// parameters and moments, and the outputs that update them, to tensors of r
// (named by the input they feed); everything else to its Go buffer.
func (s *Step) bindResident(r *exec.Resident) error {
	bd, err := s.x.Bind(r)
	if err != nil {
		return err
	}
	s.bound = bd
	for _, in := range s.x.Inputs() {
		shape := shape64(in.Shape)
		buf := s.source(in.Name)
		switch {
		case s.residentInput(in.Name):
			if err := r.Add(in.Name, shape, buf); err != nil {
				return err
			}
			err = bd.ResidentInput(in.Name, in.Name)
		case buf != nil:
			err = bd.Input(in.Name, exec.Tensor{Shape: shape, Data: buf})
		default:
			err = bd.Input(in.Name, exec.Tensor{Shape: shape, Data: s.Data[in.Name]})
		}
		if err != nil {
			return err
		}
	}
	for _, out := range s.x.Outputs() {
		shape := shape64(out.Shape)
		if key := updatedInput(out.Name); key != "" {
			if err := r.Add(key, shape, s.target(out.Name)); err != nil {
				return err
			}
			err = bd.ResidentOutput(out.Name, key)
		} else {
			err = bd.Output(out.Name, exec.Tensor{Shape: shape, Data: s.Out[out.Name]})
		}
		if err != nil {
			return err
		}
	}
	// The host spares are not used: the device double-buffers.
	clear(s.spare)
	return nil
}

// residentInput reports whether input name is a trainable parameter or an
// Adam moment (what step outputs update), rather than data, a buffer that
// the Go side updates (running statistics) or an optimizer scalar.
func (s *Step) residentInput(name string) bool {
	if _, ok := s.scalarFeeds[name]; ok || s.source(name) == nil {
		return false
	}
	if strings.HasPrefix(name, mPrefix) || strings.HasPrefix(name, vPrefix) {
		return true
	}
	net, key := s.param(name)
	if net == nil {
		return false
	}
	for _, e := range net.Reg.Trainable() {
		if e.Name == key {
			return true
		}
	}
	return false
}

// updatedInput returns the input that output name replaces (new/X -> X,
// new_m/X -> adam_m/X, new_v/X -> adam_v/X), or "" for plain outputs.
func updatedInput(name string) string {
	for _, p := range [][2]string{{newPrefix, ""}, {newMPrefix, mPrefix}, {newVPrefix, vPrefix}} {
		if rest, ok := strings.CutPrefix(name, p[0]); ok {
			return p[1] + rest
		}
	}
	return ""
}

// Traffic returns the bytes the step's runs moved between Go buffers and
// ORT (on a GPU, across the bus) through I/O binding: zero runs when the
// step does not bind.
func (s *Step) Traffic() exec.Traffic {
	if s.bound == nil {
		return exec.Traffic{}
	}
	return s.bound.Traffic()
}

// Close frees the binding and the ORT session.
func (s *Step) Close() error {
	if s.bound != nil {
		s.bound.Close()
	}
	return s.x.Close()
}

// source returns the live buffer that feeds input name: a parameter, an
// Adam moment or an optimizer scalar; nil for data inputs.
func (s *Step) source(name string) []float32 {
	if v, ok := s.scalarFeeds[name]; ok {
		return v
	}
	for _, p := range []struct {
		prefix string
		m      func(*Optimizer) map[string][]float32
	}{{mPrefix, func(o *Optimizer) map[string][]float32 { return o.M }}, {vPrefix, func(o *Optimizer) map[string][]float32 { return o.V }}} {
		if rest, ok := strings.CutPrefix(name, p.prefix); ok {
			for _, o := range s.opts {
				if v, ok := p.m(o)[rest]; ok {
					return v
				}
			}
			return nil
		}
	}
	if net, key := s.param(name); net != nil {
		return net.Values[key]
	}
	return nil
}

// param splits a parameter's graph name into its net and key.
func (s *Step) param(name string) (*Net, string) {
	prefix, key, ok := strings.Cut(name, "/")
	if !ok {
		return nil, ""
	}
	return s.nets[prefix+"/"], key
}

// target returns the live buffer that output name updates (the parameter or
// moment it replaces), or nil for plain outputs.
func (s *Step) target(name string) []float32 {
	if key := updatedInput(name); key != "" {
		return s.source(key)
	}
	return nil
}

// setTarget replaces the live buffer behind output name by buf.
func (s *Step) setTarget(name string, buf []float32) {
	if rest, ok := strings.CutPrefix(name, newMPrefix); ok {
		s.setMoment(rest, buf, func(o *Optimizer) map[string][]float32 { return o.M })
		return
	}
	if rest, ok := strings.CutPrefix(name, newVPrefix); ok {
		s.setMoment(rest, buf, func(o *Optimizer) map[string][]float32 { return o.V })
		return
	}
	rest, _ := strings.CutPrefix(name, newPrefix)
	net, key := s.param(rest)
	net.Values[key] = buf
}

func (s *Step) setMoment(name string, buf []float32, m func(*Optimizer) map[string][]float32) {
	for _, o := range s.opts {
		if _, ok := m(o)[name]; ok {
			m(o)[name] = buf
			return
		}
	}
}

// Run runs one step at learning rates lrs (one per optimizer, in Compile
// order): it feeds the current parameters, moments and Data, then swaps in
// the updated parameters and moments, advances each optimizer's step and
// updates the running statistics of the norm layers (see trackNorms).
func (s *Step) Run(lrs ...float64) error {
	if len(lrs) != len(s.opts) {
		return fmt.Errorf("step: %d learning rates for %d optimizers", len(lrs), len(s.opts))
	}
	if s.normStats && !s.normTracked {
		return fmt.Errorf("step: the graph reports norm statistics but no update order was set")
	}
	for i, o := range s.opts {
		sc := o.Adam.Scalars(lrs[i], o.Step+1)
		s.scalarFeeds[o.Name+"/step_size"][0] = float32(sc.StepSize)
		s.scalarFeeds[o.Name+"/bc2_sqrt"][0] = float32(sc.BC2Sqrt)
	}
	if s.bound != nil {
		if err := s.bound.Run(); err != nil {
			return err
		}
		s.finish()
		return nil
	}
	for i, in := range s.x.Inputs() {
		buf := s.source(in.Name)
		if buf == nil {
			buf = s.Data[in.Name]
		}
		s.ins[i] = exec.Tensor{Shape: shape64(in.Shape), Data: buf}
	}
	for i, out := range s.x.Outputs() {
		buf := s.spare[out.Name]
		if buf == nil {
			buf = s.Out[out.Name]
		}
		s.outs[i] = exec.Tensor{Shape: shape64(out.Shape), Data: buf}
	}
	if err := s.x.RunInto(s.ins, s.outs); err != nil {
		return err
	}
	for _, out := range s.x.Outputs() {
		if spare, ok := s.spare[out.Name]; ok {
			s.spare[out.Name] = s.target(out.Name)
			s.setTarget(out.Name, spare)
		}
	}
	s.finish()
	return nil
}

// finish ends a run: it advances each optimizer's step and updates the
// running statistics.
func (s *Step) finish() {
	for _, o := range s.opts {
		o.Step++
	}
	s.updateRunningStats()
}

// normMomentum is PyTorch's default momentum of BatchNorm2d and
// InstanceNorm2d: running = (1-momentum)*running + momentum*statistic.
const normMomentum = 0.1

// normCall is one train-mode application of a net in a step graph, named by
// its scope's Call tag. For each of the net's norm layers that track
// running statistics, the step outputs the application's statistics under
// nn.NormStatName(net prefix, layer, call, "mean" / "var").
type normCall struct {
	net  *Net
	call string
}

// normLayers returns the key paths ("model.2") of the net's norm layers
// that have running statistics, in state-dict order.
func (n *Net) normLayers() []string {
	var out []string
	for _, e := range n.Reg.Entries {
		if e.Kind == nn.RunningMean {
			out = append(out, strings.TrimSuffix(e.Name, ".running_mean"))
		}
	}
	return out
}

// countsBatches reports whether the net's norm layers are BatchNorm2d, which
// increments num_batches_tracked on every train-mode forward (InstanceNorm2d
// leaves it alone).
func (n *Net) countsBatches() bool {
	norm, err := nn.ParseNorm(n.Spec.Norm)
	return err == nil && norm == nn.NormBatch
}

// trackNorms sets the order in which Run, after each run, updates running
// statistics: calls in the order the reference executes them, since each
// update starts from the running statistics the previous application of
// the same net left. Every norm-statistics output of the graph must belong
// to exactly one of calls, and every call must have the outputs of each of
// its net's tracked norm layers.
func (s *Step) trackNorms(calls ...normCall) error {
	used := map[string]bool{}
	for _, c := range calls {
		for _, layer := range c.net.normLayers() {
			for _, stat := range []string{"mean", "var"} {
				name := nn.NormStatName(c.net.Prefix(), layer, c.call, stat)
				if _, ok := s.Out[name]; !ok {
					return fmt.Errorf("step: no output %s for the running statistics of %s", name, c.net.Name)
				}
				if used[name] {
					return fmt.Errorf("step: %s@%s is listed twice", c.net.Name, c.call)
				}
				used[name] = true
			}
		}
	}
	for name := range s.Out {
		if strings.HasPrefix(name, nn.NormStatPrefix) && !used[name] {
			return fmt.Errorf("step: output %s belongs to no listed application", name)
		}
	}
	s.norms, s.normTracked = calls, true
	return nil
}

// updateRunningStats folds the statistics of the last run into each net's
// running_mean and running_var (and counts num_batches_tracked for batch
// norm), application by application in the order trackNorms set. The
// arithmetic is in float64, as PyTorch's CPU kernels do it.
func (s *Step) updateRunningStats() {
	for _, c := range s.norms {
		for _, layer := range c.net.normLayers() {
			mean := s.Out[nn.NormStatName(c.net.Prefix(), layer, c.call, "mean")]
			variance := s.Out[nn.NormStatName(c.net.Prefix(), layer, c.call, "var")]
			rm, rv := c.net.Values[layer+".running_mean"], c.net.Values[layer+".running_var"]
			for i := range rm {
				rm[i] = float32(normMomentum*float64(mean[i]) + (1-normMomentum)*float64(rm[i]))
				rv[i] = float32(normMomentum*float64(variance[i]) + (1-normMomentum)*float64(rv[i]))
			}
			if c.net.countsBatches() {
				c.net.Values[layer+".num_batches_tracked"][0]++
			}
		}
	}
}

func shape64(s graph.Shape) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

// EnvResident is the environment variable that says where a run keeps its
// parameters and Adam moments: "1" in device memory (an exec.Resident; on
// the CPU that is memory ORT allocated, for tests), "0" in Go buffers; unset
// or "auto" keeps them on the device for GPU devices only.
const EnvResident = "GANRT_RESIDENT"

// execOptions initializes ONNX Runtime and returns the compile options of a
// run's step graphs on device with threads intra-op threads: with a
// Resident (see EnvResident) that the run closes with stepPairs.CloseWith.
func execOptions(device string, threads int, logger *slog.Logger) (exec.Options, error) {
	d, err := ort.ParseDevice(device)
	if err != nil {
		return exec.Options{}, err
	}
	if err := ort.InitWith(ort.Libraries{GPU: d.Kind != ort.KindCPU}); err != nil {
		return exec.Options{}, err
	}
	eo := exec.Options{Session: ort.SessionOptions{Device: d, IntraOpThreads: threads, Logger: logger, NoMemPattern: true}}
	mode := os.Getenv(EnvResident)
	switch mode {
	case "0":
		return eo, nil
	case "", "auto", "1":
	default:
		return exec.Options{}, fmt.Errorf("$%s=%q: want 0, 1 or auto", EnvResident, mode)
	}
	if mode != "1" && d.Kind == ort.KindCPU {
		return eo, nil
	}
	r, err := exec.NewResident(eo.Session)
	if err != nil {
		return exec.Options{}, err
	}
	if mode != "1" && r.Device().Kind == ort.KindCPU { // auto fell back
		r.Close()
		return eo, nil
	}
	eo.Session.Device = r.Device() // the steps run where the tensors are
	eo.Resident = r
	return eo, nil
}

// syncHost copies the resident parameters and moments of a run (if any)
// into their Go buffers, for a checkpoint or a sample.
func syncHost(eo exec.Options) error { return eo.Resident.Download() }

// stepPairs caches a run's two compiled steps per batch shape.
type stepPairs map[[4]int][2]*Step

// Close closes every compiled step.
func (p stepPairs) Close() {
	for _, s := range p {
		s[0].Close()
		s[1].Close()
	}
}

// CloseWith closes every compiled step, then the run's resident tensors
// (nil: none).
func (p stepPairs) CloseWith(r *exec.Resident) {
	p.Close()
	r.Close()
}
