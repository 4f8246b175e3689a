package cyclegan

import (
	"testing"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/nn"
)

func buildG(t *testing.T, g Generator, shape graph.Shape) (*nn.Registry, *graph.Node) {
	t.Helper()
	var reg *nn.Registry
	var out *graph.Node
	_, err := graph.Build(func(gr *graph.Graph) {
		s := nn.NewScope(gr, "")
		out = g.Forward(s, gr.Input("x", shape))
		reg = s.Registry()
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg, out
}

// Expected counts: REFERENCE.md for resnet and basic; the others counted by
// building the reference classes in PyTorch 1.13 (testdata/golden/gen.py).
func TestGeneratorSizes(t *testing.T) {
	cases := []struct {
		arch     string
		dropout  bool
		params   int
		entries  int
		firstKey string
		lastKey  string
	}{
		{"resnet_9blocks", false, 11378179, 48, "model.1.weight", "model.26.bias"},
		{"resnet_6blocks", false, 7837699, 36, "model.1.weight", "model.23.bias"},
		{"resnet_9blocks", true, 11378179, 48, "model.1.weight", "model.26.bias"},
		{"unet_256", false, 54409603, 32, "model.model.0.weight", "model.model.3.bias"},
		{"unet_128", false, 41825667, 28, "model.model.0.weight", "model.model.3.bias"},
	}
	for _, c := range cases {
		g, err := ParseGenerator(c.arch)
		if err != nil {
			t.Fatal(err)
		}
		g.Dropout = c.dropout
		reg, out := buildG(t, g, graph.Shape{1, 3, 256, 256})
		if got := reg.NumParams(); got != c.params {
			t.Errorf("%s: got %d parameters; want %d", c.arch, got, c.params)
		}
		if got := len(reg.Entries); got != c.entries {
			t.Errorf("%s: got %d state-dict entries; want %d", c.arch, got, c.entries)
		}
		if got := reg.Entries[0].Name; got != c.firstKey {
			t.Errorf("%s: first key %q; want %q", c.arch, got, c.firstKey)
		}
		if got := reg.Entries[len(reg.Entries)-1].Name; got != c.lastKey {
			t.Errorf("%s: last key %q; want %q", c.arch, got, c.lastKey)
		}
		if !out.Shape().Equal(graph.Shape{1, 3, 256, 256}) {
			t.Errorf("%s: output %v; want [1,3,256,256]", c.arch, out.Shape())
		}
	}
}

func TestResnetDropoutShiftsKeys(t *testing.T) {
	g, _ := ParseGenerator("resnet_6blocks")
	g.Dropout = true
	reg, _ := buildG(t, g, graph.Shape{1, 3, 64, 64})
	for _, key := range []string{"model.10.conv_block.6.weight", "model.15.conv_block.1.bias"} {
		if reg.Node(key) == nil {
			t.Errorf("missing key %s", key)
		}
	}
	if reg.Node("model.10.conv_block.5.weight") != nil {
		t.Error("model.10.conv_block.5.weight exists with dropout; want it moved to index 6")
	}
}

func TestGeneratorDynamicShape(t *testing.T) {
	g, _ := ParseGenerator("resnet_6blocks")
	_, out := buildG(t, g, graph.Shape{-1, 3, -1, -1})
	if !out.Shape().Equal(graph.Shape{-1, 3, -1, -1}) {
		t.Fatalf("got %v; want [?,3,?,?]", out.Shape())
	}
}

func TestDiscriminatorSizes(t *testing.T) {
	cases := []struct {
		name    string
		layers  int
		params  int
		keys    []string
		outSide int
	}{
		{"basic", 3, 2764737, []string{"model.0.weight", "model.2.weight", "model.5.weight", "model.8.weight", "model.11.weight", "model.11.bias"}, 30},
		{"n_layers", 2, 662977, []string{"model.0.bias", "model.8.weight"}, 62},
		{"pixel", 0, 8705, []string{"net.0.weight", "net.2.weight", "net.5.weight"}, 256},
	}
	for _, c := range cases {
		d, err := ParseDiscriminator(c.name, c.layers)
		if err != nil {
			t.Fatal(err)
		}
		var reg *nn.Registry
		var out *graph.Node
		if _, err := graph.Build(func(gr *graph.Graph) {
			s := nn.NewScope(gr, "")
			out = d.Forward(s, gr.Input("x", graph.Shape{2, 3, 256, 256}))
			reg = s.Registry()
		}); err != nil {
			t.Fatal(err)
		}
		if got := reg.NumParams(); got != c.params {
			t.Errorf("%s: got %d parameters; want %d", c.name, got, c.params)
		}
		for _, k := range c.keys {
			if reg.Node(k) == nil {
				t.Errorf("%s: missing key %s", c.name, k)
			}
		}
		if want := (graph.Shape{2, 1, c.outSide, c.outSide}); !out.Shape().Equal(want) {
			t.Errorf("%s: output %v; want %v", c.name, out.Shape(), want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, name := range []string{"resnet", "unet_16", "unet_100", "resnet_0blocks", "vgg"} {
		if _, err := ParseGenerator(name); err == nil {
			t.Errorf("ParseGenerator(%q): got nil error", name)
		}
	}
	if _, err := ParseDiscriminator("n_layers", 0); err == nil {
		t.Error("ParseDiscriminator(n_layers, 0): got nil error")
	}
}
