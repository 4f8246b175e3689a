package train

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/internal/exec"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
	"github.com/ganrt/ganrt/synth"
)

// sameRun fails unless two run folders hold bit-identical checkpoint files
// (networks, optimizer moments and run state), sample grids and loss logs.
func sameRun(t *testing.T, a, b string, files []string) {
	t.Helper()
	for _, f := range files {
		sameWeights(t, filepath.Join(a, f), filepath.Join(b, f))
	}
	samples, err := filepath.Glob(filepath.Join(a, "samples", "*.png"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no sample grids in %s: %v", a, err)
	}
	for _, sa := range samples {
		pa, err := os.ReadFile(sa)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := os.ReadFile(filepath.Join(b, "samples", filepath.Base(sa)))
		if err != nil || !bytes.Equal(pa, pb) {
			t.Fatalf("sample grid %s differs between the runs (%v)", filepath.Base(sa), err)
		}
	}
	la, err := os.ReadFile(filepath.Join(a, "loss_log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lb, err := os.ReadFile(filepath.Join(b, "loss_log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if stripSec(t, la) != stripSec(t, lb) {
		t.Fatalf("loss logs differ:\n%s\n%s", la, lb)
	}
}

// TestResidentCycleGAN trains the tiny CycleGAN for 3 iterations with the
// parameters and Adam moments in Go buffers and again with them resident in
// ORT memory through I/O binding (the GPU's code path, here on the CPU):
// weights, moments, pools and losses must be bit-identical, and with
// residency the steps move only data, scalars, losses and images.
func TestResidentCycleGAN(t *testing.T) {
	dataDir := synthData(t)
	runs := map[string]string{}
	for _, mode := range []string{"0", "1"} {
		t.Setenv(EnvResident, mode)
		cfg := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), "resident"+mode))
		cfg.MaxIters = 3
		if err := TrainCycleGAN(context.Background(), cfg, nil, nil); err != nil {
			t.Fatalf("%s=%s: %v", EnvResident, mode, err)
		}
		runs[mode] = cfg.Out
	}
	sameRun(t, runs["0"], runs["1"], []string{"latest_net_G_A.safetensors", "latest_net_G_B.safetensors",
		"latest_net_D_A.safetensors", "latest_net_D_B.safetensors", "latest_state.safetensors", "1_net_G_A.safetensors"})
}

// TestResidentStarGAN is TestResidentCycleGAN for StarGAN (critic steps
// with the gradient penalty, generator steps, instance-norm running
// statistics updated on the host, samples from downloaded weights).
func TestResidentStarGAN(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, err := synth.Write(dataDir, synth.Options{Kind: synth.KindWeatherSingle, N: 2, TestN: 1, Size: 16, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	runs := map[string]string{}
	for _, mode := range []string{"0", "1"} {
		t.Setenv(EnvResident, mode)
		cfg := tinyStarGAN(t, dataDir, filepath.Join(t.TempDir(), "resident"+mode))
		cfg.MaxIters = 4
		if err := TrainStarGAN(context.Background(), cfg, nil, nil); err != nil {
			t.Fatalf("%s=%s: %v", EnvResident, mode, err)
		}
		runs[mode] = cfg.Out
	}
	sameRun(t, runs["0"], runs["1"], []string{"4-G.safetensors", "4-D.safetensors", "4_state.safetensors", "3-G.safetensors"})
}

// TestResidentTraffic checks what resident steps move per run, by the
// binding's own count: the data inputs and optimizer scalars up, the plain
// outputs (losses, images) down, nothing of the parameters and moments; and
// that trafficOf, which the figures for large models come from, agrees.
func TestResidentTraffic(t *testing.T) {
	t.Setenv(EnvResident, "1")
	nets, optG, optD, gg, dg := cycleGANStepGraphs(t, "resnet_2blocks", 4, 32)
	eo, err := execOptions("cpu", 1, nil)
	if err != nil {
		t.Fatal(err)
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
	for _, st := range []struct {
		s    *Step
		g    *graph.Graph
		opts []*Optimizer
	}{{gs, gg, []*Optimizer{optG}}, {ds, dg, []*Optimizer{optD}}} {
		var up, down int64
		for _, buf := range st.s.Data {
			up += 4 * int64(len(buf))
		}
		up += 4 * 2 // step_size and bc2_sqrt
		for _, buf := range st.s.Out {
			down += 4 * int64(len(buf))
		}
		for range 2 {
			if err := st.s.Run(2e-4); err != nil {
				t.Fatal(err)
			}
		}
		if tr := st.s.Traffic(); tr != (exec.Traffic{Runs: 2, Up: 2 * up, Down: 2 * down}) {
			t.Errorf("traffic = %+v; want 2 runs of %d bytes up and %d down", tr, up, down)
		}
		if _, host := trafficOf(st.g, all, st.opts); host != up+down {
			t.Errorf("trafficOf = %d host bytes; the binding moved %d", host, up+down)
		}
	}
	n, elems := eo.Resident.Len()
	want := 0
	for _, o := range []*Optimizer{optG, optD} {
		for _, m := range o.M { // one moment per trainable parameter
			want += 3 * len(m)
		}
	}
	if elems != want || n == 0 {
		t.Errorf("resident: %d tensors of %d elements; want parameters and two moments, %d", n, elems, want)
	}
}

// trafficOf returns the bytes one run of step graph g moves between Go
// buffers and ORT: every input and output when parameters and moments live
// in Go buffers (all), and with them resident (host), by the roles that
// Step.bindResident binds.
func trafficOf(g *graph.Graph, nets []*Net, opts []*Optimizer) (all, host int64) {
	s := newStep(nets, opts)
	for _, in := range g.Inputs() {
		b := 4 * int64(in.Shape().Size())
		all += b
		if !s.residentInput(in.Name()) {
			host += b
		}
	}
	for _, out := range g.Outputs() {
		b := 4 * int64(out.Node.Shape().Size())
		all += b
		if updatedInput(out.Name) == "" {
			host += b
		}
	}
	return all, host
}

// TestResidentTrafficReport states the bytes per training iteration at the
// references' sizes (CycleGAN resnet_9blocks ngf 64 at 256x256, batch 1;
// StarGAN conv_dim 64 at 128x128, batch 16, 5 attributes, a round of 5
// critic steps and 1 generator step) with the parameters and moments in Go
// buffers and resident, from the step graphs' inputs and outputs (nothing
// is compiled). Resident, what crosses is the batch, the optimizer scalars,
// the losses and the images the loop reads (fakes for the pool, and the
// reconstructions and identity images of the sample grids).
func TestResidentTrafficReport(t *testing.T) {
	nets, optG, optD, gg, dg := cycleGANStepGraphs(t, "resnet_9blocks", 64, 256)
	all := []*Net{nets.GA, nets.GB, nets.DA, nets.DB}
	ga, gh := trafficOf(gg, all, []*Optimizer{optG})
	da, dh := trafficOf(dg, all[2:], []*Optimizer{optD})
	t.Logf("CycleGAN 256x256 ngf 64, per iteration: %.1f MB in Go buffers, %.2f MB resident (G step %.2f MB, D step %.2f MB)",
		mb(ga+da), mb(gh+dh), mb(gh), mb(dh))
	if gh+dh > (ga+da)/50 {
		t.Errorf("resident CycleGAN traffic %d bytes is over 2%% of %d", gh+dh, ga+da)
	}

	r := rand.New(rand.NewPCG(3, 4))
	d := DefaultStarGANConfig
	d.CDim = len(d.Attrs) // the reference's CelebA run: five attributes
	gen := randomNet(t, "G", models.Spec{Kind: models.StarGANGenerator, ConvDim: d.GConvDim, CDim: d.CDim, RepeatNum: d.GRepeatNum}, r)
	disc := randomNet(t, "D", models.Spec{Kind: models.StarGANDiscriminator, ImageSize: d.ImageSize, ConvDim: d.DConvDim, CDim: d.CDim, RepeatNum: d.DRepeatNum}, r)
	sg := NewOptimizer("opt_G", nn.DefaultAdam, gen)
	sd := NewOptimizer("opt_D", nn.DefaultAdam, disc)
	c := starGANLossConfig{LambdaCls: 1, LambdaRec: 10, LambdaGP: 10, Batch: d.Batch, CDim: d.CDim, Size: d.ImageSize}
	dgraph, err := buildStarGANDStep(gen, disc, sd, c, false)
	if err != nil {
		t.Fatal(err)
	}
	ggraph, err := buildStarGANGStep(gen, disc, sg, c, false)
	if err != nil {
		t.Fatal(err)
	}
	sda, sdh := trafficOf(dgraph, []*Net{gen, disc}, []*Optimizer{sd})
	sga, sgh := trafficOf(ggraph, []*Net{gen, disc}, []*Optimizer{sg})
	t.Logf("StarGAN 128x128 batch 16, per round (5 D + 1 G): %.1f MB in Go buffers, %.2f MB resident (D step %.2f MB, G step %.2f MB)",
		mb(5*sda+sga), mb(5*sdh+sgh), mb(sdh), mb(sgh))
	if 5*sdh+sgh > (5*sda+sga)/10 {
		t.Errorf("resident StarGAN traffic %d bytes is over 10%% of %d", 5*sdh+sgh, 5*sda+sga)
	}
}

func mb(b int64) float64 { return float64(b) / 1e6 }

// BenchmarkCycleGANIterationResident times a CycleGAN iteration (G and D
// step) at 64x64, ngf = ndf = 32, resnet_6blocks, with the parameters and
// moments in Go buffers (resident=0) and resident in ORT memory through I/O
// binding (resident=1), on the device of $GANRT_BENCH_DEVICE (cpu).
func BenchmarkCycleGANIterationResident(b *testing.B) {
	device := os.Getenv("GANRT_BENCH_DEVICE")
	if device == "" {
		device = "cpu"
	}
	for _, mode := range []string{"0", "1"} {
		b.Run("resident="+mode, func(b *testing.B) {
			b.Setenv(EnvResident, mode)
			nets, optG, optD, gg, dg := cycleGANStepGraphs(b, "resnet_6blocks", 32, 64)
			eo, err := execOptions(device, 2, nil)
			if err != nil {
				b.Fatal(err)
			}
			all := []*Net{nets.GA, nets.GB, nets.DA, nets.DB}
			gs, err := Compile(gg, all, []*Optimizer{optG}, eo)
			if err != nil {
				b.Fatal(err)
			}
			ds, err := Compile(dg, all[2:], []*Optimizer{optD}, eo)
			if err != nil {
				b.Fatal(err)
			}
			defer stepPairs{{}: {gs, ds}}.CloseWith(eo.Resident)
			for b.Loop() {
				if err := gs.Run(2e-4); err != nil {
					b.Fatal(err)
				}
				if err := ds.Run(2e-4); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
