package synth

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func uniform(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// asNRGBA copies img into another type, to exercise the general path.
func asNRGBA(img *image.RGBA) *image.NRGBA {
	out := image.NewNRGBA(img.Bounds())
	copy(out.Pix, img.Pix) // opaque: premultiplied and not are the same
	return out
}

func TestMetrics(t *testing.T) {
	black, white := uniform(2, 2, color.RGBA{0, 0, 0, 255}), uniform(2, 2, color.RGBA{255, 255, 255, 255})
	ten := uniform(2, 2, color.RGBA{10, 10, 10, 255})
	oneRed := uniform(1, 1, color.RGBA{255, 0, 0, 255})
	oneBlack := uniform(1, 1, color.RGBA{0, 0, 0, 255})
	// Half the pixels differ by 51 (0.2) in green only: L1 = 0.2*2/12,
	// MSE = 0.04*2/12, PSNR = 10*log10(150) = 21.7609 dB.
	half := uniform(2, 2, color.RGBA{0, 0, 0, 255})
	half.Pix[1], half.Pix[5] = 51, 51
	for _, c := range []struct {
		name     string
		a, b     *image.RGBA
		l1, psnr float64
	}{
		{"identical", white, white, 0, math.Inf(1)},
		{"black vs white", black, white, 1, 0},
		{"black vs 10", black, ten, 10.0 / 255, 20 * math.Log10(255.0/10)}, // 28.1308 dB
		{"one channel of one pixel", oneRed, oneBlack, 1.0 / 3, 10 * math.Log10(3)},
		{"half the pixels in green", black, half, 0.4 / 12, 10 * math.Log10(150)},
	} {
		for _, general := range []bool{false, true} {
			var l1, psnr float64
			if general {
				l1, psnr = Metrics(asNRGBA(c.a), c.b)
			} else {
				l1, psnr = Metrics(c.a, c.b)
			}
			if math.Abs(l1-c.l1) > 1e-12 || !(psnr == c.psnr || math.Abs(psnr-c.psnr) < 1e-9) {
				t.Errorf("%s (general path %v): got L1 %v, PSNR %v; want %v, %v", c.name, general, l1, psnr, c.l1, c.psnr)
			}
		}
	}
	if want := 20 * math.Log10(25.5); math.Abs(want-28.1308) > 1e-4 {
		t.Fatalf("hand value: %v", want)
	}
}

func TestMetricsSubImage(t *testing.T) {
	big := uniform(4, 4, color.RGBA{0, 0, 0, 255})
	big.Pix[big.PixOffset(3, 3)] = 255
	sub := big.SubImage(image.Rect(2, 2, 4, 4)).(*image.RGBA)
	small := uniform(2, 2, color.RGBA{0, 0, 0, 255})
	l1, _ := Metrics(sub, small)
	if want := 1.0 / 12; math.Abs(l1-want) > 1e-12 {
		t.Errorf("got L1 %v; want %v", l1, want)
	}
}

func TestMetricsSizeMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("got no panic for a 2x2 vs 1x1 comparison")
		}
	}()
	Metrics(uniform(2, 2, color.RGBA{}), uniform(1, 1, color.RGBA{}))
}
