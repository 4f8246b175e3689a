// Package stargan defines StarGAN v1's networks (yunjey/stargan) on the
// graph IR with the reference's exact layer order, so that parameter names
// are its state-dict keys.
//
// Images are [N,3,H,W] float32 in [-1,1]; labels are [N,CDim] float32
// (multi-hot attributes or one-hot domains).
package stargan

import (
	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/nn"
)

// Generator configures StarGAN's generator: zero padding, no conv biases,
// affine instance norm with (unused) running statistics.
type Generator struct {
	// ConvDim is the number of filters of the first layer (64).
	ConvDim int
	// CDim is the label size (5 for the default CelebA attributes).
	CDim int
	// RepeatNum is the number of residual blocks (6).
	RepeatNum int
}

// DefaultGenerator is the reference's generator: conv_dim 64, c_dim 5,
// repeat_num 6.
var DefaultGenerator = Generator{ConvDim: 64, CDim: 5, RepeatNum: 6}

// Forward applies the generator to image x [N,3,H,W] in [-1,1] and label c
// [N,CDim], declaring its parameters in s, and returns [N,3,H,W] in [-1,1].
// The label is tiled over H x W and concatenated after the image channels.
func (g Generator) Forward(s *nn.Scope, x, c *graph.Node) *graph.Node {
	m := s.Sub("main")
	norm := func(i int, h *graph.Node, dim int) *graph.Node {
		return graph.Relu(nn.ApplyNorm(m.Sub(i), h, nn.NormInstanceAffine, dim))
	}
	tiled := graph.Expand(graph.Reshape(c, -1, g.CDim, 1, 1), graph.Slice(x, 1, 0, 1, 1))
	h := graph.Concat(1, x, tiled)
	h = norm(1, nn.Conv2d(m.Sub(0), h, 3+g.CDim, g.ConvDim, 7, graph.ConvOpts{Pad: 3}, false), g.ConvDim)
	dim, idx := g.ConvDim, 3
	for range 2 {
		h = norm(idx+1, nn.Conv2d(m.Sub(idx), h, dim, 2*dim, 4, graph.ConvOpts{Stride: 2, Pad: 1}, false), 2*dim)
		dim *= 2
		idx += 3
	}
	for range g.RepeatNum {
		b := m.Sub(idx).Sub("main")
		r := graph.Relu(nn.ApplyNorm(b.Sub(1), nn.Conv2d(b.Sub(0), h, dim, dim, 3, graph.ConvOpts{Pad: 1}, false), nn.NormInstanceAffine, dim))
		r = nn.ApplyNorm(b.Sub(4), nn.Conv2d(b.Sub(3), r, dim, dim, 3, graph.ConvOpts{Pad: 1}, false), nn.NormInstanceAffine, dim)
		h = graph.Add(h, r)
		idx++
	}
	for range 2 {
		h = norm(idx+1, nn.ConvTranspose2d(m.Sub(idx), h, dim, dim/2, 4, graph.ConvOpts{Stride: 2, Pad: 1}, false), dim/2)
		dim /= 2
		idx += 3
	}
	return graph.Tanh(nn.Conv2d(m.Sub(idx), h, dim, 3, 7, graph.ConvOpts{Pad: 3}, false))
}

// Discriminator configures StarGAN's discriminator: a PatchGAN trunk of
// stride-2 4x4 convs with LeakyReLU 0.01 and no norm, a real/fake head and
// a domain-classification head. It works only at ImageSize.
type Discriminator struct {
	ImageSize, ConvDim, CDim, RepeatNum int
}

// DefaultDiscriminator is the reference's: image_size 128, conv_dim 64,
// c_dim 5, repeat_num 6.
var DefaultDiscriminator = Discriminator{ImageSize: 128, ConvDim: 64, CDim: 5, RepeatNum: 6}

// Forward applies the discriminator to x [N,3,ImageSize,ImageSize] and
// returns the real/fake map src [N,1,S,S] (S = ImageSize/2^RepeatNum) and
// the classification logits cls [N,CDim].
func (d Discriminator) Forward(s *nn.Scope, x *graph.Node) (src, cls *graph.Node) {
	m := s.Sub("main")
	h, dim := x, 3
	for i := range d.RepeatNum {
		out := d.ConvDim << i
		h = graph.LeakyRelu(nn.Conv2d(m.Sub(2*i), h, dim, out, 4, graph.ConvOpts{Stride: 2, Pad: 1}, true), 0.01)
		dim = out
	}
	src = nn.Conv2d(s.Sub("conv1"), h, dim, 1, 3, graph.ConvOpts{Pad: 1}, false)
	k := d.ImageSize >> d.RepeatNum
	cls = graph.Reshape(nn.Conv2d(s.Sub("conv2"), h, dim, d.CDim, k, graph.ConvOpts{}, false), -1, d.CDim)
	return src, cls
}
