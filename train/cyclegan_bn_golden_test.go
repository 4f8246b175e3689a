package train

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ganrt/ganrt/ckpt"
	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/exec"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
)

// TestCycleGANBatchNormGoldenSteps runs two reference iterations with
// batch norm in all four nets (batch 2) from the golden initial weights and
// compares with PyTorch: losses, images and gradients, the weights after
// two iterations, and the running statistics and num_batches_tracked that
// every train-mode forward updates in the reference's order. Then it
// exports the trained G_A and checks its eval()-mode output, which
// normalizes with the running statistics.
func TestCycleGANBatchNormGoldenSteps(t *testing.T) {
	if err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	gold := readGolden(t, "cyclegan_train_bn_lsgan.io.safetensors")
	// The specs are given, not detected: models.Detect misreads batch-norm
	// state dicts (it counts norm weights as PatchGAN convs and takes a
	// ResNet block's second norm, conv_block.6, for the conv that dropout
	// moves there).
	gspec := models.Spec{Kind: models.CycleGANGenerator, NetG: "resnet_2blocks", InputNC: 3, OutputNC: 3, NGF: 4, Norm: "batch"}
	dspec := models.Spec{Kind: models.CycleGANDiscriminator, NetD: "n_layers", NLayersD: 2, InputNC: 3, NDF: 4, Norm: "batch"}
	nets := cycleGANNets{
		GA: loadSpecNet(t, "G_A", "cyclegan_train_bn.G_A.pth", gspec), GB: loadSpecNet(t, "G_B", "cyclegan_train_bn.G_B.pth", gspec),
		DA: loadSpecNet(t, "D_A", "cyclegan_train_bn.D_A.pth", dspec), DB: loadSpecNet(t, "D_B", "cyclegan_train_bn.D_B.pth", dspec),
	}
	all := []*Net{nets.GA, nets.GB, nets.DA, nets.DB}
	initial := map[string][]float32{}
	for _, n := range all {
		for _, layer := range n.normLayers() {
			initial[n.Name+"."+layer+".num_batches_tracked"] = slices.Clone(n.Values[layer+".num_batches_tracked"])
		}
	}
	optG := NewOptimizer("opt_G", nn.DefaultAdam, nets.GA, nets.GB)
	optD := NewOptimizer("opt_D", nn.DefaultAdam, nets.DA, nets.DB)
	cfg := cycleGANLossConfig{Mode: nn.LSGAN, LambdaA: 10, LambdaB: 10, LambdaI: 0.5, Batch: 2, Channels: 3, H: 16, W: 16}

	// The update order is the golden's (gen.py checks it against the
	// order in which PyTorch called the norm layers).
	var order []string
	gCalls, dCalls := gStepNormCalls(nets, cfg), dStepNormCalls(nets)
	for _, c := range append(append([]normCall(nil), gCalls...), dCalls...) {
		order = append(order, c.net.Name+"@"+c.call)
	}
	var want []string
	if err := json.Unmarshal([]byte(gold.Metadata["norm_calls"]), &want); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, want) {
		t.Fatalf("norm update order %v; the reference's is %v", order, want)
	}

	gg, err := buildGStep(nets, optG, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	dg, err := buildDStep(nets, optD, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
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
	if err := gs.Run(2e-4); err == nil {
		t.Fatal("a step with norm statistics ran without an update order")
	}
	if err := gs.trackNorms(gCalls...); err != nil {
		t.Fatal(err)
	}
	if err := ds.trackNorms(dCalls...); err != nil {
		t.Fatal(err)
	}
	runGoldenIterations(t, gold, gs, ds, nets, nil)
	calls := map[*Net]int{}
	for _, c := range append(gCalls, dCalls...) {
		calls[c.net]++
	}
	for _, n := range all {
		for _, e := range n.Reg.Entries {
			key := n.Name + "." + e.Name
			want := goldenTensor(t, gold, "iter2.after."+key)
			got := n.Values[e.Name]
			switch e.Kind {
			case nn.BatchesTracked:
				// 1234 in the golden's initial weights, plus one per forward.
				if w := initial[key][0] + float32(2*calls[n]); got[0] != want[0] || got[0] != w {
					t.Errorf("%s = %v after 2 iterations; want %v (golden %v)", key, got[0], w, want[0])
				}
			case nn.RunningMean, nn.RunningVar:
				if d := relErr(got, want, 1); d > 2e-6 {
					t.Errorf("%s after 2 iterations: max |diff| %.3g (relative to max(1, |x|)) vs PyTorch; want <= 2e-6", key, d)
				}
			default:
				if d := relErr(got, want, 1); d > 2e-6 {
					t.Errorf("weight %s after 2 iterations: max |diff| %.3g vs PyTorch; want <= 2e-6", key, d)
				}
			}
		}
	}

	// Export the trained G_A through a checkpoint file: the ONNX model
	// normalizes with the running statistics, as G_A.eval() does.
	sd, err := nets.GA.Spec.StateDict(nets.GA.Values)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "G_A.safetensors")
	if err := ckpt.WriteSafetensors(path, sd); err != nil {
		t.Fatal(err)
	}
	m, err := export.Load(path, export.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	model, err := export.ONNX(m, export.ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := ort.NewSession(model, ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	in, _ := gold.Get("eval.G_A.input0")
	wantOut, _ := gold.Get("eval.G_A.output0")
	out := []ort.Tensor{ort.NewTensor(int64s(wantOut.Shape)...)}
	if err := sess.Run([]ort.Tensor{{Shape: int64s(in.Shape), Data: in.Floats}}, out); err != nil {
		t.Fatal(err)
	}
	if d := relErr(out[0].Data, wantOut.Floats, 1); d > 1e-5 {
		t.Errorf("exported G_A vs G_A.eval() after training: max |diff| %.3g; want <= 1e-5", d)
	}
}

// loadSpecNet reads a golden state dict as a net of spec.
func loadSpecNet(t *testing.T, name, file string, spec models.Spec) *Net {
	t.Helper()
	sd, err := ckpt.Read(filepath.Join(goldenDir, file))
	if err != nil {
		t.Fatal(err)
	}
	values, err := spec.Weights(sd)
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNet(name, spec, values)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func int64s(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}
