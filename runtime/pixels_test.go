package runtime

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
)

// straightRGB is the reference reading of a pixel: its un-premultiplied
// colour through color.NRGBA64Model, normalized. Types that store straight
// colour keep it where alpha is 0, as PIL's convert("RGB") does.
func straightRGB(img image.Image, x, y int) [3]float32 {
	var c color.NRGBA64
	switch m := img.(type) {
	case *image.NRGBA:
		n := m.NRGBAAt(x, y)
		c = color.NRGBA64{uint16(n.R) * 257, uint16(n.G) * 257, uint16(n.B) * 257, 0}
	case *image.NRGBA64:
		c = m.NRGBA64At(x, y)
	case *image.NYCbCrA:
		c = color.NRGBA64Model.Convert(m.YCbCr.At(x, y)).(color.NRGBA64)
	default:
		c = color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
	}
	return [3]float32{norm16(uint32(c.R)), norm16(uint32(c.G)), norm16(uint32(c.B))}
}

// testImages returns images of every type fillRGB reads directly, w x h,
// with random content (some with partial alpha), plus sub-images.
func testImages(w, h int) map[string]image.Image {
	r := rand.New(rand.NewPCG(1, 2))
	rect := image.Rect(3, -2, 3+w, -2+h) // a non-zero origin
	byt := func() uint8 { return uint8(r.IntN(256)) }
	imgs := map[string]image.Image{}

	rgba := image.NewRGBA(rect)
	nrgba := image.NewNRGBA(rect)
	rgba64 := image.NewRGBA64(rect)
	nrgba64 := image.NewNRGBA64(rect)
	gray := image.NewGray(rect)
	gray16 := image.NewGray16(rect)
	cmyk := image.NewCMYK(rect)
	pal := image.NewPaletted(rect, color.Palette{color.NRGBA{10, 20, 30, 255}, color.NRGBA{200, 100, 50, 128}, color.Gray{77}})
	alpha := image.NewAlpha(rect)
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			a := byt()
			if x%3 == 0 {
				a = 255
			}
			rgba.SetRGBA(x, y, color.RGBA{min(byt(), a), min(byt(), a), min(byt(), a), a})
			nrgba.SetNRGBA(x, y, color.NRGBA{byt(), byt(), byt(), a})
			a16 := uint16(a)*257 - uint16(r.IntN(2))
			rgba64.SetRGBA64(x, y, color.RGBA64{min(uint16(r.IntN(65536)), a16), min(uint16(r.IntN(65536)), a16), min(uint16(r.IntN(65536)), a16), a16})
			nrgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(r.IntN(65536)), uint16(r.IntN(65536)), uint16(r.IntN(65536)), a16})
			gray.SetGray(x, y, color.Gray{byt()})
			gray16.SetGray16(x, y, color.Gray16{uint16(r.IntN(65536))})
			cmyk.SetCMYK(x, y, color.CMYK{byt(), byt(), byt(), byt()})
			pal.SetColorIndex(x, y, uint8(r.IntN(3)))
			alpha.SetAlpha(x, y, color.Alpha{a})
		}
	}
	imgs["RGBA"], imgs["NRGBA"], imgs["RGBA64"], imgs["NRGBA64"] = rgba, nrgba, rgba64, nrgba64
	imgs["Gray"], imgs["Gray16"], imgs["CMYK"], imgs["Paletted"], imgs["Alpha"] = gray, gray16, cmyk, pal, alpha
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410} {
		m := image.NewYCbCr(rect, ratio)
		for i := range m.Y {
			m.Y[i] = byt()
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = byt(), byt()
		}
		imgs["YCbCr"+ratio.String()] = m
	}
	nya := image.NewNYCbCrA(rect, image.YCbCrSubsampleRatio420)
	for i := range nya.Y {
		nya.Y[i], nya.A[i] = byt(), byt()
	}
	for i := range nya.Cb {
		nya.Cb[i], nya.Cr[i] = byt(), byt()
	}
	imgs["NYCbCrA"] = nya
	sub := image.Rect(rect.Min.X+1, rect.Min.Y+3, rect.Max.X-2, rect.Max.Y-1)
	imgs["RGBA/sub"] = rgba.SubImage(sub)
	imgs["YCbCr420/sub"] = imgs["YCbCrYCbCrSubsampleRatio420"].(*image.YCbCr).SubImage(sub)
	imgs["Gray16/sub"] = gray16.SubImage(sub)
	return imgs
}

// TestFillRGB checks the direct pixel readers against the per-pixel
// reference within 1.5 levels (YCbCr and CMYK convert at 8 bits where the
// reference converts at 16; premultiplied types round on unpremultiplying).
func TestFillRGB(t *testing.T) {
	const tol = 1.5 / 127.5
	for name, img := range testImages(13, 11) {
		t.Run(name, func(t *testing.T) {
			b := img.Bounds()
			f := newFrame(b.Dx(), b.Dy(), 4, 4)
			p := f.plane()
			planes := make([]float32, 3*p)
			fillRGB(planes[:p], planes[p:2*p], planes[2*p:], img, f)
			worst := 0.0
			for y := range f.h {
				for x := range f.w {
					want := straightRGB(img, b.Min.X+x, b.Min.Y+y)
					for c := range 3 {
						got := planes[c*p+(f.top+y)*f.pw+f.left+x]
						if d := math.Abs(float64(got - want[c])); d > worst {
							worst = d
							if d > tol {
								t.Fatalf("pixel (%d,%d) channel %d = %v; want %v", x, y, c, got, want[c])
							}
						}
					}
				}
			}
			t.Logf("worst difference %.2f levels", worst*127.5)
		})
	}
}

// TestPalettedOutOfRange checks that an index past the palette reads as
// black (image.Paletted.At would panic).
func TestPalettedOutOfRange(t *testing.T) {
	m := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.White})
	m.Pix[1] = 7
	f := newFrame(2, 1, 1, 1)
	planes := make([]float32, 3*f.plane())
	fillRGB(planes[0:2], planes[2:4], planes[4:6], m, f)
	if want := []float32{1, -1, 1, -1, 1, -1}; fmt.Sprint(planes) != fmt.Sprint(want) {
		t.Errorf("planes = %v; want %v", planes, want)
	}
}

func TestReflectIndex(t *testing.T) {
	for _, tc := range []struct{ i, n, want int }{
		{-1, 4, 1}, {-3, 4, 3}, {-4, 4, 2}, {4, 4, 2}, {5, 4, 1}, {6, 4, 0}, {7, 4, 1},
		{0, 1, 0}, {-5, 1, 0}, {9, 1, 0}, {-1, 2, 1}, {2, 2, 0}, {3, 2, 1}, {2, 3, 2},
	} {
		if got := reflectIndex(tc.i, tc.n); got != tc.want {
			t.Errorf("reflectIndex(%d, %d) = %d; want %d", tc.i, tc.n, got, tc.want)
		}
	}
}

func TestPad(t *testing.T) {
	f := newFrame(3, 2, 4, 8) // 8x8 plane, image at (2,3)
	if f.pw != 8 || f.ph != 8 || f.left != 2 || f.top != 3 {
		t.Fatalf("frame %+v; want 8x8 at (2,3)", f)
	}
	p := make([]float32, f.plane())
	for y := range f.h {
		for x := range f.w {
			p[(f.top+y)*f.pw+f.left+x] = float32(10*y + x)
		}
	}
	pad(p, f)
	// Row pattern for columns -2..5 relative to the image: reflect of 0 1 2.
	cols := []int{2, 1, 0, 1, 2, 1, 0, 1}
	rows := []int{1, 0, 1, 0, 1, 0, 1, 0} // rows -3..4: reflect of 0 1
	for y, ry := range rows {
		for x, cx := range cols {
			if got, want := p[y*f.pw+x], float32(10*ry+cx); got != want {
				t.Errorf("padded (%d,%d) = %v; want %v", x, y, got, want)
			}
		}
	}
}

func TestTo8(t *testing.T) {
	for _, tc := range []struct {
		v    float32
		want uint8
	}{
		{-1, 0}, {1, 255}, {0, 128}, {-0.9999, 0}, {2, 255}, {-3, 0},
		{float32(math.NaN()), 0}, {float32(math.Inf(1)), 255}, {float32(math.Inf(-1)), 0},
		{float32(10)/127.5 - 1, 10}, {float32(10.49)/127.5 - 1, 10}, {float32(10.51)/127.5 - 1, 11},
	} {
		if got := to8(tc.v); got != tc.want {
			t.Errorf("to8(%v) = %d; want %d", tc.v, got, tc.want)
		}
	}
	// Every 8-bit value survives normalize then denormalize.
	for v := range 256 {
		if got := to8(lut8[v]); int(got) != v {
			t.Errorf("to8(lut8[%d]) = %d", v, got)
		}
	}
}

func BenchmarkFillRGB(b *testing.B) {
	for _, name := range []string{"RGBA", "NRGBA", "YCbCrYCbCrSubsampleRatio420", "Gray"} {
		img := testImages(256, 256)[name]
		f := newFrame(256, 256, 4, 4)
		p := f.plane()
		planes := make([]float32, 3*p)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				fillRGB(planes[:p], planes[p:2*p], planes[2*p:], img, f)
			}
			b.SetBytes(int64(256 * 256 * 3 * 4))
		})
	}
}

// TestYCbCrTables checks the table-driven conversion against
// color.YCbCrToRGB for every input.
func TestYCbCrTables(t *testing.T) {
	for y := range 256 {
		yy := int32(y) * 0x10101
		for cb := range 256 {
			for cr := range 256 {
				r, g, b := color.YCbCrToRGB(uint8(y), uint8(cb), uint8(cr))
				if clampLUT(yy+ycc.r[cr]) != lut8[r] || clampLUT(yy+ycc.gb[cb]+ycc.gr[cr]) != lut8[g] || clampLUT(yy+ycc.b[cb]) != lut8[b] {
					t.Fatalf("YCbCr(%d,%d,%d): tables differ from color.YCbCrToRGB = (%d,%d,%d)", y, cb, cr, r, g, b)
				}
			}
		}
	}
}
