// Package cyclegan defines the networks of CycleGAN (the authors'
// pytorch-CycleGAN-and-pix2pix): ResNet and U-Net generators, PatchGAN and
// pixel discriminators, on the graph IR, with the reference's exact layer
// order so that parameter names are its state-dict keys.
//
// Images are [N,3,H,W] float32 in [-1,1]; generators end in tanh.
package cyclegan

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/nn"
)

// GeneratorKind is the family of a generator.
type GeneratorKind int

const (
	// Resnet is ResnetGenerator: encoder, residual blocks, decoder.
	Resnet GeneratorKind = iota
	// Unet is UnetGenerator: nested skip-connection blocks.
	Unet
)

// Generator configures a CycleGAN generator (the reference's define_G).
type Generator struct {
	Kind GeneratorKind
	// Blocks is the number of residual blocks (Resnet).
	Blocks int
	// Downs is the number of downsamplings (Unet); sides must be divisible
	// by 2^Downs.
	Downs             int
	InputNC, OutputNC int
	// NGF is the number of filters of the first conv layer (64).
	NGF     int
	Norm    nn.Norm
	Dropout bool
}

var archPattern = regexp.MustCompile(`^(?:resnet_(\d+)blocks|unet_(\d+))$`)

// ParseGenerator reads a reference --netG name (resnet_9blocks,
// resnet_6blocks, unet_256, unet_128; also any resnet_Nblocks and unet_2^k
// for 5 <= k <= 10, k downsamplings) into a
// generator with the reference's defaults: 3 channels in and out, ngf 64,
// instance norm, no dropout.
func ParseGenerator(name string) (Generator, error) {
	m := archPattern.FindStringSubmatch(name)
	if m == nil {
		return Generator{}, fmt.Errorf("unknown generator %q (want resnet_9blocks, resnet_6blocks, unet_256 or unet_128)", name)
	}
	g := Generator{InputNC: 3, OutputNC: 3, NGF: 64, Norm: nn.NormInstance}
	if m[1] != "" {
		g.Kind = Resnet
		g.Blocks, _ = strconv.Atoi(m[1])
		if g.Blocks < 1 {
			return Generator{}, fmt.Errorf("generator %q needs at least one block", name)
		}
		return g, nil
	}
	size, _ := strconv.Atoi(m[2])
	g.Kind = Unet
	for g.Downs = 5; 1<<g.Downs < size; g.Downs++ {
	}
	if 1<<g.Downs != size || g.Downs > 10 {
		return Generator{}, fmt.Errorf("unknown generator %q (U-Net comes as unet_SIZE for SIZE a power of two from 32 to 1024; the reference has unet_128 and unet_256)", name)
	}
	return g, nil
}

// Name is the reference's --netG name for g.
func (g Generator) Name() string {
	if g.Kind == Resnet {
		return fmt.Sprintf("resnet_%dblocks", g.Blocks)
	}
	return fmt.Sprintf("unet_%d", 1<<g.Downs)
}

// Multiple is the factor that input heights and widths must be a multiple
// of for the output to have the input's size.
func (g Generator) Multiple() int {
	if g.Kind == Resnet {
		return 4
	}
	return 1 << g.Downs
}

// useBias is the reference's rule: convs before a norm have a bias only
// when the norm is instance norm (so "none" means no bias either).
func useBias(n nn.Norm) bool { return n == nn.NormInstance }

// Forward applies the generator to x [N,InputNC,H,W] in [-1,1], declaring
// its parameters in s, and returns [N,OutputNC,H,W] in [-1,1].
func (g Generator) Forward(s *nn.Scope, x *graph.Node) *graph.Node {
	if g.Kind == Unet {
		return g.unet(s.Sub("model"), x, 0)
	}
	return g.resnet(s.Sub("model"), x)
}

func (g Generator) resnet(m *nn.Scope, x *graph.Node) *graph.Node {
	bias := useBias(g.Norm)
	relu := graph.Relu
	h := graph.Pad2D(x, graph.PadReflect, 3)
	h = relu(nn.ApplyNorm(m.Sub(2), nn.Conv2d(m.Sub(1), h, g.InputNC, g.NGF, 7, graph.ConvOpts{}, bias), g.Norm, g.NGF))
	idx := 4
	for i := range 2 {
		in := g.NGF << i
		h = nn.Conv2d(m.Sub(idx), h, in, 2*in, 3, graph.ConvOpts{Stride: 2, Pad: 1}, bias)
		h = relu(nn.ApplyNorm(m.Sub(idx+1), h, g.Norm, 2*in))
		idx += 3
	}
	dim := g.NGF * 4
	for range g.Blocks {
		h = g.resnetBlock(m.Sub(idx).Sub("conv_block"), h, dim)
		idx++
	}
	for i := range 2 {
		in := dim >> i
		h = nn.ConvTranspose2d(m.Sub(idx), h, in, in/2, 3, graph.ConvOpts{Stride: 2, Pad: 1, OutputPadding: 1}, bias)
		h = relu(nn.ApplyNorm(m.Sub(idx+1), h, g.Norm, in/2))
		idx += 3
	}
	h = graph.Pad2D(h, graph.PadReflect, 3)
	h = nn.Conv2d(m.Sub(idx+1), h, g.NGF, g.OutputNC, 7, graph.ConvOpts{}, true)
	return graph.Tanh(h)
}

// resnetBlock is ResnetBlock: x + conv_block(x), no activation after the
// sum. conv_block is pad, conv, norm, relu, [dropout], pad, conv, norm.
func (g Generator) resnetBlock(b *nn.Scope, x *graph.Node, dim int) *graph.Node {
	bias := useBias(g.Norm)
	h := graph.Pad2D(x, graph.PadReflect, 1)
	h = graph.Relu(nn.ApplyNorm(b.Sub(2), nn.Conv2d(b.Sub(1), h, dim, dim, 3, graph.ConvOpts{}, bias), g.Norm, dim))
	idx := 4
	if g.Dropout {
		h = nn.Dropout(b.Sub(4), h)
		idx = 5
	}
	h = graph.Pad2D(h, graph.PadReflect, 1)
	h = nn.ApplyNorm(b.Sub(idx+2), nn.Conv2d(b.Sub(idx+1), h, dim, dim, 3, graph.ConvOpts{}, bias), g.Norm, dim)
	return graph.Add(x, h)
}

// unetLevel returns the outer and inner channel counts of U-Net level l
// (0 is outermost, Downs-1 innermost).
func (g Generator) unetLevel(l int) (outer, inner int) {
	switch {
	case l == 0:
		return g.OutputNC, g.NGF
	case l <= 3:
		return g.NGF << (l - 1), g.NGF << l
	}
	return g.NGF * 8, g.NGF * 8
}

// unet applies UnetSkipConnectionBlock number l (scope b is the block; its
// layers live in b.model). Non-outermost blocks return concat(x', block(x'))
// where x' = LeakyReLU(x): the reference's in-place LeakyReLU rewrites the
// block input before the skip connection reads it.
func (g Generator) unet(b *nn.Scope, x *graph.Node, l int) *graph.Node {
	m := b.Sub("model")
	bias := useBias(g.Norm)
	down := graph.ConvOpts{Stride: 2, Pad: 1}
	outer, inner := g.unetLevel(l)
	switch {
	case l == 0:
		h := nn.Conv2d(m.Sub(0), x, g.InputNC, inner, 4, down, bias)
		h = graph.Relu(g.unet(m.Sub(1), h, 1))
		h = nn.ConvTranspose2d(m.Sub(3), h, 2*inner, outer, 4, down, true)
		return graph.Tanh(h)
	case l == g.Downs-1:
		y := graph.LeakyRelu(x, 0.2)
		h := graph.Relu(nn.Conv2d(m.Sub(1), y, outer, inner, 4, down, bias))
		h = nn.ApplyNorm(m.Sub(4), nn.ConvTranspose2d(m.Sub(3), h, inner, outer, 4, down, bias), g.Norm, outer)
		return graph.Concat(1, y, h)
	}
	y := graph.LeakyRelu(x, 0.2)
	h := nn.ApplyNorm(m.Sub(2), nn.Conv2d(m.Sub(1), y, outer, inner, 4, down, bias), g.Norm, inner)
	h = graph.Relu(g.unet(m.Sub(3), h, l+1))
	h = nn.ApplyNorm(m.Sub(6), nn.ConvTranspose2d(m.Sub(5), h, 2*inner, outer, 4, down, bias), g.Norm, outer)
	if g.Dropout && l >= 4 {
		h = nn.Dropout(m.Sub(7), h)
	}
	return graph.Concat(1, y, h)
}
