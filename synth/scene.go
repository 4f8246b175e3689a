package synth

import (
	"math"
	"math/rand/v2"
)

// RGB is a colour with channels in [0, 1] (sRGB values, not linear light).
type RGB [3]float32

// Scene is one procedural street scene, independent of how it is rendered.
// Coordinates are fractions of the image side: x from 0 (left) to 1
// (right), y from 0 (top) to 1 (bottom), so a scene renders at any size.
// Everything a domain shows is in the scene: which windows light up at
// night, where the stars and the rain drops are; rendering draws no random
// numbers.
type Scene struct {
	Seed uint64 // the seed NewScene was called with

	Horizon    float64 // y of the street line on which buildings and trees stand
	RoadTop    float64 // y of the far kerb; lamps stand on it
	RoadBottom float64 // y of the near kerb; grass below
	Sun        Point   // position of the sun by day and of the moon at night
	MoonPhase  float64 // offset of the moon's shadow disc, in moon radii, in [-1.6, -0.5] or [0.5, 1.6]
	LitShare   float64 // share of windows lit at night, in [0.25, 0.6]; at dusk half of that
	DashPhase  float64 // offset of the road's centre-line dashes

	Hills  []Hill
	Back   []Building // far row, drawn first
	Front  []Building // near row
	Trees  []Tree
	Bushes []Disc // on the grass in front of the road
	Lamps  []Lamp
	Clouds []Cloud
	Stars  []Star
	Flakes []Flake // snow
	Drops  []Point // rain: top end of each streak
}

// Point is a position in scene coordinates.
type Point struct{ X, Y float64 }

// Hill is a far ridge: its top at x is Base - Amp*(sin(F1*x+P1)+0.5*sin(F2*x+P2)+1.5)/3.
type Hill struct {
	Base, Amp, F1, P1, F2, P2 float64
	Color                     RGB // by day
}

// Top returns the ridge's y at x.
func (h Hill) Top(x float64) float64 {
	return h.Base - h.Amp*(math.Sin(h.F1*x+h.P1)+0.5*math.Sin(h.F2*x+h.P2)+1.5)/3
}

// Building is a facade standing on the horizon, from X0 to X1 and up to Top,
// with a grid of windows.
type Building struct {
	X0, X1, Top float64
	Color       RGB // facade by day
	Roof        int // 0 flat, 1 parapet, 2 antenna, 3 stepped top
	// Windows: Cols x Rows of size WinW x WinH, the first at (X0+PadX,
	// Top+PadY), pitches StepX and StepY.
	Cols, Rows               int
	WinW, WinH, StepX, StepY float64
	PadX, PadY               float64
	// Lit holds one rank per window, row-major: a window is lit at night when
	// Lit[i] < 256*Scene.LitShare, so the pattern is part of the scene.
	Lit []uint8
	// Warm holds one light colour index per window (0 warm yellow, 1 orange,
	// 2 cool white).
	Warm []uint8
}

// Tree is a tree standing at (X, Base): a trunk and a crown of radius R.
type Tree struct {
	X, Base, R float64
	Conifer    bool
	Color      RGB
}

// Lamp is a street lamp standing on the far kerb at X, its head at height H
// above it, overhanging toward the road by Arm (signed).
type Lamp struct{ X, H, Arm float64 }

// Cloud is a union of discs.
type Cloud struct{ Puffs []Disc }

// Disc is a circle in scene coordinates.
type Disc struct{ X, Y, R float64 }

// Star is a point of light in the night sky, Bright in (0, 1].
type Star struct {
	X, Y, Bright float64
}

// Flake is a falling snowflake.
type Flake struct{ X, Y, R float64 }

// Facade colours by day: brick, sandstone, concrete, cream, teal, slate.
var facadePalette = []RGB{
	{0.62, 0.33, 0.26}, {0.78, 0.66, 0.47}, {0.6, 0.6, 0.6},
	{0.85, 0.8, 0.68}, {0.32, 0.47, 0.5}, {0.42, 0.45, 0.52},
	{0.7, 0.5, 0.38},
}

// MakeLegible makes every domain of the scene follow from any other: every
// window is lit at night (LitShare 1; half of them at dusk, as always), the
// sky has no stars, and no rain streaks or snowflakes fall (rain still
// darkens the sky and wets the road, snow still covers the ground, roofs,
// trees and hills). The lights' colours (Building.Warm) and the moon stay
// the scene's own.
func (s *Scene) MakeLegible() {
	s.LitShare = 1
	s.Stars, s.Drops, s.Flakes = nil, nil, nil
}

// NewScene draws a random scene from seed (PCG). The same seed gives the
// same scene.
func NewScene(seed uint64) *Scene {
	r := rand.New(rand.NewPCG(seed, 0x5ce4e5eed))
	u := func(a, b float64) float64 { return a + (b-a)*r.Float64() }
	jitter := func(c RGB, d float64) RGB {
		for i := range c {
			c[i] = clamp32(c[i] + float32(u(-d, d)))
		}
		return c
	}
	s := &Scene{Seed: seed}
	s.Horizon = u(0.6, 0.7)
	s.RoadTop = s.Horizon + u(0.06, 0.09)
	s.RoadBottom = s.RoadTop + u(0.12, 0.16)
	s.Sun = Point{u(0.1, 0.9), u(0.1, 0.22)}
	s.MoonPhase = u(0.5, 1.6)
	if r.IntN(2) == 0 {
		s.MoonPhase = -s.MoonPhase
	}
	s.LitShare = u(0.25, 0.6)
	s.DashPhase = u(0, 0.1)

	for i, n := 0, 1+r.IntN(2); i < n; i++ {
		base := s.Horizon - u(0.03, 0.1)
		s.Hills = append(s.Hills, Hill{
			Base: base, Amp: u(0.06, 0.2),
			F1: u(3, 8), P1: u(0, 2*math.Pi), F2: u(8, 20), P2: u(0, 2*math.Pi),
			Color: jitter(RGB{0.38, 0.55, 0.36}, 0.06),
		})
	}

	building := func(x0, w, hmin, hmax float64, tint float32) Building {
		b := Building{X0: x0, X1: x0 + w, Top: s.Horizon - u(hmin, hmax), Roof: r.IntN(4)}
		c := facadePalette[r.IntN(len(facadePalette))]
		c = jitter(c, 0.05)
		for i := range c {
			c[i] = c[i]*(1-tint) + 0.72*tint // far row: paler
		}
		b.Color = c
		b.WinW, b.WinH = u(0.014, 0.024), u(0.018, 0.03)
		b.StepX, b.StepY = b.WinW+u(0.01, 0.02), b.WinH+u(0.012, 0.022)
		b.Cols = int((w - 0.02) / b.StepX)
		b.Rows = int((s.Horizon - b.Top - 0.04) / b.StepY)
		if b.Cols < 1 || b.Rows < 1 {
			b.Cols, b.Rows = 0, 0
		}
		b.PadX = (w - float64(b.Cols)*b.StepX + (b.StepX - b.WinW)) / 2
		b.PadY = u(0.015, 0.03)
		n := b.Cols * b.Rows
		b.Lit = make([]uint8, n)
		b.Warm = make([]uint8, n)
		for i := range b.Lit {
			b.Lit[i] = uint8(r.IntN(256))
			b.Warm[i] = uint8(r.IntN(3))
		}
		return b
	}
	for x := -u(0, 0.05); x < 1; {
		w := u(0.07, 0.14)
		s.Back = append(s.Back, building(x, w, 0.2, 0.48, 0.35))
		x += w + u(-0.02, 0.03)
	}
	var gaps []float64
	for x := -u(0, 0.06); x < 1; {
		w := u(0.09, 0.19)
		s.Front = append(s.Front, building(x, w, 0.1, 0.34, 0))
		x += w
		if r.Float64() < 0.45 {
			g := u(0.04, 0.1)
			gaps = append(gaps, x+g/2)
			x += g
		}
	}

	for _, g := range gaps {
		s.Trees = append(s.Trees, tree(r, g, s.Horizon+u(0.005, 0.02), u, jitter))
	}
	for i, n := 0, r.IntN(3); i < n; i++ {
		s.Trees = append(s.Trees, tree(r, u(0.02, 0.98), s.Horizon+u(0.01, 0.03), u, jitter))
	}

	for x := u(-0.05, 0.1); x < 1.05; x += u(0.08, 0.3) {
		y := u(s.RoadBottom+0.05, 0.97)
		for j, m := 0, 1+r.IntN(3); j < m; j++ {
			s.Bushes = append(s.Bushes, Disc{x + u(-0.03, 0.03), y + u(-0.01, 0.01), u(0.015, 0.03)})
		}
	}

	step := u(0.22, 0.34)
	for x := u(0.03, step); x < 1; x += step {
		arm := 0.025
		if r.IntN(2) == 0 {
			arm = -arm
		}
		s.Lamps = append(s.Lamps, Lamp{X: x, H: u(0.12, 0.16), Arm: arm})
	}

	for i, n := 0, 2+r.IntN(4); i < n; i++ {
		cx, cy, w := u(-0.05, 1.05), u(0.05, 0.3), u(0.06, 0.14)
		var c Cloud
		for j, m := 0, 3+r.IntN(4); j < m; j++ {
			c.Puffs = append(c.Puffs, Disc{cx + u(-w, w), cy + u(-0.01, 0.015), w * u(0.3, 0.55)})
		}
		c.Puffs = append(c.Puffs, Disc{cx, cy - w*0.15, w * 0.6})
		s.Clouds = append(s.Clouds, c)
	}

	for i, n := 0, 90+r.IntN(80); i < n; i++ {
		b := r.Float64()
		s.Stars = append(s.Stars, Star{u(0, 1), u(0, s.Horizon), 0.25 + 0.75*b*b*b})
	}
	for i := 0; i < 220; i++ {
		s.Flakes = append(s.Flakes, Flake{u(0, 1), u(0, 1), u(0.003, 0.008)})
	}
	for i := 0; i < 260; i++ {
		s.Drops = append(s.Drops, Point{u(-0.05, 1), u(-0.05, 1)})
	}
	return s
}

func tree(r *rand.Rand, x, base float64, u func(a, b float64) float64, jitter func(RGB, float64) RGB) Tree {
	t := Tree{X: x, Base: base, R: u(0.025, 0.05), Conifer: r.IntN(3) == 0}
	t.Color = jitter(RGB{0.22, 0.45, 0.2}, 0.06)
	return t
}

func clamp32(v float32) float32 {
	return min(max(v, 0), 1)
}
