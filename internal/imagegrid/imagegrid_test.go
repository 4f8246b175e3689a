package imagegrid

import (
	"image"
	"image/color"
	"testing"
)

func solid(w, h int, c color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

// TestCompose checks the layout: sizes, cells copied exactly at their
// places, white gaps, titles drawn only in their bands.
func TestCompose(t *testing.T) {
	red, blue := color.RGBA{200, 0, 0, 255}, color.RGBA{0, 0, 200, 255}
	rows := []Row{
		{Titles: []string{"real_A", "fake_B"}, Cells: []image.Image{solid(20, 10, red), solid(20, 10, blue)}},
		{Cells: []image.Image{solid(20, 10, blue), solid(20, 10, red)}},
	}
	g := Compose(rows)
	// "real_A" is 6 characters of 7 pixels and titlePad: columns are 48 wide.
	const colW = 42 + titlePad
	wantW, wantH := Gap+colW+Gap+colW+Gap, Gap+titleHeight+10+Gap+10+Gap
	if g.Bounds().Dx() != wantW || g.Bounds().Dy() != wantH {
		t.Fatalf("grid %v; want %dx%d", g.Bounds().Size(), wantW, wantH)
	}
	cellAt := func(col, row int) image.Point {
		x := Gap + col*(colW+Gap) + (colW-20)/2
		y := Gap + titleHeight
		if row == 1 {
			y += 10 + Gap
		}
		return image.Pt(x, y)
	}
	for _, c := range []struct {
		col, row int
		want     color.RGBA
	}{{0, 0, red}, {1, 0, blue}, {0, 1, blue}, {1, 1, red}} {
		p := cellAt(c.col, c.row)
		for _, q := range []image.Point{p, p.Add(image.Pt(19, 9))} {
			if got := g.RGBAAt(q.X, q.Y); got != c.want {
				t.Errorf("cell (%d,%d) pixel %v = %v; want %v", c.col, c.row, q, got, c.want)
			}
		}
		for _, q := range []image.Point{p.Add(image.Pt(-1, 0)), p.Add(image.Pt(20, 0)), p.Add(image.Pt(0, 10))} {
			if got := g.RGBAAt(q.X, q.Y); got != (color.RGBA{255, 255, 255, 255}) {
				t.Errorf("cell (%d,%d): pixel %v next to it = %v; want white", c.col, c.row, q, got)
			}
		}
	}
	ink := func(x0, y0, x1, y1 int) int {
		n := 0
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if g.RGBAAt(x, y).R < 128 {
					n++
				}
			}
		}
		return n
	}
	for col := range 2 {
		x0 := Gap + col*(colW+Gap)
		if n := ink(x0, Gap, x0+colW, Gap+titleHeight); n < 20 {
			t.Errorf("column %d: %d dark pixels in the title band; want a title", col, n)
		}
	}
	if n := ink(0, 0, wantW, Gap) + ink(0, Gap+titleHeight+10, wantW, Gap+titleHeight+10+Gap); n != 0 {
		t.Errorf("%d dark pixels in the gaps above and between the rows; want none", n)
	}
}

func TestColumns(t *testing.T) {
	m := image.NewRGBA(image.Rect(0, 0, 30, 5))
	for x := range 30 {
		m.SetRGBA(x, 2, color.RGBA{uint8(x), 0, 0, 255})
	}
	cols := Columns(m, 3)
	for j, c := range cols {
		if c.Bounds().Dx() != 10 || c.Bounds().Dy() != 5 {
			t.Fatalf("column %d: %v; want 10x5", j, c.Bounds())
		}
		if r, _, _, _ := c.At(c.Bounds().Min.X, 2).RGBA(); r>>8 != uint32(10*j) {
			t.Errorf("column %d starts with %d; want %d", j, r>>8, 10*j)
		}
	}
}
