package nn

import (
	"math"

	"github.com/ganrt/ganrt/graph"
)

// Adam holds PyTorch's Adam hyperparameters (torch.optim.Adam without weight
// decay or amsgrad).
type Adam struct {
	Beta1, Beta2, Eps float64
}

// DefaultAdam is the references' setting: betas (0.5, 0.999), eps 1e-8.
var DefaultAdam = Adam{Beta1: 0.5, Beta2: 0.999, Eps: 1e-8}

// AdamScalars are the per-step scalars of an update, computed on the Go side
// in float64 exactly as PyTorch computes them in Python floats, and fed to
// the step graph so that a learning-rate schedule needs no rebuild.
type AdamScalars struct {
	// StepSize is lr / (1 - beta1^t).
	StepSize float64
	// BC2Sqrt is sqrt(1 - beta2^t).
	BC2Sqrt float64
}

// Scalars returns the scalars of update number t (counted from 1) at
// learning rate lr.
func (a Adam) Scalars(lr float64, t int) AdamScalars {
	return AdamScalars{
		StepSize: lr / (1 - math.Pow(a.Beta1, float64(t))),
		BC2Sqrt:  math.Sqrt(1 - math.Pow(a.Beta2, float64(t))),
	}
}

// Update builds one Adam step for parameter p with gradient g and moments m
// and v (all of p's shape); stepSize and bc2Sqrt are scalar nodes fed with
// AdamScalars. It returns the new parameter and moments:
//
//	m' = b1*m + (1-b1)*g
//	v' = b2*v + (1-b2)*g*g
//	p' = p - stepSize * m' / (sqrt(v')/bc2Sqrt + eps)
func (a Adam) Update(p, g, m, v, stepSize, bc2Sqrt *graph.Node) (newP, newM, newV *graph.Node) {
	newM = graph.Add(graph.MulScalar(m, a.Beta1), graph.MulScalar(g, 1-a.Beta1))
	newV = graph.Add(graph.MulScalar(v, a.Beta2), graph.MulScalar(graph.Mul(g, g), 1-a.Beta2))
	denom := graph.AddScalar(graph.Div(graph.Sqrt(newV), bc2Sqrt), a.Eps)
	newP = graph.Sub(p, graph.Mul(stepSize, graph.Div(newM, denom)))
	return newP, newM, newV
}
