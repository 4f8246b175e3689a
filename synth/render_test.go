package synth

import (
	"bytes"
	"image"
	"reflect"
	"testing"
)

func TestNewSceneDeterministic(t *testing.T) {
	a, b := NewScene(42), NewScene(42)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("NewScene(42) differs between calls")
	}
	if reflect.DeepEqual(a, NewScene(43)) {
		t.Fatal("NewScene(42) equals NewScene(43)")
	}
	if len(a.Front) == 0 || len(a.Back) == 0 || len(a.Lamps) == 0 || len(a.Stars) == 0 {
		t.Fatalf("scene lacks buildings, lamps or stars: %d front, %d back, %d lamps, %d stars",
			len(a.Front), len(a.Back), len(a.Lamps), len(a.Stars))
	}
}

// allDomains is every time of day with every weather combination.
func allDomains() []Domain {
	var out []Domain
	for _, tm := range []Time{Day, Dusk, Night} {
		for m := range 8 {
			out = append(out, Domain{Time: tm, Fog: m&1 != 0, Rain: m&2 != 0, Snow: m&4 != 0})
		}
	}
	return out
}

// TestRenderStable: the same scene in the same domain gives the same pixels,
// at every size.
func TestRenderStable(t *testing.T) {
	s := NewScene(7)
	for _, d := range allDomains() {
		for _, size := range []int{MinSize, 37, 64} {
			a, b := Render(s, d, size), Render(NewScene(7), d, size)
			if a.Bounds().Dx() != size || a.Bounds().Dy() != size {
				t.Fatalf("%s: got %v; want %dx%d", d, a.Bounds(), size, size)
			}
			if !bytes.Equal(a.Pix, b.Pix) {
				t.Fatalf("%s at %d: two renders differ", d, size)
			}
			for i := 3; i < len(a.Pix); i += 4 {
				if a.Pix[i] != 255 {
					t.Fatalf("%s: pixel %d not opaque", d, i/4)
				}
			}
		}
	}
}

// TestDomainsDiffer checks over 20 scenes at 64x64 that the domains of one
// scene differ by far more than a colour shift. Measured minima when the
// thresholds were set: day vs night L1 0.40 (vs 0.12-0.16 between two
// different day scenes), residual after the best per-channel affine colour
// map from day to night 0.054; between any two single-label domains 0.11;
// any one-attribute change of the weather grid 0.030.
func TestDomainsDiffer(t *testing.T) {
	const (
		minDayNight = 0.3  // mean L1, [0, 1] units
		minResidual = 0.04 // no colour map explains day -> night
		minSingle   = 0.08 // any two of day, dusk, fog, night, rain, snow
		minFlip     = 0.02 // a single attribute of the weather grid
	)
	doms := SingleDomains()
	for seed := uint64(0); seed < 20; seed++ {
		s := NewScene(seed)
		day, night := Render(s, Domain{Time: Day}, 64), Render(s, Domain{Time: Night}, 64)
		if l1, _ := Metrics(day, night); l1 < minDayNight {
			t.Errorf("scene %d: day vs night L1 %.3f; want > %v", seed, l1, minDayNight)
		}
		if res := affineResidual(day, night); res < minResidual {
			t.Errorf("scene %d: day -> night is nearly a colour map: residual %.3f; want > %v", seed, res, minResidual)
		}
		for i := range doms {
			for j := i + 1; j < len(doms); j++ {
				l1, _ := Metrics(Render(s, doms[i].Domain, 64), Render(s, doms[j].Domain, 64))
				if l1 < minSingle {
					t.Errorf("scene %d: %s vs %s L1 %.3f; want > %v", seed, doms[i].Name, doms[j].Name, l1, minSingle)
				}
			}
		}
		for m := range 16 {
			label := []bool{m&1 == 0, m&1 == 1, m&2 != 0, m&4 != 0, m&8 != 0}
			d, err := DomainOf(label)
			if err != nil {
				t.Fatal(err)
			}
			src := Render(s, d, 64)
			for _, tgt := range GridTargets(label) {
				if LabelString(tgt) == LabelString(label) {
					continue
				}
				td, _ := DomainOf(tgt)
				if l1, _ := Metrics(src, Render(s, td, 64)); l1 < minFlip {
					t.Errorf("scene %d: %s vs %s L1 %.3f; want > %v", seed, d, td, l1, minFlip)
				}
			}
		}
	}
}

// TestRenderLooks checks a few things the domains are made of, by region:
// the night sky is dark and the day sky blue; the front row has lit
// windows at night; shadows darken the day pavement.
func TestRenderLooks(t *testing.T) {
	const size = 128
	for seed := uint64(0); seed < 10; seed++ {
		s := NewScene(seed)
		day, night := Render(s, Domain{Time: Day}, size), Render(s, Domain{Time: Night}, size)
		sky := func(img []uint8) (r, g, b float64) { // the top rows
			var n float64
			for i := 0; i < 4*size*size/16; i += 4 {
				r, g, b, n = r+float64(img[i]), g+float64(img[i+1]), b+float64(img[i+2]), n+1
			}
			return r / n / 255, g / n / 255, b / n / 255
		}
		if r, g, b := sky(day.Pix); b < 0.6 || b < r+0.2 || b < g {
			t.Errorf("scene %d: day sky mean (%.2f %.2f %.2f); want blue", seed, r, g, b)
		}
		if r, g, b := sky(night.Pix); max(r, g, b) > 0.2 {
			t.Errorf("scene %d: night sky mean (%.2f %.2f %.2f); want dark", seed, r, g, b)
		}
		// Lit windows: some night pixels inside facades are bright and warm.
		lit := 0
		for _, b := range s.Front {
			y := int((b.Top + b.PadY + b.WinH/2) * size)
			for x := int(b.X0 * size); x < int(b.X1*size); x++ {
				if x < 0 || x >= size || y < 0 || y >= size {
					continue
				}
				if p := night.Pix[4*(y*size+x):]; p[0] > 180 && p[0] >= p[2] {
					lit++
				}
			}
		}
		if lit == 0 {
			t.Errorf("scene %d: no lit window pixels on the front row at night", seed)
		}
		// Shadows: the pavement band is darker by day than in the same
		// look with shadows turned off.
		noShadow := renderLook(s, Domain{Time: Day}, size, func(l *look) { l.shadows = false })
		y0, y1 := int(s.Horizon*size)+1, int(s.RoadTop*size)-1
		band := func(img []uint8) float64 {
			var sum float64
			for _, v := range img[4*y0*size : 4*y1*size] {
				sum += float64(v)
			}
			return sum / float64(4*(y1-y0)*size) / 255
		}
		if with, without := band(day.Pix), band(noShadow.Pix); with > 0.9*without {
			t.Errorf("scene %d: pavement brightness %.3f with shadows, %.3f without; want at most 0.9x", seed, with, without)
		}
	}
}

// renderLook is Render with the domain's look changed by edit.
func renderLook(s *Scene, d Domain, size int, edit func(*look)) *image.RGBA {
	r := renderer{s: s, l: lookOf(s, d), c: newCanvas(size), n: float64(size)}
	edit(&r.l)
	r.draw()
	return r.c.image()
}

func BenchmarkRender(b *testing.B) {
	s := NewScene(1)
	for _, d := range []Domain{{Time: Day}, {Time: Night}, {Time: Night, Fog: true, Rain: true, Snow: true}} {
		b.Run(d.String()+"/128", func(b *testing.B) {
			for b.Loop() {
				Render(s, d, 128)
			}
		})
	}
}

func BenchmarkNewScene(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		NewScene(uint64(i))
	}
}

// TestLegible checks Scene.MakeLegible over 10 scenes at 64x64: the day
// render is unchanged; the night has no stars and more light (every window
// lit): more bright pixels than the scene's own random pattern gives; no
// rain or snow falls, and the rain and snow renders differ from the scene's
// own (which have them). A legible Write records it in the manifest.
func TestLegible(t *testing.T) {
	bright := func(img *image.RGBA) int {
		n := 0
		for i := 0; i < len(img.Pix); i += 4 {
			if int(img.Pix[i])+int(img.Pix[i+1])+int(img.Pix[i+2]) > 3*150 {
				n++
			}
		}
		return n
	}
	for seed := uint64(0); seed < 10; seed++ {
		s, l := NewScene(seed), NewScene(seed)
		l.MakeLegible()
		if len(l.Stars) != 0 || len(l.Drops) != 0 || len(l.Flakes) != 0 || l.LitShare != 1 {
			t.Fatalf("scene %d: legible has %d stars, %d drops, %d flakes, lit share %v; want none and 1", seed, len(l.Stars), len(l.Drops), len(l.Flakes), l.LitShare)
		}
		for _, d := range []Domain{{Time: Day, Rain: true}, {Time: Day, Snow: true}} {
			if len(s.Drops) > 0 && len(s.Flakes) > 0 && bytes.Equal(Render(s, d, 64).Pix, Render(l, d, 64).Pix) {
				t.Errorf("scene %d: the legible %s render is the scene's own; want no falling rain or snow", seed, d)
			}
		}
		if !bytes.Equal(Render(s, Domain{Time: Day}, 64).Pix, Render(l, Domain{Time: Day}, 64).Pix) {
			t.Errorf("scene %d: the legible day render differs from the scene's", seed)
		}
		n, ln := Render(s, Domain{Time: Night}, 64), Render(l, Domain{Time: Night}, 64)
		if bn, bl := bright(n), bright(ln); bl <= bn {
			t.Errorf("scene %d: legible night has %d bright pixels, the scene's own %d; want more (every window lit)", seed, bl, bn)
		}
	}
	dir := t.TempDir()
	m, err := Write(dir, Options{N: 2, TestN: 1, Size: 32, Seed: 3, Legible: true})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Legible {
		t.Error("the manifest of a legible set says legible false")
	}
}
