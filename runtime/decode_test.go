package runtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// hugePNG returns a valid PNG signature and IHDR chunk that claims w x h
// RGB pixels, followed by nothing.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func encoded(t *testing.T, img image.Image, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := enc(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngOf(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) }

// TestDecodeFormats decodes every supported format and colour type and
// checks a known pixel after normalization.
func TestDecodeFormats(t *testing.T) {
	const w, h = 9, 7
	rgb := randomRGBA(w, h, 3)
	gray := image.NewGray(rgb.Bounds())
	gray16 := image.NewGray16(rgb.Bounds())
	rgba64 := image.NewRGBA64(rgb.Bounds())
	nrgba := image.NewNRGBA(rgb.Bounds())
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 3)
		gray16.SetGray16(i%w, i/w, color.Gray16{uint16(i * 1000)})
		rgba64.SetRGBA64(i%w, i/w, color.RGBA64{uint16(i * 700), 1234, 65535 - uint16(i*500), 0xffff})
		nrgba.SetNRGBA(i%w, i/w, color.NRGBA{200, 100, 50, uint8(i * 4)}) // alpha varies, colour does not
	}
	pal := image.NewPaletted(rgb.Bounds(), palette.Plan9)
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i * 5)
	}
	ppm := func(magic string, maxval int, samples []int) []byte {
		var b bytes.Buffer
		b.WriteString(magic + "\n# a comment\n3 1\n")
		b.WriteString(strconv.Itoa(maxval) + "\n")
		for _, s := range samples {
			switch {
			case magic == "P3" || magic == "P2":
				b.WriteString(strconv.Itoa(s) + " ")
			case maxval > 255:
				b.Write([]byte{byte(s >> 8), byte(s)})
			default:
				b.WriteByte(byte(s))
			}
		}
		return b.Bytes()
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		x, y   int
		want   [3]float32 // normalized RGB at (x, y)
		approx bool       // lossy format
	}{
		{"png rgb", encoded(t, rgb, pngOf), 4, 3, rgbAt(rgb, 4, 3), false},
		{"png gray", encoded(t, gray, pngOf), 2, 1, grayNorm(uint8(11 * 3)), false},
		{"png gray16", encoded(t, gray16, pngOf), 2, 1, [3]float32{norm16(11000), norm16(11000), norm16(11000)}, false},
		{"png rgba64", encoded(t, rgba64, pngOf), 2, 1, [3]float32{norm16(11 * 700), norm16(1234), norm16(65535 - 11*500)}, false},
		{"png alpha", encoded(t, nrgba, pngOf), 0, 0, [3]float32{lut8[200], lut8[100], lut8[50]}, false},
		{"png paletted", encoded(t, pal, pngOf), 3, 0, paletteNorm(palette.Plan9[15]), false},
		{"gif", encoded(t, pal, func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) }), 3, 0, paletteNorm(palette.Plan9[15]), false},
		{"bmp", encoded(t, rgb, func(b *bytes.Buffer, m image.Image) error { return bmp.Encode(b, m) }), 4, 3, rgbAt(rgb, 4, 3), false},
		{"tiff 16-bit", encoded(t, rgba64, func(b *bytes.Buffer, m image.Image) error { return tiff.Encode(b, m, nil) }), 2, 1, [3]float32{norm16(11 * 700), norm16(1234), norm16(65535 - 11*500)}, false},
		{"jpeg gray", encoded(t, grayImage(16, 16, 90), func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) }), 0, 0, grayNorm(90), true},
		{"jpeg cmyk", readFile(t, "testdata/cmyk.jpg"), 12, 2, [3]float32{-1, -1, 1}, true},
		{"ppm P6", ppm("P6", 255, []int{1, 2, 3, 4, 5, 6, 255, 0, 128}), 2, 0, [3]float32{lut8[255], lut8[0], lut8[128]}, false},
		{"ppm P6 maxval 15", ppm("P6", 15, []int{0, 0, 0, 0, 0, 0, 15, 0, 8}), 2, 0, [3]float32{lut8[255], lut8[0], lut8[136]}, false},
		{"ppm P6 16-bit", ppm("P6", 65535, []int{0, 0, 0, 0, 0, 0, 65535, 0, 1000}), 2, 0, [3]float32{1, -1, norm16(1000)}, false},
		{"ppm P3", ppm("P3", 255, []int{1, 2, 3, 4, 5, 6, 255, 0, 128}), 2, 0, [3]float32{lut8[255], lut8[0], lut8[128]}, false},
		{"pgm P5", ppm("P5", 255, []int{9, 99, 199}), 1, 0, grayNorm(99), false},
		{"pgm P2", ppm("P2", 255, []int{9, 99, 199}), 2, 0, grayNorm(199), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, _, err := Decode(tc.data, 0)
			if err != nil {
				t.Fatal(err)
			}
			b := img.Bounds()
			f := newFrame(b.Dx(), b.Dy(), 1, 1)
			p := f.plane()
			planes := make([]float32, 3*p)
			fillRGB(planes[:p], planes[p:2*p], planes[2*p:], img, f)
			tol := float32(1e-6)
			if tc.approx {
				tol = 4 / 127.5
			}
			for c := range 3 {
				got := planes[c*p+tc.y*f.pw+tc.x]
				if d := got - tc.want[c]; d > tol || d < -tol {
					t.Errorf("%T pixel (%d,%d) channel %d = %v; want %v", img, tc.x, tc.y, c, got, tc.want[c])
				}
			}
		})
	}
}

func rgbAt(m *image.RGBA, x, y int) [3]float32 {
	c := m.RGBAAt(x, y)
	return [3]float32{lut8[c.R], lut8[c.G], lut8[c.B]}
}

func grayNorm(v uint8) [3]float32 { return [3]float32{lut8[v], lut8[v], lut8[v]} }

func paletteNorm(c color.Color) [3]float32 {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [3]float32{lut8[n.R], lut8[n.G], lut8[n.B]}
}

func grayImage(w, h int, v uint8) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = v
	}
	return m
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeBad checks the errors for data that is not a usable image; each
// names the file.
func TestDecodeBad(t *testing.T) {
	dir := t.TempDir()
	good := encoded(t, randomRGBA(40, 30, 1), pngOf)
	goodJPEG := encoded(t, randomRGBA(40, 30, 1), func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) })
	corrupt := bytes.Clone(good)
	for i := 60; i < len(corrupt)-20; i += 7 {
		corrupt[i] ^= 0x5a
	}
	for _, tc := range []struct {
		name string
		data []byte
		is   error
		want string
	}{
		{"text.png", []byte("hello, I am not an image\n"), ErrFormat, "not an image"},
		{"empty.jpg", nil, ErrFormat, "not an image"},
		{"truncated.png", good[:len(good)/2], nil, "decode png"},
		{"truncated.jpg", goodJPEG[:len(goodJPEG)/2], nil, "decode jpeg"},
		{"corrupt.png", corrupt, nil, "decode png"},
		{"header-only.png", good[:20], nil, "png header"},
		{"huge.png", hugePNG(100000, 100000), ErrPixelLimit, "100000x100000"},
		{"zero.ppm", []byte("P6 0 0 255\n"), nil, "netpbm"},
		{"short.ppm", []byte("P6 2 2 255\n\x01\x02"), nil, "decode netpbm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			img, err := DecodeFile(path, 0)
			if err == nil {
				t.Fatalf("decoded a %v image; want an error", img.Bounds())
			}
			if (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want one naming the file, saying %q (errors.Is %v)", err, tc.want, tc.is)
			}
			t.Log(err)
		})
	}
}

// TestPixelLimitBeforeDecoding checks that an image whose header claims too
// many pixels is refused without allocating its pixels.
func TestPixelLimitBeforeDecoding(t *testing.T) {
	data := hugePNG(60000, 50000) // 3e9 pixels: 9 GB as RGB if decoded
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	_, _, err := Decode(data, 0)
	goruntime.ReadMemStats(&after)
	if !errors.Is(err, ErrPixelLimit) {
		t.Fatalf("err = %v; want ErrPixelLimit", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("refusing the image allocated %d bytes; want under 1 MiB", d)
	}
	// Within the limit, the same header gets as far as the missing pixels.
	if _, _, err := Decode(hugePNG(30, 20), 0); err == nil || errors.Is(err, ErrPixelLimit) {
		t.Errorf("small header: err = %v; want a decode error", err)
	}
	// A negative limit is no limit; a small one refuses small images.
	if _, _, err := Decode(encoded(t, randomRGBA(11, 10, 1), pngOf), 100); !errors.Is(err, ErrPixelLimit) {
		t.Errorf("110 pixels, limit 100: err = %v; want ErrPixelLimit", err)
	}
	if _, _, err := Decode(encoded(t, randomRGBA(11, 10, 1), pngOf), -1); err != nil {
		t.Errorf("no limit: %v", err)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	img := randomRGBA(13, 9, 4)
	for _, ext := range []string{".png", ".bmp", ".tif", ".ppm", ".jpg", ""} {
		path := filepath.Join(dir, "out"+ext)
		if err := WriteFile(path, img, EncodeOptions{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		back, err := DecodeFile(path, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := image.NewRGBA(back.Bounds())
		for y := range 9 {
			for x := range 13 {
				got.Set(x, y, back.At(x, y))
			}
		}
		if d := maxDiff(got, img); ext != ".jpg" && d != 0 {
			t.Errorf("%q round trip: max difference %d; want 0", ext, d)
		}
		if got.Bounds() != img.Bounds() {
			t.Errorf("%q round trip: bounds %v", ext, got.Bounds())
		}
	}
	// A failed write leaves the old file alone.
	path := filepath.Join(dir, "keep.jpg")
	if err := WriteFile(path, img, EncodeOptions{}); err != nil {
		t.Fatal(err)
	}
	old := readFile(t, path)
	if err := WriteFile(path, img, EncodeOptions{Quality: 500}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("quality 500: err = %v; want one naming the file", err)
	}
	if !bytes.Equal(readFile(t, path), old) {
		t.Error("a failed write changed the existing file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 7 {
		t.Errorf("%d files in the folder; want 7 (no temporary files left)", len(entries))
	}
	if err := WriteFile(filepath.Join(dir, "x.webp"), img, EncodeOptions{}); err == nil {
		t.Error("writing .webp: no error")
	}
}

// TestDecodeFileNotRegular checks that a FIFO, a folder and a character
// device named like images are refused at once with ErrNotRegular (opening
// a FIFO without O_NONBLOCK blocks until a writer comes).
func TestDecodeFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "folder.png")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{fifo, "a named pipe"}, {folder, "a folder"}, {"/dev/zero", "a character device"},
	} {
		done := make(chan error, 1)
		go func() { _, err := DecodeFile(tc.path, 0); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeFile(%s): err = %v; want ErrNotRegular naming the file and %q", tc.path, err, tc.want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("DecodeFile(%s) hangs", tc.path)
		}
	}
}
