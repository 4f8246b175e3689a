package train

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
)

// onnxOpCounts lowers g with the training defaults (every parameter an
// input, auto lowerings) and counts the ONNX nodes by op type.
func onnxOpCounts(t *testing.T, g *graph.Graph) (total int, byOp map[string]int) {
	t.Helper()
	m, err := graph.ToModelProto(g, graph.ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byOp = map[string]int{}
	for _, n := range m.GetGraph().GetNode() {
		byOp[n.GetOpType()]++
	}
	return len(m.GetGraph().GetNode()), byOp
}

// topOps formats the n most frequent op types of byOp.
func topOps(byOp map[string]int, n int) string {
	ops := make([]string, 0, len(byOp))
	for op := range byOp {
		ops = append(ops, op)
	}
	slices.SortFunc(ops, func(a, b string) int {
		if byOp[a] != byOp[b] {
			return byOp[b] - byOp[a]
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, op := range ops[:min(n, len(ops))] {
		parts = append(parts, fmt.Sprintf("%s %d", op, byOp[op]))
	}
	return strings.Join(parts, ", ")
}

// TestStepNodeBudget checks that the ONNX node count of each training step
// graph of the benchmark configurations (benchmarks/train) stays within its
// budget: a lowering or gradient rule that adds glue around the
// convolutions (Slice/Concat chains, index arithmetic) shows up here before
// it shows up in a profile. The budgets are the counts measured when they
// were last lowered; lower them when a change removes nodes.
func TestStepNodeBudget(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	type stepCase struct {
		name   string
		build  func() (*graph.Graph, error)
		budget int
	}
	var cases []stepCase
	for _, cg := range []struct {
		name, netG     string
		ngf, size      int
		gBudget, dBuds int
	}{
		{"cyclegan64", "resnet_6blocks", 32, 64, gBudgetCG6, dBudgetCG},
		{"cyclegan128", "resnet_9blocks", 64, 128, gBudgetCG9, dBudgetCG},
	} {
		g := models.Spec{Kind: models.CycleGANGenerator, NetG: cg.netG, InputNC: 3, OutputNC: 3, NGF: cg.ngf, Norm: "instance"}
		d := models.Spec{Kind: models.CycleGANDiscriminator, NetD: "basic", NLayersD: 3, InputNC: 3, NDF: cg.ngf, Norm: "instance"}
		mk := func(name string, spec models.Spec) *Net { return randomNet(t, name, spec, r) }
		nets := cycleGANNets{GA: mk("G_A", g), GB: mk("G_B", g), DA: mk("D_A", d), DB: mk("D_B", d)}
		optG := NewOptimizer("opt_G", nn.DefaultAdam, nets.GA, nets.GB)
		optD := NewOptimizer("opt_D", nn.DefaultAdam, nets.DA, nets.DB)
		c := cycleGANLossConfig{Mode: nn.LSGAN, LambdaA: 10, LambdaB: 10, LambdaI: 0.5, Batch: 1, Channels: 3, H: cg.size, W: cg.size}
		cases = append(cases,
			stepCase{cg.name + "/G", func() (*graph.Graph, error) { return buildGStep(nets, optG, c, false) }, cg.gBudget},
			stepCase{cg.name + "/D", func() (*graph.Graph, error) { return buildDStep(nets, optD, c, false) }, cg.dBuds})
	}
	sd := DefaultStarGANConfig
	gen := randomNet(t, "G", models.Spec{Kind: models.StarGANGenerator, ConvDim: 32, CDim: 5, RepeatNum: sd.GRepeatNum}, r)
	disc := randomNet(t, "D", models.Spec{Kind: models.StarGANDiscriminator, ImageSize: 64, ConvDim: 32, CDim: 5, RepeatNum: sd.DRepeatNum}, r)
	sg := NewOptimizer("opt_G", nn.DefaultAdam, gen)
	sdo := NewOptimizer("opt_D", nn.DefaultAdam, disc)
	c := starGANLossConfig{LambdaCls: 1, LambdaRec: 10, LambdaGP: 10, Batch: 4, CDim: 5, Size: 64}
	cases = append(cases,
		stepCase{"stargan64/D", func() (*graph.Graph, error) { return buildStarGANDStep(gen, disc, sdo, c, false) }, dBudgetSG},
		stepCase{"stargan64/G", func() (*graph.Graph, error) { return buildStarGANGStep(gen, disc, sg, c, false) }, gBudgetSG})
	for _, sc := range cases {
		g, err := sc.build()
		if err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		total, byOp := onnxOpCounts(t, g)
		t.Logf("%s: %d IR nodes, %d ONNX nodes (budget %d): %s", sc.name, len(g.Nodes()), total, sc.budget, topOps(byOp, 12))
		if total > sc.budget {
			t.Errorf("%s: %d ONNX nodes; budget %d", sc.name, total, sc.budget)
		}
	}
}

// Node budgets of TestStepNodeBudget (ONNX nodes per step graph).
const (
	gBudgetCG6 = 6316 // CycleGAN G step, resnet_6blocks ngf 32, 64x64
	gBudgetCG9 = 8260 // CycleGAN G step, resnet_9blocks ngf 64, 128x128
	dBudgetCG  = 1131 // CycleGAN D step, basic D (3 layers), either size
	dBudgetSG  = 1122 // StarGAN D step, conv_dim 32, 64x64, batch 4, 6 strided convs
	gBudgetSG  = 2916 // StarGAN G step, conv_dim 32, 64x64, batch 4, 6 blocks
)
