package data

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pilManifest is testdata/pil/manifest.json, written by testdata/gen_pil.py.
type pilManifest struct {
	Pillow string `json:"pillow"`
	Resize []struct {
		Name, Input, Filter, Want string
		W, H                      int
	} `json:"resize"`
	Gray []struct {
		Input, Want string
	} `json:"gray"`
	Decode []struct {
		File, Want string
	} `json:"decode"`
}

func readManifest(t *testing.T) pilManifest {
	t.Helper()
	b, err := os.ReadFile("testdata/pil/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m pilManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func loadPIL(t testing.TB, name string) *Image {
	t.Helper()
	im, err := Load(filepath.Join("testdata/pil", name))
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// diff counts the values of got that differ from want and the largest
// difference.
func diff(got, want *Image) (n, maxd int) {
	for i := range got.Pix {
		d := int(got.Pix[i]) - int(want.Pix[i])
		if d < 0 {
			d = -d
		}
		if d > 0 {
			n++
		}
		maxd = max(maxd, d)
	}
	return n, maxd
}

// TestResizeMatchesPillow checks Resize against Pillow's Image.resize,
// value for value: the agreement is exact (0 differing values).
func TestResizeMatchesPillow(t *testing.T) {
	m := readManifest(t)
	for _, c := range m.Resize {
		t.Run(c.Name, func(t *testing.T) {
			in := loadPIL(t, c.Input)
			want := loadPIL(t, c.Want)
			if strings.HasPrefix(c.Input, "in37x23L") {
				in = in.Gray()
				want = want.Gray()
			}
			f := Bicubic
			if c.Filter == "bilinear" {
				f = Bilinear
			}
			got := Resize(in, c.W, c.H, f)
			if got.W != c.W || got.H != c.H || got.C != want.C {
				t.Fatalf("got %dx%dx%d; want %dx%dx%d", got.W, got.H, got.C, c.W, c.H, want.C)
			}
			n, maxd := diff(got, want)
			if n != 0 {
				t.Errorf("%d of %d values differ from Pillow %s (max %d); want 0", n, len(got.Pix), m.Pillow, maxd)
			}
		})
	}
}

// TestResizeWindow checks that computing a window of a resize gives the
// crop of the full resize.
func TestResizeWindow(t *testing.T) {
	in := loadPIL(t, "in100x80.png")
	for _, f := range []Filter{Bicubic, Bilinear} {
		for _, sz := range [][2]int{{143, 97}, {30, 20}, {100, 120}, {77, 80}} {
			full := Resize(in, sz[0], sz[1], f)
			for _, win := range [][4]int{{0, 0, sz[0], sz[1]}, {3, 5, 10, 7}, {sz[0] - 9, sz[1] - 4, 9, 4}} {
				got := resizeWindow(in, sz[0], sz[1], f, win[0], win[1], win[2], win[3])
				want := full.Crop(win[0], win[1], win[2], win[3])
				if n, _ := diff(got, want); n != 0 {
					t.Errorf("%v %v window %v: %d values differ from the crop of the full resize", f, sz, win, n)
				}
			}
		}
	}
}

func TestGrayMatchesPillow(t *testing.T) {
	for _, c := range readManifest(t).Gray {
		got := loadPIL(t, c.Input).Gray()
		want := loadPIL(t, c.Want).Gray() // stored as L, loaded as RGB
		if n, maxd := diff(got, want); n != 0 {
			t.Errorf("%s: %d values differ from convert(\"L\") (max %d)", c.Input, n, maxd)
		}
	}
}

// TestDecodeMatchesPillow compares Load with Image.open(f).convert("RGB"):
// exact for every lossless format; JPEG within a stated bound.
func TestDecodeMatchesPillow(t *testing.T) {
	for _, c := range readManifest(t).Decode {
		t.Run(c.File, func(t *testing.T) {
			got := loadPIL(t, c.File)
			want := loadPIL(t, c.Want)
			if got.W != want.W || got.H != want.H {
				t.Fatalf("got %dx%d; want %dx%d", got.W, got.H, want.W, want.H)
			}
			n, maxd := diff(got, want)
			if strings.HasSuffix(c.File, ".jpg") {
				// Go's IDCT and chroma upsampling are not libjpeg's.
				t.Logf("%s: %d of %d values differ from libjpeg's, max %d", c.File, n, len(got.Pix), maxd)
				if maxd > 4 {
					t.Errorf("%s: max difference %d from libjpeg's decoding; want <= 4", c.File, maxd)
				}
				return
			}
			if n != 0 {
				t.Errorf("%d values differ from Pillow (max %d); want 0", n, maxd)
			}
		})
	}
}
