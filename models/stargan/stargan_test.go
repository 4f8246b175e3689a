package stargan

import (
	"testing"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/nn"
)

func TestGeneratorSize(t *testing.T) {
	var reg *nn.Registry
	var out *graph.Node
	if _, err := graph.Build(func(g *graph.Graph) {
		s := nn.NewScope(g, "")
		out = DefaultGenerator.Forward(s, g.Input("x", graph.Shape{-1, 3, -1, -1}), g.Input("c", graph.Shape{-1, 5}))
		reg = s.Registry()
	}); err != nil {
		t.Fatal(err)
	}
	if got := reg.NumParams(); got != 8430528 {
		t.Errorf("got %d parameters; want 8430528", got)
	}
	if got := len(reg.Entries); got != 103 {
		t.Errorf("got %d state-dict entries; want 103", got)
	}
	for _, k := range []string{"main.0.weight", "main.1.running_var", "main.9.main.0.weight", "main.14.main.4.num_batches_tracked", "main.15.weight", "main.21.weight"} {
		found := false
		for _, e := range reg.Entries {
			found = found || e.Name == k
		}
		if !found {
			t.Errorf("missing key %s", k)
		}
	}
	if !out.Shape().Equal(graph.Shape{-1, 3, -1, -1}) {
		t.Errorf("output %v; want [?,3,?,?]", out.Shape())
	}
}

func TestDiscriminatorSize(t *testing.T) {
	var reg *nn.Registry
	var src, cls *graph.Node
	if _, err := graph.Build(func(g *graph.Graph) {
		s := nn.NewScope(g, "")
		src, cls = DefaultDiscriminator.Forward(s, g.Input("x", graph.Shape{4, 3, 128, 128}))
		reg = s.Registry()
	}); err != nil {
		t.Fatal(err)
	}
	if got := reg.NumParams(); got != 44762048 {
		t.Errorf("got %d parameters; want 44762048", got)
	}
	if !src.Shape().Equal(graph.Shape{4, 1, 2, 2}) || !cls.Shape().Equal(graph.Shape{4, 5}) {
		t.Errorf("heads %v %v; want [4,1,2,2] [4,5]", src.Shape(), cls.Shape())
	}
	if reg.Node("conv2.weight") == nil || reg.Node("main.10.bias") == nil {
		t.Error("missing conv2.weight or main.10.bias")
	}
}
