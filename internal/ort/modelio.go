package ort

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/internal/onnxpb"
)

// ValueInfo describes one input or output of a model.
type ValueInfo struct {
	// Name is the graph's name for the value.
	Name string
	// Type is the ONNX element type: onnxpb.TensorProto_FLOAT (float32) for
	// every value Run accepts; UNDEFINED for non-tensor values.
	Type onnxpb.TensorProto_DataType
	// Shape has one entry per dimension: the size, or -1 where the model
	// leaves the dimension symbolic or unknown. It is empty for a scalar and
	// nil when the model does not state the rank.
	Shape []int64
	// DimNames has one entry per dimension: its symbolic name ("N", "H")
	// where the model gives one, else "".
	DimNames []string
}

// String formats the value like "image float32[N,3,H,W]".
func (v ValueInfo) String() string {
	var b strings.Builder
	b.WriteString(v.Name)
	b.WriteByte(' ')
	if v.Type == onnxpb.TensorProto_FLOAT {
		b.WriteString("float32")
	} else {
		b.WriteString(strings.ToLower(v.Type.String()))
	}
	if v.Shape == nil {
		b.WriteString("[?]")
		return b.String()
	}
	b.WriteByte('[')
	for i, d := range v.Shape {
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case v.DimNames[i] != "":
			b.WriteString(v.DimNames[i])
		case d < 0:
			b.WriteByte('?')
		default:
			fmt.Fprint(&b, d)
		}
	}
	b.WriteByte(']')
	return b.String()
}

// ONNX field numbers read by modelIO (onnx.proto).
const (
	fieldModelGraph         = 7  // ModelProto.graph
	fieldGraphInitializer   = 5  // GraphProto.initializer
	fieldGraphInput         = 11 // GraphProto.input
	fieldGraphOutput        = 12 // GraphProto.output
	fieldGraphSparseInit    = 15 // GraphProto.sparse_initializer
	fieldTensorName         = 8  // TensorProto.name
	fieldSparseTensorValues = 1  // SparseTensorProto.values
)

// modelIO reads the inputs and outputs of a serialized ModelProto the way
// ORT lists them: graph inputs that are not initializers, and graph outputs,
// in graph order. It walks the wire format and decodes only the ValueInfo
// messages, so the weights are neither copied nor parsed (ORT's own
// GetInputOutputInfo would build a second session).
func modelIO(model []byte) (inputs, outputs []ValueInfo, err error) {
	graph, err := lastBytesField(model, fieldModelGraph)
	if err != nil {
		return nil, nil, fmt.Errorf("ort: not an ONNX model: %w", err)
	}
	if graph == nil {
		return nil, nil, fmt.Errorf("ort: read model: no graph (is this an ONNX model?)")
	}
	initializers := map[string]bool{}
	var ins, outs []*onnxpb.ValueInfoProto
	for b := graph; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, nil, fmt.Errorf("ort: read model graph: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return nil, nil, fmt.Errorf("ort: read model graph: %w", protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, nil, fmt.Errorf("ort: read model graph: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch num {
		case fieldGraphInitializer:
			name, err := lastBytesField(v, fieldTensorName)
			if err != nil {
				return nil, nil, fmt.Errorf("ort: read model initializer: %w", err)
			}
			initializers[string(name)] = true
		case fieldGraphSparseInit:
			values, err := lastBytesField(v, fieldSparseTensorValues)
			if err == nil {
				var name []byte
				name, err = lastBytesField(values, fieldTensorName)
				initializers[string(name)] = true
			}
			if err != nil {
				return nil, nil, fmt.Errorf("ort: read model sparse initializer: %w", err)
			}
		case fieldGraphInput, fieldGraphOutput:
			vi := new(onnxpb.ValueInfoProto)
			if err := proto.Unmarshal(v, vi); err != nil {
				return nil, nil, fmt.Errorf("ort: read model graph input/output: %w", err)
			}
			if num == fieldGraphInput {
				ins = append(ins, vi)
			} else {
				outs = append(outs, vi)
			}
		}
	}
	for _, vi := range ins {
		if !initializers[vi.GetName()] {
			inputs = append(inputs, valueInfo(vi))
		}
	}
	for _, vi := range outs {
		outputs = append(outputs, valueInfo(vi))
	}
	return inputs, outputs, nil
}

// lastBytesField returns the payload of the last length-delimited field num
// of the message in b (protobuf's "last one wins" for a singular field), or
// nil when there is none.
func lastBytesField(b []byte, num protowire.Number) ([]byte, error) {
	var found []byte
	for len(b) > 0 {
		n0, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if n0 == num && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			found = v
			b = b[n:]
			continue
		}
		if n = protowire.ConsumeFieldValue(n0, typ, b); n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return found, nil
}

// valueInfo converts a graph ValueInfoProto to a ValueInfo.
func valueInfo(vi *onnxpb.ValueInfoProto) ValueInfo {
	out := ValueInfo{Name: vi.GetName()}
	t := vi.GetType().GetTensorType()
	if t == nil {
		return out
	}
	out.Type = onnxpb.TensorProto_DataType(t.GetElemType())
	if t.Shape == nil {
		return out
	}
	dims := t.GetShape().GetDim()
	out.Shape = make([]int64, len(dims))
	out.DimNames = make([]string, len(dims))
	for i, d := range dims {
		out.Shape[i] = -1
		if d.Value != nil {
			if v, ok := d.Value.(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue >= 0 {
				out.Shape[i] = v.DimValue
			}
		}
		out.DimNames[i] = d.GetDimParam()
	}
	return out
}
