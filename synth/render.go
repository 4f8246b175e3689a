package synth

import (
	"fmt"
	"image"
	"math"
)

// Fog depths of the layers (see canvas.dep).
const (
	depSky   = 2.5
	depCloud = 1.6
	depHill  = 1.0
	depBack  = 0.7
	depFront = 0.5
	depTree  = 0.4
	depLamp  = 0.3
)

// look is everything a domain changes in how a scene is drawn.
type look struct {
	sky                 [3]RGB // top, middle, horizon
	ambient             RGB    // multiplies the day colours of surfaces
	sun, moon, stars    bool
	dusk                bool
	shadows             bool
	shade               RGB     // shadow multiplier
	side                float32 // brightness of the face turned from the sun
	lit                 float64 // share of windows lit
	lamps               float32 // lamp brightness, 0 off
	glass               RGB     // unlit windows
	cloud, cloudUnder   RGB
	cloudAlpha          float32
	overcast            bool
	fog                 bool
	fogCol              RGB
	snow, rain, wetRoad bool
}

func lookOf(s *Scene, d Domain) look {
	var l look
	switch d.Time {
	case Day:
		l.sky = [3]RGB{{0.22, 0.46, 0.84}, {0.44, 0.66, 0.92}, {0.74, 0.86, 0.97}}
		l.ambient = RGB{1, 1, 1}
		l.sun, l.shadows = true, true
		l.shade = RGB{0.55, 0.6, 0.75}
		l.side = 0.7
		l.glass = RGB{0.36, 0.5, 0.64}
		l.cloud, l.cloudUnder, l.cloudAlpha = RGB{1, 1, 1}, RGB{0.76, 0.79, 0.86}, 0.95
		l.fogCol = RGB{0.8, 0.82, 0.85}
	case Dusk:
		l.sky = [3]RGB{{0.15, 0.14, 0.36}, {0.62, 0.36, 0.46}, {1, 0.62, 0.3}}
		l.ambient = RGB{0.8, 0.58, 0.5}
		l.sun, l.shadows, l.dusk = true, true, true
		l.shade = RGB{0.5, 0.45, 0.62}
		l.side = 0.6
		l.lit = s.LitShare / 2
		l.lamps = 0.6
		l.glass = RGB{0.46, 0.34, 0.38}
		l.cloud, l.cloudUnder, l.cloudAlpha = RGB{1, 0.72, 0.56}, RGB{0.45, 0.3, 0.42}, 0.9
		l.fogCol = RGB{0.76, 0.6, 0.56}
	case Night:
		l.sky = [3]RGB{{0.008, 0.012, 0.045}, {0.025, 0.04, 0.11}, {0.09, 0.1, 0.19}}
		l.ambient = RGB{0.12, 0.14, 0.22}
		l.moon, l.stars = true, true
		l.side = 0.8
		l.lit = s.LitShare
		l.lamps = 1
		l.glass = RGB{0.035, 0.045, 0.075}
		l.cloud, l.cloudUnder, l.cloudAlpha = RGB{0.16, 0.17, 0.24}, RGB{0.06, 0.065, 0.1}, 0.85
		l.fogCol = RGB{0.1, 0.11, 0.14}
	default:
		panic(fmt.Sprintf("synth: unknown time %d", d.Time))
	}
	if d.Rain || d.Snow {
		l.overcast = true
		l.sun, l.moon, l.stars, l.shadows = false, false, false, false
		l.side = 0.88
		switch d.Time {
		case Day:
			// Snow alone is a bright overcast; rain (with or without snow) a dark one.
			l.sky = [3]RGB{{0.64, 0.67, 0.72}, {0.76, 0.78, 0.82}, {0.86, 0.87, 0.9}}
			l.ambient = RGB{0.8, 0.82, 0.86}
			if d.Rain {
				l.sky = [3]RGB{{0.4, 0.43, 0.48}, {0.55, 0.58, 0.62}, {0.68, 0.7, 0.73}}
				l.ambient = RGB{0.66, 0.68, 0.72}
			}
			l.cloud, l.cloudUnder = RGB{0.7, 0.72, 0.76}, RGB{0.42, 0.44, 0.5}
			l.fogCol = RGB{0.72, 0.74, 0.77}
		case Dusk:
			l.sky = [3]RGB{{0.22, 0.2, 0.28}, {0.42, 0.34, 0.38}, {0.62, 0.48, 0.42}}
			l.ambient = RGB{0.5, 0.42, 0.42}
			l.cloud, l.cloudUnder = RGB{0.5, 0.4, 0.42}, RGB{0.25, 0.2, 0.26}
		case Night:
			l.sky = [3]RGB{{0.04, 0.04, 0.05}, {0.08, 0.075, 0.08}, {0.17, 0.14, 0.13}}
			if d.Snow {
				// Snow reflects the city's light: brighter surfaces.
				l.ambient = RGB{0.2, 0.21, 0.28}
			}
			l.cloud, l.cloudUnder = RGB{0.14, 0.13, 0.14}, RGB{0.05, 0.05, 0.06}
		}
		l.cloudAlpha = 0.8
	}
	l.fog, l.snow, l.rain = d.Fog, d.Snow, d.Rain
	l.wetRoad = d.Rain
	return l
}

// Render draws scene s in domain d as a size x size opaque image.
func Render(s *Scene, d Domain, size int) *image.RGBA {
	if size < 1 {
		panic(fmt.Sprintf("synth: Render size %d", size))
	}
	r := renderer{s: s, l: lookOf(s, d), c: newCanvas(size), n: float64(size)}
	r.draw()
	return r.c.image()
}

type renderer struct {
	s *Scene
	l look
	c *canvas
	n float64 // scale: scene units to pixels
}

func (r *renderer) draw() {
	r.skyAndGround()
	if r.l.stars {
		r.stars()
	}
	if r.l.sun {
		r.sun()
	}
	if r.l.moon {
		r.moon()
	}
	r.clouds()
	r.hills()
	for i := range r.s.Back {
		r.building(&r.s.Back[i], depBack)
	}
	if r.l.shadows {
		r.dropShadows()
	}
	for i := range r.s.Front {
		r.building(&r.s.Front[i], depFront)
	}
	if r.l.shadows {
		r.groundShadows()
	}
	for _, t := range r.s.Trees {
		r.tree(t)
	}
	r.bushes()
	for _, lp := range r.s.Lamps {
		r.lamp(lp)
	}
	if r.l.fog {
		r.fog()
	}
	if r.l.lamps > 0 {
		r.lampLight()
	}
	if r.l.rain {
		r.rain()
	}
	if r.l.snow {
		r.snowfall()
	}
}

func (r *renderer) amb(c RGB) RGB {
	return RGB{c[0] * r.l.ambient[0], c[1] * r.l.ambient[1], c[2] * r.l.ambient[2]}
}

func lerp(a, b RGB, t float32) RGB {
	return RGB{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

func scale(c RGB, f float32) RGB { return RGB{c[0] * f, c[1] * f, c[2] * f} }

// skyColor is the sky gradient at scene height y.
func (r *renderer) skyColor(y float64) RGB {
	t := float32(min(max(y/r.s.Horizon, 0), 1))
	if t < 0.6 {
		return lerp(r.l.sky[0], r.l.sky[1], t/0.6)
	}
	return lerp(r.l.sky[1], r.l.sky[2], (t-0.6)/0.4)
}

// groundDepth is the fog depth of the ground at scene height y.
func (r *renderer) groundDepth(y float64) float32 {
	t := 1 - (y-r.s.Horizon)/(1-r.s.Horizon)
	return float32(0.08 + 0.47*t*t)
}

// skyAndGround paints every row: the sky gradient above the horizon; below
// it the pavement, the road with its centre line, and grass (snow-covered
// under snow, dark and glossy under rain).
func (r *renderer) skyAndGround() {
	s, c, n := r.s, r.c, r.n
	pave, road, grass := RGB{0.6, 0.58, 0.55}, RGB{0.24, 0.24, 0.26}, RGB{0.3, 0.52, 0.24}
	if r.l.snow {
		pave, grass = RGB{0.9, 0.92, 0.96}, RGB{0.93, 0.95, 0.99}
		road = RGB{0.42, 0.43, 0.47}
	}
	if r.l.wetRoad {
		road = lerp(scale(road, 0.6), r.l.sky[2], 0.22)
		pave = scale(pave, 0.75)
	}
	for y := 0; y < c.n; y++ {
		sy := (float64(y) + 0.5) / n
		var col RGB
		dep := float32(depSky)
		switch {
		case sy < s.Horizon:
			col = r.skyColor(sy)
		case sy < s.RoadTop:
			col, dep = r.amb(pave), r.groundDepth(sy)
		case sy < s.RoadBottom:
			col, dep = r.amb(road), r.groundDepth(sy)
		default:
			col, dep = r.amb(grass), r.groundDepth(sy)
			col = scale(col, float32(0.85+0.3*(sy-s.RoadBottom)/(1-s.RoadBottom+1e-9)))
		}
		row := y * c.n
		for x := 0; x < c.n; x++ {
			i := row + x
			c.pix[3*i], c.pix[3*i+1], c.pix[3*i+2] = col[0], col[1], col[2]
			c.dep[i] = dep
		}
	}
	// Kerbs and the centre line, with box coverage at their edges.
	kerb := &ink{mode: fill, col: r.amb(RGB{0.72, 0.7, 0.66}), depth: -1}
	if r.l.snow {
		kerb.col = r.amb(RGB{0.96, 0.97, 1})
	}
	kw := max(0.012*n, 1)
	c.rect(0, s.RoadTop*n-kw/2, n, s.RoadTop*n+kw/2, 1, kerb)
	c.rect(0, s.RoadBottom*n-kw/2, n, s.RoadBottom*n+kw/2, 1, kerb)
	dash := &ink{mode: fill, col: r.amb(RGB{0.92, 0.9, 0.78}), depth: -1}
	ym := (s.RoadTop + s.RoadBottom) / 2 * n
	for x := -s.DashPhase; x < 1; x += 0.11 {
		c.rect(x*n, ym-kw/2, (x+0.06)*n, ym+kw/2, 0.9, dash)
	}
}

func (r *renderer) stars() {
	c, n := r.c, r.n
	for _, st := range r.s.Stars {
		x, y := int(st.X*n), int(st.Y*n)
		if x < 0 || y < 0 || x >= c.n || y >= c.n {
			continue
		}
		// Dimmer toward the glow of the city at the horizon.
		b := float32(st.Bright * (1 - 0.7*st.Y/r.s.Horizon))
		k := &ink{mode: add, col: RGB{0.9 * b, 0.9 * b, b}}
		c.put(y*c.n+x, 1, k)
		if st.Bright > 0.8 && c.n >= 96 {
			k.col = scale(k.col, 0.35)
			for _, d := range [][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
				if xx, yy := x+d[0], y+d[1]; xx >= 0 && yy >= 0 && xx < c.n && yy < c.n {
					c.put(yy*c.n+xx, 1, k)
				}
			}
		}
	}
}

// sunPos is where the sun is drawn: high by day, low over the roofs at dusk.
func (r *renderer) sunPos() Point {
	if r.l.dusk {
		x := 0.1 + 0.1*r.s.Sun.X
		if r.s.Sun.X > 0.5 {
			x = 0.8 + 0.1*r.s.Sun.X
		}
		return Point{x, r.s.Horizon - 0.4}
	}
	return r.s.Sun
}

func (r *renderer) sun() {
	c, n := r.c, r.n
	p := r.sunPos()
	x, y := p.X*n, p.Y*n
	if r.l.dusk {
		c.glow(x, y, 0.45*n, 0.3*n, 0.45, RGB{1, 0.55, 0.25})
		c.ellipse(x, y, 0.055*n, 0.055*n, 1, &ink{mode: fill, col: RGB{1, 0.78, 0.45}, depth: depSky})
		return
	}
	c.glow(x, y, 0.22*n, 0.22*n, 0.35, RGB{1, 0.95, 0.78})
	c.ellipse(x, y, 0.04*n, 0.04*n, 1, &ink{mode: fill, col: RGB{1, 0.98, 0.88}, depth: depSky})
}

// moon draws the moon's lit part and its dark part (the sky, a little
// lighter) from the scene's phase.
func (r *renderer) moon() {
	c, n := r.c, r.n
	R := 0.035 * n
	cx, cy := r.s.Sun.X*n, r.s.Sun.Y*n
	sx := cx + r.s.MoonPhase*R
	c.glow(cx, cy, 5*R, 5*R, 0.12, RGB{0.6, 0.65, 0.8})
	lit := RGB{0.96, 0.94, 0.84}
	ix0, ix1 := c.span(cx-R-1, cx+R+1)
	iy0, iy1 := c.span(cy-R-1, cy+R+1)
	for y := iy0; y <= iy1; y++ {
		dark := scale(r.skyColor((float64(y)+0.5)/n), 1.6)
		for x := ix0; x <= ix1; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			in := clamp32(float32(R - math.Hypot(px-cx, py-cy) + 0.5))
			if in == 0 {
				continue
			}
			sh := clamp32(float32(R - math.Hypot(px-sx, py-cy) + 0.5))
			i := y*c.n + x
			c.put(i, in, &ink{mode: fill, col: lerp(lit, dark, sh), depth: depSky})
		}
	}
}

// clouds draws each cloud as the union of its puffs, lighter on top.
func (r *renderer) clouds() {
	c, n := r.c, r.n
	for _, cl := range r.s.Clouds {
		x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, p := range cl.Puffs {
			x0, y0 = min(x0, p.X-p.R), min(y0, p.Y-p.R)
			x1, y1 = max(x1, p.X+p.R), max(y1, p.Y+p.R)
		}
		ix0, ix1 := c.span(x0*n, x1*n)
		iy0, iy1 := c.span(y0*n, y1*n)
		k := ink{mode: fill, depth: depCloud}
		for y := iy0; y <= iy1; y++ {
			py := float64(y) + 0.5
			k.col = lerp(r.l.cloud, r.l.cloudUnder, float32((py/n-y0)/(y1-y0)))
			for x := ix0; x <= ix1; x++ {
				px := float64(x) + 0.5
				var a float32
				for _, p := range cl.Puffs {
					a = max(a, clamp32(float32(p.R*n-math.Hypot(px-p.X*n, py-p.Y*n)+0.5)))
				}
				c.put(y*c.n+x, a*r.l.cloudAlpha, &k)
			}
		}
	}
}

// hills fills each ridge from its top down to the horizon, column by column.
func (r *renderer) hills() {
	c, n := r.c, r.n
	h := r.s.Horizon * n
	for hi, hl := range r.s.Hills {
		col := hl.Color
		if r.l.snow {
			col = lerp(col, RGB{0.9, 0.92, 0.96}, 0.75)
		}
		// Farther ridges are paler and bluer.
		col = lerp(col, RGB{0.55, 0.65, 0.75}, 0.25*float32(len(r.s.Hills)-1-hi))
		k := &ink{mode: fill, col: r.amb(col), depth: depHill}
		for x := 0; x < c.n; x++ {
			top := hl.Top((float64(x)+0.5)/n) * n
			iy0, iy1 := c.span(top, h)
			for y := iy0; y <= iy1; y++ {
				c.put(y*c.n+x, overlap(top, h, y), k)
			}
		}
	}
}

// sunLeft reports whether the sun is left of x (scene units).
func (r *renderer) sunLeft(x float64) bool { return r.sunPos().X < x }

// building draws a facade, its roof, the face turned from the sun, and its
// windows.
func (r *renderer) building(b *Building, dep float32) {
	c, n, h := r.c, r.n, r.s.Horizon*r.n
	x0, x1, top := b.X0*n, b.X1*n, b.Top*n
	face := r.amb(b.Color)
	k := &ink{mode: fill, col: face, depth: dep}
	c.rect(x0, top, x1, h, 1, k)
	roof := &ink{mode: fill, col: scale(face, 0.7), depth: dep}
	w := x1 - x0
	capTop := top // where snow settles
	switch b.Roof {
	case 1: // parapet
		c.rect(x0-0.004*n, top-0.008*n, x1+0.004*n, top+0.004*n, 1, roof)
		capTop = top - 0.008*n
	case 2: // antenna
		ax := x0 + 0.3*w
		c.rect(ax, top-0.06*n, ax+max(0.004*n, 0.6), top, 1, roof)
		c.rect(ax-0.01*n, top-0.045*n, ax+0.01*n+max(0.004*n, 0.6), top-0.04*n, 1, roof)
	case 3: // stepped top
		c.rect(x0+0.25*w, top-0.035*n, x1-0.25*w, top, 1, k)
		if r.l.snow {
			c.rect(x0+0.25*w, top-0.035*n-0.01*n, x1-0.25*w, top-0.035*n+0.002*n, 1, &ink{mode: fill, col: r.amb(RGB{0.95, 0.96, 1}), depth: dep})
		}
	}
	if r.l.snow {
		c.rect(x0-0.003*n, capTop-0.01*n, x1+0.003*n, capTop+0.003*n, 1, &ink{mode: fill, col: r.amb(RGB{0.95, 0.96, 1}), depth: dep})
	}
	// Windows.
	glass := r.amb(r.l.glass)
	if r.l.sun && !r.l.dusk {
		glass = RGB{r.l.glass[0], r.l.glass[1], r.l.glass[2]}
	}
	win := &ink{mode: fill, depth: dep}
	hi := &ink{mode: fill, col: lerp(glass, r.l.sky[2], 0.5), depth: dep}
	litCut := int(256 * r.l.lit)
	for row := 0; row < b.Rows; row++ {
		wy := (b.Top + b.PadY + float64(row)*b.StepY) * n
		for col := 0; col < b.Cols; col++ {
			i := row*b.Cols + col
			wx := (b.X0 + b.PadX + float64(col)*b.StepX) * n
			ww, wh := b.WinW*n, b.WinH*n
			if int(b.Lit[i]) < litCut {
				win.col = scale(lights[b.Warm[i]], 0.8+0.2*float32(b.Lit[i]&7)/7)
				c.rect(wx, wy, wx+ww, wy+wh, 1, win)
				continue
			}
			win.col = glass
			c.rect(wx, wy, wx+ww, wy+wh, 1, win)
			if !r.l.moon && !r.l.overcast {
				c.rect(wx, wy, wx+ww, wy+0.35*wh, 0.7, hi) // the sky reflected
			}
		}
	}
	// The face turned from the sun: a narrow strip on the far side.
	sw := min(0.18*w, 0.02*n)
	side := &ink{mode: mul, col: RGB{r.l.side, r.l.side, r.l.side * 1.05}}
	if r.sunLeft((b.X0 + b.X1) / 2) {
		c.rect(x1-sw, top, x1, h, 1, side)
	} else {
		c.rect(x0, top, x0+sw, h, 1, side)
	}
}

// shadowLen is a shadow's horizontal length per unit of caster height.
func (r *renderer) shadowLen() float64 {
	if r.l.dusk {
		return 1.4
	}
	e := (r.s.Horizon - r.s.Sun.Y) / r.s.Horizon
	return 0.35 / e
}

// shadowDir is +1 when shadows fall to the right.
func (r *renderer) shadowDir(x float64) float64 {
	if r.sunLeft(x) {
		return 1
	}
	return -1
}

// dropShadows darkens the far row where the near row's buildings, moved away
// from the sun, cover it.
func (r *renderer) dropShadows() {
	n := r.n
	shade := &ink{mode: mul, col: r.l.shade}
	if r.l.fog {
		shade.col = lerp(r.l.shade, RGB{1, 1, 1}, 0.5)
	}
	for _, f := range r.s.Front {
		dx := r.shadowDir((f.X0+f.X1)/2) * 0.03 * r.shadowLen()
		fx0, fx1, ftop := f.X0+dx, f.X1+dx, f.Top+0.012
		for _, b := range r.s.Back {
			x0, x1, top := max(fx0, b.X0), min(fx1, b.X1), max(ftop, b.Top)
			r.c.rect(x0*n, top*n, x1*n, r.s.Horizon*n, 1, shade)
		}
	}
}

// groundShadows casts the front row's shadows onto the pavement and road:
// parallelograms from each base, away from the sun and toward the viewer.
func (r *renderer) groundShadows() {
	s, n := r.s, r.n
	shade := &ink{mode: mul, col: r.l.shade}
	if r.l.fog {
		shade.col = lerp(r.l.shade, RGB{1, 1, 1}, 0.5)
	}
	depth := (s.RoadBottom - s.Horizon) * 0.8 // how far toward the viewer shadows reach at most
	cast := func(x0, x1, height float64) {
		l := height * r.shadowLen()
		dx := r.shadowDir((x0+x1)/2) * l
		dy := min(l*0.7, depth)
		y0, y1 := s.Horizon*n, (s.Horizon+dy)*n
		slope := dx / dy
		r.c.rows(y0, y1, func(y float64) (float64, float64) {
			off := slope * (y/n - s.Horizon)
			return (x0 + off) * n, (x1 + off) * n
		}, 1, shade)
	}
	for _, b := range s.Front {
		cast(b.X0, b.X1, s.Horizon-b.Top)
	}
	for _, t := range s.Trees {
		cast(t.X-t.R*0.8, t.X+t.R*0.8, t.R*2.6)
	}
	for _, lp := range s.Lamps {
		w := 0.006
		// Lamps stand on the kerb; their shadows start there.
		l := lp.H * r.shadowLen()
		dx := r.shadowDir(lp.X) * l
		dy := min(l*0.35, s.RoadBottom-s.RoadTop)
		y0, y1 := s.RoadTop*n, (s.RoadTop+dy)*n
		slope := dx / dy
		r.c.rows(y0, y1, func(y float64) (float64, float64) {
			off := slope * (y/n - s.RoadTop)
			return (lp.X - w/2 + off) * n, (lp.X + w/2 + off) * n
		}, 0.8, shade)
	}
}

func (r *renderer) tree(t Tree) {
	c, n := r.c, r.n
	trunkH := t.R * 1.1
	trunk := &ink{mode: fill, col: r.amb(RGB{0.33, 0.22, 0.14}), depth: depTree}
	tw := max(t.R*0.35*n, 1)
	c.rect(t.X*n-tw/2, (t.Base-trunkH-t.R*0.5)*n, t.X*n+tw/2, t.Base*n, 1, trunk)
	col := t.Color
	if r.l.snow {
		col = lerp(col, RGB{0.92, 0.94, 0.98}, 0.45)
	}
	crown := &ink{mode: fill, col: r.amb(col), depth: depTree}
	dark := &ink{mode: fill, col: r.amb(scale(col, 0.72)), depth: depTree}
	cy := t.Base - trunkH - t.R*0.8
	if t.Conifer {
		top, bot := cy-t.R*1.6, t.Base-trunkH*0.6
		r.c.rows(top*n, bot*n, func(y float64) (float64, float64) {
			w := t.R * 0.9 * (y/n - top) / (bot - top)
			return (t.X - w) * n, (t.X + w) * n
		}, 1, crown)
		if r.l.snow {
			tip := cy - t.R*0.7
			white := &ink{mode: fill, col: r.amb(RGB{0.95, 0.96, 1}), depth: depTree}
			r.c.rows(top*n, tip*n, func(y float64) (float64, float64) {
				w := t.R * 0.9 * (y/n - top) / (bot - top)
				return (t.X - w) * n, (t.X + w) * n
			}, 1, white)
		}
		return
	}
	c.ellipse(t.X*n, cy*n, t.R*n, t.R*n, 1, dark)
	c.ellipse((t.X-t.R*0.45)*n, (cy+t.R*0.2)*n, t.R*0.7*n, t.R*0.7*n, 1, crown)
	c.ellipse((t.X+t.R*0.3)*n, (cy-t.R*0.25)*n, t.R*0.75*n, t.R*0.7*n, 1, crown)
	if r.l.snow {
		white := &ink{mode: fill, col: r.amb(RGB{0.95, 0.96, 1}), depth: depTree}
		c.ellipse(t.X*n, (cy-t.R*0.55)*n, t.R*0.7*n, t.R*0.35*n, 1, white)
	}
}

func (r *renderer) bushes() {
	c, n := r.c, r.n
	col := RGB{0.2, 0.4, 0.18}
	if r.l.snow {
		col = RGB{0.85, 0.88, 0.92}
	}
	for _, b := range r.s.Bushes {
		dep := r.groundDepth(b.Y)
		if r.l.shadows {
			sh := &ink{mode: mul, col: r.l.shade}
			c.ellipse((b.X+r.shadowDir(b.X)*b.R*0.9)*n, (b.Y+b.R*0.5)*n, b.R*1.3*n, b.R*0.45*n, 1, sh)
		}
		c.ellipse(b.X*n, b.Y*n, b.R*n, b.R*0.8*n, 1, &ink{mode: fill, col: r.amb(scale(col, 0.8)), depth: dep})
		c.ellipse((b.X-b.R*0.2)*n, (b.Y-b.R*0.25)*n, b.R*0.6*n, b.R*0.45*n, 1, &ink{mode: fill, col: r.amb(lerp(col, RGB{1, 1, 1}, 0.12)), depth: dep})
	}
}

// Window and lamp light colours: warm yellow, orange, cool white.
var lights = [3]RGB{{1, 0.86, 0.5}, {1, 0.68, 0.32}, {0.86, 0.9, 1}}

func (r *renderer) lampHead(lp Lamp) Point {
	return Point{lp.X + lp.Arm, r.s.RoadTop - lp.H}
}

func (r *renderer) lamp(lp Lamp) {
	c, n := r.c, r.n
	pole := &ink{mode: fill, col: r.amb(RGB{0.2, 0.21, 0.23}), depth: depLamp}
	pw := max(0.006*n, 0.8)
	x, base := lp.X*n, r.s.RoadTop*n
	hd := r.lampHead(lp)
	c.rect(x-pw/2, hd.Y*n, x+pw/2, base, 1, pole)
	c.rect(min(x, hd.X*n), hd.Y*n, max(x, hd.X*n), hd.Y*n+pw, 1, pole)
	head := pole
	if r.l.lamps > 0 {
		head = &ink{mode: fill, col: RGB{1, 0.93, 0.7}, depth: depLamp}
	}
	c.ellipse(hd.X*n, hd.Y*n+pw, 0.012*n, 0.007*n, 1, head)
	if r.l.snow {
		c.ellipse(hd.X*n, hd.Y*n-0.001*n, 0.011*n, 0.004*n, 1, &ink{mode: fill, col: r.amb(RGB{0.95, 0.96, 1}), depth: depLamp})
	}
}

// lampLight adds each lit lamp's halo and the pool of light beneath it
// (wider in fog, with a streak reflected on a wet road).
func (r *renderer) lampLight() {
	c, n, s := r.c, r.n, r.s
	col := RGB{1, 0.82, 0.5}
	for _, lp := range s.Lamps {
		hd := r.lampHead(lp)
		x, y := hd.X*n, hd.Y*n
		halo := 0.07
		if r.l.fog {
			halo = 0.14
		}
		c.glow(x, y, halo*n, halo*n, 0.75*r.l.lamps, col)
		c.glow(x, y, 0.02*n, 0.02*n, 0.8*r.l.lamps, RGB{1, 1, 0.9})
		gy := (s.RoadTop + 0.3*(s.RoadBottom-s.RoadTop)) * n
		c.glow(x, gy, 0.11*n, 0.045*n, 0.45*r.l.lamps, col)
		if r.l.wetRoad {
			c.glow(x, (s.RoadTop+s.RoadBottom)/2*n, 0.015*n, 0.1*n, 0.5*r.l.lamps, col)
		}
	}
}

// fog blends every pixel toward the fog colour by its depth.
func (r *renderer) fog() {
	c := r.c
	const density = 1.5
	col := r.l.fogCol
	var table [64]float32 // 1 - exp(-density*d) for d in [0, 2.52)
	for i := range table {
		table[i] = float32(1 - math.Exp(-density*float64(i)*0.04))
	}
	for i, d := range c.dep {
		t := d / 0.04
		j := min(int(t), len(table)-2)
		f := t - float32(j)
		a := table[j] + (table[j+1]-table[j])*f
		p := c.pix[3*i : 3*i+3 : 3*i+3]
		p[0] += (col[0] - p[0]) * a
		p[1] += (col[1] - p[1]) * a
		p[2] += (col[2] - p[2]) * a
	}
}

func (r *renderer) rain() {
	n := r.n
	col := RGB{0.8, 0.83, 0.9}
	alpha := float32(0.4)
	if r.l.lamps == 1 {
		col, alpha = RGB{0.45, 0.47, 0.55}, 0.45
	}
	k := &ink{mode: fill, col: col, depth: -1}
	for _, d := range r.s.Drops {
		r.c.line(d.X*n, d.Y*n, (d.X+0.012)*n, (d.Y+0.055)*n, alpha, k)
	}
}

func (r *renderer) snowfall() {
	n := r.n
	col := RGB{1, 1, 1}
	if r.l.lamps == 1 {
		col = RGB{0.7, 0.72, 0.78}
	}
	k := &ink{mode: fill, col: col, depth: -1}
	for _, f := range r.s.Flakes {
		r.c.ellipse(f.X*n, f.Y*n, f.R*n, f.R*n, 0.9, k)
	}
}
