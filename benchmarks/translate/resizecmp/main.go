// Command resizecmp compares the bicubic resizers considered for
// runtime.Translator.Fit: github.com/nfnt/resize (Bicubic),
// golang.org/x/image/draw (CatmullRom; the same a = -0.5 cubic kernel) and
// ganrt's train/data.Resize (Pillow's resampling arithmetic, which Fit now
// uses). It times them interleaved on three cases (each round runs every
// resizer, in a rotating order; medians over the rounds) and writes the
// inputs and results as PNGs into -out, where pil_compare.py measures each
// result against Pillow's BICUBIC resize, which the CycleGAN reference
// uses. It is a separate module so that nfnt/resize, which ganrt does not
// use, stays out of ganrt's go.mod.
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
	"slices"
	"time"

	"github.com/nfnt/resize"
	xdraw "golang.org/x/image/draw"

	"github.com/ganrt/ganrt/train/data"
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

// resizer is one candidate: it resizes src to size x size.
type resizer struct {
	name, file string
	run        func(src image.Image, size int) image.Image
}

var resizers = []resizer{
	{"nfnt/resize Bicubic", "nfnt", func(src image.Image, n int) image.Image {
		return resize.Resize(uint(n), uint(n), src, resize.Bicubic)
	}},
	{"x/image/draw CatmullRom", "xdraw", func(src image.Image, n int) image.Image {
		d := image.NewRGBA(image.Rect(0, 0, n, n))
		xdraw.CatmullRom.Scale(d, d.Bounds(), src, src.Bounds(), xdraw.Src, nil)
		return d
	}},
	{"train/data (Pillow)", "ganrt", func(src image.Image, n int) image.Image {
		return data.Resize(data.FromImage(src), n, n, data.Bicubic).RGBA()
	}},
}

// timeRounds times the resizers interleaved: each of rounds rounds runs
// every resizer reps times, starting with a different one each round. It
// returns each resizer's median time per call and, for each, the median
// over rounds of its time divided by the last resizer's.
func timeRounds(src image.Image, size, rounds, reps int) (med, ratio []float64) {
	per := make([][]float64, len(resizers))
	for r := range rounds {
		for k := range resizers {
			i := (k + r) % len(resizers)
			start := time.Now()
			for range reps {
				resizers[i].run(src, size)
			}
			per[i] = append(per[i], float64(time.Since(start))/float64(reps)/1e6)
		}
	}
	last := per[len(per)-1]
	for i := range resizers {
		q := make([]float64, rounds)
		for r := range q {
			q[r] = per[i][r] / last[r]
		}
		med, ratio = append(med, median(per[i])), append(ratio, median(q))
	}
	return med, ratio
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func main() {
	out := flag.String("out", "resizecmp-out", "folder for the PNGs")
	size := flag.Int("size", 256, "target side")
	rounds := flag.Int("rounds", 15, "interleaved timing rounds")
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
		reps int
	}{
		{"rgba1600x1200", big, 2},       // decoded PNG: downscale 6x
		{"ycbcr1600x1200", bigYCbCr, 2}, // decoded JPEG (4:2:0): downscale 6x
		{"rgba200x150", synth(200, 150), 20},
	}
	fmt.Printf("%-16s %-24s %10s %14s\n", "case", "resizer", "ms/image", "x train/data")
	for _, c := range cases {
		save(*out, c.name+".src.png", c.src)
		med, ratio := timeRounds(c.src, *size, *rounds, c.reps)
		for i, r := range resizers {
			name := c.name
			if i > 0 {
				name = ""
			}
			fmt.Printf("%-16s %-24s %10.2f %14.2f\n", name, r.name, med[i], ratio[i])
			save(*out, c.name+"."+r.file+".png", r.run(c.src, *size))
		}
	}
}
