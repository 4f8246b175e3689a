package train

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/internal/exec"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
)

// cycleGANStepGraphs builds the G and D step graphs of a configuration
// (instance norm, basic D, lsgan, identity 0.5, batch 1) with random
// weights.
func cycleGANStepGraphs(b testing.TB, netG string, ngf, size int) (nets cycleGANNets, optG, optD *Optimizer, gg, dg *graph.Graph) {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	mk := func(name string, spec models.Spec) *Net { return randomNet(b, name, spec, r) }
	g := models.Spec{Kind: models.CycleGANGenerator, NetG: netG, InputNC: 3, OutputNC: 3, NGF: ngf, Norm: "instance"}
	d := models.Spec{Kind: models.CycleGANDiscriminator, NetD: "basic", NLayersD: 3, InputNC: 3, NDF: ngf, Norm: "instance"}
	nets = cycleGANNets{GA: mk("G_A", g), GB: mk("G_B", g), DA: mk("D_A", d), DB: mk("D_B", d)}
	optG = NewOptimizer("opt_G", nn.DefaultAdam, nets.GA, nets.GB)
	optD = NewOptimizer("opt_D", nn.DefaultAdam, nets.DA, nets.DB)
	c := cycleGANLossConfig{Mode: nn.LSGAN, LambdaA: 10, LambdaB: 10, LambdaI: 0.5, Batch: 1, Channels: 3, H: size, W: size}
	var err error
	if gg, err = buildGStep(nets, optG, c, false); err != nil {
		b.Fatal(err)
	}
	if dg, err = buildDStep(nets, optD, c, false); err != nil {
		b.Fatal(err)
	}
	return nets, optG, optD, gg, dg
}

// randomNet returns a net of spec with N(0, 0.02) weights drawn from r.
func randomNet(b testing.TB, name string, spec models.Spec, r *rand.Rand) *Net {
	b.Helper()
	reg, err := spec.Registry()
	if err != nil {
		b.Fatal(err)
	}
	n, err := NewNet(name, spec, nn.Init(reg, nn.InitNormal, 0.02, r))
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// benchCycleGANSteps builds the CycleGAN steps of a configuration with
// random weights and data.
func benchCycleGANSteps(b testing.TB, netG string, ngf, size int, profile string, fg graph.FilterGradLowering) (gs, ds *Step) {
	b.Helper()
	if err := ort.Init(""); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	nets, optG, optD, gg, dg := cycleGANStepGraphs(b, netG, ngf, size)
	var err error
	// GANRT_BENCH_NOSPIN=1 times the steps with ORT's intra-op spinning off.
	eo := exec.Options{Session: ort.SessionOptions{IntraOpThreads: 2, ProfilePrefix: profile, NoSpinning: os.Getenv("GANRT_BENCH_NOSPIN") == "1"}, FilterGrad: fg}
	all := []*Net{nets.GA, nets.GB, nets.DA, nets.DB}
	if gs, err = Compile(gg, all, []*Optimizer{optG}, eo); err != nil {
		b.Fatal(err)
	}
	if ds, err = Compile(dg, all[2:], []*Optimizer{optD}, eo); err != nil {
		b.Fatal(err)
	}
	for _, s := range []*Step{gs, ds} {
		for _, buf := range s.Data {
			for i := range buf {
				buf[i] = float32(r.Float64()*2 - 1)
			}
		}
	}
	return gs, ds
}

// BenchmarkCycleGANIteration times one iteration (G step + D step) at
// 64x64 with ngf = ndf = 32 and 6 blocks (the benchmark configuration of
// benchmarks/README.md), reporting the two steps separately.
// Sub-benchmarks compare the filter-gradient lowerings in this setting.
func BenchmarkCycleGANIteration(b *testing.B) {
	for _, fg := range []graph.FilterGradLowering{graph.FilterGradAuto, graph.FilterGradIm2col, graph.FilterGradUnfold} {
		b.Run("fg="+fg.String(), func(b *testing.B) {
			gs, ds := benchCycleGANSteps(b, "resnet_6blocks", 32, 64, "", fg)
			defer gs.Close()
			defer ds.Close()
			var tg, td time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := gs.Run(2e-4); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := ds.Run(2e-4); err != nil {
					b.Fatal(err)
				}
				tg += t1.Sub(t0)
				td += time.Since(t1)
			}
			b.ReportMetric(float64(tg.Milliseconds())/float64(b.N), "G-ms/op")
			b.ReportMetric(float64(td.Milliseconds())/float64(b.N), "D-ms/op")
		})
	}
}

// TestProfileCycleGANSteps writes ORT profiles (Chrome-trace JSON, one per
// step graph) of 5 CycleGAN iterations at 64x64 with ngf 32 when
// GANRT_PROFILE names a file prefix; otherwise it is skipped.
func TestProfileCycleGANSteps(t *testing.T) {
	prefix := os.Getenv("GANRT_PROFILE")
	if prefix == "" {
		t.Skip("set GANRT_PROFILE=PREFIX to write ORT profiles of the training steps")
	}
	gs, ds := benchCycleGANSteps(t, "resnet_6blocks", 32, 64, prefix, graph.FilterGradAuto)
	for range 5 {
		if err := gs.Run(2e-4); err != nil {
			t.Fatal(err)
		}
		if err := ds.Run(2e-4); err != nil {
			t.Fatal(err)
		}
	}
	gs.Close()
	ds.Close()
}
