// Package export loads trained networks from checkpoint files (ganrt
// safetensors and PyTorch state dicts), converts between the formats, and
// writes frozen generators as ONNX inference models with a stable I/O
// contract:
//
//   - input "image" [N,3,H,W] float32 in [-1,1] (RGB, x/127.5 - 1);
//   - StarGAN only: input "label" [N,c_dim] float32 (multi-hot attributes
//     or one-hot domain);
//   - output "output" [N,3,H,W] float32 in [-1,1].
//
// N, H and W are dynamic unless fixed at export; the model's metadata
// carries the network spec (models.MetadataKey), the domain names and the
// normalization, so that the runtime needs no flags the model knows.
package export

import (
	"fmt"
	"sort"

	"github.com/ganrt/ganrt/ckpt"
	"github.com/ganrt/ganrt/models"
)

// Model is a network read from a checkpoint file.
type Model struct {
	// Path is the file it came from.
	Path string
	// Spec is the network, from the file's metadata or detected from its
	// keys, with overrides applied.
	Spec models.Spec
	// Detected reports that Spec came from the keys, not from metadata.
	Detected bool
	// State holds every tensor of the file (running statistics included).
	State *ckpt.StateDict
	// Weights holds the float32 values of the network's entries by key.
	Weights map[string][]float32
}

// Overrides change what a file says or what detection found. Zero values
// change nothing.
type Overrides struct {
	// NetG replaces a CycleGAN generator's architecture name.
	NetG string
	// Norm replaces the norm (instance, batch, none).
	Norm string
	// Dropout, when non-nil, sets CycleGAN generator dropout (it changes
	// ResNet keys; U-Net keys do not show it).
	Dropout *bool
	// Domains names the StarGAN label entries.
	Domains []string
	// AllowNonFinite accepts a network whose weights hold NaN or infinite
	// values, which Load refuses otherwise (a diverged run's checkpoint
	// gives black or garbage images).
	AllowNonFinite bool
}

// NonFiniteError reports a network whose weights hold NaN or infinite
// values, refused unless Overrides.AllowNonFinite is set.
type NonFiniteError struct {
	// Path is the file.
	Path string
	// Tensors lists the weights that hold such values, in key order.
	Tensors []ckpt.NonFinite
}

// Error names the file, the first tensor and its counts, and the flag.
func (e *NonFiniteError) Error() string {
	msg := fmt.Sprintf("%s: tensor %s", e.Path, e.Tensors[0])
	if n := len(e.Tensors) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more tensors)", n)
	}
	return msg + " values; the weights are not finite (a diverged run?); --allow-nonfinite uses them anyway"
}

// Load reads a checkpoint (ganrt .safetensors or a PyTorch .pth/.pt/.ckpt
// state dict), works out its network and checks its tensors against it.
// Errors name the file.
func Load(path string, ov Overrides) (*Model, error) {
	sd, err := ckpt.Read(path)
	if err != nil {
		return nil, err
	}
	m, err := fromState(path, sd, ov)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !ov.AllowNonFinite {
		if nf := nonFiniteWeights(m.Weights); len(nf) > 0 {
			return nil, &NonFiniteError{Path: path, Tensors: nf}
		}
	}
	return m, nil
}

// nonFiniteWeights counts the non-finite values of the weights, in key order.
func nonFiniteWeights(w map[string][]float32) []ckpt.NonFinite {
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []ckpt.NonFinite
	for _, k := range keys {
		if nf := ckpt.CountNonFinite(k, w[k]); nf.NaN+nf.Inf > 0 {
			out = append(out, nf)
		}
	}
	return out
}

func fromState(path string, sd *ckpt.StateDict, ov Overrides) (*Model, error) {
	if sd.HasPrefix("module.") {
		stripped, err := sd.StripPrefix("module.")
		if err != nil {
			return nil, err
		}
		sd = stripped
	}
	m := &Model{Path: path, State: sd}
	if js, ok := sd.Metadata[models.MetadataKey]; ok {
		spec, err := models.ParseSpec(js)
		if err != nil {
			return nil, err
		}
		m.Spec = spec
	} else {
		spec, err := models.Detect(sd)
		if err != nil {
			return nil, err
		}
		m.Spec, m.Detected = spec, true
	}
	if err := ov.apply(&m.Spec); err != nil {
		return nil, err
	}
	w, err := m.Spec.Weights(sd)
	if err != nil {
		return nil, err
	}
	m.Weights = w
	return m, nil
}

// Warnings lists what a file written from m will not know, with the flag
// that says it: StarGAN label names and U-Net dropout.
func (m *Model) Warnings() []string {
	var w []string
	if (m.Spec.Kind == models.StarGANGenerator || m.Spec.Kind == models.StarGANDiscriminator) && len(m.Spec.Domains) == 0 {
		w = append(w, fmt.Sprintf("%s names no labels: its %d label entries will be unnamed (0, 1, ...) and taken as one-hot domains by translate and serve; give --domains NAME,... in label order (CelebA attribute names make them attributes)", m.Path, m.Spec.CDim))
	}
	if m.Spec.DropoutUnknown {
		w = append(w, fmt.Sprintf("%s: U-Net dropout is not visible in the keys; it is recorded as unknown (off); give --dropout or --dropout=false to record it", m.Path))
	}
	return w
}

func (ov Overrides) apply(s *models.Spec) error {
	cyc := s.Kind == models.CycleGANGenerator || s.Kind == models.CycleGANDiscriminator
	if ov.NetG != "" {
		if s.Kind != models.CycleGANGenerator {
			return fmt.Errorf("an architecture override (%s) applies to CycleGAN generators, not to a %s", ov.NetG, s.Kind)
		}
		s.NetG = ov.NetG
	}
	if ov.Norm != "" {
		if !cyc {
			return fmt.Errorf("a norm override applies to CycleGAN networks, not to a %s", s.Kind)
		}
		s.Norm = ov.Norm
	}
	if ov.Dropout != nil {
		if s.Kind != models.CycleGANGenerator {
			return fmt.Errorf("a dropout override applies to CycleGAN generators, not to a %s", s.Kind)
		}
		s.Dropout, s.DropoutUnknown = *ov.Dropout, false
	}
	if len(ov.Domains) > 0 {
		if cyc {
			return fmt.Errorf("domain names apply to StarGAN networks, not to a %s", s.Kind)
		}
		s.Domains = append([]string(nil), ov.Domains...)
	}
	return s.Validate()
}
