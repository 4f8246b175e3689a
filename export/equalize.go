package export

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ganrt/ganrt/internal/onnxpb"
)

// equalize prepares an fp32 model for per-tensor activation quantization
// where a convolution feeds instance normalization alone: instance norm
// subtracts each channel's mean and divides by its standard deviation, so
// it undoes a per-channel offset or positive scale of its input. equalize
// therefore drops those convolutions' biases and multiplies each output
// channel's weights by a_k = max_j(m_j)/m_k, m_k the channel's largest
// |output| over the calibration images (run(names, see) passes each
// image's values): every channel then spans about the same range, and one
// uint8 scale per tensor no longer leaves a quiet channel a few levels that
// the norm then blows up. Channels are only scaled up, so the variances
// stay far above the norm's epsilon and the float model's output changes
// only by rounding. Only convolutions marked in quantize are changed.
func equalize(mp *onnxpb.ModelProto, quantize []bool, run func(names []string, see func(i int, x []float32)) error) error {
	g := mp.Graph
	consumers := map[string][]*onnxpb.NodeProto{}
	for _, n := range g.Node {
		for _, in := range n.Input {
			consumers[in] = append(consumers[in], n)
		}
	}
	outputs := map[string]bool{}
	for _, v := range g.Output {
		outputs[v.GetName()] = true
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range g.Initializer {
		inits[t.GetName()] = t
	}
	var (
		targets []convInfo
		names   []string
	)
	for i, c := range convNodes(g) {
		y := c.node.Output[0]
		cs := consumers[y]
		if !quantize[i] || outputs[y] || len(cs) != 1 || cs[0].GetOpType() != "InstanceNormalization" || inits[c.node.Input[1]] == nil {
			continue
		}
		if c.axis == 1 && groupOf(c.node) != 1 {
			continue
		}
		targets = append(targets, c)
		names = append(names, y)
	}
	if len(targets) == 0 {
		return nil
	}
	// The peaks are those of the output without its bias, as it will be.
	amax := make([][]float64, len(targets))
	bias := make([][]float32, len(targets))
	for i, c := range targets {
		amax[i] = make([]float64, inits[c.node.Input[1]].Dims[c.axis])
		bias[i] = make([]float32, len(amax[i]))
		if len(c.node.Input) > 2 && c.node.Input[2] != "" {
			b, err := tensorFloats(inits[c.node.Input[2]])
			if err != nil {
				return fmt.Errorf("equalize: %w", err)
			}
			if len(b) != len(amax[i]) {
				return fmt.Errorf("equalize: bias %q has %d elements for %d channels", c.node.Input[2], len(b), len(amax[i]))
			}
			bias[i] = b
		}
	}
	err := run(names, func(i int, x []float32) {
		m := amax[i]
		plane := len(x) / len(m)
		for k := range m {
			b := float64(bias[i][k])
			for _, v := range x[k*plane : (k+1)*plane] {
				m[k] = max(m[k], math.Abs(float64(v)-b))
			}
		}
	})
	if err != nil {
		return err
	}
	removed := map[string]bool{}
	for i, c := range targets {
		w := inits[c.node.Input[1]]
		if len(w.RawData) == 0 || len(w.RawData)%4 != 0 {
			return fmt.Errorf("equalize: weight %q is not raw float32", w.GetName())
		}
		var top float64
		for _, m := range amax[i] {
			top = max(top, m)
		}
		a := make([]float64, len(amax[i]))
		for k, m := range amax[i] {
			a[k] = 1
			if m > 0 && top > 0 {
				a[k] = top / m
			}
		}
		inner := len(w.RawData) / 4
		for _, d := range w.Dims[:c.axis+1] {
			inner /= int(d)
		}
		nc := len(a)
		for j := 0; j < len(w.RawData)/4; j++ {
			k := (j / inner) % nc
			f := math.Float32frombits(binary.LittleEndian.Uint32(w.RawData[4*j:]))
			binary.LittleEndian.PutUint32(w.RawData[4*j:], math.Float32bits(float32(float64(f)*a[k])))
		}
		// The bias is a per-channel offset the norm removes.
		if len(c.node.Input) > 2 && c.node.Input[2] != "" {
			removed[c.node.Input[2]] = true
			c.node.Input = c.node.Input[:2]
		}
	}
	kept := g.Initializer[:0]
	for _, t := range g.Initializer {
		if !removed[t.GetName()] {
			kept = append(kept, t)
		}
	}
	g.Initializer = kept
	return nil
}
