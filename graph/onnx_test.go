package graph

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/internal/onnxpb"
)

func TestONNXLoweringTable(t *testing.T) {
	for _, op := range Ops() {
		if onnxLowerings[op] == nil {
			t.Errorf("op %v has no ONNX lowering", op)
		}
	}
	if onnxLowerings[OpInvalid] != nil {
		t.Error("OpInvalid has an ONNX lowering")
	}
}

// exportNet builds a small generator-like graph with a gradient, touching
// most lowerings.
func exportNet(t *testing.T) *Graph {
	t.Helper()
	g, err := Build(func(g *Graph) {
		x := g.Input("image", Shape{-1, 3, -1, -1}, "N", "", "H", "W")
		w1 := g.Param("model.1.weight", Shape{4, 3, 7, 7})
		b1 := g.Param("model.1.bias", Shape{4})
		w2 := g.Param("model.4.weight", Shape{4, 2, 3, 3})
		h := Conv(Pad2D(x, PadReflect, 3), w1, b1, ConvOpts{})
		h = LeakyRelu(InstanceNorm(h, nil, nil, 1e-5), 0.2)
		y := Tanh(ConvTranspose(h, w2, nil, ConvOpts{Stride: 2, Pad: 1, OutputPadding: 1}))
		g.Output("fake", y)
		g.Output("mean", ReduceMean(y, false, 1, 2, 3))
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func trainingNet(t *testing.T) *Graph {
	t.Helper()
	g, err := Build(func(g *Graph) {
		x := g.Input("x", Shape{2, 3, 8, 8})
		w := g.Param("w", Shape{4, 3, 3, 3})
		wt := g.Param("wt", Shape{4, 3, 3, 3})
		h := Relu(Conv(x, w, nil, ConvOpts{Stride: 2, Pad: 1}))
		y := ConvTranspose(h, wt, nil, ConvOpts{Stride: 2, Pad: 1, OutputPadding: 1})
		loss := ReduceMean(Mul(y, y), false)
		gr, err := Grad([]*Node{loss}, []*Node{w, wt}, nil)
		if err != nil {
			panic(err)
		}
		g.Output("loss", loss)
		g.Output("dw", gr[0])
		g.Output("dwt", gr[1])
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestONNXDeterministic(t *testing.T) {
	params := map[string][]float32{
		"model.1.weight": make([]float32, 4*3*7*7),
		"model.1.bias":   {1, 2, 3, 4},
		"model.4.weight": make([]float32, 4*2*3*3),
	}
	opts := ONNXOptions{
		Params:          params,
		Metadata:        map[string]string{"z": "last", "arch": "cyclegan", "m": "mid", "domains": "a,b"},
		DocString:       "test model",
		ProducerVersion: "0.1",
	}
	a, err := ToONNX(exportNet(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b, err := ToONNX(exportNet(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatal("two exports of the same graph differ")
		}
	}
	tr := trainingNet(t)
	for fg := range numFilterGradLowerings {
		for ct := range numConvTransposeLowerings {
			o := ONNXOptions{FilterGrad: fg, ConvTranspose: ct}
			a, err := ToONNX(tr, o)
			if err != nil {
				t.Fatal(err)
			}
			b, err := ToONNX(trainingNet(t), o)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%v/%v: two exports of the training graph differ", ct, fg)
			}
		}
	}

	var m onnxpb.ModelProto
	if err := proto.Unmarshal(a, &m); err != nil {
		t.Fatal(err)
	}
	if m.GetIrVersion() != 8 || len(m.OpsetImport) != 1 || m.OpsetImport[0].GetVersion() != 17 || m.OpsetImport[0].GetDomain() != "" {
		t.Errorf("ir_version %d, opsets %v; want 8 and the default domain at 17", m.GetIrVersion(), m.OpsetImport)
	}
	if m.GetProducerName() != "ganrt" || m.GetProducerVersion() != "0.1" || m.GetDocString() != "test model" {
		t.Errorf("producer %q %q, doc %q", m.GetProducerName(), m.GetProducerVersion(), m.GetDocString())
	}
	var keys []string
	for _, p := range m.MetadataProps {
		keys = append(keys, p.GetKey()+"="+p.GetValue())
	}
	if got := strings.Join(keys, " "); got != "arch=cyclegan domains=a,b m=mid z=last" {
		t.Errorf("metadata %q; want sorted keys", got)
	}
}

func model(t *testing.T, g *Graph, opts ONNXOptions) *onnxpb.ModelProto {
	t.Helper()
	m, err := ToModelProto(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func opTypes(m *onnxpb.ModelProto) []string {
	var ops []string
	for _, n := range m.Graph.Node {
		ops = append(ops, n.GetOpType())
	}
	return ops
}

func count(ops []string, op string) int {
	n := 0
	for _, o := range ops {
		if o == op {
			n++
		}
	}
	return n
}

func names[T interface{ GetName() string }](vs []T) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.GetName())
	}
	return out
}

func TestONNXPrunesUnreachable(t *testing.T) {
	g, err := Build(func(g *Graph) {
		x := g.Input("x", Shape{2, 3})
		unused := g.Input("unused", Shape{4})
		p := g.Param("p", Shape{3})
		dead := g.Param("dead", Shape{3})
		_ = Exp(Add(x, dead))
		_ = Neg(unused)
		g.Output("y", Tanh(Add(x, p)))
	})
	if err != nil {
		t.Fatal(err)
	}
	m := model(t, g, ONNXOptions{})
	if got := names(m.Graph.Input); !slices.Equal(got, []string{"x", "p"}) {
		t.Errorf("inputs %v; want [x p]", got)
	}
	if got := opTypes(m); !slices.Equal(got, []string{"Add", "Tanh"}) {
		t.Errorf("nodes %v; want [Add Tanh]", got)
	}
	// A static Expand target is a constant: the node giving the shape is
	// not needed.
	g, err = Build(func(g *Graph) {
		x := g.Input("x", Shape{3, 1})
		like := g.Input("like", Shape{2, 3, 4})
		g.Output("y", Expand(x, Exp(like)))
	})
	if err != nil {
		t.Fatal(err)
	}
	m = model(t, g, ONNXOptions{})
	if got := names(m.Graph.Input); !slices.Equal(got, []string{"x"}) {
		t.Errorf("static Expand: inputs %v; want [x]", got)
	}
	if got := opTypes(m); !slices.Equal(got, []string{"Expand"}) {
		t.Errorf("static Expand: nodes %v; want [Expand]", got)
	}
}

func TestONNXNames(t *testing.T) {
	g, err := Build(func(g *Graph) {
		x := g.Input("x", Shape{2, 3})
		v := g.Input("v3", Shape{2, 3}) // the name a generated value would take
		p := g.Param("layer.weight", Shape{3})
		a := Add(x, p) // node 3
		b := Mul(a, v)
		g.Output("out", b)
		g.Output("again", b)
		g.Output("echo", x)
		g.Output("param", p)
		g.Output("c", g.Scalar(2))
	})
	if err != nil {
		t.Fatal(err)
	}
	m := model(t, g, ONNXOptions{})
	if got := names(m.Graph.Input); !slices.Equal(got, []string{"x", "v3", "layer.weight"}) {
		t.Errorf("inputs %v", got)
	}
	if got := names(m.Graph.Output); !slices.Equal(got, []string{"out", "again", "echo", "param", "c"}) {
		t.Errorf("outputs %v", got)
	}
	nodeName := regexp.MustCompile(`^[A-Za-z]+_[0-9]+$`)
	seen := map[string]bool{}
	produced := map[string]bool{}
	for _, n := range m.Graph.Node {
		if !nodeName.MatchString(n.GetName()) || !strings.HasPrefix(n.GetName(), n.GetOpType()+"_") {
			t.Errorf("node name %q (op %s)", n.GetName(), n.GetOpType())
		}
		if seen[n.GetName()] {
			t.Errorf("node name %q twice", n.GetName())
		}
		seen[n.GetName()] = true
		for _, o := range n.Output {
			if produced[o] {
				t.Errorf("value %q produced twice", o)
			}
			produced[o] = true
		}
	}
	for _, init := range m.Graph.Initializer {
		produced[init.GetName()] = true
	}
	if !produced["v3_1"] {
		t.Errorf("the Add's value should be named v3_1 (v3 is an input); values %v", produced)
	}
	for _, o := range []string{"out", "again", "echo", "param", "c"} {
		if !produced[o] {
			t.Errorf("output %q is not produced by any node", o)
		}
	}
	if got := count(opTypes(m), "Identity"); got != 4 {
		t.Errorf("%d Identity nodes; want 4 (again, echo, param, c)", got)
	}

	// An output may not reuse an input's name.
	g, err = Build(func(g *Graph) {
		x := g.Input("x", Shape{2})
		g.Output("x", Neg(x))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ToONNX(g, ONNXOptions{}); err == nil {
		t.Error("output named like an input: no error")
	}
}

func dims(vi *onnxpb.ValueInfoProto) string {
	var parts []string
	for _, d := range vi.GetType().GetTensorType().GetShape().GetDim() {
		switch v := d.Value.(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			parts = append(parts, string(rune('0'+v.DimValue)))
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			parts = append(parts, v.DimParam)
		default:
			parts = append(parts, "?")
		}
	}
	return strings.Join(parts, ",")
}

func TestONNXDynamicDims(t *testing.T) {
	g, err := Build(func(g *Graph) {
		x := g.Input("image", Shape{-1, 3, -1, -1}, "N", "", "H", "W")
		l := g.Input("label", Shape{-1, 5})
		w := g.Param("w", Shape{2, 3, 1, 1})
		g.Output("y", Conv(x, w, nil, ConvOpts{}))
		g.Output("l", ReduceSum(l, false, 1))
		g.Output("k", ReduceSum(x, false, 0, 2, 3))
	})
	if err != nil {
		t.Fatal(err)
	}
	m := model(t, g, ONNXOptions{OutputDimNames: map[string][]string{"y": {"N", "", "H"}}})
	want := map[string]string{
		"image": "N,3,H,W", "label": "label_0,5", "w": "2,3,1,1",
		"y": "N,2,H,?", "l": "?", "k": "3",
	}
	for _, vi := range append(m.Graph.Input, m.Graph.Output...) {
		if got := dims(vi); got != want[vi.GetName()] {
			t.Errorf("%s: dims %s; want %s", vi.GetName(), got, want[vi.GetName()])
		}
		if et := vi.GetType().GetTensorType().GetElemType(); et != int32(onnxpb.TensorProto_FLOAT) {
			t.Errorf("%s: elem type %d", vi.GetName(), et)
		}
	}
	g, err = Build(func(g *Graph) {
		x := g.Input("x", Shape{2})
		g.Output("b", Greater(x, x))
	})
	if err != nil {
		t.Fatal(err)
	}
	m = model(t, g, ONNXOptions{})
	if et := m.Graph.Output[0].GetType().GetTensorType().GetElemType(); et != int32(onnxpb.TensorProto_BOOL) {
		t.Errorf("bool output elem type %d", et)
	}
}

func TestONNXParams(t *testing.T) {
	build := func() *Graph {
		g, err := Build(func(g *Graph) {
			x := g.Input("x", Shape{2, 3})
			a := g.Param("a", Shape{3})
			b := g.Param("b", Shape{3})
			g.Output("y", Add(Mul(x, a), b))
		})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	m := model(t, build(), ONNXOptions{Params: map[string][]float32{"a": {1, 2, 3}}})
	if got := names(m.Graph.Input); !slices.Equal(got, []string{"x", "b"}) {
		t.Errorf("inputs %v; want [x b]", got)
	}
	if got := names(m.Graph.Initializer); !slices.Equal(got, []string{"a"}) {
		t.Errorf("initializers %v; want [a]", got)
	}
	init := m.Graph.Initializer[0]
	if !slices.Equal(init.Dims, []int64{3}) || len(init.RawData) != 12 || init.RawData[4] != 0 || init.RawData[7] != 0x40 {
		t.Errorf("initializer a: dims %v raw % x", init.Dims, init.RawData)
	}
	for _, c := range []struct {
		params map[string][]float32
		want   string
	}{
		{map[string][]float32{"nope": {1}}, `"nope"`},
		{map[string][]float32{"x": make([]float32, 6)}, "not a parameter"},
		{map[string][]float32{"a": {1, 2}}, "2 values"},
	} {
		_, err := ToONNX(build(), ONNXOptions{Params: c.params})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("params %v: err = %v; want one containing %s", c.params, err, c.want)
		}
	}
}

func TestONNXErrors(t *testing.T) {
	g, err := Build(func(g *Graph) {
		x := g.Input("x", Shape{1, -1, 4, 4})
		g.Output("y", InstanceNorm(x, nil, nil, 1e-5))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ToONNX(g, ONNXOptions{}); err == nil || !strings.Contains(err.Error(), "InstanceNorm") {
		t.Errorf("instance norm of dynamic channels: err = %v; want one naming InstanceNorm", err)
	}
	if _, err := ToONNX(New(), ONNXOptions{}); err == nil {
		t.Error("graph without outputs: no error")
	}
	if _, err := ToONNX(exportNet(t), ONNXOptions{FilterGrad: 99}); err == nil {
		t.Error("unknown filter-gradient lowering: no error")
	}
	if _, err := ToONNX(exportNet(t), ONNXOptions{ConvTranspose: -1}); err == nil {
		t.Error("unknown conv-transpose lowering: no error")
	}
}

func TestONNXReshapeAllowZero(t *testing.T) {
	g, err := Build(func(g *Graph) {
		x := g.Input("x", Shape{-1, 6})
		e := g.Input("e", Shape{0, 3})
		g.Output("r", Reshape(x, -1, 2, 3))
		g.Output("z", Reshape(e, 3, 0))
	})
	if err != nil {
		t.Fatal(err)
	}
	m := model(t, g, ONNXOptions{})
	var got []int64
	for _, n := range m.Graph.Node {
		for _, a := range n.Attribute {
			if a.GetName() == "allowzero" {
				got = append(got, a.GetI())
			}
		}
	}
	if !slices.Equal(got, []int64{0, 1}) {
		t.Errorf("allowzero %v; want [0 1]", got)
	}
}

// TestONNXConvLowerings checks which ONNX ops each lowering choice writes.
func TestONNXConvLowerings(t *testing.T) {
	ct := func(a ConvAttr, k int) *Graph {
		g, err := Build(func(g *Graph) {
			x := g.Input("x", Shape{1, 4, -1, -1})
			w := g.Param("w", Shape{4, 2, k, k})
			g.Output("y", ConvTransposeWith(x, w, g.Param("b", Shape{2}), a))
		})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	up := ConvAttr{Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, Dilations: [2]int{1, 1}, OutputPadding: [2]int{1, 1}}
	s1 := ConvAttr{Strides: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Dilations: [2]int{1, 1}}
	dil := up
	dil.Dilations = [2]int{2, 2}
	fg := func(a ConvAttr) *Graph {
		g, err := Build(func(g *Graph) {
			x := g.Input("x", Shape{2, 4, 8, 8})
			h := (8+2-3)/a.Strides[0] + 1
			dy := g.Input("dy", Shape{2, 3, h, h})
			g.Output("dw", ConvFilterGrad(x, dy, a))
		})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	fgCh := func(c, o int, a ConvAttr) *Graph {
		g, err := Build(func(g *Graph) {
			x := g.Input("x", Shape{2, c, 8, 8})
			dy := g.Input("dy", Shape{2, o, 8, 8})
			g.Output("dw", ConvFilterGrad(x, dy, a))
		})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	down := ConvAttr{Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, Dilations: [2]int{1, 1}, Kernel: [2]int{3, 3}}
	same := ConvAttr{Strides: [2]int{1, 1}, Pads: [4]int{1, 1, 1, 1}, Dilations: [2]int{1, 1}, Kernel: [2]int{3, 3}}
	for _, c := range []struct {
		name string
		g    *Graph
		opts ONNXOptions
		want map[string]int
	}{
		{"subpixel s2", ct(up, 3), ONNXOptions{ConvTranspose: ConvTransposeSubPixel}, map[string]int{"Conv": 1, "DepthToSpace": 1, "ConvTranspose": 0, "Slice": 0}},
		{"subpixel s2 k4 crop", ct(ConvAttr{Strides: [2]int{2, 2}, Pads: [4]int{1, 1, 1, 1}, Dilations: [2]int{1, 1}, OutputPadding: [2]int{1, 0}}, 4), ONNXOptions{ConvTranspose: ConvTransposeSubPixel}, map[string]int{"Conv": 1, "DepthToSpace": 1, "ConvTranspose": 0, "Slice": 1}},
		{"subpixel dilated falls back", ct(dil, 3), ONNXOptions{ConvTranspose: ConvTransposeSubPixel}, map[string]int{"Conv": 0, "ConvTranspose": 1}},
		{"phases s2", ct(up, 3), ONNXOptions{ConvTranspose: ConvTransposePhases}, map[string]int{"Conv": 4, "Concat": 1, "DepthToSpace": 1, "ConvTranspose": 0}},
		{"phases s1 is subpixel", ct(s1, 3), ONNXOptions{ConvTranspose: ConvTransposePhases}, map[string]int{"Conv": 1, "DepthToSpace": 0, "ConvTranspose": 0}},
		{"native", ct(up, 3), ONNXOptions{ConvTranspose: ConvTransposeNative}, map[string]int{"Conv": 0, "ConvTranspose": 1}},
		{"zeroinsert", ct(up, 3), ONNXOptions{ConvTranspose: ConvTransposeZeroInsert}, map[string]int{"Conv": 1, "ConvTranspose": 0, "Pad": 1}},
		{"auto s1 is a flipped Conv", ct(s1, 3), ONNXOptions{}, map[string]int{"Conv": 1, "DepthToSpace": 0, "ConvTranspose": 0}},
		{"auto s2 is native", ct(up, 3), ONNXOptions{}, map[string]int{"Conv": 0, "ConvTranspose": 1}},
		{"taps", fg(down), ONNXOptions{FilterGrad: FilterGradTaps}, map[string]int{"Gemm": 9, "Slice": 9, "Conv": 0}},
		{"im2col", fg(down), ONNXOptions{FilterGrad: FilterGradIm2col}, map[string]int{"Gemm": 1, "Slice": 9, "Conv": 0}},
		{"im2col-dy s2 is im2col", fg(down), ONNXOptions{FilterGrad: FilterGradIm2colDy}, map[string]int{"Gemm": 1, "Slice": 9, "Conv": 0}},
		{"im2col-dy", fg(same), ONNXOptions{FilterGrad: FilterGradIm2colDy}, map[string]int{"Gemm": 1, "Slice": 0, "Pad": 10, "Conv": 0}},
		{"conv", fg(down), ONNXOptions{FilterGrad: FilterGradConv}, map[string]int{"Gemm": 0, "Conv": 1}},
		{"unfold", fg(down), ONNXOptions{FilterGrad: FilterGradUnfold}, map[string]int{"Gemm": 1, "Conv": 1, "Slice": 0}},
		{"auto s2 is im2col", fg(down), ONNXOptions{}, map[string]int{"Gemm": 1, "Slice": 9}},
		{"auto s1 fewer outputs is im2col-dy", fgCh(8, 2, same), ONNXOptions{}, map[string]int{"Gemm": 1, "Slice": 0}},
		{"auto s1 more outputs is im2col", fgCh(3, 5, same), ONNXOptions{}, map[string]int{"Gemm": 1, "Slice": 9}},
	} {
		ops := opTypes(model(t, c.g, c.opts))
		for op, n := range c.want {
			if got := count(ops, op); got != n {
				t.Errorf("%s: %d %s nodes; want %d (nodes %v)", c.name, got, op, n, ops)
			}
		}
	}
}

// TestPlanSubPixel checks the sub-pixel plan of a 1-D transposed
// convolution against the definition, over many kernel, stride, pad and
// output-padding combinations and input lengths.
func TestPlanSubPixel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	planned := 0
	for k := 1; k <= 7; k++ {
		for s := 1; s <= 4; s++ {
			for pb := 0; pb <= 4; pb++ {
				for pe := 0; pe <= 4; pe++ {
					for op := 0; op < s; op++ {
						p, ok := planSubPixel(k, s, pb, pe, op)
						if !ok {
							continue
						}
						planned++
						for l := 1; l <= 6; l++ {
							lout := (l-1)*s - pb - pe + k + op
							if lout < 1 {
								continue
							}
							x := make([]float64, l)
							w := make([]float64, k+1) // w[k] is the zero tap
							for i := range x {
								x[i] = rng.Float64()
							}
							for i := range k {
								w[i] = rng.Float64()
							}
							want := make([]float64, lout)
							for ti := range l {
								for i := range k {
									if y := ti*s + i - pb; y >= 0 && y < lout {
										want[y] += x[ti] * w[i]
									}
								}
							}
							q := l + p.padBegin + p.padEnd - p.k + 1
							if q*s-p.crop != lout {
								t.Fatalf("k%d s%d p%d/%d op%d L%d: %d phase rows, crop %d, for %d outputs", k, s, pb, pe, op, l, q, p.crop, lout)
							}
							for y := range lout {
								qq, a := y/s, y%s
								var got float64
								for j := range p.k {
									if xi := qq + j - p.padBegin; xi >= 0 && xi < l {
										got += x[xi] * w[p.taps[a][j]]
									}
								}
								if d := got - want[y]; d > 1e-12 || d < -1e-12 {
									t.Fatalf("k%d s%d p%d/%d op%d L%d: y[%d] = %g; want %g", k, s, pb, pe, op, l, y, got, want[y])
								}
							}
						}
					}
				}
			}
		}
	}
	if planned < 300 {
		t.Errorf("only %d configurations planned", planned)
	}
}
