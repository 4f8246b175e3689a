package runtime

import (
	"image"
	"image/color"
)

// frame places a w x h image in a padded ph x pw plane whose sides are
// multiples of the model's multiple and at least minSide; the image sits at
// (left, top).
type frame struct {
	w, h      int
	pw, ph    int
	left, top int
}

func newFrame(w, h, multiple, minSide int) frame {
	up := func(v int) int { return (max(v, minSide) + multiple - 1) / multiple * multiple }
	pw, ph := up(w), up(h)
	return frame{w: w, h: h, pw: pw, ph: ph, left: (pw - w) / 2, top: (ph - h) / 2}
}

// plane is the number of elements of one channel plane.
func (f frame) plane() int { return f.pw * f.ph }

// lut8 maps an 8-bit sample to the model's input range: v/127.5 - 1.
var lut8 = func() (t [256]float32) {
	for v := range t {
		t[v] = float32(float64(v)/127.5 - 1)
	}
	return t
}()

// norm16 maps a 16-bit sample to the input range: (v/257)/127.5 - 1.
func norm16(v uint32) float32 { return float32(float64(v)/32767.5 - 1) }

// unpremul maps a premultiplied sample c with alpha a (same bit depth) to
// the input range, un-premultiplying: c/a*2 - 1, black where a is 0.
func unpremul(c, a uint32) float32 {
	if a == 0 {
		return -1
	}
	return min(float32(c)*2/float32(a)-1, 1)
}

// fillRGB writes img's pixels, normalized, into the interior (frame f) of
// the three planes r, g and b (each f.plane() long); the padding is left
// for pad. img's size must be f.w x f.h. Common image types are read
// straight from their pixel slices; Pix[0] of every image type is the pixel
// at Bounds().Min, also for sub-images.
func fillRGB(r, g, b []float32, img image.Image, f frame) {
	bnd := img.Bounds()
	w, h := f.w, f.h
	rows := func(y int) ([]float32, []float32, []float32) {
		o := (f.top+y)*f.pw + f.left
		return r[o : o+w : o+w], g[o : o+w : o+w], b[o : o+w : o+w]
	}
	switch m := img.(type) {
	case *image.RGBA:
		for y := range h {
			rr, gg, bb := rows(y)
			p := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range rr {
				q := p[4*x : 4*x+4 : 4*x+4]
				if a := q[3]; a == 0xff {
					rr[x], gg[x], bb[x] = lut8[q[0]], lut8[q[1]], lut8[q[2]]
				} else {
					rr[x], gg[x], bb[x] = unpremul(uint32(q[0]), uint32(a)), unpremul(uint32(q[1]), uint32(a)), unpremul(uint32(q[2]), uint32(a))
				}
			}
		}
	case *image.NRGBA:
		for y := range h {
			rr, gg, bb := rows(y)
			p := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range rr {
				q := p[4*x : 4*x+3 : 4*x+3]
				rr[x], gg[x], bb[x] = lut8[q[0]], lut8[q[1]], lut8[q[2]]
			}
		}
	case *image.YCbCr:
		fillYCbCr(rows, m, w, h)
	case *image.NYCbCrA:
		fillYCbCr(rows, &m.YCbCr, w, h)
	case *image.Gray:
		for y := range h {
			rr, gg, bb := rows(y)
			p := m.Pix[y*m.Stride : y*m.Stride+w]
			for x := range rr {
				v := lut8[p[x]]
				rr[x], gg[x], bb[x] = v, v, v
			}
		}
	case *image.Gray16:
		for y := range h {
			rr, gg, bb := rows(y)
			p := m.Pix[y*m.Stride : y*m.Stride+2*w]
			for x := range rr {
				v := norm16(uint32(p[2*x])<<8 | uint32(p[2*x+1]))
				rr[x], gg[x], bb[x] = v, v, v
			}
		}
	case *image.NRGBA64:
		for y := range h {
			rr, gg, bb := rows(y)
			p := m.Pix[y*m.Stride : y*m.Stride+8*w]
			for x := range rr {
				q := p[8*x : 8*x+6 : 8*x+6]
				rr[x] = norm16(uint32(q[0])<<8 | uint32(q[1]))
				gg[x] = norm16(uint32(q[2])<<8 | uint32(q[3]))
				bb[x] = norm16(uint32(q[4])<<8 | uint32(q[5]))
			}
		}
	case *image.RGBA64:
		for y := range h {
			rr, gg, bb := rows(y)
			p := m.Pix[y*m.Stride : y*m.Stride+8*w]
			for x := range rr {
				q := p[8*x : 8*x+8 : 8*x+8]
				cr, cg, cb := uint32(q[0])<<8|uint32(q[1]), uint32(q[2])<<8|uint32(q[3]), uint32(q[4])<<8|uint32(q[5])
				if a := uint32(q[6])<<8 | uint32(q[7]); a == 0xffff {
					rr[x], gg[x], bb[x] = norm16(cr), norm16(cg), norm16(cb)
				} else {
					rr[x], gg[x], bb[x] = unpremul(cr, a), unpremul(cg, a), unpremul(cb, a)
				}
			}
		}
	case *image.CMYK:
		for y := range h {
			rr, gg, bb := rows(y)
			p := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range rr {
				q := p[4*x : 4*x+4 : 4*x+4]
				cr, cg, cb := color.CMYKToRGB(q[0], q[1], q[2], q[3])
				rr[x], gg[x], bb[x] = lut8[cr], lut8[cg], lut8[cb]
			}
		}
	case *image.Paletted:
		var pal [256][3]float32 // indexes past the palette read as black
		for i := range pal {
			pal[i] = [3]float32{-1, -1, -1}
		}
		for i, c := range m.Palette[:min(len(m.Palette), 256)] {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			pal[i] = [3]float32{lut8[n.R], lut8[n.G], lut8[n.B]}
		}
		for y := range h {
			rr, gg, bb := rows(y)
			p := m.Pix[y*m.Stride : y*m.Stride+w]
			for x := range rr {
				c := &pal[p[x]]
				rr[x], gg[x], bb[x] = c[0], c[1], c[2]
			}
		}
	default:
		// Any other image type (image.Alpha, custom types): one interface
		// call per pixel.
		for y := range h {
			rr, gg, bb := rows(y)
			for x := range rr {
				c := color.NRGBA64Model.Convert(m.At(bnd.Min.X+x, bnd.Min.Y+y)).(color.NRGBA64)
				rr[x], gg[x], bb[x] = norm16(uint32(c.R)), norm16(uint32(c.G)), norm16(uint32(c.B))
			}
		}
	}
}

// fillYCbCr is fillRGB for YCbCr images of any chroma subsampling, with
// exactly the JFIF conversion of color.YCbCrToRGB.
func fillYCbCr(rows func(int) ([]float32, []float32, []float32), m *image.YCbCr, w, h int) {
	hd, vd := 1, 1 // chroma subsampling: image pixels per chroma sample
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hd = 2
	case image.YCbCrSubsampleRatio420:
		hd, vd = 2, 2
	case image.YCbCrSubsampleRatio440:
		vd = 2
	case image.YCbCrSubsampleRatio411:
		hd = 4
	case image.YCbCrSubsampleRatio410:
		hd, vd = 4, 2
	}
	// As image.YCbCr.COffset, with the columns worked out once.
	r0 := m.Rect.Min
	cx := make([]int, w)
	for x := range cx {
		cx[x] = (r0.X+x)/hd - r0.X/hd
	}
	for y := range h {
		rr, gg, bb := rows(y)
		yr := m.Y[y*m.YStride : y*m.YStride+w]
		co := ((r0.Y+y)/vd - r0.Y/vd) * m.CStride
		cb, cr := m.Cb[co:], m.Cr[co:]
		for x := range rr {
			c := cx[x]
			yy, b, r := int32(yr[x])*0x10101, cb[c], cr[c]
			rr[x] = clampLUT(yy + ycc.r[r])
			gg[x] = clampLUT(yy + ycc.gb[b] + ycc.gr[r])
			bb[x] = clampLUT(yy + ycc.b[b])
		}
	}
}

// ycc holds color.YCbCrToRGB's chroma terms (16.16 fixed point) per 8-bit
// chroma value, so that the per-pixel work is three table lookups.
var ycc = func() (t struct{ r, gb, gr, b [256]int32 }) {
	for v := range 256 {
		c := int32(v) - 128
		t.r[v], t.gb[v], t.gr[v], t.b[v] = 91881*c, -22554*c, -46802*c, 116130*c
	}
	return t
}()

// clampLUT finishes color.YCbCrToRGB for one channel (a 16.16 value,
// clamped to 0..255) and normalizes it.
func clampLUT(v int32) float32 {
	if uint32(v)&0xff000000 == 0 {
		return lut8[uint8(v>>16)]
	}
	return lut8[uint8(^(v >> 31))]
}

// toGray writes the luma of the RGB planes (interior of f) into dst, as
// PIL's convert("L"): 0.299 R + 0.587 G + 0.114 B. The weights sum to 1, so
// this holds in the normalized range too.
func toGray(dst, r, g, b []float32, f frame) {
	for y := range f.h {
		o := (f.top+y)*f.pw + f.left
		d, rr, gg, bb := dst[o:o+f.w], r[o:o+f.w], g[o:o+f.w], b[o:o+f.w]
		for x := range d {
			d[x] = 0.299*rr[x] + 0.587*gg[x] + 0.114*bb[x]
		}
	}
}

// reflectIndex maps i, an index relative to a run of n samples, into
// 0..n-1 by mirroring about the end samples without repeating them (ONNX
// Pad mode reflect, extended periodically for pads wider than n-1).
func reflectIndex(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - i
	}
	return i
}

// pad fills the padding of plane p around the interior of f by reflection.
func pad(p []float32, f frame) {
	if f.pw == f.w && f.ph == f.h {
		return
	}
	if f.pw != f.w {
		for y := f.top; y < f.top+f.h; y++ {
			row := p[y*f.pw : (y+1)*f.pw]
			for x := 0; x < f.left; x++ {
				row[x] = row[f.left+reflectIndex(x-f.left, f.w)]
			}
			for x := f.left + f.w; x < f.pw; x++ {
				row[x] = row[f.left+reflectIndex(x-f.left, f.w)]
			}
		}
	}
	for y := 0; y < f.ph; y++ {
		if y >= f.top && y < f.top+f.h {
			continue
		}
		src := f.top + reflectIndex(y-f.top, f.h)
		copy(p[y*f.pw:(y+1)*f.pw], p[src*f.pw:(src+1)*f.pw])
	}
}

// to8 maps a model output sample in [-1, 1] to 0..255: (y+1)*127.5 rounded
// to nearest and clamped (NaN becomes 0).
func to8(v float32) uint8 {
	f := (v+1)*127.5 + 0.5
	if !(f >= 0) {
		return 0
	}
	if f >= 255 {
		return 255
	}
	return uint8(f)
}

// denormRGBA writes the interior (frame f) of planes r, g, b as opaque
// pixels into dst, whose size is f.w x f.h (dst may be a sub-image).
func denormRGBA(dst *image.RGBA, r, g, b []float32, f frame) {
	w := f.w
	for y := range f.h {
		o := (f.top+y)*f.pw + f.left
		rr, gg, bb := r[o:o+w:o+w], g[o:o+w:o+w], b[o:o+w:o+w]
		d := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
		for x := range rr {
			q := d[4*x : 4*x+4 : 4*x+4]
			q[0], q[1], q[2], q[3] = to8(rr[x]), to8(gg[x]), to8(bb[x]), 0xff
		}
	}
}
