// Package imagegrid lays out images in a grid that explains itself: each
// row may carry column titles above it, and cells are Gap pixels apart on
// a white background, so that the panels of a sample grid (real_A, fake_B,
// ...) or of a StarGAN target grid (one column per domain) can be told
// apart and named at a glance.
package imagegrid

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Gap is the space between cells, and around the grid, in pixels.
const Gap = 4

// titleFace draws titles: 7 pixels per character, 13 high.
var titleFace = basicfont.Face7x13

// titlePad is the least space beside a title, within its column.
const titlePad = 6

// titleHeight is the height of a title line, with a pixel of space under it.
var titleHeight = titleFace.Height + 1

// Row is one row of a grid: its cells, left to right, and the titles of
// their columns written above them (none when nil).
type Row struct {
	Titles []string
	Cells  []image.Image
}

// Compose draws rows top to bottom. A column is as wide as its widest cell
// or title (with titlePad beside it); a cell is centered in its column, and a title centered above
// it. Every cell keeps its pixels exactly (no scaling).
func Compose(rows []Row) *image.RGBA {
	var widths []int
	widen := func(j, w int) {
		for len(widths) <= j {
			widths = append(widths, 0)
		}
		widths[j] = max(widths[j], w)
	}
	heights := make([]int, len(rows))
	for i, r := range rows {
		for j, c := range r.Cells {
			widen(j, c.Bounds().Dx())
			heights[i] = max(heights[i], c.Bounds().Dy())
		}
		for j, t := range r.Titles {
			widen(j, textWidth(t)+titlePad)
		}
		if r.Titles != nil {
			heights[i] += titleHeight
		}
	}
	w, h := Gap, Gap
	for _, cw := range widths {
		w += cw + Gap
	}
	for _, rh := range heights {
		h += rh + Gap
	}
	grid := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(grid, grid.Bounds(), image.White, image.Point{}, draw.Src)
	y := Gap
	for i, r := range rows {
		top := y
		if r.Titles != nil {
			top += titleHeight
		}
		x := Gap
		for j, cw := range widths {
			if j < len(r.Titles) {
				writeText(grid, x+(cw-textWidth(r.Titles[j]))/2, y, r.Titles[j])
			}
			if j < len(r.Cells) {
				c := r.Cells[j]
				at := image.Pt(x+(cw-c.Bounds().Dx())/2, top)
				draw.Draw(grid, image.Rectangle{Min: at, Max: at.Add(c.Bounds().Size())}, c, c.Bounds().Min, draw.Src)
			}
			x += cw + Gap
		}
		y += heights[i] + Gap
	}
	return grid
}

// Columns splits img into n columns of equal width, left to right (a
// StarGAN grid: the input, then one translation per target).
func Columns(img image.Image, n int) []image.Image {
	b := img.Bounds()
	w := b.Dx() / max(n, 1)
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	cols := make([]image.Image, n)
	for j := range n {
		r := image.Rect(b.Min.X+j*w, b.Min.Y, b.Min.X+(j+1)*w, b.Max.Y)
		if ok {
			cols[j] = sub.SubImage(r)
			continue
		}
		c := image.NewRGBA(r)
		draw.Draw(c, r, img, r.Min, draw.Src)
		cols[j] = c
	}
	return cols
}

func textWidth(s string) int {
	return font.MeasureString(titleFace, s).Ceil()
}

// writeText writes s in dark grey with its top-left corner at (x, y).
func writeText(dst draw.Image, x, y int, s string) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(color.Gray{Y: 0x30}), Face: titleFace,
		Dot: fixed.P(x, y+titleFace.Ascent)}
	d.DrawString(s)
}
