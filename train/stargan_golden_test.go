package train

import (
	"math"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/internal/exec"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/nn"
)

// TestStarGANGoldenSteps runs one critic step (with the second-order
// gradient penalty, on the golden interpolation coefficients) and one
// generator step from the golden weights, and compares the loss terms, the
// gradients and the updated weights with PyTorch, for multi-label (BCE) and
// single-label (cross-entropy) classification.
func TestStarGANGoldenSteps(t *testing.T) {
	if err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"multilabel", "singlelabel"} {
		t.Run(mode, func(t *testing.T) {
			gold := readGolden(t, "stargan_train_"+mode+".io.safetensors")
			gen := loadNet(t, "G", "stargan_train.G.pth")
			disc := loadNet(t, "D", "stargan_train.D.pth")
			optD := NewOptimizer("opt_D", nn.DefaultAdam, disc)
			optG := NewOptimizer("opt_G", nn.DefaultAdam, gen)
			cfg := starGANLossConfig{SingleLabel: mode == "singlelabel", LambdaCls: 1, LambdaRec: 10, LambdaGP: 10,
				Batch: 2, CDim: 3, Size: 32}
			dg, err := buildStarGANDStep(gen, disc, optD, cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			gg, err := buildStarGANGStep(gen, disc, optG, cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			ds, err := Compile(dg, []*Net{gen, disc}, []*Optimizer{optD}, exec.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			gs, err := Compile(gg, []*Net{gen, disc}, []*Optimizer{optG}, exec.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer gs.Close()
			if err := ds.trackNorms(starGANDStepNormCalls(gen)...); err != nil {
				t.Fatal(err)
			}
			if err := gs.trackNorms(starGANGStepNormCalls(gen)...); err != nil {
				t.Fatal(err)
			}
			for _, s := range []*Step{ds, gs} {
				for _, name := range []string{"x_real", "c_org", "c_trg"} {
					copy(s.Data[name], goldenTensor(t, gold, name))
				}
			}
			copy(ds.Data["alpha"], goldenTensor(t, gold, "alpha"))
			if err := ds.Run(1e-4); err != nil {
				t.Fatal(err)
			}
			if err := gs.Run(1e-4); err != nil {
				t.Fatal(err)
			}
			losses := map[string]struct {
				s    *Step
				name string
			}{
				"stepD.loss.real": {ds, "D/loss_real"}, "stepD.loss.fake": {ds, "D/loss_fake"},
				"stepD.loss.cls": {ds, "D/loss_cls"}, "stepD.loss.gp": {ds, "D/loss_gp"}, "stepD.loss.total": {ds, "D"},
				"stepG.loss.fake": {gs, "G/loss_fake"}, "stepG.loss.rec": {gs, "G/loss_rec"},
				"stepG.loss.cls": {gs, "G/loss_cls"}, "stepG.loss.total": {gs, "G"},
			}
			for golden, l := range losses {
				got := float64(l.s.Out[lossPrefix+l.name][0])
				want := float64(goldenTensor(t, gold, golden)[0])
				if math.Abs(got-want) > 1e-5*math.Abs(want)+1e-6 {
					t.Errorf("%s: got %.8g; want %.8g", golden, got, want)
				}
			}
			if e := relErr(ds.Out["x_fake"], goldenTensor(t, gold, "stepD.x_fake"), 1); e > 1e-5 {
				t.Errorf("x_fake: max |diff| %.3g", e)
			}
			if e := relErr(gs.Out["x_reconst"], goldenTensor(t, gold, "stepG.x_reconst"), 1); e > 1e-5 {
				t.Errorf("x_reconst: max |diff| %.3g", e)
			}
			for _, c := range []struct {
				s    *Step
				net  *Net
				step string
			}{{ds, disc, "stepD"}, {gs, gen, "stepG"}} {
				for _, e := range c.net.Reg.Trainable() {
					key := c.net.Name + "." + e.Name
					if d := relErr(c.s.Out[gradPrefix+c.net.Prefix()+e.Name], goldenTensor(t, gold, c.step+".grad."+key), 1e-12); d > 1e-4 {
						t.Errorf("%s grad %s: max |diff| / max |g| = %.3g; want <= 1e-4", c.step, key, d)
					}
					want := goldenTensor(t, gold, c.step+".after."+key)
					got := c.net.Values[e.Name]
					tol := 2e-6
					if key == "G.main.0.weight" {
						// The centre tap over the constant label planes has a
						// zero true gradient (README: noise_grad_elements):
						// Adam moves it by up to lr on rounding noise.
						tol = 2.1e-4
					}
					if d := relErr(got, want, 1); d > tol {
						t.Errorf("%s weight %s after the step: max |diff| %.3g; want <= %g", c.step, key, d, tol)
					}
				}
			}
			// G ran three times in train mode (once in the critic step, twice in
			// the generator step): its instance norms' running statistics moved
			// three times, num_batches_tracked did not.
			stats := 0
			for _, e := range gen.Reg.Entries {
				if e.Kind.Trainable() {
					continue
				}
				stats++
				key := "G." + e.Name
				want := goldenTensor(t, gold, "stepG.after."+key)
				got := gen.Values[e.Name]
				if d := relErr(got, want, 1); d > 1e-6 {
					t.Errorf("%s after the steps: max |diff| %.3g; want <= 1e-6", key, d)
				}
			}
			if stats != 3*7 {
				t.Errorf("G has %d running-statistics entries; want 21 (7 instance norms)", stats)
			}
			if !strings.Contains(gold.Metadata["noise_grad_elements"], "main.0.weight") {
				t.Errorf("golden metadata no longer names main.0.weight as the noise-gradient tensor")
			}
		})
	}
}
