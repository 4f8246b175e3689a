package ckpt

import (
	"fmt"
	"iter"
	"math"
	"strings"
)

// StateDict is an ordered collection of named tensors, like a PyTorch state
// dict, plus string metadata. Names are state-dict keys ("model.1.weight").
//
// The order is deterministic: the order of the dict in a PyTorch file, data
// order in a safetensors file (which writers sort by dtype, then name), and
// insertion order for a StateDict built in Go. Set keeps a replaced tensor in
// its place.
//
// A StateDict is not safe for concurrent mutation.
type StateDict struct {
	// Metadata holds free-form string pairs: the safetensors "__metadata__"
	// map, or the scalar entries of a PyTorch checkpoint (see ReadTorch).
	// Readers always set it to a non-nil map.
	Metadata map[string]string

	names []string
	index map[string]int
	ts    []*Tensor
}

// NewStateDict returns an empty StateDict with an empty Metadata map.
func NewStateDict() *StateDict {
	return &StateDict{Metadata: map[string]string{}, index: map[string]int{}}
}

// Len returns the number of tensors.
func (sd *StateDict) Len() int { return len(sd.names) }

// Names returns a copy of the tensor names, in order.
func (sd *StateDict) Names() []string { return append([]string(nil), sd.names...) }

// Get returns the tensor named name and whether it exists.
func (sd *StateDict) Get(name string) (*Tensor, bool) {
	i, ok := sd.index[name]
	if !ok {
		return nil, false
	}
	return sd.ts[i], true
}

// Set stores t under name: in place if name exists, otherwise at the end.
func (sd *StateDict) Set(name string, t *Tensor) {
	if sd.index == nil {
		sd.index = map[string]int{}
	}
	if i, ok := sd.index[name]; ok {
		sd.ts[i] = t
		return
	}
	sd.index[name] = len(sd.names)
	sd.names = append(sd.names, name)
	sd.ts = append(sd.ts, t)
}

// Delete removes the tensor named name, if any, keeping the order of the rest.
func (sd *StateDict) Delete(name string) {
	i, ok := sd.index[name]
	if !ok {
		return
	}
	sd.names = append(sd.names[:i], sd.names[i+1:]...)
	sd.ts = append(sd.ts[:i], sd.ts[i+1:]...)
	delete(sd.index, name)
	for j := i; j < len(sd.names); j++ {
		sd.index[sd.names[j]] = j
	}
}

// All iterates over the names and tensors in order.
func (sd *StateDict) All() iter.Seq2[string, *Tensor] {
	return func(yield func(string, *Tensor) bool) {
		for i, name := range sd.names {
			if !yield(name, sd.ts[i]) {
				return
			}
		}
	}
}

// StripPrefix returns a new StateDict (sharing the tensors and a copy of the
// metadata) in which prefix is removed from every name that starts with it;
// other names are kept as they are. It is meant for the "module." prefix that
// torch.nn.DataParallel and DistributedDataParallel add; the caller decides
// when to use it (for example when every name has the prefix, see HasPrefix).
// It fails if two names become equal.
func (sd *StateDict) StripPrefix(prefix string) (*StateDict, error) {
	out := NewStateDict()
	for k, v := range sd.Metadata {
		out.Metadata[k] = v
	}
	for i, name := range sd.names {
		short := strings.TrimPrefix(name, prefix)
		if _, dup := out.index[short]; dup {
			return nil, fmt.Errorf("stripping %q from %q gives %q, which is already present", prefix, name, short)
		}
		out.Set(short, sd.ts[i])
	}
	return out, nil
}

// HasPrefix reports whether the StateDict has tensors and all their names
// start with prefix.
func (sd *StateDict) HasPrefix(prefix string) bool {
	for _, name := range sd.names {
		if !strings.HasPrefix(name, prefix) {
			return false
		}
	}
	return len(sd.names) > 0
}

// Sub returns a new StateDict with the tensors whose names start with prefix,
// the prefix removed (for example Sub("netG.") of a checkpoint that holds
// several networks), sharing the tensors and a copy of the metadata.
func (sd *StateDict) Sub(prefix string) *StateDict {
	out := NewStateDict()
	for k, v := range sd.Metadata {
		out.Metadata[k] = v
	}
	for i, name := range sd.names {
		if short, ok := strings.CutPrefix(name, prefix); ok {
			out.Set(short, sd.ts[i])
		}
	}
	return out
}

// NonFinite counts the NaN and infinite values of one float tensor.
type NonFinite struct {
	// Name is the tensor's name in the StateDict.
	Name string `json:"name"`
	// NaN and Inf count its NaN and its infinite (+Inf or -Inf) values.
	NaN int `json:"nan"`
	Inf int `json:"inf"`
}

// String says what the tensor holds: `"w": 3 NaN, 1 infinite of 9 values`.
func (n NonFinite) String() string {
	return fmt.Sprintf("%q: %d NaN, %d infinite", n.Name, n.NaN, n.Inf)
}

// NonFinite returns, in order, the float tensors of sd that hold NaN or
// infinite values, with their counts; nil when every value is finite.
func (sd *StateDict) NonFinite() []NonFinite {
	var out []NonFinite
	for name, t := range sd.All() {
		if nf := CountNonFinite(name, t.Floats); nf.NaN+nf.Inf > 0 {
			out = append(out, nf)
		}
	}
	return out
}

// CountNonFinite counts the NaN and infinite values of the float32 values v
// of the tensor called name.
func CountNonFinite(name string, v []float32) NonFinite {
	nf := NonFinite{Name: name}
	for _, x := range v {
		if x != x {
			nf.NaN++
		} else if x > math.MaxFloat32 || x < -math.MaxFloat32 {
			nf.Inf++
		}
	}
	return nf
}
