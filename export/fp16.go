package export

import (
	"encoding/binary"
	"fmt"

	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/internal/onnxpb"
)

// MetaCompute is "float16" for models whose graph computes in float16
// (ONNXOptions.FP16Compute), with " (norms in float32)" when
// ONNXOptions.FP32Norm keeps normalization in float32.
const MetaCompute = "ganrt.compute"

// normOps are the normalizations FP32Norm keeps in float32; their scale,
// bias, mean and variance initializers stay float32 too.
var normOps = map[string]bool{"InstanceNormalization": true, "BatchNormalization": true}

// toFP16Compute rewrites the float32 model mp to compute in float16: every
// float32 initializer becomes float16, each float32 graph input goes
// through one Cast to float16 and the output comes back through one Cast
// to float32, so the I/O contract is unchanged. With fp32Norm, each
// normalization node reads its input through a Cast to float32 and writes
// through a Cast back to float16, keeping its statistics (mean and
// variance over H x W, a sum of up to 65,536 squares at 256x256) in
// float32; its parameters stay float32.
func toFP16Compute(mp *onnxpb.ModelProto, fp32Norm bool) error {
	g := mp.Graph
	keep := map[string]bool{} // initializers that stay float32
	if fp32Norm {
		for _, n := range g.Node {
			if normOps[n.GetOpType()] {
				for _, in := range n.Input[1:] {
					keep[in] = true
				}
			}
		}
	}
	for _, n := range g.Node {
		if n.GetOpType() == "Cast" || n.GetOpType() == "ConstantOfShape" || n.GetOpType() == "Constant" {
			return fmt.Errorf("node %s (%s) makes float values the rewrite does not handle", n.GetName(), n.GetOpType())
		}
	}
	for _, t := range g.Initializer {
		if t.GetDataType() != int32(onnxpb.TensorProto_FLOAT) || keep[t.GetName()] {
			continue
		}
		vals, err := tensorFloats(t)
		if err != nil {
			return err
		}
		half := make([]byte, 2*len(vals))
		for i, f := range vals {
			binary.LittleEndian.PutUint16(half[2*i:], float16.Fromfloat32(f).Bits())
		}
		t.DataType = proto.Int32(int32(onnxpb.TensorProto_FLOAT16))
		t.RawData, t.FloatData = half, nil
	}
	inits := map[string]bool{}
	for _, t := range g.Initializer {
		inits[t.GetName()] = true
	}
	rename := map[string]string{} // float32 graph input -> its float16 cast
	var pre []*onnxpb.NodeProto
	for _, v := range g.Input {
		if inits[v.GetName()] || v.GetType().GetTensorType().GetElemType() != int32(onnxpb.TensorProto_FLOAT) {
			continue
		}
		h := v.GetName() + "_fp16"
		rename[v.GetName()] = h
		pre = append(pre, castNode(v.GetName(), h, onnxpb.TensorProto_FLOAT16))
	}
	outs := map[string]string{} // float32 graph output -> the float16 tensor cast to it
	for _, v := range g.Output {
		if v.GetType().GetTensorType().GetElemType() == int32(onnxpb.TensorProto_FLOAT) {
			outs[v.GetName()] = v.GetName() + "_fp16"
		}
	}
	var nodes []*onnxpb.NodeProto
	nodes = append(nodes, pre...)
	for _, n := range g.Node {
		for i, in := range n.Input {
			if r, ok := rename[in]; ok {
				n.Input[i] = r
			}
		}
		for i, o := range n.Output {
			if r, ok := outs[o]; ok {
				n.Output[i] = r
			}
		}
		if fp32Norm && normOps[n.GetOpType()] {
			x, y := n.Input[0], n.Output[0]
			n.Input[0], n.Output[0] = x+"_fp32", y+"_fp32"
			nodes = append(nodes, castNode(x, x+"_fp32", onnxpb.TensorProto_FLOAT), n, castNode(y+"_fp32", y, onnxpb.TensorProto_FLOAT16))
			continue
		}
		nodes = append(nodes, n)
	}
	for _, v := range g.Output {
		if h, ok := outs[v.GetName()]; ok {
			nodes = append(nodes, castNode(h, v.GetName(), onnxpb.TensorProto_FLOAT))
		}
	}
	g.Node = nodes
	// Shapes and types of intermediate values are ORT's to infer again.
	g.ValueInfo = nil
	what := "float16"
	if fp32Norm {
		what += " (norms in float32)"
	}
	setMeta(mp, MetaWeights, "float16")
	setMeta(mp, MetaCompute, what)
	return nil
}

func castNode(in, out string, to onnxpb.TensorProto_DataType) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{
		Name:   proto.String("Cast_" + out),
		OpType: proto.String("Cast"),
		Input:  []string{in},
		Output: []string{out},
		Attribute: []*onnxpb.AttributeProto{{
			Name: proto.String("to"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(to)),
		}},
	}
}
