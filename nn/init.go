package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// InitScheme is a weight initialization: the CycleGAN reference's
// init_type values, plus PyTorch's default layer initialization (StarGAN).
type InitScheme int

const (
	// InitNormal draws conv weights from N(0, gain) (CycleGAN default,
	// gain 0.02) and batch-norm scales from N(1, gain).
	InitNormal InitScheme = iota
	// InitXavier is xavier_normal_ with the given gain.
	InitXavier
	// InitKaiming is kaiming_normal_(a=0, mode='fan_in').
	InitKaiming
	// InitOrthogonal is orthogonal_ with the given gain.
	InitOrthogonal
	// InitPyTorch is PyTorch's reset_parameters: kaiming_uniform_(a=sqrt(5))
	// weights and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) biases; norm scales 1.
	InitPyTorch
)

// ParseInit reads the reference's --init_type names (normal, xavier,
// kaiming, orthogonal) and "pytorch".
func ParseInit(s string) (InitScheme, error) {
	for i, name := range initNames {
		if s == name {
			return InitScheme(i), nil
		}
	}
	return 0, fmt.Errorf("unknown init type %q (want normal, xavier, kaiming, orthogonal or pytorch)", s)
}

var initNames = [...]string{"normal", "xavier", "kaiming", "orthogonal", "pytorch"}

func (s InitScheme) String() string { return initNames[s] }

// Init returns initial values for every entry of reg, keyed by entry name
// and laid out as the entry's shape (row-major). Biases start at 0 (except
// under InitPyTorch), running means at 0, running variances at 1 and batch
// counters at 0. The values depend only on scheme, gain and the random
// source, drawn in entry order.
func Init(reg *Registry, scheme InitScheme, gain float64, r *rand.Rand) map[string][]float32 {
	out := make(map[string][]float32, len(reg.Entries))
	for _, e := range reg.Entries {
		v := make([]float32, e.Shape.Size())
		switch e.Kind {
		case ConvWeight:
			initWeight(v, e, scheme, gain, r)
		case ConvBias:
			if scheme == InitPyTorch {
				bound := 1 / math.Sqrt(float64(e.FanIn))
				fillUniform(v, -bound, bound, r)
			}
		case NormWeight:
			if scheme == InitPyTorch {
				fill(v, 1)
			} else {
				// init_weights touches BatchNorm2d only; instance norm
				// layers with affine weights keep PyTorch's ones.
				fillNormal(v, 1, gain, r)
			}
		case RunningVar:
			fill(v, 1)
		}
		out[e.Name] = v
	}
	return out
}

func initWeight(v []float32, e Entry, scheme InitScheme, gain float64, r *rand.Rand) {
	switch scheme {
	case InitNormal:
		fillNormal(v, 0, gain, r)
	case InitXavier:
		fillNormal(v, 0, gain*math.Sqrt(2/float64(e.FanIn+e.FanOut)), r)
	case InitKaiming:
		fillNormal(v, 0, math.Sqrt(2/float64(e.FanIn)), r)
	case InitOrthogonal:
		orthogonal(v, e.Shape[0], len(v)/e.Shape[0], gain, r)
	case InitPyTorch:
		// kaiming_uniform_(a=sqrt(5)): gain sqrt(2/(1+5)), bound gain*sqrt(3/fan_in).
		bound := 1 / math.Sqrt(float64(e.FanIn))
		fillUniform(v, -bound, bound, r)
	}
}

func fill(v []float32, x float32) {
	for i := range v {
		v[i] = x
	}
}

func fillNormal(v []float32, mean, std float64, r *rand.Rand) {
	for i := range v {
		v[i] = float32(mean + std*r.NormFloat64())
	}
}

func fillUniform(v []float32, lo, hi float64, r *rand.Rand) {
	for i := range v {
		v[i] = float32(lo + (hi-lo)*r.Float64())
	}
}

// orthogonal fills v, a rows x cols matrix, with a (semi-)orthogonal matrix
// times gain: the Q of a QR decomposition of a Gaussian matrix, with the
// signs of R's diagonal folded in, as torch.nn.init.orthogonal_ does.
func orthogonal(v []float32, rows, cols int, gain float64, r *rand.Rand) {
	// Work on the tall orientation: n vectors of length m, n <= m.
	m, n := rows, cols
	if rows < cols {
		m, n = cols, rows
	}
	q := make([][]float64, n)
	for j := range q {
		q[j] = make([]float64, m)
		for i := range q[j] {
			q[j][i] = r.NormFloat64()
		}
	}
	// Modified Gram-Schmidt; the positive norms make R's diagonal positive,
	// which is what the sign correction achieves.
	for j := range q {
		for k := range j {
			dot := 0.0
			for i := range m {
				dot += q[j][i] * q[k][i]
			}
			for i := range m {
				q[j][i] -= dot * q[k][i]
			}
		}
		norm := 0.0
		for _, x := range q[j] {
			norm += x * x
		}
		norm = math.Sqrt(norm)
		for i := range q[j] {
			q[j][i] /= norm
		}
	}
	for i := range rows {
		for j := range cols {
			if rows < cols {
				v[i*cols+j] = float32(gain * q[i][j])
			} else {
				v[i*cols+j] = float32(gain * q[j][i])
			}
		}
	}
}
