package train

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/nn"
)

// requireCUDA skips the test unless a model runs on cuda:0.
func requireCUDA(t *testing.T) {
	t.Helper()
	if err := ort.CUDAWorks(0); err != nil {
		t.Skipf("no usable CUDA: %v", err)
	}
}

// closeRel reports whether got is within rel of want, relatively.
func closeRel(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)+1e-7
}

// TestCycleGANGoldenCUDA runs the two golden CycleGAN iterations (lsgan) on
// cuda:0 with the parameters and moments resident on the GPU: every loss
// within 1e-3 relative of PyTorch's, and the weights after two iterations
// within 4.2*lr (what rounding noise may move a weight by).
func TestCycleGANGoldenCUDA(t *testing.T) {
	requireCUDA(t)
	gold := readGolden(t, "cyclegan_train_lsgan.io.safetensors")
	nets := cycleGANNets{
		GA: loadNet(t, "G_A", "cyclegan_train.G_A.pth"), GB: loadNet(t, "G_B", "cyclegan_train.G_B.pth"),
		DA: loadNet(t, "D_A", "cyclegan_train.D_A.pth"), DB: loadNet(t, "D_B", "cyclegan_train.D_B.pth"),
	}
	optG := NewOptimizer("opt_G", nn.DefaultAdam, nets.GA, nets.GB)
	optD := NewOptimizer("opt_D", nn.DefaultAdam, nets.DA, nets.DB)
	cfg := cycleGANLossConfig{Mode: nn.LSGAN, LambdaA: 10, LambdaB: 10, LambdaI: 0.5, Batch: 1, Channels: 3, H: 16, W: 16}
	gg, err := buildGStep(nets, optG, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	dg, err := buildDStep(nets, optD, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	eo, err := execOptions("cuda", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if eo.Resident == nil {
		t.Fatal("a cuda run has no resident tensors")
	}
	all := []*Net{nets.GA, nets.GB, nets.DA, nets.DB}
	gs, err := Compile(gg, all, []*Optimizer{optG}, eo)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Compile(dg, all[2:], []*Optimizer{optD}, eo)
	if err != nil {
		t.Fatal(err)
	}
	defer stepPairs{{}: {gs, ds}}.CloseWith(eo.Resident)
	if m := eo.Resident.Memory(); m.OnHost() {
		t.Errorf("resident tensors live in %v; want GPU memory", m)
	}
	for _, s := range []*Step{gs, ds} {
		copy(s.Data["real_A"], goldenTensor(t, gold, "real_A"))
		copy(s.Data["real_B"], goldenTensor(t, gold, "real_B"))
	}
	for it := 1; it <= 2; it++ {
		if err := gs.Run(2e-4); err != nil {
			t.Fatal(err)
		}
		copy(ds.Data["pool_fake_A"], gs.Out["fake_A"])
		copy(ds.Data["pool_fake_B"], gs.Out["fake_B"])
		if err := ds.Run(2e-4); err != nil {
			t.Fatal(err)
		}
		for _, name := range append(append([]string(nil), CycleGANLosses...), "G") {
			s := gs
			if name == "D_A" || name == "D_B" {
				s = ds
			}
			got := float64(s.Out[lossPrefix+name][0])
			want := float64(goldenTensor(t, gold, fmt.Sprintf("iter%d.loss.%s", it, name))[0])
			if !closeRel(got, want, 1e-3) {
				t.Errorf("iter%d loss %s on CUDA: %.8g; PyTorch %.8g", it, name, got, want)
			}
		}
	}
	if err := syncHost(eo); err != nil {
		t.Fatal(err)
	}
	for _, n := range all {
		for _, e := range n.Reg.Trainable() {
			if d := relErr(n.Values[e.Name], goldenTensor(t, gold, "iter2.after."+n.Name+"."+e.Name), 1); d > 4.2*2e-4 {
				t.Errorf("weight %s.%s after 2 iterations on CUDA: max |diff| %.3g", n.Name, e.Name, d)
			}
		}
	}
	t.Logf("traffic per G step %+v, D step %+v", gs.Traffic(), ds.Traffic())
}

// TestStarGANGoldenCUDA runs the golden StarGAN critic and generator steps
// (multi-label) on cuda:0, resident: losses within 1e-3 relative.
func TestStarGANGoldenCUDA(t *testing.T) {
	requireCUDA(t)
	gold := readGolden(t, "stargan_train_multilabel.io.safetensors")
	gen := loadNet(t, "G", "stargan_train.G.pth")
	disc := loadNet(t, "D", "stargan_train.D.pth")
	optD := NewOptimizer("opt_D", nn.DefaultAdam, disc)
	optG := NewOptimizer("opt_G", nn.DefaultAdam, gen)
	cfg := starGANLossConfig{LambdaCls: 1, LambdaRec: 10, LambdaGP: 10, Batch: 2, CDim: 3, Size: 32}
	dg, err := buildStarGANDStep(gen, disc, optD, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	gg, err := buildStarGANGStep(gen, disc, optG, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	eo, err := execOptions("cuda", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Compile(dg, []*Net{gen, disc}, []*Optimizer{optD}, eo)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := Compile(gg, []*Net{gen, disc}, []*Optimizer{optG}, eo)
	if err != nil {
		t.Fatal(err)
	}
	defer stepPairs{{}: {ds, gs}}.CloseWith(eo.Resident)
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
	for golden, l := range map[string]struct {
		s    *Step
		name string
	}{
		"stepD.loss.real": {ds, "D/loss_real"}, "stepD.loss.fake": {ds, "D/loss_fake"},
		"stepD.loss.cls": {ds, "D/loss_cls"}, "stepD.loss.gp": {ds, "D/loss_gp"}, "stepD.loss.total": {ds, "D"},
		"stepG.loss.fake": {gs, "G/loss_fake"}, "stepG.loss.rec": {gs, "G/loss_rec"},
		"stepG.loss.cls": {gs, "G/loss_cls"}, "stepG.loss.total": {gs, "G"},
	} {
		got := float64(l.s.Out[lossPrefix+l.name][0])
		if want := float64(goldenTensor(t, gold, golden)[0]); !closeRel(got, want, 1e-3) {
			t.Errorf("%s on CUDA: %.8g; PyTorch %.8g", golden, got, want)
		}
	}
}

// TestCycleGANResumeCUDA checks on cuda:0 that 4 iterations straight equal
// 2, a stop and a resume for 2 more: bit for bit where cuDNN picks the same
// algorithms in both processes' sessions, and always within 1e-5 of the
// largest weight.
func TestCycleGANResumeCUDA(t *testing.T) {
	requireCUDA(t)
	dataDir := synthData(t)
	straight := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), "straight"))
	straight.Device, straight.MaxIters = "cuda", 4
	if err := TrainCycleGAN(context.Background(), straight, nil, nil); err != nil {
		t.Fatal(err)
	}
	split := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), "split"))
	split.Device, split.MaxIters = "cuda", 2
	if err := TrainCycleGAN(context.Background(), split, nil, nil); err != nil {
		t.Fatal(err)
	}
	split.MaxIters, split.Resume = 4, true
	if err := TrainCycleGAN(context.Background(), split, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"G_A", "G_B", "D_A", "D_B"} {
		file := "latest_net_" + name + ".safetensors"
		a, b := readNet(t, filepath.Join(straight.Out, file)), readNet(t, filepath.Join(split.Out, file))
		exact := true
		for key, ta := range a.All() {
			tb, ok := b.Get(key)
			if !ok {
				t.Fatalf("%s has no %s", file, key)
			}
			if d := relErr(ta.Floats, tb.Floats, 1); d > 1e-5 {
				t.Errorf("%s %s: resumed differs from straight by %.3g", file, key, d)
			}
			exact = exact && relErr(ta.Floats, tb.Floats, 1) == 0
		}
		t.Logf("%s: resumed bit-identical to straight: %v", name, exact)
	}
}
