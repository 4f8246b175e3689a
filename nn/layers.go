package nn

import (
	"fmt"
	"strings"

	"github.com/ganrt/ganrt/graph"
)

// Conv2d applies the reference's nn.Conv2d(in, out, k, stride, padding,
// bias) to x [N,in,H,W], declaring weight [out,in,k,k] and (with bias) bias
// [out] in scope s, and returns [N,out,H',W'].
func Conv2d(s *Scope, x *graph.Node, in, out, k int, o graph.ConvOpts, bias bool) *graph.Node {
	fanIn, fanOut := in*k*k, out*k*k
	w := s.Param("weight", graph.Shape{out, in, k, k}, ConvWeight, fanIn, fanOut)
	var b *graph.Node
	if bias {
		b = s.Param("bias", graph.Shape{out}, ConvBias, fanIn, fanOut)
	}
	return graph.Conv(x, w, b, o)
}

// ConvTranspose2d applies the reference's nn.ConvTranspose2d(in, out, k,
// stride, padding, output_padding, bias) to x [N,in,H,W], declaring weight
// [in,out,k,k] and (with bias) bias [out], and returns [N,out,H',W'].
func ConvTranspose2d(s *Scope, x *graph.Node, in, out, k int, o graph.ConvOpts, bias bool) *graph.Node {
	// PyTorch computes fans from weight.size(1) (out) for fan_in.
	fanIn, fanOut := out*k*k, in*k*k
	w := s.Param("weight", graph.Shape{in, out, k, k}, ConvWeight, fanIn, fanOut)
	var b *graph.Node
	if bias {
		b = s.Param("bias", graph.Shape{out}, ConvBias, fanIn, fanOut)
	}
	return graph.ConvTranspose(x, w, b, o)
}

// Norm is a normalization layer choice.
type Norm int

const (
	// NormInstance is nn.InstanceNorm2d(affine=False,
	// track_running_stats=False): no state-dict entries (CycleGAN).
	NormInstance Norm = iota
	// NormBatch is nn.BatchNorm2d(affine=True): weight, bias and running
	// statistics; batch statistics in training, running ones otherwise.
	NormBatch
	// NormNone is an identity layer that still takes its Sequential index.
	NormNone
	// NormInstanceAffine is nn.InstanceNorm2d(affine=True,
	// track_running_stats=True) as StarGAN uses it: weight and bias, plus
	// running statistics that are kept in checkpoints and never used.
	NormInstanceAffine
)

// ParseNorm reads the reference's --norm names: instance, batch, none.
func ParseNorm(s string) (Norm, error) {
	switch strings.ToLower(s) {
	case "instance":
		return NormInstance, nil
	case "batch":
		return NormBatch, nil
	case "none":
		return NormNone, nil
	}
	return 0, fmt.Errorf("unknown norm %q (want instance, batch or none)", s)
}

func (n Norm) String() string {
	return [...]string{"instance", "batch", "none", "instance_affine"}[n]
}

// normEps is PyTorch's default epsilon for instance and batch norm.
const normEps = 1e-5

// ApplyNorm applies norm layer kind to x [N,c,H,W] in scope s.
func ApplyNorm(s *Scope, x *graph.Node, kind Norm, c int) *graph.Node {
	switch kind {
	case NormInstance:
		return graph.InstanceNorm(x, nil, nil, normEps)
	case NormNone:
		return x
	case NormInstanceAffine:
		w := s.Param("weight", graph.Shape{c}, NormWeight, 0, 0)
		b := s.Param("bias", graph.Shape{c}, NormBias, 0, 0)
		s.Buffer("running_mean", graph.Shape{c}, RunningMean)
		s.Buffer("running_var", graph.Shape{c}, RunningVar)
		s.Buffer("num_batches_tracked", graph.Shape{}, BatchesTracked)
		return graph.InstanceNorm(x, w, b, normEps)
	case NormBatch:
		w := s.Param("weight", graph.Shape{c}, NormWeight, 0, 0)
		b := s.Param("bias", graph.Shape{c}, NormBias, 0, 0)
		var mean, variance *graph.Node
		if s.Train {
			s.Buffer("running_mean", graph.Shape{c}, RunningMean)
			s.Buffer("running_var", graph.Shape{c}, RunningVar)
			mean = graph.ReduceMean(x, true, 0, 2, 3)
			xc := graph.Sub(x, mean)
			variance = graph.ReduceMean(graph.Mul(xc, xc), true, 0, 2, 3)
		} else {
			mean = graph.Reshape(s.Param("running_mean", graph.Shape{c}, RunningMean, 0, 0), 1, c, 1, 1)
			variance = graph.Reshape(s.Param("running_var", graph.Shape{c}, RunningVar, 0, 0), 1, c, 1, 1)
		}
		s.Buffer("num_batches_tracked", graph.Shape{}, BatchesTracked)
		scale := graph.Div(graph.Reshape(w, 1, c, 1, 1), graph.Sqrt(graph.AddScalar(variance, normEps)))
		return graph.Add(graph.Mul(graph.Sub(x, mean), scale), graph.Reshape(b, 1, c, 1, 1))
	}
	panic(fmt.Sprintf("nn: unknown norm %d", kind))
}

// DropoutInputPrefix starts the names of the graph inputs that carry
// dropout masks in training graphs.
const DropoutInputPrefix = "dropout/"

// Dropout is nn.Dropout(p). Outside training it is the identity; in
// training it multiplies x by a graph input named DropoutInputPrefix +
// prefix + key path (+ "@" + the scope's Call tag), which the trainer feeds
// with Bernoulli(1-p)/(1-p) masks of x's shape.
func Dropout(s *Scope, x *graph.Node) *graph.Node {
	if !s.Train {
		return x
	}
	name := DropoutInputPrefix + s.prefix + strings.TrimSuffix(s.path, ".")
	if s.Call != "" {
		name += "@" + s.Call
	}
	mask := s.g.Input(name, x.Shape())
	return graph.Mul(x, mask)
}
