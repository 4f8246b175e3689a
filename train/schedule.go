package train

import (
	"fmt"
	"math"
)

// LRPolicy is CycleGAN's --lr_policy: the learning-rate factor by epoch.
type LRPolicy struct {
	// Name is linear, step or cosine.
	Name string
	// Epochs is n_epochs (constant phase, or cosine period); EpochsDecay is
	// n_epochs_decay (linear decay length).
	Epochs, EpochsDecay int
	// DecayIters is lr_decay_iters for step (the epoch step, default 50).
	DecayIters int
}

// Factor returns the multiplier of the initial learning rate during epoch
// e (counted from 1), as the reference's schedulers compute it.
func (p LRPolicy) Factor(e int) (float64, error) {
	switch p.Name {
	case "linear":
		// LambdaLR with 1 - max(0, e - n_epochs) / (n_epochs_decay + 1).
		return 1 - float64(max(0, e-p.Epochs))/float64(p.EpochsDecay+1), nil
	case "step":
		// StepLR(step_size=lr_decay_iters, gamma=0.1), stepped per epoch.
		return math.Pow(0.1, float64((e-1)/max(p.DecayIters, 1))), nil
	case "cosine":
		// CosineAnnealingLR(T_max=n_epochs, eta_min=0), stepped per epoch.
		return (1 + math.Cos(math.Pi*float64(e-1)/float64(max(p.Epochs, 1)))) / 2, nil
	}
	return 0, fmt.Errorf("unknown lr policy %q (want linear, step or cosine)", p.Name)
}

// StarGANDecay is StarGAN's learning-rate decay over the last DecayIters of
// Iters iterations, applied every UpdateStep iterations.
type StarGANDecay struct {
	Iters, DecayIters, UpdateStep int
	// Reference reproduces the reference's arithmetic, which subtracts
	// lr0/decay_iters at each update and so decays by UpdateStep times too
	// little; false decays linearly to zero at the last iteration.
	Reference bool
}

// LR returns the learning rate in effect for iteration i (counted from 0)
// with initial rate lr0.
func (d StarGANDecay) LR(lr0 float64, i int) float64 {
	start := d.Iters - d.DecayIters
	step := max(d.UpdateStep, 1)
	// Updates happen after iteration j when (j+1) % step == 0 and j+1 > start;
	// count those with j < i.
	updates := 0
	if i > start {
		updates = i/step - start/step
	}
	if updates <= 0 || d.DecayIters <= 0 {
		return lr0
	}
	if d.Reference {
		return lr0 - float64(updates)*lr0/float64(d.DecayIters)
	}
	return lr0 * max(0, 1-float64(updates*step)/float64(d.DecayIters))
}
