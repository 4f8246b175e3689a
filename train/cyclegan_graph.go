package train

import (
	"fmt"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/nn"
)

// CycleGANLosses are the reference's loss names, in its log order.
var CycleGANLosses = []string{"D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"}

// cycleGANNets are the four networks of a CycleGAN run.
type cycleGANNets struct {
	GA, GB, DA, DB *Net
}

// cycleGANLossConfig holds what the step graphs need of the options.
type cycleGANLossConfig struct {
	Mode                      nn.GANMode
	LambdaA, LambdaB, LambdaI float64
	Batch, Channels, H, W     int
}

// buildGStep builds the generator step: forward of both cycles and the
// identity mappings, the generator loss with the discriminators frozen (their
// parameters are inputs that get no update) and the Adam update of G_A and
// G_B. Outputs: loss/G_A, loss/G_B, loss/cycle_A, loss/cycle_B, loss/idt_A,
// loss/idt_B, loss/G, the images fake_B, rec_A, fake_A, rec_B (and idt_A,
// idt_B with identity loss), the parameter updates, and the statistics of
// every norm layer with running statistics in each application (norm
// batch), which gStepNormCalls orders.
func buildGStep(n cycleGANNets, opt *Optimizer, c cycleGANLossConfig, grads bool) (*graph.Graph, error) {
	g := graph.New()
	err := graph.Catch(func() {
		shape := graph.Shape{c.Batch, c.Channels, c.H, c.W}
		realA, realB := g.Input("real_A", shape), g.Input("real_B", shape)
		scopes := map[*Net]*nn.Scope{}
		for _, net := range []*Net{n.GA, n.GB, n.DA, n.DB} {
			scopes[net] = net.Scope(g)
		}
		gen := func(net *Net, call string, x *graph.Node) *graph.Node {
			return net.Spec.Forward(scopes[net].WithCall(call), x, nil)[0]
		}
		disc := func(net *Net, call string, x *graph.Node) *graph.Node {
			return net.Spec.Forward(scopes[net].WithCall(call), x, nil)[0]
		}
		fakeB := gen(n.GA, "fake_B", realA)
		recA := gen(n.GB, "rec_A", fakeB)
		fakeA := gen(n.GB, "fake_A", realB)
		recB := gen(n.GA, "rec_B", fakeA)
		losses := map[string]*graph.Node{
			"G_A":     nn.GANLoss(c.Mode, disc(n.DA, "fake_B", fakeB), true),
			"G_B":     nn.GANLoss(c.Mode, disc(n.DB, "fake_A", fakeA), true),
			"cycle_A": graph.MulScalar(nn.L1(recA, realA), c.LambdaA),
			"cycle_B": graph.MulScalar(nn.L1(recB, realB), c.LambdaB),
		}
		images := map[string]*graph.Node{"fake_B": fakeB, "rec_A": recA, "fake_A": fakeA, "rec_B": recB}
		if c.LambdaI > 0 {
			idtA := gen(n.GA, "idt_A", realB)
			idtB := gen(n.GB, "idt_B", realA)
			losses["idt_A"] = graph.MulScalar(nn.L1(idtA, realB), c.LambdaB*c.LambdaI)
			losses["idt_B"] = graph.MulScalar(nn.L1(idtB, realA), c.LambdaA*c.LambdaI)
			images["idt_A"], images["idt_B"] = idtA, idtB
		}
		total := sumLosses(losses, "G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B")
		for _, name := range []string{"G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B"} {
			if l, ok := losses[name]; ok {
				g.Output(lossPrefix+name, l)
			}
		}
		g.Output(lossPrefix+"G", total)
		for _, name := range []string{"fake_B", "rec_A", "fake_A", "rec_B", "idt_A", "idt_B"} {
			if im, ok := images[name]; ok {
				g.Output(name, im)
			}
		}
		if err := opt.addUpdate(g, total, grads); err != nil {
			panic(&graph.Error{Op: graph.OpInvalid, Msg: err.Error()})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("build generator step: %w", err)
	}
	return g, nil
}

// buildDStep builds the discriminator step: each discriminator's loss
// 0.5*(GAN(D(real), true) + GAN(D(fake), false)) on real images and fakes
// from the image pool, and one Adam update of D_A and D_B. Outputs loss/D_A,
// loss/D_B, the parameter updates and the norm statistics of each
// application, which dStepNormCalls orders.
func buildDStep(n cycleGANNets, opt *Optimizer, c cycleGANLossConfig, grads bool) (*graph.Graph, error) {
	g := graph.New()
	err := graph.Catch(func() {
		shape := graph.Shape{c.Batch, c.Channels, c.H, c.W}
		realA, realB := g.Input("real_A", shape), g.Input("real_B", shape)
		fakeA, fakeB := g.Input("pool_fake_A", shape), g.Input("pool_fake_B", shape)
		// Each application is tagged (Call) with its input's name.
		dLoss := func(net *Net, real, fake *graph.Node) *graph.Node {
			s := net.Scope(g)
			lr := nn.GANLoss(c.Mode, net.Spec.Forward(s.WithCall(real.Name()), real, nil)[0], true)
			lf := nn.GANLoss(c.Mode, net.Spec.Forward(s.WithCall(fake.Name()), fake, nil)[0], false)
			return graph.MulScalar(graph.Add(lr, lf), 0.5)
		}
		lossDA := dLoss(n.DA, realB, fakeB)
		lossDB := dLoss(n.DB, realA, fakeA)
		g.Output(lossPrefix+"D_A", lossDA)
		g.Output(lossPrefix+"D_B", lossDB)
		if err := opt.addUpdate(g, graph.Add(lossDA, lossDB), grads); err != nil {
			panic(&graph.Error{Op: graph.OpInvalid, Msg: err.Error()})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("build discriminator step: %w", err)
	}
	return g, nil
}

// gStepNormCalls lists the generator step's applications of the nets in
// the order the reference runs them, which is the order in which their
// norm layers update running statistics: forward() (G_A(real_A) -> fake_B,
// G_B(fake_B) -> rec_A, G_B(real_B) -> fake_A, G_A(fake_A) -> rec_B), then
// backward_G (identity mappings G_A(real_B), G_B(real_A) when
// lambda_identity > 0, then D_A(fake_B) and D_B(fake_A)). Per net:
// G_A fake_B, rec_B, idt_A; G_B rec_A, fake_A, idt_B; D_A fake_B; D_B fake_A.
func gStepNormCalls(n cycleGANNets, c cycleGANLossConfig) []normCall {
	calls := []normCall{{n.GA, "fake_B"}, {n.GB, "rec_A"}, {n.GB, "fake_A"}, {n.GA, "rec_B"}}
	if c.LambdaI > 0 {
		calls = append(calls, normCall{n.GA, "idt_A"}, normCall{n.GB, "idt_B"})
	}
	return append(calls, normCall{n.DA, "fake_B"}, normCall{n.DB, "fake_A"})
}

// dStepNormCalls lists the discriminator step's applications in the
// reference's order: backward_D_A (D_A(real_B), D_A(pooled fake_B)), then
// backward_D_B (D_B(real_A), D_B(pooled fake_A)). Each D's statistics from
// the generator step of the same iteration come before these.
func dStepNormCalls(n cycleGANNets) []normCall {
	return []normCall{{n.DA, "real_B"}, {n.DA, "pool_fake_B"}, {n.DB, "real_A"}, {n.DB, "pool_fake_A"}}
}

// sumLosses adds the named losses that are present.
func sumLosses(losses map[string]*graph.Node, names ...string) *graph.Node {
	var total *graph.Node
	for _, name := range names {
		l, ok := losses[name]
		if !ok {
			continue
		}
		if total == nil {
			total = l
		} else {
			total = graph.Add(total, l)
		}
	}
	return total
}
