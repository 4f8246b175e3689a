package train

import "math/rand/v2"

// ImagePool is the reference's ImagePool: a buffer of past generated images
// that the discriminators are trained on, to damp oscillation. Images are
// [C,H,W] float32 slices, copied in.
type ImagePool struct {
	size   int
	images [][]float32
}

// NewImagePool returns an empty pool of capacity size (0 disables it).
func NewImagePool(size int) *ImagePool { return &ImagePool{size: size} }

// Query takes a batch of new images (n images of per elements each,
// concatenated) and writes the batch to train on into out: while the pool
// is not full, each new image is stored and returned; once full, with
// probability 1/2 a random stored image is returned and replaced by the new
// one, else the new one is returned. r supplies the coin flips and choices.
func (p *ImagePool) Query(batch []float32, per int, out []float32, r *rand.Rand) {
	for i := 0; i*per < len(batch); i++ {
		img := batch[i*per : (i+1)*per]
		dst := out[i*per : (i+1)*per]
		switch {
		case p.size == 0:
			copy(dst, img)
		case len(p.images) < p.size:
			p.images = append(p.images, append([]float32(nil), img...))
			copy(dst, img)
		case r.Float64() > 0.5:
			id := r.IntN(p.size)
			copy(dst, p.images[id])
			copy(p.images[id], img)
		default:
			copy(dst, img)
		}
	}
}

// Images returns the stored images (for checkpoints); do not modify them.
func (p *ImagePool) Images() [][]float32 { return p.images }

// Restore replaces the stored images (from a checkpoint).
func (p *ImagePool) Restore(images [][]float32) { p.images = images }
