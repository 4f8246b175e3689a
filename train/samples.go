package train

import (
	"image"
	"image/png"
	"io"
	"math"

	"github.com/ganrt/ganrt/internal/atomicfile"
)

// toRGBA converts one image [3,h,w] (or [1,h,w]) in [-1,1] to 8-bit RGB by
// (y+1)*127.5, rounded and clamped.
func toRGBA(chw []float32, c, h, w int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	plane := h * w
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			for k := range 3 {
				src := k
				if c == 1 {
					src = 0
				}
				v := (float64(chw[src*plane+y*w+x]) + 1) * 127.5
				row[4*x+k] = uint8(math.Max(0, math.Min(255, math.Round(v))))
			}
			row[4*x+3] = 255
		}
	}
	return img
}

// writeGrid writes rows of equally sized images, 2 pixels apart on a white
// background, as a PNG (atomically).
func writeGrid(path string, rows [][]*image.RGBA) error {
	if len(rows) == 0 || len(rows[0]) == 0 {
		return nil
	}
	const gap = 2
	w, h := rows[0][0].Bounds().Dx(), rows[0][0].Bounds().Dy()
	cols := 0
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	grid := image.NewRGBA(image.Rect(0, 0, cols*(w+gap)-gap, len(rows)*(h+gap)-gap))
	for i := range grid.Pix {
		grid.Pix[i] = 255
	}
	for ri, r := range rows {
		for ci, im := range r {
			off := image.Pt(ci*(w+gap), ri*(h+gap))
			for y := range h {
				copy(grid.Pix[(off.Y+y)*grid.Stride+4*off.X:], im.Pix[y*im.Stride:y*im.Stride+4*w])
			}
		}
	}
	return atomicfile.Write(path, func(wr io.Writer) error { return png.Encode(wr, grid) })
}
