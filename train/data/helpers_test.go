package data

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// testImage is a deterministic w x h RGB image whose content depends on
// seed.
func testImage(w, h, seed int) *image.RGBA {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			im.Set(x, y, color.RGBA{uint8(x*7 + seed*31), uint8(y*5 + seed*17), uint8((x*y + seed) % 256), 255})
		}
	}
	return im
}

// writeImage writes a test image at path (PNG, or JPEG for .jpg/.jpeg),
// creating folders.
func writeImage(t testing.TB, path string, w, h, seed int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im := testImage(w, h, seed)
	switch filepath.Ext(path) {
	case ".jpg", ".jpeg", ".JPG":
		err = jpeg.Encode(f, im, &jpeg.Options{Quality: 90})
	default:
		err = png.Encode(f, im)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rel returns paths relative to dir.
func rel(t testing.TB, dir string, paths []string) []string {
	t.Helper()
	out := make([]string, len(paths))
	for i, p := range paths {
		r, err := filepath.Rel(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = filepath.ToSlash(r)
	}
	return out
}
