package synth

import (
	"image"
	"math"
)

// canvas is a float RGB image with a fog depth per pixel. Shapes are given
// in pixel coordinates (pixel i covers [i, i+1)) and drawn with box-filter
// coverage at their edges, which is cheap and keeps edges from stair-stepping.
type canvas struct {
	n   int       // side in pixels
	pix []float32 // RGB, row-major
	dep []float32 // distance for the fog pass (0 near, 2.5 sky)
}

// Ink modes.
const (
	fill = iota // blend toward col
	mul         // multiply by col (shadows)
	add         // add col (light)
)

type ink struct {
	mode  int
	col   RGB
	depth float32 // fill only; < 0 leaves the depth as it is
}

func newCanvas(n int) *canvas {
	return &canvas{n: n, pix: make([]float32, 3*n*n), dep: make([]float32, n*n)}
}

// put applies k to pixel i with coverage a in [0, 1].
func (c *canvas) put(i int, a float32, k *ink) {
	if a <= 0 {
		return
	}
	p := c.pix[3*i : 3*i+3 : 3*i+3]
	switch k.mode {
	case fill:
		p[0] += (k.col[0] - p[0]) * a
		p[1] += (k.col[1] - p[1]) * a
		p[2] += (k.col[2] - p[2]) * a
		if k.depth >= 0 {
			c.dep[i] += (k.depth - c.dep[i]) * a
		}
	case mul:
		p[0] *= 1 + (k.col[0]-1)*a
		p[1] *= 1 + (k.col[1]-1)*a
		p[2] *= 1 + (k.col[2]-1)*a
	case add:
		p[0] += k.col[0] * a
		p[1] += k.col[1] * a
		p[2] += k.col[2] * a
	}
}

// span returns the pixel range [i0, i1] that [a, b) touches, clipped.
func (c *canvas) span(a, b float64) (int, int) {
	i0 := max(int(math.Floor(a)), 0)
	i1 := min(int(math.Ceil(b))-1, c.n-1)
	return i0, i1
}

// overlap is the length of [a, b) inside pixel [i, i+1).
func overlap(a, b float64, i int) float32 {
	lo, hi := max(a, float64(i)), min(b, float64(i+1))
	if hi <= lo {
		return 0
	}
	return float32(hi - lo)
}

// rect draws the rectangle [x0, x1) x [y0, y1) with opacity alpha.
func (c *canvas) rect(x0, y0, x1, y1 float64, alpha float32, k *ink) {
	if x1 <= x0 || y1 <= y0 {
		return
	}
	ix0, ix1 := c.span(x0, x1)
	iy0, iy1 := c.span(y0, y1)
	for y := iy0; y <= iy1; y++ {
		ay := alpha * overlap(y0, y1, y)
		row := y * c.n
		for x := ix0; x <= ix1; x++ {
			c.put(row+x, ay*overlap(x0, x1, x), k)
		}
	}
}

// rows draws the shape whose extent in row y (evaluated at the row centre,
// clamped to [y0, y1]) is [left, right).
func (c *canvas) rows(y0, y1 float64, extent func(y float64) (left, right float64), alpha float32, k *ink) {
	iy0, iy1 := c.span(y0, y1)
	for y := iy0; y <= iy1; y++ {
		ay := alpha * overlap(y0, y1, y)
		yc := min(max(float64(y)+0.5, y0), y1)
		l, r := extent(yc)
		if r <= l {
			continue
		}
		ix0, ix1 := c.span(l, r)
		row := y * c.n
		for x := ix0; x <= ix1; x++ {
			c.put(row+x, ay*overlap(l, r, x), k)
		}
	}
}

// ellipse draws the ellipse centred at (cx, cy) with radii rx, ry.
func (c *canvas) ellipse(cx, cy, rx, ry float64, alpha float32, k *ink) {
	ix0, ix1 := c.span(cx-rx-1, cx+rx+1)
	iy0, iy1 := c.span(cy-ry-1, cy+ry+1)
	rm := min(rx, ry)
	area := float32(min(1, math.Pi*rx*ry)) // sub-pixel shapes fade instead of vanishing
	for y := iy0; y <= iy1; y++ {
		dy := (float64(y) + 0.5 - cy) / ry
		row := y * c.n
		for x := ix0; x <= ix1; x++ {
			dx := (float64(x) + 0.5 - cx) / rx
			d := math.Sqrt(dx*dx + dy*dy)
			a := float32((1-d)*rm + 0.5)
			if a <= 0 {
				continue
			}
			c.put(row+x, alpha*min(a, area, 1), k)
		}
	}
}

// glow adds col*strength*(1-d^2)^2, d the distance from (cx, cy) in units of
// the radii rx, ry: a soft light with compact support.
func (c *canvas) glow(cx, cy, rx, ry float64, strength float32, col RGB) {
	ix0, ix1 := c.span(cx-rx, cx+rx)
	iy0, iy1 := c.span(cy-ry, cy+ry)
	k := ink{mode: add}
	for y := iy0; y <= iy1; y++ {
		dy := (float64(y) + 0.5 - cy) / ry
		row := y * c.n
		for x := ix0; x <= ix1; x++ {
			dx := (float64(x) + 0.5 - cx) / rx
			d2 := dx*dx + dy*dy
			if d2 >= 1 {
				continue
			}
			w := float32((1 - d2) * (1 - d2))
			k.col = RGB{col[0] * w, col[1] * w, col[2] * w}
			c.put(row+x, strength, &k)
		}
	}
}

// line draws a steep line from (x0, y0) to (x1, y1) one pixel wide,
// splitting each row's coverage between the two nearest columns.
func (c *canvas) line(x0, y0, x1, y1 float64, alpha float32, k *ink) {
	if y1 < y0 {
		x0, y0, x1, y1 = x1, y1, x0, y0
	}
	iy0, iy1 := c.span(y0, y1)
	slope := (x1 - x0) / (y1 - y0)
	for y := iy0; y <= iy1; y++ {
		ay := alpha * overlap(y0, y1, y)
		x := x0 + slope*(float64(y)+0.5-y0) - 0.5
		fx := math.Floor(x)
		ix, f := int(fx), float32(x-fx)
		row := y * c.n
		if ix >= 0 && ix < c.n {
			c.put(row+ix, ay*(1-f), k)
		}
		if ix+1 >= 0 && ix+1 < c.n {
			c.put(row+ix+1, ay*f, k)
		}
	}
}

// image converts the canvas to 8-bit RGBA, clamping to [0, 1].
func (c *canvas) image() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, c.n, c.n))
	for i, o := 0, 0; i < len(c.pix); i, o = i+3, o+4 {
		img.Pix[o] = quant(c.pix[i])
		img.Pix[o+1] = quant(c.pix[i+1])
		img.Pix[o+2] = quant(c.pix[i+2])
		img.Pix[o+3] = 255
	}
	return img
}

func quant(v float32) uint8 {
	return uint8(min(max(v, 0), 1)*255 + 0.5)
}
