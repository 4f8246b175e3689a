package export

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/internal/onnxpb"
	"github.com/ganrt/ganrt/internal/version"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
)

// I/O names and metadata keys of exported generators.
const (
	InputImage  = "image"
	InputLabel  = "label"
	OutputImage = "output"

	// MetaDomains lists StarGAN's label names, comma-separated.
	MetaDomains = "ganrt.domains"
	// MetaNormalization says how pixels map to the input range.
	MetaNormalization = "ganrt.normalization"
	// MetaMultiple is what H and W must be multiples of.
	MetaMultiple = "ganrt.multiple"
	// MetaWeights is "float32" or "float16" (storage of the weights).
	MetaWeights = "ganrt.weights"
	// MetaNormMode, present only with ONNXOptions.TrainModeNorm, says how
	// batch norm normalizes: NormModeBatchStats.
	MetaNormMode = "ganrt.norm_mode"
	// NormModeBatchStats is MetaNormMode's value.
	NormModeBatchStats = "batch statistics (train mode, as test.py without --eval); dropout off"

	// Normalization is the only pixel mapping ganrt models use.
	Normalization = "rgb; x/127.5-1; y -> (y+1)*127.5"
)

// ONNXOptions configures an ONNX export. Zero values give dynamic batch,
// height and width and float32 weights.
type ONNXOptions struct {
	// Batch fixes the batch size (0: dynamic).
	Batch int
	// Height and Width fix the image size (0: dynamic); they must be
	// multiples of the generator's Multiple.
	Height, Width int
	// FP16 stores the weights as float16, cast to float32 in the graph: the
	// file halves, inputs and outputs stay float32.
	FP16 bool
	// Opset is the ONNX opset, graph.ONNXOpset (17, the default) through
	// graph.MaxONNXOpset (21); every one is tested against PyTorch.
	Opset int
	// TrainModeNorm makes batch norm normalize with the statistics of the
	// batch, as the CycleGAN reference's test.py does without --eval
	// (PyTorch's train() mode), instead of the running statistics. Dropout
	// stays off. Only batch-norm generators take it, and their batch is
	// fixed at 1 (test.py's), since each image is then normalized by the
	// others of its batch. MetaNormMode records it.
	TrainModeNorm bool
	// Int8, when not nil, writes a static int8 QDQ model calibrated on
	// images (see Int8Options); inputs and outputs stay float32.
	Int8 *Int8Options
	// FP16Compute writes a model whose whole graph computes in float16:
	// float16 weights and activations, with Casts only at the float32
	// inputs and output (see toFP16Compute).
	FP16Compute bool
	// FP32Norm, with FP16Compute, keeps instance and batch normalization in
	// float32 (a Cast before and after each).
	FP32Norm bool
}

// ONNX returns the frozen inference model of a generator: deterministic
// bytes (the same model and options give the same file).
func ONNX(m *Model, o ONNXOptions) ([]byte, error) {
	s := m.Spec
	if !s.IsGenerator() {
		return nil, fmt.Errorf("%s: export needs a generator, this is a %s", m.Path, s)
	}
	for _, side := range []int{o.Height, o.Width} {
		if side < 0 || side%s.Multiple() != 0 {
			return nil, fmt.Errorf("fixed image size %dx%d: sides must be positive multiples of %d", o.Height, o.Width, s.Multiple())
		}
	}
	if o.TrainModeNorm {
		if s.Norm != "batch" {
			return nil, fmt.Errorf("%s: train-mode norm changes only batch-norm generators; this is a %s, whose output is the same in both modes", m.Path, s)
		}
		if o.Batch > 1 {
			return nil, fmt.Errorf("train-mode norm normalizes each image by its batch: the batch is fixed at 1, not %d", o.Batch)
		}
		o.Batch = 1
	}
	if n := btoi(o.FP16) + btoi(o.FP16Compute) + btoi(o.Int8 != nil); n > 1 {
		return nil, fmt.Errorf("fp16 weights, fp16 compute and int8 exclude one another: pick one")
	}
	if o.FP32Norm && !o.FP16Compute {
		return nil, fmt.Errorf("fp32 norm applies to fp16 compute only")
	}
	dyn := func(v int) int {
		if v == 0 {
			return -1
		}
		return v
	}
	g, err := graph.Build(func(g *graph.Graph) {
		x := g.Input(InputImage, graph.Shape{dyn(o.Batch), s.InputNCOrRGB(), dyn(o.Height), dyn(o.Width)}, "batch", "channels", "height", "width")
		var c *graph.Node
		if s.Kind == models.StarGANGenerator {
			c = g.Input(InputLabel, graph.Shape{dyn(o.Batch), s.CDim}, "batch", "labels")
		}
		sc := nn.NewScope(g, "")
		sc.BatchStats = o.TrainModeNorm
		g.Output(OutputImage, s.Forward(sc, x, c)[0])
	})
	if err != nil {
		return nil, fmt.Errorf("%s: build %s: %w", m.Path, s, err)
	}
	params := make(map[string][]float32)
	for _, in := range g.Inputs() {
		if name := in.Name(); name != InputImage && name != InputLabel {
			params[name] = m.Weights[name]
		}
	}
	meta := map[string]string{
		models.MetadataKey: s.JSON(),
		MetaNormalization:  Normalization,
		MetaMultiple:       strconv.Itoa(s.Multiple()),
		MetaWeights:        "float32",
	}
	if len(s.Domains) > 0 {
		meta[MetaDomains] = strings.Join(s.Domains, ",")
	}
	if o.FP16 {
		meta[MetaWeights] = "float16"
	}
	if o.TrainModeNorm {
		meta[MetaNormMode] = NormModeBatchStats
	}
	mp, err := graph.ToModelProto(g, graph.ONNXOptions{
		Params:          params,
		Metadata:        meta,
		DocString:       "ganrt " + s.String(),
		ProducerVersion: version.Version,
		GraphName:       strings.ReplaceAll(s.Kind, ".", "_"),
		OutputDimNames:  map[string][]string{OutputImage: {"batch", "channels", "height", "width"}},
		Opset:           o.Opset,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Path, err)
	}
	if o.FP16 {
		toFP16(mp)
	}
	if o.FP16Compute {
		if err := toFP16Compute(mp, o.FP32Norm); err != nil {
			return nil, fmt.Errorf("%s: fp16 compute: %w", m.Path, err)
		}
	}
	if o.Int8 != nil {
		if err := quantize(mp, s, *o.Int8, o.Height, o.Width); err != nil {
			return nil, fmt.Errorf("%s: int8: %w", m.Path, err)
		}
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(mp)
}

// toFP16 stores every float32 initializer with more than one element as
// float16 and inserts a Cast back to float32 under the original name, so
// the rest of the graph is unchanged.
func toFP16(mp *onnxpb.ModelProto) {
	g := mp.Graph
	var casts []*onnxpb.NodeProto
	for _, t := range g.Initializer {
		if t.GetDataType() != int32(onnxpb.TensorProto_FLOAT) || len(t.RawData) <= 4 {
			continue
		}
		half := make([]byte, len(t.RawData)/2)
		for i := range len(t.RawData) / 4 {
			f := math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
			binary.LittleEndian.PutUint16(half[2*i:], float16.Fromfloat32(f).Bits())
		}
		name := t.GetName()
		t.Name = proto.String(name + "_fp16")
		t.DataType = proto.Int32(int32(onnxpb.TensorProto_FLOAT16))
		t.RawData = half
		casts = append(casts, &onnxpb.NodeProto{
			Name:   proto.String("Cast_" + name),
			OpType: proto.String("Cast"),
			Input:  []string{name + "_fp16"},
			Output: []string{name},
			Attribute: []*onnxpb.AttributeProto{{
				Name: proto.String("to"),
				Type: onnxpb.AttributeProto_INT.Enum(),
				I:    proto.Int64(int64(onnxpb.TensorProto_FLOAT)),
			}},
		})
	}
	g.Node = append(casts, g.Node...)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
