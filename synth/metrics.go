package synth

import (
	"fmt"
	"image"
	"math"
)

// Metrics compares two images of the same size over their R, G and B
// channels, as color.Color.RGBA gives them (alpha premultiplied; the images
// this package writes and generators produce are opaque, where that makes no
// difference), with values scaled to [0, 1]: l1 is the mean
// absolute difference, in [0, 1]; psnr is 10*log10(1/MSE) in dB, +Inf for
// identical images. Pixels are paired by their offset from each image's
// Bounds().Min. Metrics panics if the sizes differ; callers that read
// images from files compare the sizes first and report the mismatch.
func Metrics(a, b image.Image) (l1, psnr float64) {
	ra, rb := a.Bounds(), b.Bounds()
	if ra.Dx() != rb.Dx() || ra.Dy() != rb.Dy() {
		panic(fmt.Sprintf("synth: Metrics of a %dx%d and a %dx%d image", ra.Dx(), ra.Dy(), rb.Dx(), rb.Dy()))
	}
	var sumAbs, sumSq float64
	n := 3 * ra.Dx() * ra.Dy()
	if n == 0 {
		return 0, math.Inf(1)
	}
	ia, okA := a.(*image.RGBA)
	ib, okB := b.(*image.RGBA)
	if okA && okB {
		// 8-bit fast path; the same numbers as the general one.
		var abs, sq uint64
		for y := 0; y < ra.Dy(); y++ {
			pa := ia.Pix[ia.PixOffset(ra.Min.X, ra.Min.Y+y):][:4*ra.Dx()]
			pb := ib.Pix[ib.PixOffset(rb.Min.X, rb.Min.Y+y):][:4*ra.Dx()]
			for i := 0; i < len(pa); i += 4 {
				for c := range 3 {
					d := int64(pa[i+c]) - int64(pb[i+c])
					if d < 0 {
						d = -d
					}
					abs += uint64(d)
					sq += uint64(d * d)
				}
			}
		}
		sumAbs, sumSq = float64(abs)/255, float64(sq)/(255*255)
	} else {
		for y := 0; y < ra.Dy(); y++ {
			for x := 0; x < ra.Dx(); x++ {
				r1, g1, b1, _ := a.At(ra.Min.X+x, ra.Min.Y+y).RGBA()
				r2, g2, b2, _ := b.At(rb.Min.X+x, rb.Min.Y+y).RGBA()
				for _, d := range [3]float64{
					(float64(r1) - float64(r2)) / 0xffff,
					(float64(g1) - float64(g2)) / 0xffff,
					(float64(b1) - float64(b2)) / 0xffff,
				} {
					sumAbs += math.Abs(d)
					sumSq += d * d
				}
			}
		}
	}
	l1 = sumAbs / float64(n)
	mse := sumSq / float64(n)
	if mse == 0 {
		return l1, math.Inf(1)
	}
	return l1, 10 * math.Log10(1/mse)
}
