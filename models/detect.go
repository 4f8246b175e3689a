package models

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ganrt/ganrt/ckpt"
	"github.com/ganrt/ganrt/nn"
)

// Detect infers which network a state dict holds, with its options, from
// its keys and shapes alone (a conv weight is 4-d, a norm weight 1-d). A
// "module." prefix (DataParallel) must have been stripped. U-Net dropout
// leaves no trace in the weights: a U-Net's spec has Dropout off (the
// reference's default) and DropoutUnknown set. (ResNet dropout shifts the
// block keys and is detected.)
func Detect(sd *ckpt.StateDict) (Spec, error) {
	shape := func(key string) []int {
		if t, ok := sd.Get(key); ok {
			return t.Shape
		}
		return nil
	}
	has := func(key string) bool { return shape(key) != nil }
	norm := func(affineKey, biasKey string) string {
		switch {
		case has(affineKey):
			return "batch"
		case has(biasKey):
			return "instance"
		}
		return "none"
	}
	var s Spec
	switch {
	case len(shape("model.model.0.weight")) == 4:
		w, up := shape("model.model.0.weight"), shape("model.model.3.weight")
		if len(up) != 4 {
			return Spec{}, fmt.Errorf("looks like a CycleGAN U-Net generator but has no model.model.3.weight")
		}
		downs := 1
		for prefix := "model.model.1.model."; anyHasPrefix(sd, prefix); prefix += "3.model." {
			downs++
		}
		s = Spec{Kind: CycleGANGenerator, NetG: fmt.Sprintf("unet_%d", 1<<downs), InputNC: w[1], OutputNC: up[1], NGF: w[0],
			Norm: norm("model.model.1.model.2.weight", "model.model.0.bias"), DropoutUnknown: true}
	case len(shape("model.1.weight")) == 4 && has("model.10.conv_block.1.weight"):
		w := shape("model.1.weight")
		blocks := 0
		for has(fmt.Sprintf("model.%d.conv_block.1.weight", 10+blocks)) {
			blocks++
		}
		last := shape(fmt.Sprintf("model.%d.weight", 17+blocks))
		if len(last) != 4 {
			return Spec{}, fmt.Errorf("looks like a CycleGAN ResNet generator with %d blocks but has no model.%d.weight", blocks, 17+blocks)
		}
		s = Spec{Kind: CycleGANGenerator, NetG: fmt.Sprintf("resnet_%dblocks", blocks), InputNC: w[1], OutputNC: last[0], NGF: w[0],
			Norm: norm("model.2.weight", "model.1.bias"), Dropout: len(shape("model.10.conv_block.6.weight")) == 4}
	case len(shape("model.0.weight")) == 4 && shape("model.0.weight")[2] == 4:
		w := shape("model.0.weight")
		convs := 0
		for key, t := range sd.All() {
			if patchConv.MatchString(key) && len(t.Shape) == 4 {
				convs++
			}
		}
		s = Spec{Kind: CycleGANDiscriminator, NetD: "n_layers", NLayersD: convs - 2, InputNC: w[1], NDF: w[0],
			Norm: norm("model.3.weight", "model.2.bias")}
		if s.NLayersD == 3 {
			s.NetD = "basic"
		}
	case len(shape("net.0.weight")) == 4:
		w := shape("net.0.weight")
		s = Spec{Kind: CycleGANDiscriminator, NetD: "pixel", InputNC: w[1], NDF: w[0], Norm: norm("net.3.weight", "net.2.bias")}
	case len(shape("main.0.weight")) == 4 && has("conv1.weight"):
		w, cls := shape("main.0.weight"), shape("conv2.weight")
		if len(cls) != 4 {
			return Spec{}, fmt.Errorf("looks like a StarGAN discriminator but has no 4-d conv2.weight")
		}
		repeat := 0
		for has(fmt.Sprintf("main.%d.weight", 2*repeat)) {
			repeat++
		}
		s = Spec{Kind: StarGANDiscriminator, ImageSize: cls[2] << repeat, ConvDim: w[0], CDim: cls[0], RepeatNum: repeat}
	case len(shape("main.0.weight")) == 4:
		w := shape("main.0.weight")
		repeat := 0
		for has(fmt.Sprintf("main.%d.main.0.weight", 9+repeat)) {
			repeat++
		}
		s = Spec{Kind: StarGANGenerator, ConvDim: w[0], CDim: w[1] - 3, RepeatNum: repeat}
	default:
		return Spec{}, fmt.Errorf("not a CycleGAN or StarGAN state dict: none of model.1.weight (ResNet), model.model.0.weight (U-Net), model.0.weight (PatchGAN), net.0.weight (pixel) or main.0.weight (StarGAN) is a 4-d tensor; first keys: %s", firstKeys(sd, 5))
	}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("detected %s: %w", s.Kind, err)
	}
	return s, nil
}

func anyHasPrefix(sd *ckpt.StateDict, prefix string) bool {
	for name := range sd.All() {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

var patchConv = regexp.MustCompile(`^model\.\d+\.weight$`)

func firstKeys(sd *ckpt.StateDict, n int) string {
	names := sd.Names()
	if len(names) > n {
		names = append(names[:n:n], "...")
	}
	return strings.Join(names, ", ")
}

// Weights checks a state dict against the network of spec and returns the
// float32 values of every entry by key. Running statistics that the
// published CycleGAN files carry on their instance-norm layers are ignored;
// anything else that is missing, unexpected or of the wrong shape is
// reported in one error, with a hint from Detect when the file looks like
// another configuration.
func (s Spec) Weights(sd *ckpt.StateDict) (map[string][]float32, error) {
	reg, err := s.Registry()
	if err != nil {
		return nil, err
	}
	out := make(map[string][]float32, len(reg.Entries))
	expected := make(map[string]bool, len(reg.Entries))
	var missing, wrong, unexpected []string
	for _, e := range reg.Entries {
		expected[e.Name] = true
		t, ok := sd.Get(e.Name)
		switch {
		case !ok:
			missing = append(missing, e.Name)
		case !slices.Equal(t.Shape, []int(e.Shape)):
			wrong = append(wrong, fmt.Sprintf("%s %v (want %v)", e.Name, t.Shape, []int(e.Shape)))
		case e.Kind == nn.BatchesTracked && len(t.Ints) == 1:
			out[e.Name] = []float32{float32(t.Ints[0])}
		case t.Floats == nil:
			wrong = append(wrong, fmt.Sprintf("%s has dtype %v (want a float type)", e.Name, t.DType))
		default:
			out[e.Name] = t.Floats
		}
	}
	ignoreStats := s.Kind == CycleGANGenerator || s.Kind == CycleGANDiscriminator
	for _, name := range sd.Names() {
		if expected[name] || (ignoreStats && isRunningStat(name)) {
			continue
		}
		unexpected = append(unexpected, name)
	}
	if len(missing)+len(wrong)+len(unexpected) == 0 {
		return out, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "state dict does not match %s:", s)
	list := func(what string, keys []string) {
		if len(keys) == 0 {
			return
		}
		sort.Strings(keys)
		if len(keys) > 8 {
			keys = append(keys[:8:8], fmt.Sprintf("... (%d in all)", len(keys)))
		}
		fmt.Fprintf(&b, "\n  %s: %s", what, strings.Join(keys, ", "))
	}
	list("missing", missing)
	list("unexpected", unexpected)
	list("wrong shape", wrong)
	if d, err := Detect(sd); err == nil {
		fmt.Fprintf(&b, "\n  hint: the file looks like a %s", d)
		if d.Kind == s.Kind {
			b.WriteString(" (check block count, norm, dropout and widths)")
		}
	}
	return nil, fmt.Errorf("%s", b.String())
}

func isRunningStat(name string) bool {
	for _, suffix := range []string{".running_mean", ".running_var", ".num_batches_tracked"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// StateDict returns values (by key, as from Weights or training) as a state
// dict in the network's state-dict order, with the spec in its metadata.
// Batch counters are written as int64 scalars like PyTorch's.
func (s Spec) StateDict(values map[string][]float32) (*ckpt.StateDict, error) {
	reg, err := s.Registry()
	if err != nil {
		return nil, err
	}
	sd := ckpt.NewStateDict()
	for _, e := range reg.Entries {
		shape := []int(e.Shape.Clone())
		if e.Kind == nn.BatchesTracked {
			var n int64
			if v := values[e.Name]; len(v) == 1 {
				n = int64(v[0])
			}
			sd.Set(e.Name, ckpt.NewInt64(shape, []int64{n}))
			continue
		}
		v, ok := values[e.Name]
		if !ok || len(v) != e.Shape.Size() {
			return nil, fmt.Errorf("%s: no values of size %d for %s", s.Kind, e.Shape.Size(), e.Name)
		}
		sd.Set(e.Name, ckpt.NewFloat32(shape, v))
	}
	sd.Metadata[MetadataKey] = s.JSON()
	return sd, nil
}
