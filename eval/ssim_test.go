package eval

import (
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// ssimGoldens are testdata/ssim/golden.json, made by make_goldens.py with
// skimage (Python is needed only to remake them).
type ssimGoldens struct {
	Skimage string `json:"skimage"`
	Pairs   []struct {
		A, B, Hist string
		SSIM       float64
	} `json:"pairs"`
}

func readGoldens(t *testing.T) ssimGoldens {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ssim", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g ssimGoldens
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Pairs) == 0 {
		t.Fatal("golden.json has no pairs")
	}
	return g
}

func readPNG(t testing.TB, name string) image.Image {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "ssim", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

// TestSSIMMatchesSkimage compares SSIM with skimage's
// structural_similarity (gaussian_weights, sigma 1.5,
// use_sample_covariance=False, data_range 1) on the luminance of the
// golden pairs: a noise texture and its blur, an 13x17 gradient and its
// inverse (the smallest size, negative SSIM), a synthetic scene by day and
// by night, the day darkened, and identical images.
func TestSSIMMatchesSkimage(t *testing.T) {
	g := readGoldens(t)
	for _, p := range g.Pairs {
		a, b := readPNG(t, p.A), readPNG(t, p.B)
		got, err := SSIM(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-p.SSIM) > 1e-9 {
			t.Errorf("SSIM(%s, %s) = %.12f; skimage %s gives %.12f", p.A, p.B, got, g.Skimage, p.SSIM)
		}
		rev, _ := SSIM(b, a)
		if math.Abs(rev-got) > 1e-12 {
			t.Errorf("SSIM(%s, %s) = %v but reversed %v: want symmetric", p.A, p.B, got, rev)
		}
	}
}

func TestSSIMErrors(t *testing.T) {
	small := image.NewRGBA(image.Rect(0, 0, 10, 20))
	if _, err := SSIM(small, small); err == nil {
		t.Error("SSIM of a 10x20 image: got no error; want one (the window is 11x11)")
	}
	if _, err := SSIM(image.NewRGBA(image.Rect(0, 0, 12, 12)), image.NewRGBA(image.Rect(0, 0, 12, 13))); err == nil {
		t.Error("SSIM of 12x12 and 12x13 images: got no error; want a size mismatch")
	}
}

// TestHistogramMatchMatchesSkimage compares HistogramMatch with skimage's
// per-channel histogram matching (what match_histograms(a, b,
// channel_axis=-1) does to each channel, rounded), b being the whole
// target domain.
func TestHistogramMatchMatchesSkimage(t *testing.T) {
	for _, p := range readGoldens(t).Pairs {
		a, b, want := readPNG(t, p.A), readPNG(t, p.B), readPNG(t, p.Hist)
		var st DomainStats
		st.Add(b)
		got := HistogramMatch(a, &st)
		off := 0
		forPixelsPair(got, want, func(x, y uint8) {
			if x != y {
				off++
			}
		})
		if off > 0 {
			t.Errorf("HistogramMatch(%s onto %s): %d channel values differ from skimage's", p.A, p.B, off)
		}
	}
}

func forPixelsPair(a, b image.Image, f func(x, y uint8)) {
	var pa, pb []uint8
	forPixels(a, func(r, g, bl uint8) { pa = append(pa, r, g, bl) })
	forPixels(b, func(r, g, bl uint8) { pb = append(pb, r, g, bl) })
	for i := range min(len(pa), len(pb)) {
		f(pa[i], pb[i])
	}
}

// TestMeanStdTransfer checks that the transfer gives each channel the
// target's mean and standard deviation: onto the statistics of a*0.5+0.25
// (no value clipped), image a becomes that image within a level; a flat
// input channel becomes the target's mean.
func TestMeanStdTransfer(t *testing.T) {
	a := readPNG(t, "a_2.png")
	var st DomainStats
	var want []uint8
	forPixels(a, func(r, g, b uint8) {
		for _, v := range []uint8{r, g, b} {
			want = append(want, uint8(float64(v)*0.5+64))
		}
	})
	st.Images = 1
	for i, v := range want {
		st.Hist[i%3][v]++
	}
	got := MeanStdTransfer(a, &st)
	i, off := 0, 0
	forPixels(got, func(r, g, b uint8) {
		for _, v := range []uint8{r, g, b} {
			if d := int(v) - int(want[i]); d < -1 || d > 1 {
				off++
			}
			i++
		}
	})
	if off > 0 {
		t.Errorf("%d of %d channel values more than a level from a*0.5+64", off, len(want))
	}
	flat := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := range flat.Pix {
		flat.Pix[i] = 200
	}
	f := MeanStdTransfer(flat, &st)
	for c := range 3 {
		wm, _ := meanStd(&st.Hist[c])
		if v := f.Pix[c]; v != to8(wm*255) {
			t.Errorf("flat input, channel %d: got %d; want the target's mean %d", c, v, to8(wm*255))
		}
	}
}

// FuzzSSIM checks SSIM on arbitrary pixel data: within [-1, 1] (plus
// rounding), symmetric, and 1 for an image with itself.
func FuzzSSIM(f *testing.F) {
	f.Add(make([]byte, 2*11*11*4), uint8(11))
	f.Add([]byte("some bytes that make two small images of noise, more or less, for the fuzzer"), uint8(12))
	f.Fuzz(func(t *testing.T, b []byte, w uint8) {
		width := int(w%24) + 11
		n := width * width * 4
		if len(b) < 2*n {
			b = append(b, make([]byte, 2*n-len(b))...)
		}
		x := &image.RGBA{Pix: b[:n], Stride: 4 * width, Rect: image.Rect(0, 0, width, width)}
		y := &image.RGBA{Pix: b[n : 2*n], Stride: 4 * width, Rect: image.Rect(0, 0, width, width)}
		s, err := SSIM(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if s < -1-1e-9 || s > 1+1e-9 || math.IsNaN(s) {
			t.Fatalf("SSIM = %v; want in [-1, 1]", s)
		}
		if r, _ := SSIM(y, x); math.Abs(r-s) > 1e-12 {
			t.Fatalf("SSIM not symmetric: %v and %v", s, r)
		}
		if one, _ := SSIM(x, x); math.Abs(one-1) > 1e-9 {
			t.Fatalf("SSIM of an image with itself = %v; want 1", one)
		}
	})
}
