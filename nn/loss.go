package nn

import (
	"fmt"

	"github.com/ganrt/ganrt/graph"
)

// GANMode is the adversarial loss of CycleGAN's GANLoss.
type GANMode int

const (
	// LSGAN is the least-squares loss: mean((pred - target)^2), target 1 or 0.
	LSGAN GANMode = iota
	// Vanilla is binary cross-entropy with logits against 1 or 0.
	Vanilla
	// WGANGP is -mean(pred) for real targets and mean(pred) for fake ones.
	WGANGP
)

// ParseGANMode reads the reference's --gan_mode names.
func ParseGANMode(s string) (GANMode, error) {
	switch s {
	case "lsgan":
		return LSGAN, nil
	case "vanilla":
		return Vanilla, nil
	case "wgangp":
		return WGANGP, nil
	}
	return 0, fmt.Errorf("unknown gan mode %q (want lsgan, vanilla or wgangp)", s)
}

func (m GANMode) String() string { return [...]string{"lsgan", "vanilla", "wgangp"}[m] }

// GANLoss is the reference's GANLoss(mode)(pred, real): a scalar.
func GANLoss(mode GANMode, pred *graph.Node, real bool) *graph.Node {
	target := 0.0
	if real {
		target = 1
	}
	switch mode {
	case LSGAN:
		return MSE(pred, pred.Graph().Scalar(target))
	case Vanilla:
		return BCEWithLogits(pred, pred.Graph().Scalar(target))
	}
	if real {
		return graph.Neg(graph.ReduceMean(pred, false))
	}
	return graph.ReduceMean(pred, false)
}

// MSE is mean((a-b)^2) over every element (b broadcasts).
func MSE(a, b *graph.Node) *graph.Node {
	d := graph.Sub(a, b)
	return graph.ReduceMean(graph.Mul(d, d), false)
}

// L1 is mean(|a-b|) over every element.
func L1(a, b *graph.Node) *graph.Node {
	return graph.ReduceMean(graph.Abs(graph.Sub(a, b)), false)
}

// bceElements is PyTorch's stable binary cross-entropy with logits per
// element: max(x,0) - x*t + log(1 + exp(-|x|)).
func bceElements(x, t *graph.Node) *graph.Node {
	softplus := graph.Log(graph.AddScalar(graph.Exp(graph.Neg(graph.Abs(x))), 1))
	return graph.Add(graph.Sub(graph.Relu(x), graph.Mul(x, t)), softplus)
}

// BCEWithLogits is the mean over every element of binary cross-entropy
// with logits x against targets t (t broadcasts).
func BCEWithLogits(x, t *graph.Node) *graph.Node {
	return graph.ReduceMean(bceElements(x, t), false)
}

// BCEWithLogitsSum is StarGAN's multi-label classification loss: the sum of
// binary cross-entropy with logits over all elements of x [N,C] against t,
// divided by N.
func BCEWithLogitsSum(x, t *graph.Node) *graph.Node {
	return graph.MulScalar(graph.ReduceSum(bceElements(x, t), false), 1/float64(x.Shape()[0]))
}

// CrossEntropy is the mean over the batch of -sum_c t[n,c] * log_softmax(x)[n,c]
// for logits x [N,C] and one-hot (or probability) targets t [N,C]; with
// one-hot targets it is PyTorch's cross_entropy with class indices.
func CrossEntropy(x, t *graph.Node) *graph.Node {
	m := graph.StopGradient(graph.ReduceMax(x, true, 1))
	shifted := graph.Sub(x, m)
	logSum := graph.Log(graph.ReduceSum(graph.Exp(shifted), true, 1))
	logSoftmax := graph.Sub(shifted, logSum)
	perSample := graph.Neg(graph.ReduceSum(graph.Mul(t, logSoftmax), false, 1))
	return graph.ReduceMean(perSample, false)
}
