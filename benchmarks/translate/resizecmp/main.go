// Command resizecmp compares the two bicubic resizers considered for
// runtime.Translator.Fit: github.com/nfnt/resize (Bicubic) and
// golang.org/x/image/draw (CatmullRom; the same a = -0.5 cubic kernel). It
// times each on three cases and writes the inputs and results as PNGs into
// -out, where pil_compare.py measures each result against Pillow's BICUBIC
// resize, which the CycleGAN reference uses. It is a separate module so
// that nfnt/resize, which ganrt does not use, stays out of ganrt's go.mod.
//
//	cd benchmarks/translate/resizecmp
//	go run . -out /tmp/resizecmp && /usr/bin/python3 pil_compare.py /tmp/resizecmp
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"time"

	"github.com/nfnt/resize"
	xdraw "golang.org/x/image/draw"
)

// synth is a photo-like test image: gratings of several frequencies,
// noise and sharp-edged rectangles.
func synth(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewSource(1))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			v := func(ph float64) uint8 {
				s := 0.5 + 0.2*math.Sin(40*fx+ph) + 0.15*math.Sin(130*fy*fx+2*ph) + 0.1*math.Sin(300*(fx+fy)+ph) + 0.05*r.NormFloat64()
				return uint8(max(0, min(255, s*255)))
			}
			m.Set(x, y, color.RGBA{v(0), v(1), v(2), 255})
		}
	}
	for i := 0; i < 60; i++ {
		x0, y0 := r.Intn(w), r.Intn(h)
		c := color.RGBA{uint8(r.Intn(256)), uint8(r.Intn(256)), uint8(r.Intn(256)), 255}
		draw.Draw(m, image.Rect(x0, y0, x0+r.Intn(w/4), y0+r.Intn(h/4)), &image.Uniform{c}, image.Point{}, draw.Src)
	}
	return m
}

func save(dir, name string, m image.Image) {
	if _, ok := m.(*image.RGBA); !ok {
		b := m.Bounds()
		r := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(r, r.Bounds(), m, b.Min, draw.Src)
		m = r
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
		panic(err)
	}
}

// timeit returns the mean time of f over about two seconds.
func timeit(f func()) time.Duration {
	f()
	n, start := 0, time.Now()
	for time.Since(start) < 2*time.Second {
		f()
		n++
	}
	return time.Since(start) / time.Duration(n)
}

func main() {
	out := flag.String("out", "resizecmp-out", "folder for the PNGs")
	size := flag.Int("size", 256, "target side")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		panic(err)
	}
	big := synth(1600, 1200)
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, big, &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	bigYCbCr, err := jpeg.Decode(bytes.NewReader(jb.Bytes()))
	if err != nil {
		panic(err)
	}
	cases := []struct {
		name string
		src  image.Image
	}{
		{"rgba1600x1200", big},       // decoded PNG: downscale 6x
		{"ycbcr1600x1200", bigYCbCr}, // decoded JPEG (4:2:0): downscale 6x
		{"rgba200x150", synth(200, 150)},
	}
	fmt.Printf("%-16s %-22s %10s\n", "case", "resizer", "ms/image")
	for _, c := range cases {
		save(*out, c.name+".src.png", c.src)
		var a image.Image
		ta := timeit(func() { a = resize.Resize(uint(*size), uint(*size), c.src, resize.Bicubic) })
		d := image.NewRGBA(image.Rect(0, 0, *size, *size))
		tb := timeit(func() { xdraw.CatmullRom.Scale(d, d.Bounds(), c.src, c.src.Bounds(), xdraw.Src, nil) })
		fmt.Printf("%-16s %-22s %10.2f\n%-16s %-22s %10.2f\n", c.name, "nfnt/resize Bicubic", ms(ta), "", "x/image/draw CatmullRom", ms(tb))
		save(*out, c.name+".nfnt.png", a)
		save(*out, c.name+".xdraw.png", d)
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
