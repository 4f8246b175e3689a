// Package models names the four networks ganrt knows (CycleGAN generator and
// discriminator, StarGAN generator and discriminator) with one serializable
// Spec, builds them on the graph IR, and recognizes them from a state dict's
// keys and shapes. Specs travel in checkpoint and ONNX metadata, so that a
// file says what it holds.
package models

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/models/cyclegan"
	"github.com/ganrt/ganrt/models/stargan"
	"github.com/ganrt/ganrt/nn"
)

// Kinds of network.
const (
	CycleGANGenerator     = "cyclegan.generator"
	CycleGANDiscriminator = "cyclegan.discriminator"
	StarGANGenerator      = "stargan.generator"
	StarGANDiscriminator  = "stargan.discriminator"
)

// Spec is a network and its options, with the reference's option names.
// Fields that do not apply to Kind are zero and omitted from JSON.
type Spec struct {
	Kind string `json:"kind"`
	// CycleGAN.
	NetG     string `json:"netG,omitempty"` // resnet_9blocks, resnet_6blocks, unet_256, unet_128
	NetD     string `json:"netD,omitempty"` // basic, n_layers, pixel
	NLayersD int    `json:"n_layers_D,omitempty"`
	InputNC  int    `json:"input_nc,omitempty"`
	OutputNC int    `json:"output_nc,omitempty"`
	NGF      int    `json:"ngf,omitempty"`
	NDF      int    `json:"ndf,omitempty"`
	Norm     string `json:"norm,omitempty"` // instance, batch, none
	Dropout  bool   `json:"dropout,omitempty"`
	// DropoutUnknown marks a U-Net generator detected from its keys, in
	// which dropout leaves no trace: Dropout is then the default (off), not
	// a fact. Saying Dropout (a flag) clears it.
	DropoutUnknown bool `json:"dropout_unknown,omitempty"`
	// StarGAN.
	ConvDim   int `json:"conv_dim,omitempty"`
	CDim      int `json:"c_dim,omitempty"`
	RepeatNum int `json:"repeat_num,omitempty"`
	ImageSize int `json:"image_size,omitempty"`
	// Domains names the StarGAN label entries (attributes or domains), in
	// label order.
	Domains []string `json:"domains,omitempty"`
	// Labels says how StarGAN labels were built in training: "multi"
	// (attributes, multi-hot) or "single" (one-hot domains); "" is unknown
	// (a converted checkpoint).
	Labels string `json:"labels,omitempty"`
	// Exclusive names the label entries of which targets set one at a time
	// (CelebA's hair colours); empty means HairColors.
	Exclusive []string `json:"exclusive,omitempty"`
}

// MetadataKey is the metadata key under which checkpoints and ONNX models
// carry their Spec as JSON.
const MetadataKey = "ganrt.spec"

// ParseSpec decodes a Spec from JSON and validates it.
func ParseSpec(s string) (Spec, error) {
	var sp Spec
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sp); err != nil {
		return Spec{}, fmt.Errorf("parse model spec: %w", err)
	}
	return sp, sp.Validate()
}

// JSON encodes the spec (deterministically: struct field order).
func (s Spec) JSON() string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a struct of strings, ints and bools always encodes
	}
	return string(b)
}

// IsGenerator reports whether the spec is a generator.
func (s Spec) IsGenerator() bool {
	return s.Kind == CycleGANGenerator || s.Kind == StarGANGenerator
}

// Validate checks that the options make a network.
func (s Spec) Validate() error {
	_, err := s.network()
	return err
}

func (s Spec) String() string {
	switch s.Kind {
	case CycleGANGenerator:
		dropout := fmt.Sprint(s.Dropout)
		if s.DropoutUnknown {
			dropout = "unknown (not visible in the keys)"
		}
		return fmt.Sprintf("CycleGAN generator %s (ngf %d, norm %s, dropout %s, %d->%d channels)", s.NetG, s.NGF, s.Norm, dropout, s.InputNC, s.OutputNC)
	case CycleGANDiscriminator:
		if s.NetD == "pixel" {
			return fmt.Sprintf("CycleGAN discriminator pixel (ndf %d, norm %s)", s.NDF, s.Norm)
		}
		return fmt.Sprintf("CycleGAN discriminator %s (%d layers, ndf %d, norm %s)", s.NetD, s.NLayersD, s.NDF, s.Norm)
	case StarGANGenerator:
		return fmt.Sprintf("StarGAN generator (conv_dim %d, c_dim %d, repeat_num %d)", s.ConvDim, s.CDim, s.RepeatNum)
	case StarGANDiscriminator:
		return fmt.Sprintf("StarGAN discriminator (image_size %d, conv_dim %d, c_dim %d, repeat_num %d)", s.ImageSize, s.ConvDim, s.CDim, s.RepeatNum)
	}
	return s.Kind
}

// network is the typed configuration behind a spec.
func (s Spec) network() (any, error) {
	positive := func(name string, v int) error {
		if v < 1 {
			return fmt.Errorf("%s: %s must be positive, got %d", s.Kind, name, v)
		}
		return nil
	}
	switch s.Kind {
	case CycleGANGenerator:
		g, err := cyclegan.ParseGenerator(s.NetG)
		if err != nil {
			return nil, err
		}
		if g.Norm, err = nn.ParseNorm(s.Norm); err != nil {
			return nil, err
		}
		g.InputNC, g.OutputNC, g.NGF, g.Dropout = s.InputNC, s.OutputNC, s.NGF, s.Dropout
		for name, v := range map[string]int{"input_nc": g.InputNC, "output_nc": g.OutputNC, "ngf": g.NGF} {
			if err := positive(name, v); err != nil {
				return nil, err
			}
		}
		return g, nil
	case CycleGANDiscriminator:
		d, err := cyclegan.ParseDiscriminator(s.NetD, s.NLayersD)
		if err != nil {
			return nil, err
		}
		if s.NetD == "basic" && s.NLayersD != 3 {
			return nil, fmt.Errorf("%s: basic means n_layers_D 3, got %d", s.Kind, s.NLayersD)
		}
		if d.Norm, err = nn.ParseNorm(s.Norm); err != nil {
			return nil, err
		}
		d.InputNC, d.NDF = s.InputNC, s.NDF
		if err := positive("input_nc", d.InputNC); err != nil {
			return nil, err
		}
		return d, positive("ndf", d.NDF)
	case StarGANGenerator:
		g := stargan.Generator{ConvDim: s.ConvDim, CDim: s.CDim, RepeatNum: s.RepeatNum}
		if err := s.checkDomains(); err != nil {
			return nil, err
		}
		for _, e := range []error{positive("conv_dim", g.ConvDim), positive("c_dim", g.CDim), positive("repeat_num", g.RepeatNum)} {
			if e != nil {
				return nil, e
			}
		}
		return g, nil
	case StarGANDiscriminator:
		d := stargan.Discriminator{ImageSize: s.ImageSize, ConvDim: s.ConvDim, CDim: s.CDim, RepeatNum: s.RepeatNum}
		if err := s.checkDomains(); err != nil {
			return nil, err
		}
		for _, e := range []error{positive("image_size", d.ImageSize), positive("conv_dim", d.ConvDim), positive("c_dim", d.CDim), positive("repeat_num", d.RepeatNum)} {
			if e != nil {
				return nil, e
			}
		}
		if d.ImageSize%(1<<d.RepeatNum) != 0 {
			return nil, fmt.Errorf("%s: image_size %d is not divisible by 2^repeat_num = %d", s.Kind, d.ImageSize, 1<<d.RepeatNum)
		}
		return d, nil
	}
	return nil, fmt.Errorf("unknown network kind %q", s.Kind)
}

func (s Spec) checkDomains() error {
	if len(s.Domains) != 0 && len(s.Domains) != s.CDim {
		return fmt.Errorf("%s: %d domain names for c_dim %d", s.Kind, len(s.Domains), s.CDim)
	}
	if s.Labels != "" && s.Labels != "multi" && s.Labels != "single" {
		return fmt.Errorf("%s: labels %q (want multi or single)", s.Kind, s.Labels)
	}
	return nil
}

// ExclusiveGroup is the label entries that targets set one at a time:
// Exclusive, or HairColors when the spec names none.
func (s Spec) ExclusiveGroup() []string {
	if len(s.Exclusive) > 0 {
		return s.Exclusive
	}
	return HairColors
}

// InputNCOrRGB is the number of image channels the network takes: InputNC
// for CycleGAN networks, 3 for StarGAN's.
func (s Spec) InputNCOrRGB() int {
	if s.Kind == CycleGANGenerator || s.Kind == CycleGANDiscriminator {
		return s.InputNC
	}
	return 3
}

// Multiple is what image heights and widths must be a multiple of for a
// generator's output to have its input's size.
func (s Spec) Multiple() int {
	if n, err := s.network(); err == nil {
		if g, ok := n.(cyclegan.Generator); ok {
			return g.Multiple()
		}
	}
	return 4
}

// Forward applies the network to its inputs in scope sc: image x
// [N,C,H,W] in [-1,1], and for a StarGAN generator label c [N,CDim]. It
// returns the generator's image, or the discriminator's outputs (StarGAN:
// real/fake map, then class logits). It panics with *graph.Error on a bad
// spec or shapes; callers recover with graph.Catch.
func (s Spec) Forward(sc *nn.Scope, x, c *graph.Node) []*graph.Node {
	n, err := s.network()
	if err != nil {
		panic(&graph.Error{Op: graph.OpInvalid, Msg: err.Error()})
	}
	switch net := n.(type) {
	case cyclegan.Generator:
		return []*graph.Node{net.Forward(sc, x)}
	case cyclegan.Discriminator:
		return []*graph.Node{net.Forward(sc, x)}
	case stargan.Generator:
		return []*graph.Node{net.Forward(sc, x, c)}
	default:
		src, cls := n.(stargan.Discriminator).Forward(sc, x)
		return []*graph.Node{src, cls}
	}
}

// Registry builds the network on a throwaway graph at a nominal input size
// and returns its state-dict entries.
func (s Spec) Registry() (*nn.Registry, error) {
	var reg *nn.Registry
	_, err := graph.Build(func(g *graph.Graph) {
		sc := nn.NewScope(g, "")
		x, c := s.sampleInputs(g, 1)
		s.Forward(sc, x, c)
		reg = sc.Registry()
	})
	return reg, err
}

// sampleInputs declares the network's inputs at its nominal training size.
func (s Spec) sampleInputs(g *graph.Graph, batch int) (x, c *graph.Node) {
	side := max(256, s.Multiple())
	switch s.Kind {
	case StarGANDiscriminator:
		side = s.ImageSize
	case StarGANGenerator:
		side = 128
	}
	x = g.Input("image", graph.Shape{batch, s.InputNCOrRGB(), side, side})
	if s.Kind == StarGANGenerator {
		c = g.Input("label", graph.Shape{batch, s.CDim})
	}
	return x, c
}
