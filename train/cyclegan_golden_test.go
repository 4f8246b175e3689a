package train

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/ganrt/ganrt/ckpt"
	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/exec"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/nn"
)

const goldenDir = "../testdata/golden"

func loadNet(t *testing.T, name, file string) *Net {
	t.Helper()
	m, err := export.Load(filepath.Join(goldenDir, file), export.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	values := make(map[string][]float32, len(m.Weights))
	for k, v := range m.Weights {
		values[k] = append([]float32(nil), v...)
	}
	n, err := NewNet(name, m.Spec, values)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func readGolden(t *testing.T, file string) *ckpt.StateDict {
	t.Helper()
	sd, err := ckpt.ReadSafetensors(filepath.Join(goldenDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

func goldenTensor(t *testing.T, sd *ckpt.StateDict, name string) []float32 {
	t.Helper()
	v, ok := sd.Get(name)
	if !ok {
		t.Fatalf("golden has no %s", name)
	}
	return v.Floats
}

// relErr is max|got-want| / max(max|want|, floor).
func relErr(got, want []float32, floor float64) float64 {
	d, scale := 0.0, floor
	for i := range want {
		d = max(d, math.Abs(float64(got[i])-float64(want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	return d / scale
}

// TestCycleGANGoldenSteps runs two reference iterations (G step, then the D
// step on the fakes from before the G update) from the golden initial
// weights and compares losses, images, first-iteration gradients and the
// final weights with PyTorch, for lsgan and vanilla.
func TestCycleGANGoldenSteps(t *testing.T) {
	if err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []nn.GANMode{nn.LSGAN, nn.Vanilla} {
		t.Run(mode.String(), func(t *testing.T) {
			gold := readGolden(t, fmt.Sprintf("cyclegan_train_%s.io.safetensors", mode))
			var noisy []string
			if err := json.Unmarshal([]byte(gold.Metadata["noise_grad_params"]), &noisy); err != nil {
				t.Fatal(err)
			}
			isNoisy := map[string]bool{}
			for _, n := range noisy {
				isNoisy[n] = true
			}
			nets := cycleGANNets{
				GA: loadNet(t, "G_A", "cyclegan_train.G_A.pth"), GB: loadNet(t, "G_B", "cyclegan_train.G_B.pth"),
				DA: loadNet(t, "D_A", "cyclegan_train.D_A.pth"), DB: loadNet(t, "D_B", "cyclegan_train.D_B.pth"),
			}
			optG := NewOptimizer("opt_G", nn.DefaultAdam, nets.GA, nets.GB)
			optD := NewOptimizer("opt_D", nn.DefaultAdam, nets.DA, nets.DB)
			cfg := cycleGANLossConfig{Mode: mode, LambdaA: 10, LambdaB: 10, LambdaI: 0.5, Batch: 1, Channels: 3, H: 16, W: 16}
			gg, err := buildGStep(nets, optG, cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			dg, err := buildDStep(nets, optD, cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			all := []*Net{nets.GA, nets.GB, nets.DA, nets.DB}
			gs, err := Compile(gg, all, []*Optimizer{optG}, exec.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer gs.Close()
			ds, err := Compile(dg, []*Net{nets.DA, nets.DB}, []*Optimizer{optD}, exec.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			runGoldenIterations(t, gold, gs, ds, nets, isNoisy)
			worstNoisy := 0.0
			for _, n := range all {
				for _, e := range n.Reg.Trainable() {
					key := n.Name + "." + e.Name
					want := goldenTensor(t, gold, "iter2.after."+key)
					d := relErr(n.Values[e.Name], want, 1) // weights are O(0.1): absolute
					if isNoisy[key] {
						worstNoisy = max(worstNoisy, d)
						continue
					}
					if d > 2e-6 {
						t.Errorf("weight %s after 2 iterations: max |diff| %.3g vs PyTorch; want <= 2e-6", key, d)
					}
				}
			}
			// Entries with exactly-zero true gradients move on rounding noise
			// (testdata/golden/README.md): Adam's normalized step is at most
			// about 1.05*lr in the second iteration, in either direction on
			// either side, so two iterations differ by at most 4.2*lr.
			if worstNoisy > 4.2*2e-4 {
				t.Errorf("noise-gradient weights differ by %.3g; want <= 4.2*lr", worstNoisy)
			}
		})
	}
}

// runGoldenIterations feeds the golden images to the compiled G and D steps
// and runs two reference iterations (G step; the pre-update fakes into the
// D step, pool size 0), checking the first iteration's gradients and
// images and both iterations' losses against the golden file.
func runGoldenIterations(t *testing.T, gold *ckpt.StateDict, gs, ds *Step, nets cycleGANNets, isNoisy map[string]bool) {
	t.Helper()
	realA, realB := goldenTensor(t, gold, "real_A"), goldenTensor(t, gold, "real_B")
	for _, s := range []*Step{gs, ds} {
		copy(s.Data["real_A"], realA)
		copy(s.Data["real_B"], realB)
	}
	for it := 1; it <= 2; it++ {
		if err := gs.Run(2e-4); err != nil {
			t.Fatal(err)
		}
		copy(ds.Data["pool_fake_A"], gs.Out["fake_A"])
		copy(ds.Data["pool_fake_B"], gs.Out["fake_B"])
		if it == 1 {
			// Gradients before the G update are checked now; the D ones
			// after the D step, which consumes the same state.
			checkGrads(t, gold, gs, []*Net{nets.GA, nets.GB}, isNoisy)
			for _, im := range []string{"fake_B", "rec_A", "fake_A", "rec_B", "idt_A", "idt_B"} {
				if e := relErr(gs.Out[im], goldenTensor(t, gold, "iter1."+im), 1); e > 1e-5 {
					t.Errorf("iter1 %s: max |diff| %.3g vs PyTorch", im, e)
				}
			}
		}
		if err := ds.Run(2e-4); err != nil {
			t.Fatal(err)
		}
		if it == 1 {
			checkGrads(t, gold, ds, []*Net{nets.DA, nets.DB}, isNoisy)
		}
		for _, name := range append(append([]string(nil), CycleGANLosses...), "G") {
			s := gs
			if name == "D_A" || name == "D_B" {
				s = ds
			}
			got := float64(s.Out[lossPrefix+name][0])
			want := float64(goldenTensor(t, gold, fmt.Sprintf("iter%d.loss.%s", it, name))[0])
			if math.Abs(got-want) > 1e-5*math.Abs(want)+1e-7 {
				t.Errorf("iter%d loss %s: got %.8g; want %.8g", it, name, got, want)
			}
		}
	}
}

// checkGrads compares the step's gradient outputs with iter1.grad.* of the
// golden file: relative to each tensor's largest gradient, except entries
// whose true gradient is zero, which must stay at rounding level.
func checkGrads(t *testing.T, gold *ckpt.StateDict, s *Step, nets []*Net, isNoisy map[string]bool) {
	t.Helper()
	for _, n := range nets {
		for _, e := range n.Reg.Trainable() {
			key := n.Name + "." + e.Name
			got := s.Out[gradPrefix+n.Prefix()+e.Name]
			want := goldenTensor(t, gold, "iter1.grad."+key)
			if isNoisy[key] {
				for i := range got {
					if math.Abs(float64(got[i])) > 1e-5 {
						t.Errorf("grad %s[%d] = %.3g; want ~0 (true gradient is zero)", key, i, got[i])
						break
					}
				}
				continue
			}
			if d := relErr(got, want, 1e-12); d > 1e-4 {
				t.Errorf("grad %s: max |diff| / max |g| = %.3g vs PyTorch; want <= 1e-4", key, d)
			}
		}
	}
}
