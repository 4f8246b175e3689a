package runtime

import (
	"image"
	"image/png"
	"os"
	"testing"
)

// TestFitMatchesPIL checks that --size resizes a PNG exactly as the
// reference's test pipeline does (PIL: convert("RGB"), resize BICUBIC):
// against Pillow's output in train/data's PIL goldens, up- and
// downscaling, every value equal.
func TestFitMatchesPIL(t *testing.T) {
	const pil = "../train/data/testdata/pil/"
	for _, tc := range []struct {
		in, want string
		size     int
	}{
		{"in37x23.png", "up37x23_64x64.png", 64},
		{"in256.png", "load256_286.png", 286},
	} {
		in, want := readPNG(t, pil+tc.in), readPNG(t, pil+tc.want)
		got := open(t, cycleModel(t), Options{Size: tc.size}).Fit(in)
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s: Fit gives %v; want %v", tc.in, got.Bounds(), want.Bounds())
		}
		n, worst := 0, 0
		b := want.Bounds()
		for y := range b.Dy() {
			for x := range b.Dx() {
				r0, g0, b0, _ := got.At(x, y).RGBA()
				r1, g1, b1, _ := want.At(x, y).RGBA()
				for _, d := range []int{int(r0>>8) - int(r1>>8), int(g0>>8) - int(g1>>8), int(b0>>8) - int(b1>>8)} {
					if d != 0 {
						n++
						worst = max(worst, d, -d)
					}
				}
			}
		}
		if n != 0 {
			t.Errorf("%s -> %dx%d: %d values differ from Pillow's, by up to %d", tc.in, tc.size, tc.size, n, worst)
		}
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
