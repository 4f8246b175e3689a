package ort

import (
	"encoding/binary"
	"math"
	"sort"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/internal/onnxpb"
)

// Tiny ONNX models for the tests, built with the generated onnxpb types.

// mustInit loads ONNX Runtime or fails the test with the install hint.
func mustInit(t testing.TB) {
	t.Helper()
	if err := Init(""); err != nil {
		t.Fatalf("these tests need the ONNX Runtime library: %v", err)
	}
}

// floatType returns a float32 tensor type; each dim is an int (fixed size)
// or a string (symbolic). No dims is a scalar.
func floatType(dims ...any) *onnxpb.TypeProto {
	shape := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{}}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch d := d.(type) {
		case int:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		case string:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}
		default:
			panic("bad dim")
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
		ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		Shape:    shape,
	}}}
}

func value(name string, dims ...any) *onnxpb.ValueInfoProto {
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: floatType(dims...)}
}

// floatInit returns an initializer holding data little-endian in raw_data.
func floatInit(name string, shape []int64, data []float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &onnxpb.TensorProto{
		Name:     proto.String(name),
		Dims:     shape,
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		RawData:  raw,
	}
}

func node(op string, inputs, outputs []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{
		OpType:    proto.String(op),
		Name:      proto.String(op + "_" + outputs[0]),
		Input:     inputs,
		Output:    outputs,
		Attribute: attrs,
	}
}

func intsAttr(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{
		Name: proto.String(name),
		Type: onnxpb.AttributeProto_INTS.Enum(),
		Ints: v,
	}
}

// serialize wraps graph in an opset-17, IR-8 model with metadata and
// returns its bytes.
func serialize(t testing.TB, g *onnxpb.GraphProto, meta map[string]string) []byte {
	t.Helper()
	m := &onnxpb.ModelProto{
		IrVersion:       proto.Int64(8),
		ProducerName:    proto.String("ganrt-test"),
		ProducerVersion: proto.String("0"),
		Domain:          proto.String("ganrt.test"),
		ModelVersion:    proto.Int64(3),
		DocString:       proto.String("a test model"),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph:           g,
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(meta[k])})
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// addReluModel: y = Relu(a + b), a, b, y float32[N,3].
func addReluModel(t testing.TB) []byte {
	return serialize(t, &onnxpb.GraphProto{
		Name: proto.String("add_relu"),
		Node: []*onnxpb.NodeProto{
			node("Add", []string{"a", "b"}, []string{"sum"}),
			node("Relu", []string{"sum"}, []string{"y"}),
		},
		Input:  []*onnxpb.ValueInfoProto{value("a", "N", 3), value("b", "N", 3)},
		Output: []*onnxpb.ValueInfoProto{value("y", "N", 3)},
	}, map[string]string{"architecture": "test", "normalization": "[-1,1]"})
}

// Conv test model: x float32[N,1,H,W] -> y float32[N,2,H,W], a 3x3 conv with
// padding 1 and bias, weights as initializers.
var (
	convW = []float32{
		// out channel 0: a Laplacian
		0, 1, 0,
		1, -4, 1,
		0, 1, 0,
		// out channel 1: a ramp
		0.1, 0.2, 0.3,
		0.4, 0.5, 0.6,
		0.7, 0.8, 0.9,
	}
	convB = []float32{0.5, -1}
)

// convModel builds the conv model; with wAsInput, the weight is also listed
// as a graph input (an overridable initializer), which must not show up
// among the session's inputs.
func convModel(t testing.TB, wAsInput bool) []byte {
	g := &onnxpb.GraphProto{
		Name: proto.String("conv"),
		Node: []*onnxpb.NodeProto{
			node("Conv", []string{"x", "W", "B"}, []string{"y"},
				intsAttr("kernel_shape", 3, 3), intsAttr("pads", 1, 1, 1, 1)),
		},
		Initializer: []*onnxpb.TensorProto{
			floatInit("W", []int64{2, 1, 3, 3}, convW),
			floatInit("B", []int64{2}, convB),
		},
		Input:  []*onnxpb.ValueInfoProto{value("x", "N", 1, "H", "W")},
		Output: []*onnxpb.ValueInfoProto{value("y", "N", 2, "H", "W")},
	}
	if wAsInput {
		g.Input = append(g.Input, value("W", 2, 1, 3, 3))
	}
	return serialize(t, g, nil)
}

// convRef is the reference conv of convModel on x [n,1,h,w].
func convRef(x []float32, n, h, w int) []float32 { return convRefW(x, convW, n, h, w) }

// convRefW is convRef with weights wt [2,1,3,3] instead of the model's.
func convRefW(x, wt []float32, n, h, w int) []float32 {
	y := make([]float32, n*2*h*w)
	for b := 0; b < n; b++ {
		for c := 0; c < 2; c++ {
			for i := 0; i < h; i++ {
				for j := 0; j < w; j++ {
					s := float64(convB[c])
					for di := -1; di <= 1; di++ {
						for dj := -1; dj <= 1; dj++ {
							ii, jj := i+di, j+dj
							if ii < 0 || ii >= h || jj < 0 || jj >= w {
								continue
							}
							s += float64(wt[c*9+(di+1)*3+(dj+1)]) * float64(x[(b*h+ii)*w+jj])
						}
					}
					y[((b*2+c)*h+i)*w+j] = float32(s)
				}
			}
		}
	}
	return y
}

// squareModel: y = x * x for a scalar x (rank 0 in and out).
func squareModel(t testing.TB) []byte {
	return serialize(t, &onnxpb.GraphProto{
		Name:   proto.String("square"),
		Node:   []*onnxpb.NodeProto{node("Mul", []string{"x", "x"}, []string{"y"})},
		Input:  []*onnxpb.ValueInfoProto{value("x")},
		Output: []*onnxpb.ValueInfoProto{value("y")},
	}, nil)
}

// ramp returns n values i*scale+offset.
func ramp(n int, scale, offset float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)*scale + offset
	}
	return v
}

func assertClose(t testing.TB, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d values; want %d", len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > tol {
			t.Fatalf("value %d: got %v; want %v (tolerance %g)", i, got[i], want[i], tol)
		}
	}
}
