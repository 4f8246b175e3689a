package train

import (
	"fmt"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/nn"
)

// StarGAN loss names, as in the reference's logs.
var (
	StarGANDLosses = []string{"D/loss_real", "D/loss_fake", "D/loss_cls", "D/loss_gp"}
	StarGANGLosses = []string{"G/loss_fake", "G/loss_rec", "G/loss_cls"}
)

// starGANLossConfig holds what StarGAN's step graphs need of the options.
type starGANLossConfig struct {
	// SingleLabel selects softmax cross-entropy (one domain per image)
	// instead of per-attribute binary cross-entropy.
	SingleLabel                    bool
	LambdaCls, LambdaRec, LambdaGP float64
	Batch, CDim, Size              int
}

// classLoss is the domain-classification loss of logits [N,c] against
// labels [N,c] (multi-hot, or one-hot for single-label data).
func (c starGANLossConfig) classLoss(logits, labels *graph.Node) *graph.Node {
	if c.SingleLabel {
		return nn.CrossEntropy(logits, labels)
	}
	return nn.BCEWithLogitsSum(logits, labels)
}

// starGANInputs declares the data inputs shared by both steps: x_real
// [N,3,S,S] in [-1,1], the original and target labels c_org, c_trg [N,c].
func starGANInputs(g *graph.Graph, c starGANLossConfig) (x, cOrg, cTrg *graph.Node) {
	return g.Input("x_real", graph.Shape{c.Batch, 3, c.Size, c.Size}),
		g.Input("c_org", graph.Shape{c.Batch, c.CDim}),
		g.Input("c_trg", graph.Shape{c.Batch, c.CDim})
}

// buildStarGANDStep builds the critic step: D's adversarial terms on real
// images and on G(x, c_trg) (G frozen), classification of real images by
// their original labels, and the gradient penalty on interpolates
// x^ = alpha*x + (1-alpha)*fake with alpha [N,1,1,1] fed by the trainer:
// GP = mean_n((||d sum D_src(x^) / d x^_n||_2 - 1)^2), which differentiates
// D twice. Outputs the four loss terms, loss/D (the total), x_fake, the
// Adam update of D, and the statistics of G's norm layers in its train-mode
// application G@fake (starGANDStepNormCalls).
func buildStarGANDStep(gen, disc *Net, opt *Optimizer, c starGANLossConfig, grads bool) (*graph.Graph, error) {
	g := graph.New()
	err := graph.Catch(func() {
		x, cOrg, cTrg := starGANInputs(g, c)
		alpha := g.Input("alpha", graph.Shape{c.Batch, 1, 1, 1})
		ds := disc.Scope(g)
		d := func(in *graph.Node) (src, cls *graph.Node) {
			out := disc.Spec.Forward(ds, in, nil)
			return out[0], out[1]
		}
		fake := graph.StopGradient(gen.Spec.Forward(gen.Scope(g).WithCall("fake"), x, cTrg)[0])
		srcReal, clsReal := d(x)
		srcFake, _ := d(fake)
		hat := graph.Add(graph.Mul(alpha, x), graph.Mul(graph.Sub(g.Scalar(1), alpha), fake))
		srcHat, _ := d(hat)
		dHat, err := graph.Grad([]*graph.Node{graph.ReduceSum(srcHat, false)}, []*graph.Node{hat}, nil)
		if err != nil {
			panic(err)
		}
		norm := graph.Sqrt(graph.ReduceSum(graph.Mul(dHat[0], dHat[0]), false, 1, 2, 3))
		d1 := graph.AddScalar(norm, -1)
		losses := map[string]*graph.Node{
			"D/loss_real": graph.Neg(graph.ReduceMean(srcReal, false)),
			"D/loss_fake": graph.ReduceMean(srcFake, false),
			"D/loss_cls":  c.classLoss(clsReal, cOrg),
			"D/loss_gp":   graph.ReduceMean(graph.Mul(d1, d1), false),
		}
		total := graph.Add(graph.Add(losses["D/loss_real"], losses["D/loss_fake"]),
			graph.Add(graph.MulScalar(losses["D/loss_cls"], c.LambdaCls), graph.MulScalar(losses["D/loss_gp"], c.LambdaGP)))
		for _, name := range StarGANDLosses {
			g.Output(lossPrefix+name, losses[name])
		}
		g.Output(lossPrefix+"D", total)
		g.Output("x_fake", fake)
		if err := opt.addUpdate(g, total, grads); err != nil {
			panic(&graph.Error{Op: graph.OpInvalid, Msg: err.Error()})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("build StarGAN critic step: %w", err)
	}
	return g, nil
}

// buildStarGANGStep builds the generator step: the adversarial term and the
// classification of G(x, c_trg) by the target labels, and the
// reconstruction L1 of G(G(x, c_trg), c_org) against x, with D frozen.
// Outputs the three loss terms, loss/G, x_fake, x_reconst, G's update and
// the norm statistics of G@fake and G@rec (starGANGStepNormCalls).
func buildStarGANGStep(gen, disc *Net, opt *Optimizer, c starGANLossConfig, grads bool) (*graph.Graph, error) {
	g := graph.New()
	err := graph.Catch(func() {
		x, cOrg, cTrg := starGANInputs(g, c)
		gs := gen.Scope(g)
		fake := gen.Spec.Forward(gs.WithCall("fake"), x, cTrg)[0]
		out := disc.Spec.Forward(disc.Scope(g), fake, nil)
		rec := gen.Spec.Forward(gs.WithCall("rec"), fake, cOrg)[0]
		losses := map[string]*graph.Node{
			"G/loss_fake": graph.Neg(graph.ReduceMean(out[0], false)),
			"G/loss_rec":  nn.L1(x, rec),
			"G/loss_cls":  c.classLoss(out[1], cTrg),
		}
		total := graph.Add(losses["G/loss_fake"],
			graph.Add(graph.MulScalar(losses["G/loss_rec"], c.LambdaRec), graph.MulScalar(losses["G/loss_cls"], c.LambdaCls)))
		for _, name := range StarGANGLosses {
			g.Output(lossPrefix+name, losses[name])
		}
		g.Output(lossPrefix+"G", total)
		g.Output("x_fake", fake)
		g.Output("x_reconst", rec)
		if err := opt.addUpdate(g, total, grads); err != nil {
			panic(&graph.Error{Op: graph.OpInvalid, Msg: err.Error()})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("build StarGAN generator step: %w", err)
	}
	return g, nil
}

// starGANDStepNormCalls and starGANGStepNormCalls list G's train-mode
// applications in the reference's order: the critic step's G(x, c_trg),
// then the generator step's G(x, c_trg) and G(G(x, c_trg), c_org). Its
// InstanceNorm2d(track_running_stats=True) layers update running_mean and
// running_var on each (not num_batches_tracked); nothing reads them.
func starGANDStepNormCalls(gen *Net) []normCall { return []normCall{{gen, "fake"}} }

func starGANGStepNormCalls(gen *Net) []normCall {
	return []normCall{{gen, "fake"}, {gen, "rec"}}
}

// buildForward builds G(x_real, c_trg) -> x_fake at a fixed batch shape,
// in inference mode, for sample grids.
func buildForward(gen *Net, shape [4]int, cdim int) (*graph.Graph, error) {
	return graph.Build(func(g *graph.Graph) {
		x := g.Input("x_real", graph.Shape{shape[0], shape[1], shape[2], shape[3]})
		c := g.Input("c_trg", graph.Shape{shape[0], cdim})
		g.Output("x_fake", gen.Spec.Forward(nn.NewScope(g, gen.Prefix()), x, c)[0])
	})
}
