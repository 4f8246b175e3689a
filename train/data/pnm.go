package data

import (
	"errors"
	"fmt"
	"math"
)

// isPNM reports whether b starts like a PBM/PGM/PPM file (P1 to P6).
func isPNM(b []byte) bool {
	return len(b) >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6'
}

// pnmReader reads the tokens of a PNM header.
type pnmReader struct {
	b   []byte
	pos int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// skip moves past whitespace and comments (from '#' to the end of the line).
func (r *pnmReader) skip() {
	for r.pos < len(r.b) {
		c := r.b[r.pos]
		switch {
		case isSpace(c):
			r.pos++
		case c == '#':
			for r.pos < len(r.b) && r.b[r.pos] != '\n' && r.b[r.pos] != '\r' {
				r.pos++
			}
		default:
			return
		}
	}
}

// uint reads a decimal number; digits limits how many digits it may take
// (plain PBM pixels are single digits that need no separator).
func (r *pnmReader) uint(digits int) (int, error) {
	r.skip()
	start := r.pos
	v := 0
	for r.pos < len(r.b) && r.pos-start < digits && r.b[r.pos] >= '0' && r.b[r.pos] <= '9' {
		v = v*10 + int(r.b[r.pos]-'0')
		if v > math.MaxInt32 {
			return 0, errors.New("pnm: number too large")
		}
		r.pos++
	}
	if r.pos == start {
		if r.pos >= len(r.b) {
			return 0, errors.New("pnm: image file is truncated")
		}
		return 0, fmt.Errorf("pnm: unexpected byte %q", r.b[r.pos])
	}
	return v, nil
}

// decodePNM decodes P1..P6 into RGB with PIL's (9.x) rules: bit 1 of a
// bitmap is black; samples of a maxval other than 255 are rescaled to
// round(v/maxval*255) (round half to even), and 16-bit grayscale clips to
// 255 as PIL's mode "I" does.
func decodePNM(b []byte) (*Image, error) {
	kind := b[1]
	r := &pnmReader{b: b, pos: 2}
	w, err := r.uint(10)
	if err != nil {
		return nil, err
	}
	h, err := r.uint(10)
	if err != nil {
		return nil, err
	}
	if err := checkPixels(w, h); err != nil {
		return nil, fmt.Errorf("pnm: %w", err)
	}
	maxval := 1
	if kind != '1' && kind != '4' {
		if maxval, err = r.uint(10); err != nil {
			return nil, err
		}
		if maxval <= 0 || maxval >= 1<<16 {
			return nil, fmt.Errorf("pnm: maxval %d not in [1, 65535]", maxval)
		}
	}
	bands := 1
	if kind == '3' || kind == '6' {
		bands = 3
	}
	out := NewImage(w, h, 3)
	n := w * h * bands
	samples := make([]int, 0, n)
	switch kind {
	case '1', '2', '3':
		digits := 10
		if kind == '1' {
			digits = 1
		}
		for len(samples) < n {
			v, err := r.uint(digits)
			if err != nil {
				return nil, err
			}
			if v > maxval {
				return nil, fmt.Errorf("pnm: sample %d exceeds maxval %d", v, maxval)
			}
			samples = append(samples, v)
		}
	case '4':
		r.pos++ // the single whitespace byte after the header
		stride := (w + 7) / 8
		if len(b)-r.pos < stride*h {
			return nil, errors.New("pnm: image file is truncated")
		}
		for y := 0; y < h; y++ {
			row := b[r.pos+y*stride:]
			for x := 0; x < w; x++ {
				samples = append(samples, int(row[x/8]>>(7-x%8)&1))
			}
		}
	default: // '5', '6'
		r.pos++
		size := 1
		if maxval > 255 {
			size = 2
		}
		if len(b)-r.pos < n*size {
			return nil, errors.New("pnm: image file is truncated")
		}
		d := b[r.pos:]
		for i := 0; i < n; i++ {
			v := int(d[i])
			if size == 2 {
				v = int(d[2*i])<<8 | int(d[2*i+1])
			}
			samples = append(samples, v)
		}
	}
	scale := func(v int) uint8 {
		if kind == '1' || kind == '4' {
			if v == 1 {
				return 0
			}
			return 255
		}
		if maxval == 255 {
			return uint8(v)
		}
		outMax := 255.0
		if bands == 1 && maxval > 255 {
			outMax = 65535 // PIL mode "I", clipped to 255 by convert("RGB")
		}
		s := math.Min(outMax, math.RoundToEven(float64(v)/float64(maxval)*outMax))
		return uint8(math.Min(s, 255))
	}
	for i := 0; i < w*h; i++ {
		if bands == 1 {
			v := scale(samples[i])
			out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = v, v, v
		} else {
			for c := 0; c < 3; c++ {
				out.Pix[3*i+c] = scale(samples[3*i+c])
			}
		}
	}
	return out, nil
}
