package data

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func rgbImage(w, h, seed int) *Image {
	src := testImage(w, h, seed)
	return toRGB(src)
}

func TestTransformModes(t *testing.T) {
	for _, c := range []struct {
		mode         Preprocess
		w, h         int
		wantW, wantH int
	}{
		{ResizeAndCrop, 100, 80, 64, 64},
		{Crop, 100, 80, 64, 64},
		{ScaleWidth, 100, 80, 72, 64},   // height int(max(72*80/100, 64)) = 64
		{ScaleWidth, 100, 200, 72, 144}, // height 72*200/100
		{ScaleWidthAndCrop, 100, 200, 64, 64},
		{None, 100, 80, 100, 80},
		{None, 101, 63, 100, 64},
		{None, 102, 66, 104, 64}, // 25.5 -> 26 and 16.5 -> 16: halves round to even
	} {
		for _, gray := range []bool{false, true} {
			tr := Transform{Preprocess: c.mode, LoadSize: 72, CropSize: 64, Gray: gray}
			if err := tr.Validate(); err != nil {
				t.Fatal(err)
			}
			im, err := tr.Apply(rgbImage(c.w, c.h, 1), rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatalf("%s %dx%d: %v", c.mode, c.w, c.h, err)
			}
			wantC := 3
			if gray {
				wantC = 1
			}
			if im.W != c.wantW || im.H != c.wantH || im.C != wantC {
				t.Errorf("%s %dx%d gray=%v: got %dx%dx%d; want %dx%dx%d", c.mode, c.w, c.h, gray, im.W, im.H, im.C, c.wantW, c.wantH, wantC)
			}
			ten := make([]float32, im.C*im.H*im.W)
			im.Tensor(ten)
			lo, hi := ten[0], ten[0]
			for _, v := range ten {
				lo, hi = min(lo, v), max(hi, v)
			}
			if lo < -1 || hi > 1 || hi-lo < 0.5 {
				t.Errorf("%s: tensor range [%v, %v]; want inside [-1, 1] and not flat", c.mode, lo, hi)
			}
		}
	}
}

// TestResizeAndCropMatchesSteps checks the windowed resize + crop + flip
// against the reference's steps done one by one with the same draws.
func TestResizeAndCropMatchesSteps(t *testing.T) {
	in := rgbImage(90, 70, 3)
	tr := Transform{Preprocess: ResizeAndCrop, LoadSize: 72, CropSize: 64}
	for seed := range uint64(8) {
		got, err := tr.Apply(in, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 0))
		y, x := rng.IntN(72-64+1), rng.IntN(72-64+1)
		want := Resize(in, 72, 72, Bicubic).Crop(x, y, 64, 64)
		if rng.Float64() < 0.5 {
			want = want.FlipH()
		}
		if n, _ := diff(got, want); n != 0 {
			t.Errorf("seed %d: %d values differ", seed, n)
		}
	}
}

func TestFlip(t *testing.T) {
	im := &Image{W: 3, H: 2, C: 1, Pix: []uint8{1, 2, 3, 4, 5, 6}}
	if got := im.FlipH().Pix; string(got) != string([]uint8{3, 2, 1, 6, 5, 4}) {
		t.Errorf("FlipH: got %v; want [3 2 1 6 5 4]", got)
	}
	rgb := &Image{W: 2, H: 1, C: 3, Pix: []uint8{1, 2, 3, 4, 5, 6}}
	if got := rgb.FlipH().Pix; string(got) != string([]uint8{4, 5, 6, 1, 2, 3}) {
		t.Errorf("FlipH RGB: got %v; want [4 5 6 1 2 3]", got)
	}
	// About half of the draws flip; NoFlip never does.
	in := rgbImage(8, 8, 2)
	flipped := 0
	for seed := range uint64(400) {
		for _, noFlip := range []bool{false, true} {
			tr := Transform{Preprocess: None, LoadSize: 8, CropSize: 8, NoFlip: noFlip}
			out, err := tr.Apply(in, rand.New(rand.NewPCG(seed, 9)))
			if err != nil {
				t.Fatal(err)
			}
			same, _ := diff(out, in)
			switch {
			case noFlip && same != 0:
				t.Fatal("NoFlip flipped")
			case !noFlip && same != 0:
				if n, _ := diff(out, in.FlipH()); n != 0 {
					t.Fatal("output is neither the image nor its mirror")
				}
				flipped++
			}
		}
	}
	if flipped < 160 || flipped > 240 {
		t.Errorf("%d of 400 flipped; want about 200", flipped)
	}
}

func TestTransformErrors(t *testing.T) {
	_, err := Transform{Preprocess: Crop, LoadSize: 72, CropSize: 64}.Apply(rgbImage(100, 50, 1), rand.New(rand.NewPCG(1, 1)))
	if err == nil || !strings.Contains(err.Error(), "100x50 is smaller than the crop size 64") {
		t.Errorf("small image: got %v", err)
	}
	if err := (Transform{Preprocess: ResizeAndCrop, LoadSize: 256, CropSize: 286}).Validate(); err == nil {
		t.Error("crop > load: got no error")
	}
	if err := (Transform{Preprocess: "resize", LoadSize: 1, CropSize: 1}).Validate(); err == nil || !strings.Contains(err.Error(), "scale_width_and_crop") {
		t.Errorf("unknown mode: got %v", err)
	}
}

func TestCenterCrop(t *testing.T) {
	in := rgbImage(181, 179, 4)
	got := centerCrop(in, 178)
	// (181-178)/2 = 1.5 rounds to 2; (179-178)/2 = 0.5 rounds to 0.
	if n, _ := diff(got, in.Crop(2, 0, 178, 178)); n != 0 {
		t.Error("odd margins: wrong offsets")
	}
	// Smaller than the crop: padded with black, (size-side)/2 on the left.
	small := rgbImage(170, 200, 5)
	got = centerCrop(small, 178)
	if got.W != 178 || got.H != 178 {
		t.Fatalf("got %dx%d", got.W, got.H)
	}
	if n, _ := diff(got, small.Crop(-4, 11, 178, 178)); n != 0 {
		t.Error("padded crop differs")
	}
}

func TestCenterTransform(t *testing.T) {
	tr := CenterTransform{CropSize: 178, ImageSize: 128}
	out := tr.Apply(rgbImage(178, 218, 6), rand.New(rand.NewPCG(1, 1)))
	if out.W != 128 || out.H != 128 {
		t.Fatalf("got %dx%d; want 128x128", out.W, out.H)
	}
	want := Resize(rgbImage(178, 218, 6).Crop(0, 20, 178, 178), 128, 128, Bilinear)
	if n, _ := diff(out, want); n != 0 {
		t.Errorf("%d values differ from crop + bilinear resize", n)
	}
	// Flip comes before the crop, as in the reference.
	tr.Flip = true
	for seed := range uint64(20) {
		in := rgbImage(181, 200, 7)
		got := tr.Apply(in, rand.New(rand.NewPCG(seed, 3)))
		want := in
		if rand.New(rand.NewPCG(seed, 3)).Float64() < 0.5 {
			want = in.FlipH()
		}
		want = Resize(centerCrop(want, 178), 128, 128, Bilinear)
		if n, _ := diff(got, want); n != 0 {
			t.Fatalf("seed %d: flip then crop differs", seed)
		}
	}
}

func TestTensorValues(t *testing.T) {
	im := &Image{W: 2, H: 1, C: 3, Pix: []uint8{0, 128, 255, 51, 0, 255}}
	got := make([]float32, 6)
	im.Tensor(got)
	// Channel planes: R = (0, 51), G = (128, 0), B = (255, 255).
	want := []float32{-1, (float32(51)/255 - 0.5) / 0.5, (float32(128)/255 - 0.5) / 0.5, -1, 1, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("value %d: got %v; want %v", i, got[i], want[i])
		}
	}
}
