package eval

import (
	"image"
	"math"
)

// Baseline names, in the order reports list them. Each is a translation
// that learns nothing: identity returns the input; mean_std moves each RGB
// channel of the input to the target domain's mean and standard deviation
// (x' = (x - mean_in) / std_in * std_target + mean_target, the per-channel
// colour transfer of Reinhard et al. done in RGB); histogram maps each
// channel's cumulative histogram onto the target domain's, as
// skimage.exposure.match_histograms does per channel. The target figures
// come from the target domain's training images only (DomainStats).
const (
	Identity  = "identity"
	MeanStd   = "mean_std"
	Histogram = "histogram"
)

// Baselines lists the baseline names in report order.
var Baselines = []string{Identity, MeanStd, Histogram}

// DomainStats are the pooled per-channel statistics of a domain's images:
// counts of each 8-bit value of R, G and B over every pixel of every image
// added. Memory is fixed (3x256 counters) whatever the number of images.
type DomainStats struct {
	Images int
	Hist   [3][256]uint64
}

// Add counts the pixels of img (channels as color.Color.RGBA gives them,
// reduced to 8 bits).
func (d *DomainStats) Add(img image.Image) {
	d.Images++
	forPixels(img, func(r, g, b uint8) {
		d.Hist[0][r]++
		d.Hist[1][g]++
		d.Hist[2][b]++
	})
}

// forPixels calls f with each pixel's 8-bit R, G, B, row by row.
func forPixels(img image.Image, f func(r, g, b uint8)) {
	bd := img.Bounds()
	if rgba, ok := img.(*image.RGBA); ok {
		for y := bd.Min.Y; y < bd.Max.Y; y++ {
			row := rgba.Pix[rgba.PixOffset(bd.Min.X, y):][:4*bd.Dx()]
			for i := 0; i < len(row); i += 4 {
				f(row[i], row[i+1], row[i+2])
			}
		}
		return
	}
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			f(uint8(r>>8), uint8(g>>8), uint8(b>>8))
		}
	}
}

// meanStd returns the mean and population standard deviation of channel c
// of a histogram, in [0, 1].
func meanStd(h *[256]uint64) (mean, std float64) {
	var n, s, s2 float64
	for v, c := range h {
		x := float64(v) / 255
		n += float64(c)
		s += float64(c) * x
		s2 += float64(c) * x * x
	}
	if n == 0 {
		return 0, 0
	}
	mean = s / n
	return mean, math.Sqrt(max(s2/n-mean*mean, 0))
}

// histogramOf returns the per-channel 8-bit histogram of img.
func histogramOf(img image.Image) *DomainStats {
	d := &DomainStats{}
	d.Add(img)
	return d
}

// MeanStdTransfer is the mean_std baseline: each channel of img moved to the
// target's mean and standard deviation, rounded to 8 bits and clipped to
// [0, 255]. A flat input channel becomes the target's mean.
func MeanStdTransfer(img image.Image, target *DomainStats) *image.RGBA {
	src := histogramOf(img)
	var lut [3][256]uint8
	for c := range 3 {
		mi, si := meanStd(&src.Hist[c])
		mt, st := meanStd(&target.Hist[c])
		for v := range 256 {
			x := mt
			if si > 0 {
				x = (float64(v)/255-mi)/si*st + mt
			}
			lut[c][v] = to8(x * 255)
		}
	}
	return applyLUT(img, &lut)
}

// HistogramMatch is the histogram baseline: skimage's match_histograms per
// channel for 8-bit images. For each channel, value v of img, with
// cumulative share q(v) of img's pixels at or below v, becomes the target's
// value at quantile q by linear interpolation between the values present in
// the target (np.interp, clamped at both ends); the result is rounded to 8
// bits.
func HistogramMatch(img image.Image, target *DomainStats) *image.RGBA {
	src := histogramOf(img)
	var lut [3][256]uint8
	for c := range 3 {
		var tv, tq []float64 // values present in the target and their cumulative shares
		var total, cum float64
		for _, n := range target.Hist[c] {
			total += float64(n)
		}
		for v, n := range target.Hist[c] {
			if n > 0 {
				cum += float64(n)
				tv = append(tv, float64(v))
				tq = append(tq, cum/total)
			}
		}
		var stotal, scum float64
		for _, n := range src.Hist[c] {
			stotal += float64(n)
		}
		for v, n := range src.Hist[c] {
			scum += float64(n)
			if len(tv) == 0 {
				lut[c][v] = uint8(v)
				continue
			}
			lut[c][v] = to8(interp(scum/stotal, tq, tv))
		}
	}
	return applyLUT(img, &lut)
}

// interp is np.interp(x, xp, fp) for increasing xp.
func interp(x float64, xp, fp []float64) float64 {
	if x <= xp[0] {
		return fp[0]
	}
	n := len(xp)
	if x >= xp[n-1] {
		return fp[n-1]
	}
	lo, hi := 0, n-1 // xp[lo] < x < xp[hi]
	for hi-lo > 1 {
		m := (lo + hi) / 2
		if xp[m] <= x {
			lo = m
		} else {
			hi = m
		}
	}
	t := (x - xp[lo]) / (xp[hi] - xp[lo])
	return fp[lo] + t*(fp[hi]-fp[lo])
}

// to8 rounds a value in 8-bit units to the nearest level (halves to even,
// as numpy's rint) and clips it to [0, 255].
func to8(x float64) uint8 {
	x = math.RoundToEven(x)
	if x <= 0 || math.IsNaN(x) {
		return 0
	}
	if x >= 255 {
		return 255
	}
	return uint8(x)
}

// applyLUT maps each channel of img through its table, into an opaque RGBA
// image with img's size (origin at 0, 0).
func applyLUT(img image.Image, lut *[3][256]uint8) *image.RGBA {
	bd := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, bd.Dx(), bd.Dy()))
	i := 0
	forPixels(img, func(r, g, b uint8) {
		out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = lut[0][r], lut[1][g], lut[2][b], 255
		i += 4
	})
	return out
}
