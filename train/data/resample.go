package data

import "math"

// Filter is a resampling filter of Resize.
type Filter int

// The filters the references resize with: BICUBIC (CycleGAN's
// transforms.Resize and its scale_width and power-of-4 rounding) and
// BILINEAR (torchvision's Resize default, used by StarGAN).
const (
	Bicubic Filter = iota
	Bilinear
)

// String returns the filter's name.
func (f Filter) String() string {
	if f == Bilinear {
		return "bilinear"
	}
	return "bicubic"
}

// The arithmetic below is Pillow's (libImaging/Resample.c) for 8-bit
// images: a separable two-pass filter (horizontal pass first), with the
// filter stretched by the scale when downsampling (antialiasing), weights
// normalized to sum to 1 in float64 and then quantized to 22-bit fixed
// point, a rounding term of 1<<21 and clipping to [0, 255] after each pass.
// Explicit float64 conversions keep the Go compiler from fusing multiply-adds
// (which it may do on arm64), so the weights are bit-identical to Pillow's on
// amd64.

const precisionBits = 32 - 8 - 2

func (f Filter) support() float64 {
	if f == Bilinear {
		return 1
	}
	return 2
}

func (f Filter) eval(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if f == Bilinear {
		if x < 1 {
			return 1 - x
		}
		return 0
	}
	const a = -0.5
	if x < 1 {
		return float64(float64(float64(float64((a+2)*x)-(a+3))*x)*x) + 1
	}
	if x < 2 {
		return float64(float64(float64(float64(float64(x-5)*x)+8)*x)-4) * a
	}
	return 0
}

// coeffs holds one pass's fixed-point weights: output sample i reads input
// samples start[i] .. start[i]+n[i]-1 with weights k[i*ksize:].
type coeffs struct {
	ksize    int
	start, n []int
	k        []int32
}

// precompute is Pillow's precompute_coeffs + normalize_coeffs_8bpc for
// resizing inSize samples to outSize over the full input (box 0..inSize).
func precompute(inSize, outSize int, f Filter) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := f.support() * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, start: make([]int, outSize), n: make([]int, outSize), k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	for xx := 0; xx < outSize; xx++ {
		center := float64(float64(xx)+0.5) * scale
		ss := 1 / filterscale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			v := f.eval(float64(float64(float64(x+xmin)-center)+0.5) * ss)
			w[x] = v
			ww += v
		}
		for x := 0; x < xmax; x++ {
			if ww != 0 {
				w[x] /= ww
			}
			p := float64(w[x] * (1 << precisionBits))
			if w[x] < 0 {
				c.k[xx*ksize+x] = int32(-0.5 + p)
			} else {
				c.k[xx*ksize+x] = int32(0.5 + p)
			}
		}
		c.start[xx], c.n[xx] = xmin, xmax
	}
	return c
}

// clipFixed is Pillow's clip8 of a fixed-point sum.
func clipFixed(ss int32) uint8 {
	v := ss >> precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// Resize returns the image resized to w x h as Pillow's img.resize((w, h),
// filter) does for 8-bit "RGB" and "L" images (same values). Resizing to the
// same size returns a copy.
func Resize(im *Image, w, h int, f Filter) *Image {
	return resizeWindow(im, w, h, f, 0, 0, w, h)
}

// resizeWindow returns the cw x ch window at (x0, y0) of the image resized
// to w x h, computing only that window's pixels; it equals
// Resize(im, w, h, f).Crop(x0, y0, cw, ch) for windows inside the image.
func resizeWindow(im *Image, w, h int, f Filter, x0, y0, cw, ch int) *Image {
	nc := im.C
	needH := w != im.W
	needV := h != im.H
	if !needH && !needV {
		return im.Crop(x0, y0, cw, ch)
	}
	// Rows of the source (or horizontally resampled) image that the window needs.
	rowLo, rowHi := y0, y0+ch
	var cv coeffs
	if needV {
		cv = precompute(im.H, h, f)
		rowLo, rowHi = im.H, 0
		for y := y0; y < y0+ch; y++ {
			rowLo = min(rowLo, cv.start[y])
			rowHi = max(rowHi, cv.start[y]+cv.n[y])
		}
	}
	// Horizontal pass: tmp holds rows rowLo..rowHi-1, columns x0..x0+cw-1.
	tmp := &Image{W: cw, H: rowHi - rowLo, C: nc}
	if needH {
		chz := precompute(im.W, w, f)
		tmp.Pix = make([]uint8, tmp.W*tmp.H*nc)
		for ty := 0; ty < tmp.H; ty++ {
			src := im.Pix[(rowLo+ty)*im.W*nc : (rowLo+ty+1)*im.W*nc]
			dst := tmp.Pix[ty*cw*nc : (ty+1)*cw*nc]
			for xx := 0; xx < cw; xx++ {
				ox := x0 + xx
				k := chz.k[ox*chz.ksize : ox*chz.ksize+chz.n[ox]]
				s := src[chz.start[ox]*nc : (chz.start[ox]+len(k))*nc]
				if nc == 3 {
					var s0, s1, s2 int32 = 1 << (precisionBits - 1), 1 << (precisionBits - 1), 1 << (precisionBits - 1)
					for i, kv := range k {
						p := s[3*i : 3*i+3 : 3*i+3]
						s0 += int32(p[0]) * kv
						s1 += int32(p[1]) * kv
						s2 += int32(p[2]) * kv
					}
					d := dst[3*xx : 3*xx+3 : 3*xx+3]
					d[0], d[1], d[2] = clipFixed(s0), clipFixed(s1), clipFixed(s2)
					continue
				}
				for c := 0; c < nc; c++ {
					var s0 int32 = 1 << (precisionBits - 1)
					for i, kv := range k {
						s0 += int32(s[i*nc+c]) * kv
					}
					dst[xx*nc+c] = clipFixed(s0)
				}
			}
		}
	} else {
		tmp = im.Crop(x0, rowLo, cw, rowHi-rowLo)
	}
	if !needV {
		return tmp
	}
	// Vertical pass over the window's columns.
	out := NewImage(cw, ch, nc)
	rowLen := cw * nc
	acc := make([]int32, rowLen)
	for yy := 0; yy < ch; yy++ {
		oy := y0 + yy
		k := cv.k[oy*cv.ksize : oy*cv.ksize+cv.n[oy]]
		for i := range acc {
			acc[i] = 1 << (precisionBits - 1)
		}
		for j, kv := range k {
			src := tmp.Pix[(cv.start[oy]-rowLo+j)*rowLen : (cv.start[oy]-rowLo+j+1)*rowLen]
			a := acc[:len(src)]
			for i, v := range src {
				a[i] += int32(v) * kv
			}
		}
		dst := out.Pix[yy*rowLen : (yy+1)*rowLen]
		dst = dst[:len(acc)]
		for i, s := range acc {
			dst[i] = clipFixed(s)
		}
	}
	return out
}
