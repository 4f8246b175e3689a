package synth

import "image"

// affineResidual fits b ~ s*a + o per channel by least squares and returns
// the mean absolute residual in [0, 1] units: how much of the difference
// between two renderings no colour shift can explain.
func affineResidual(a, b *image.RGBA) float64 {
	var total float64
	n := len(a.Pix) / 4
	for c := range 3 {
		var sa, sb, saa, sab float64
		for i := 0; i < len(a.Pix); i += 4 {
			x, y := float64(a.Pix[i+c])/255, float64(b.Pix[i+c])/255
			sa, sb, saa, sab = sa+x, sb+y, saa+x*x, sab+x*y
		}
		fn := float64(n)
		den := fn*saa - sa*sa
		s := 0.0
		if den != 0 {
			s = (fn*sab - sa*sb) / den
		}
		o := (sb - s*sa) / fn
		for i := 0; i < len(a.Pix); i += 4 {
			x, y := float64(a.Pix[i+c])/255, float64(b.Pix[i+c])/255
			r := y - (s*x + o)
			if r < 0 {
				r = -r
			}
			total += r
		}
	}
	return total / float64(3*n)
}
