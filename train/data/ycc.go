package data

import "image"

// PIL decodes JPEG with libjpeg(-turbo) and WebP with libwebp. Go's decoders
// give the same Y, Cb and Cr planes (WebP's exactly: VP8 decoding is
// bit-exact by specification; JPEG's up to the IDCT's rounding) but convert
// them to RGB differently: Go replicates chroma samples and uses its own
// fixed-point constants. The functions here redo the conversion as the C
// libraries do, so that a decoded image matches PIL's.

// libjpeg's YCbCr -> RGB tables (jdcolor.c, SCALEBITS = 16).
var jpegCrR, jpegCbB, jpegCrG, jpegCbG [256]int32

func init() {
	const scale = 16
	fix := func(x float64) int32 { return int32(x*(1<<scale) + 0.5) }
	for i := range 256 {
		x := int32(i - 128)
		jpegCrR[i] = (fix(1.40200)*x + 1<<(scale-1)) >> scale
		jpegCbB[i] = (fix(1.77200)*x + 1<<(scale-1)) >> scale
		jpegCrG[i] = -fix(0.71414) * x
		jpegCbG[i] = -fix(0.34414)*x + 1<<(scale-1)
	}
}

// jpegRow converts one row: y, cb and cr hold a sample per pixel.
func jpegRow(y, cb, cr, dst []uint8) {
	dst = dst[:3*len(y)]
	cb, cr = cb[:len(y)], cr[:len(y)]
	for x, yv := range y {
		yy := int32(yv)
		b, r := cb[x], cr[x]
		d := dst[3*x : 3*x+3 : 3*x+3]
		d[0] = clip32(yy + jpegCrR[r])
		d[1] = clip32(yy + (jpegCbG[b]+jpegCrG[r])>>16)
		d[2] = clip32(yy + jpegCbB[b])
	}
}

func clip32(v int32) uint8 {
	if uint32(v) <= 255 {
		return uint8(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// jpegToRGB converts a JPEG's YCbCr image as libjpeg does by default:
// "fancy" (triangular) chroma upsampling for 4:2:2 and 4:2:0 (jdsample.c's
// h2v1 and h2v2 fancy upsamplers, edges replicated) and jdcolor.c's
// conversion. It reports false for other subsampling ratios.
func jpegToRGB(s *image.YCbCr) (*Image, bool) {
	r := s.Rect
	w, h := r.Dx(), r.Dy()
	if r.Min.X != 0 || r.Min.Y != 0 {
		return nil, false
	}
	cw := (w + 1) / 2
	var vsub bool
	switch s.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		out := NewImage(w, h, 3)
		for y := 0; y < h; y++ {
			jpegRow(s.Y[y*s.YStride:y*s.YStride+w], s.Cb[y*s.CStride:], s.Cr[y*s.CStride:], out.Pix[y*w*3:])
		}
		return out, true
	case image.YCbCrSubsampleRatio422:
	case image.YCbCrSubsampleRatio420:
		vsub = true
	default:
		return nil, false
	}
	if cw <= 2 {
		return nil, false // libjpeg uses plain replication then; so does Go
	}
	ch := h
	if vsub {
		ch = (h + 1) / 2
	}
	out := NewImage(w, h, 3)
	cb := make([]uint8, 2*cw)
	cr := make([]uint8, 2*cw)
	colsum := make([]int, cw)
	for y := 0; y < h; y++ {
		for p, plane := range [2][]uint8{s.Cb, s.Cr} {
			up := cb
			if p == 1 {
				up = cr
			}
			if !vsub {
				upsampleH2V1(plane[y*s.CStride:y*s.CStride+cw], up)
				continue
			}
			// h2v2: the nearer chroma row gets 3/4, the row above (even
			// output rows) or below (odd rows) 1/4, edges replicated.
			near := y / 2
			far := near - 1
			if y%2 == 1 {
				far = near + 1
			}
			far = min(max(far, 0), ch-1)
			n, f := plane[near*s.CStride:], plane[far*s.CStride:]
			for i := range colsum {
				colsum[i] = 3*int(n[i]) + int(f[i])
			}
			upsampleH2V2(colsum, up)
		}
		jpegRow(s.Y[y*s.YStride:y*s.YStride+w], cb, cr, out.Pix[y*w*3:])
	}
	return out, true
}

// upsampleH2V1 is jdsample.c's h2v1_fancy_upsample for one row.
func upsampleH2V1(in, out []uint8) {
	n := len(in)
	out[0] = in[0]
	out[1] = uint8((3*int(in[0]) + int(in[1]) + 2) >> 2)
	for i := 1; i < n-1; i++ {
		v := 3 * int(in[i])
		out[2*i] = uint8((v + int(in[i-1]) + 1) >> 2)
		out[2*i+1] = uint8((v + int(in[i+1]) + 2) >> 2)
	}
	out[2*n-2] = uint8((3*int(in[n-1]) + int(in[n-2]) + 1) >> 2)
	out[2*n-1] = in[n-1]
}

// upsampleH2V2 is the horizontal half of jdsample.c's h2v2_fancy_upsample,
// given the column sums 3*nearer + further.
func upsampleH2V2(cs []int, out []uint8) {
	n := len(cs)
	out[0] = uint8((cs[0]*4 + 8) >> 4)
	out[1] = uint8((cs[0]*3 + cs[1] + 7) >> 4)
	for i := 1; i < n-1; i++ {
		out[2*i] = uint8((cs[i]*3 + cs[i-1] + 8) >> 4)
		out[2*i+1] = uint8((cs[i]*3 + cs[i+1] + 7) >> 4)
	}
	out[2*n-2] = uint8((cs[n-1]*3 + cs[n-2] + 8) >> 4)
	out[2*n-1] = uint8((cs[n-1]*4 + 7) >> 4)
}

// libwebp's YUV -> RGB (dsp/yuv.h: 14-bit fixed point, BT.601 limited
// range).
func webpClip(v int) uint8 {
	if v&^((256<<6)-1) == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func mulHi(v, c int) int { return (v * c) >> 8 }

func webpRGB(y, u, v int, dst []uint8) {
	dst[0] = webpClip(mulHi(y, 19077) + mulHi(v, 26149) - 14234)
	dst[1] = webpClip(mulHi(y, 19077) - mulHi(u, 6419) - mulHi(v, 13320) + 8708)
	dst[2] = webpClip(mulHi(y, 19077) + mulHi(u, 33050) - 17685)
}

// webpToRGB converts a lossy WebP's 4:2:0 YUV planes as libwebp's default
// output does: its "fancy" upsampler (dsp/upsampling.c, rows taken in pairs
// (2k-1, 2k) between chroma rows k-1 and k, the first and an even-height
// last row using one chroma row) and yuv.h's conversion.
func webpToRGB(s *image.YCbCr) (*Image, bool) {
	r := s.Rect
	if s.SubsampleRatio != image.YCbCrSubsampleRatio420 || r.Min.X != 0 || r.Min.Y != 0 {
		return nil, false
	}
	w, h := r.Dx(), r.Dy()
	ch := (h + 1) / 2
	out := NewImage(w, h, 3)
	us := make([]uint8, w)
	vs := make([]uint8, w)
	for y := 0; y < h; y++ {
		// The output row is the top or bottom row of a pair upsampled
		// between chroma rows a (above) and b (below).
		var a, b int
		bottom := false
		switch {
		case y == 0:
			a, b = 0, 0
		case y%2 == 1:
			a, b = y/2, min(y/2+1, ch-1)
		default:
			a, b, bottom = y/2-1, y/2, true
		}
		for p, plane := range [2][]uint8{s.Cb, s.Cr} {
			dst := us
			if p == 1 {
				dst = vs
			}
			webpUpsampleRow(plane[a*s.CStride:], plane[b*s.CStride:], w, bottom, dst)
		}
		for x := 0; x < w; x++ {
			webpRGB(int(s.Y[y*s.YStride+x]), int(us[x]), int(vs[x]), out.Pix[(y*w+x)*3:])
		}
	}
	return out, true
}

// webpUpsampleRow is one channel of one row of libwebp's UPSAMPLE_FUNC:
// top holds the chroma row above the pair, cur the one below, n the width.
func webpUpsampleRow(top, cur []uint8, n int, bottom bool, dst []uint8) {
	tl, l := int(top[0]), int(cur[0])
	if bottom {
		dst[0] = uint8((3*l + tl + 2) >> 2)
	} else {
		dst[0] = uint8((3*tl + l + 2) >> 2)
	}
	last := (n - 1) >> 1
	for x := 1; x <= last; x++ {
		t, c := int(top[x]), int(cur[x])
		avg := tl + t + l + c + 8
		d12 := (avg + 2*(t+l)) >> 3
		d03 := (avg + 2*(tl+c)) >> 3
		if bottom {
			dst[2*x-1] = uint8((d03 + l) >> 1)
			dst[2*x] = uint8((d12 + c) >> 1)
		} else {
			dst[2*x-1] = uint8((d12 + tl) >> 1)
			dst[2*x] = uint8((d03 + t) >> 1)
		}
		tl, l = t, c
	}
	if n&1 == 0 {
		if bottom {
			dst[n-1] = uint8((3*l + tl + 2) >> 2)
		} else {
			dst[n-1] = uint8((3*tl + l + 2) >> 2)
		}
	}
}
