package cyclegan

import (
	"fmt"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/nn"
)

// DiscriminatorKind is the family of a discriminator.
type DiscriminatorKind int

const (
	// PatchGAN is NLayerDiscriminator (--netD basic is 3 layers, 70x70).
	PatchGAN DiscriminatorKind = iota
	// Pixel is PixelDiscriminator: 1x1 convolutions.
	Pixel
)

// Discriminator configures a CycleGAN discriminator (the reference's
// define_D).
type Discriminator struct {
	Kind DiscriminatorKind
	// Layers is NLayerDiscriminator's n_layers (3 for basic).
	Layers  int
	InputNC int
	// NDF is the number of filters of the first conv layer (64).
	NDF  int
	Norm nn.Norm
}

// ParseDiscriminator reads a reference --netD name (basic, n_layers, pixel)
// with n_layers_D, and the defaults: 3 input channels, ndf 64, instance norm.
func ParseDiscriminator(name string, nLayers int) (Discriminator, error) {
	d := Discriminator{InputNC: 3, NDF: 64, Norm: nn.NormInstance}
	switch name {
	case "basic":
		d.Kind, d.Layers = PatchGAN, 3
	case "n_layers":
		if nLayers < 1 {
			return Discriminator{}, fmt.Errorf("n_layers discriminator needs n_layers_D >= 1, got %d", nLayers)
		}
		d.Kind, d.Layers = PatchGAN, nLayers
	case "pixel":
		d.Kind = Pixel
	default:
		return Discriminator{}, fmt.Errorf("unknown discriminator %q (want basic, n_layers or pixel)", name)
	}
	return d, nil
}

// Forward applies the discriminator to x [N,InputNC,H,W] and returns its
// unnormalized patch scores [N,1,H',W'] (no sigmoid).
func (d Discriminator) Forward(s *nn.Scope, x *graph.Node) *graph.Node {
	bias := useBias(d.Norm)
	if d.Kind == Pixel {
		n := s.Sub("net")
		h := graph.LeakyRelu(nn.Conv2d(n.Sub(0), x, d.InputNC, d.NDF, 1, graph.ConvOpts{}, true), 0.2)
		h = nn.ApplyNorm(n.Sub(3), nn.Conv2d(n.Sub(2), h, d.NDF, 2*d.NDF, 1, graph.ConvOpts{}, bias), d.Norm, 2*d.NDF)
		return nn.Conv2d(n.Sub(5), graph.LeakyRelu(h, 0.2), 2*d.NDF, 1, 1, graph.ConvOpts{}, bias)
	}
	m := s.Sub("model")
	h := graph.LeakyRelu(nn.Conv2d(m.Sub(0), x, d.InputNC, d.NDF, 4, graph.ConvOpts{Stride: 2, Pad: 1}, true), 0.2)
	idx, mult := 2, 1
	for n := 1; n <= d.Layers; n++ {
		prev := mult
		mult = min(1<<n, 8)
		stride := 2
		if n == d.Layers {
			stride = 1
		}
		h = nn.Conv2d(m.Sub(idx), h, d.NDF*prev, d.NDF*mult, 4, graph.ConvOpts{Stride: stride, Pad: 1}, bias)
		h = graph.LeakyRelu(nn.ApplyNorm(m.Sub(idx+1), h, d.Norm, d.NDF*mult), 0.2)
		idx += 3
	}
	return nn.Conv2d(m.Sub(idx), h, d.NDF*mult, 1, 4, graph.ConvOpts{Pad: 1}, true)
}
