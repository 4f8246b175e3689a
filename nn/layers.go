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
	// statistics; batch statistics in training (and with Scope.BatchStats),
	// running ones otherwise.
	// In training each application also reports its batch statistics
	// (NormStatName) for the trainer's running-statistics update.
	NormBatch
	// NormNone is an identity layer that still takes its Sequential index.
	NormNone
	// NormInstanceAffine is nn.InstanceNorm2d(affine=True,
	// track_running_stats=True) as StarGAN uses it: weight and bias, plus
	// running statistics that are kept in checkpoints and never used in the
	// forward pass. In training each application reports its statistics
	// (NormStatName), as PyTorch still updates the running ones in train().
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
		if s.Train {
			// PyTorch updates the running statistics with the per-image
			// statistics averaged over the batch.
			mean := graph.ReduceMean(x, true, 2, 3)
			xc := graph.Sub(x, mean)
			variance := graph.ReduceMean(graph.Mul(xc, xc), true, 2, 3)
			s.normStats(graph.ReduceMean(mean, false, 0, 2, 3), graph.ReduceMean(variance, false, 0, 2, 3),
				unbiasing(x, 2, 3))
		}
		return graph.InstanceNorm(x, w, b, normEps)
	case NormBatch:
		w := s.Param("weight", graph.Shape{c}, NormWeight, 0, 0)
		b := s.Param("bias", graph.Shape{c}, NormBias, 0, 0)
		var mean, variance *graph.Node
		if s.Train || s.BatchStats {
			s.Buffer("running_mean", graph.Shape{c}, RunningMean)
			s.Buffer("running_var", graph.Shape{c}, RunningVar)
			mean = graph.ReduceMean(x, true, 0, 2, 3)
			xc := graph.Sub(x, mean)
			variance = graph.ReduceMean(graph.Mul(xc, xc), true, 0, 2, 3)
			if s.Train {
				s.normStats(graph.Reshape(mean, c), graph.Reshape(variance, c), unbiasing(x, 0, 2, 3))
			}
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

// NormStatPrefix starts the names of the outputs by which a training graph
// reports, for each train-mode application of a norm layer that tracks
// running statistics (NormBatch, NormInstanceAffine), the statistics that
// PyTorch folds into running_mean and running_var; see NormStatName.
const NormStatPrefix = "bnstat/"

// NormStatName names output stat of one train-mode application of a norm
// layer: NormStatPrefix + the network's graph prefix + the layer's key path
// (+ "@" + the scope's Call tag, when it has one) + "/" + stat, as in
// "bnstat/G_A/model.2@fake_B/mean". stat is "mean" (the per-channel mean,
// [C]) or "var" (the per-channel unbiased variance, [C]). For NormBatch they
// are the batch statistics over N, H and W; for NormInstanceAffine the
// per-image statistics over H and W, averaged over the batch.
func NormStatName(prefix, layer, call, stat string) string {
	name := NormStatPrefix + prefix + layer
	if call != "" {
		name += "@" + call
	}
	return name + "/" + stat
}

// normStats declares the outputs of a train-mode norm application: mean
// and biased variance [C], the latter scaled by unbias = n/(n-1).
func (s *Scope) normStats(mean, biasedVar *graph.Node, unbias float64) {
	layer := strings.TrimSuffix(s.path, ".")
	s.g.Output(NormStatName(s.prefix, layer, s.Call, "mean"), mean)
	s.g.Output(NormStatName(s.prefix, layer, s.Call, "var"), graph.MulScalar(biasedVar, unbias))
}

// unbiasing is n/(n-1) for the n elements of x over axes, the factor that
// turns a biased variance into PyTorch's unbiased one. Like PyTorch, it
// refuses n = 1 (and needs static sizes).
func unbiasing(x *graph.Node, axes ...int) float64 {
	n := 1
	for _, a := range axes {
		if x.Shape()[a] < 0 {
			panic(&graph.Error{Op: graph.OpReduceMean, Shapes: []graph.Shape{x.Shape()},
				Msg: "norm statistics in training need static shapes"})
		}
		n *= x.Shape()[a]
	}
	if n <= 1 {
		panic(&graph.Error{Op: graph.OpReduceMean, Shapes: []graph.Shape{x.Shape()},
			Msg: fmt.Sprintf("norm statistics in training need more than one value per channel (got %d)", n)})
	}
	return float64(n) / float64(n-1)
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
