package eval

import (
	"fmt"
	"image"
	"math"
)

// SSIM constants: the standard 11x11 Gaussian window (sigma 1.5, truncated
// at 3.5 sigma, as scipy's gaussian_filter does) and the stabilizers of
// Wang et al. 2004 for a data range of 1.
const (
	ssimSigma  = 1.5
	ssimRadius = 5 // int(3.5*sigma + 0.5): an 11-pixel window
	ssimK1     = 0.01
	ssimK2     = 0.03
)

// ssimKernel is the normalized 1-D Gaussian of the window, weights at
// offsets -5..5.
var ssimKernel = func() [2*ssimRadius + 1]float64 {
	var k [2*ssimRadius + 1]float64
	sum := 0.0
	for i := range k {
		x := float64(i - ssimRadius)
		k[i] = math.Exp(-0.5 * x * x / (ssimSigma * ssimSigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}()

// Luminance returns the luma of an image as a row-major [height][width]
// slice (index y*width+x) of values in [0, 1]: Y = 0.299 R + 0.587 G +
// 0.114 B (ITU-R BT.601, the Y of YCbCr) on the 16-bit channels that
// color.Color.RGBA gives, scaled to [0, 1].
func Luminance(img image.Image) (y []float64, w, h int) {
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	y = make([]float64, w*h)
	if rgba, ok := img.(*image.RGBA); ok {
		for j := range h {
			row := rgba.Pix[rgba.PixOffset(b.Min.X, b.Min.Y+j):][:4*w]
			for i := range w {
				p := row[4*i:]
				y[j*w+i] = (0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])) / 255
			}
		}
		return y, w, h
	}
	for j := range h {
		for i := range w {
			r, g, bl, _ := img.At(b.Min.X+i, b.Min.Y+j).RGBA()
			y[j*w+i] = (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 0xffff
		}
	}
	return y, w, h
}

// SSIM is the mean structural similarity of the luminances (see Luminance)
// of two images of the same size, at least 11x11, with data range 1: the
// figure skimage.metrics.structural_similarity(ya, yb, data_range=1,
// gaussian_weights=True, sigma=1.5, use_sample_covariance=False) gives
// (checked on testdata/ssim goldens). Local means, variances and the
// covariance come from the 11x11 Gaussian window (sigma 1.5); as in
// skimage, the mean is taken over the pixels at least 5 from every border,
// whose windows lie inside the image (so border handling plays no part).
// The result is in [-1, 1], 1 for identical images. Time and memory are
// O(width*height).
func SSIM(a, b image.Image) (float64, error) {
	ya, w, h := Luminance(a)
	yb, w2, h2 := Luminance(b)
	if w != w2 || h != h2 {
		return 0, fmt.Errorf("ssim: a %dx%d and a %dx%d image: sizes must match", w, h, w2, h2)
	}
	return ssimPlanes(ya, yb, w, h)
}

// ssimPlanes is SSIM on two [h][w] planes in [0, 1].
func ssimPlanes(x, y []float64, w, h int) (float64, error) {
	const win = 2*ssimRadius + 1
	if w < win || h < win {
		return 0, fmt.Errorf("ssim: a %dx%d image is smaller than the %dx%d window", w, h, win, win)
	}
	// Five planes filtered separably: first along x into the valid columns,
	// then along y into the valid rows.
	vw, vh := w-2*ssimRadius, h-2*ssimRadius
	planes := [5]func(i int) float64{
		func(i int) float64 { return x[i] },
		func(i int) float64 { return y[i] },
		func(i int) float64 { return x[i] * x[i] },
		func(i int) float64 { return y[i] * y[i] },
		func(i int) float64 { return x[i] * y[i] },
	}
	var filtered [5][]float64
	tmp := make([]float64, h*vw)
	for p, at := range planes {
		for j := range h {
			for i := range vw {
				s := 0.0
				for k, wk := range ssimKernel {
					s += wk * at(j*w+i+k)
				}
				tmp[j*vw+i] = s
			}
		}
		out := make([]float64, vh*vw)
		for j := range vh {
			for i := range vw {
				s := 0.0
				for k, wk := range ssimKernel {
					s += wk * tmp[(j+k)*vw+i]
				}
				out[j*vw+i] = s
			}
		}
		filtered[p] = out
	}
	const c1, c2 = (ssimK1 * 1) * (ssimK1 * 1), (ssimK2 * 1) * (ssimK2 * 1)
	sum := 0.0
	for i := range vw * vh {
		ux, uy := filtered[0][i], filtered[1][i]
		vx := filtered[2][i] - ux*ux
		vy := filtered[3][i] - uy*uy
		vxy := filtered[4][i] - ux*uy
		sum += (2*ux*uy + c1) * (2*vxy + c2) / ((ux*ux + uy*uy + c1) * (vx + vy + c2))
	}
	return sum / float64(vw*vh), nil
}
