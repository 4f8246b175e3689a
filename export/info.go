package export

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/ckpt"
	"github.com/ganrt/ganrt/internal/onnxpb"
	"github.com/ganrt/ganrt/models"
)

// Info describes a model or checkpoint file, for `ganrt info`.
type Info struct {
	Path string `json:"path"`
	// Format is "onnx" or a checkpoint format (safetensors, torch-zip, ...).
	Format string `json:"format"`
	// Spec is the network, when the file says or its keys tell.
	Spec *models.Spec `json:"spec,omitempty"`
	// Detected reports that Spec was inferred from the keys.
	Detected bool `json:"detected,omitempty"`
	// Problem says why the file is not a usable ganrt network, if it is not.
	Problem string `json:"problem,omitempty"`
	// Parameters counts the trainable weights of the recognized network;
	// for a file whose network is unknown, every float element.
	Parameters int `json:"parameters"`
	// Tensors counts the tensors (checkpoint entries or ONNX initializers).
	Tensors  int               `json:"tensors"`
	Inputs   []IO              `json:"inputs,omitempty"`
	Outputs  []IO              `json:"outputs,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// NonFinite lists the float tensors (checkpoint entries or ONNX
	// initializers) that hold NaN or infinite values, with their counts.
	NonFinite []ckpt.NonFinite `json:"non_finite,omitempty"`
	// Inference says, for generators whose output depends on it (batch
	// norm, dropout), how the exported model runs (see inferenceMode).
	Inference string `json:"inference,omitempty"`
	// Precision says how an exported generator computes, from its
	// metadata: "int8 (static QDQ ...)", "float16 compute", or empty for
	// float32 (and float16-stored weights, computed in float32).
	Precision string `json:"precision,omitempty"`
	// Calibration says how an int8 model's activation ranges were
	// calibrated (MetaCalibration), and FloatLayers what stays float.
	Calibration string `json:"calibration,omitempty"`
	FloatLayers string `json:"float_layers,omitempty"`
	// ONNX only.
	Opset     int64  `json:"opset,omitempty"`
	IRVersion int64  `json:"ir_version,omitempty"`
	Producer  string `json:"producer,omitempty"`
}

// IO is an ONNX model input or output: dimensions are sizes or names of
// dynamic axes.
type IO struct {
	Name  string   `json:"name"`
	DType string   `json:"dtype"`
	Shape []string `json:"shape"`
}

// MarshalJSON writes fixed dimensions as numbers and dynamic ones as their
// names: {"shape": ["N", 3, "H", "W"]}.
func (io IO) MarshalJSON() ([]byte, error) {
	shape := make([]any, len(io.Shape))
	for i, d := range io.Shape {
		shape[i] = d
		if n, err := strconv.ParseInt(d, 10, 64); err == nil {
			shape[i] = n
		}
	}
	return json.Marshal(struct {
		Name  string `json:"name"`
		DType string `json:"dtype"`
		Shape []any  `json:"shape"`
	}{io.Name, io.DType, shape})
}

// Inspect reads path (ONNX, safetensors or PyTorch) and describes it. A
// checkpoint whose network is not recognized still gets an Info, with the
// reason in Problem; an unreadable file is an error.
func Inspect(path string) (*Info, error) {
	format, err := ckpt.SniffFile(path)
	if err != nil {
		return nil, err
	}
	if format != ckpt.Unknown {
		return inspectCheckpoint(path, format)
	}
	return inspectONNX(path)
}

func inspectCheckpoint(path string, format ckpt.Format) (*Info, error) {
	sd, err := ckpt.Read(path)
	if err != nil {
		return nil, err
	}
	info := &Info{Path: path, Format: format.String(), Tensors: sd.Len(), Metadata: sd.Metadata, NonFinite: sd.NonFinite()}
	if len(info.Metadata) == 0 {
		info.Metadata = nil
	}
	m, err := fromState(path, sd, Overrides{})
	if err != nil {
		info.Problem = err.Error()
		for _, t := range sd.All() {
			if t.Floats != nil {
				info.Parameters += len(t.Floats)
			}
		}
		return info, nil
	}
	reg, err := m.Spec.Registry()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	info.Spec, info.Detected, info.Parameters = &m.Spec, m.Detected, reg.NumParams()
	info.Inference = inferenceMode(m.Spec, nil)
	return info, nil
}

func inspectONNX(path string) (*Info, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil || mp.Graph == nil {
		return nil, fmt.Errorf("%s: not an ONNX model, safetensors file or PyTorch checkpoint", path)
	}
	info := &Info{Path: path, Format: "onnx", IRVersion: mp.GetIrVersion(),
		Producer: strings.TrimSpace(mp.GetProducerName() + " " + mp.GetProducerVersion())}
	for _, op := range mp.OpsetImport {
		if op.GetDomain() == "" || op.GetDomain() == "ai.onnx" {
			info.Opset = op.GetVersion()
		}
	}
	if len(mp.MetadataProps) > 0 {
		info.Metadata = map[string]string{}
		for _, p := range mp.MetadataProps {
			info.Metadata[p.GetKey()] = p.GetValue()
		}
	}
	inits := map[string]bool{}
	for _, t := range mp.Graph.Initializer {
		inits[t.GetName()] = true
		info.Tensors++
		if nf := initializerNonFinite(t); nf.NaN+nf.Inf > 0 {
			info.NonFinite = append(info.NonFinite, nf)
		}
		dt := onnxpb.TensorProto_DataType(t.GetDataType())
		if dt == onnxpb.TensorProto_FLOAT || dt == onnxpb.TensorProto_FLOAT16 {
			size := 1
			for _, d := range t.Dims {
				size *= int(d)
			}
			info.Parameters += size
		}
	}
	for _, v := range mp.Graph.Input {
		if !inits[v.GetName()] {
			info.Inputs = append(info.Inputs, ioOf(v))
		}
	}
	for _, v := range mp.Graph.Output {
		info.Outputs = append(info.Outputs, ioOf(v))
	}
	switch {
	case info.Metadata[MetaWeights] == "int8":
		info.Precision = "int8: " + info.Metadata[MetaQuantization]
		info.Calibration = info.Metadata[MetaCalibration]
		info.FloatLayers = info.Metadata[MetaFloatLayers]
	case info.Metadata[MetaCompute] != "":
		info.Precision = info.Metadata[MetaCompute] + " compute, float32 input and output"
	}
	if js, ok := info.Metadata[models.MetadataKey]; ok {
		spec, err := models.ParseSpec(js)
		if err != nil {
			info.Problem = err.Error()
		} else {
			info.Spec = &spec
			info.Inference = inferenceMode(spec, info.Metadata)
			// Count the network's weights, not the constants of the graph
			// (instance-norm ones and zeros, shapes).
			if reg, err := spec.Registry(); err == nil {
				info.Parameters = reg.NumParams()
			}
		}
	} else {
		info.Problem = "no ganrt metadata: not exported by ganrt"
	}
	return info, nil
}

// initializerNonFinite counts the NaN and infinite values of a float32,
// float16 or float64 initializer held in the model (raw_data, float_data,
// int32_data or double_data; external data is not read).
func initializerNonFinite(t *onnxpb.TensorProto) ckpt.NonFinite {
	nf := ckpt.NonFinite{Name: t.GetName()}
	count := func(x float64) {
		if math.IsNaN(x) {
			nf.NaN++
		} else if math.IsInf(x, 0) {
			nf.Inf++
		}
	}
	raw := t.GetRawData()
	switch onnxpb.TensorProto_DataType(t.GetDataType()) {
	case onnxpb.TensorProto_FLOAT:
		for i := 0; i+4 <= len(raw); i += 4 {
			count(float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))))
		}
		for _, x := range t.GetFloatData() {
			count(float64(x))
		}
	case onnxpb.TensorProto_FLOAT16:
		half := func(h uint16) {
			if h&0x7c00 == 0x7c00 { // exponent all ones: Inf (mantissa 0) or NaN
				if h&0x3ff == 0 {
					nf.Inf++
				} else {
					nf.NaN++
				}
			}
		}
		for i := 0; i+2 <= len(raw); i += 2 {
			half(binary.LittleEndian.Uint16(raw[i:]))
		}
		for _, x := range t.GetInt32Data() {
			half(uint16(x))
		}
	case onnxpb.TensorProto_DOUBLE:
		for i := 0; i+8 <= len(raw); i += 8 {
			count(math.Float64frombits(binary.LittleEndian.Uint64(raw[i:])))
		}
		for _, x := range t.GetDoubleData() {
			count(x)
		}
	}
	return nf
}

func ioOf(v *onnxpb.ValueInfoProto) IO {
	io := IO{Name: v.GetName()}
	tt := v.GetType().GetTensorType()
	io.DType = strings.ToLower(onnxpb.TensorProto_DataType(tt.GetElemType()).String())
	for _, d := range tt.GetShape().GetDim() {
		switch {
		case d.GetDimParam() != "":
			io.Shape = append(io.Shape, d.GetDimParam())
		case isDimValue(d):
			io.Shape = append(io.Shape, strconv.FormatInt(d.GetDimValue(), 10))
		default:
			io.Shape = append(io.Shape, "?")
		}
	}
	return io
}

func isDimValue(d *onnxpb.TensorShapeProto_Dimension) bool {
	_, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue)
	return ok
}

// inferenceMode describes how an exported generator of spec s (an ONNX
// model with metadata meta) normalizes and drops out, where that changes
// its output: batch norm or dropout. Exports run in eval mode; the CycleGAN
// reference's test.py without --eval runs in train mode, with batch
// statistics and active dropout.
func inferenceMode(s models.Spec, meta map[string]string) string {
	if s.Kind != models.CycleGANGenerator || (s.Norm != "batch" && !s.Dropout && !s.DropoutUnknown) {
		return ""
	}
	if meta[MetaNormMode] == NormModeBatchStats {
		return "batch norm with the statistics of each image (train mode, as the reference's test.py without --eval); dropout off"
	}
	return "eval mode: batch norm with running statistics, dropout off; the reference's test.py without --eval uses batch statistics and active dropout (export --train-mode-norm matches its batch norm)"
}

// Text renders the info for people.
func (in *Info) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", in.Path, in.Format)
	if in.Spec != nil {
		how := "from metadata"
		if in.Detected {
			how = "detected from keys"
		}
		fmt.Fprintf(&b, "  network:    %s (%s)\n", in.Spec, how)
		if len(in.Spec.Domains) > 0 {
			fmt.Fprintf(&b, "  domains:    %s\n", strings.Join(in.Spec.Domains, ", "))
		}
	}
	if in.Inference != "" {
		fmt.Fprintf(&b, "  inference:  %s\n", in.Inference)
	}
	if in.Precision != "" {
		fmt.Fprintf(&b, "  precision:  %s\n", in.Precision)
	}
	if in.Calibration != "" {
		fmt.Fprintf(&b, "  calibrated: %s\n", in.Calibration)
	}
	if in.FloatLayers != "" {
		fmt.Fprintf(&b, "  float:      %s\n", in.FloatLayers)
	}
	if in.Problem != "" {
		fmt.Fprintf(&b, "  problem:    %s\n", strings.ReplaceAll(in.Problem, "\n", "\n              "))
	}
	fmt.Fprintf(&b, "  parameters: %s\n  tensors:    %d\n", commas(in.Parameters), in.Tensors)
	for _, nf := range in.NonFinite {
		fmt.Fprintf(&b, "  non-finite: %s values\n", nf)
	}
	if in.Format == "onnx" {
		fmt.Fprintf(&b, "  opset:      %d (IR version %d), producer %s\n", in.Opset, in.IRVersion, in.Producer)
	}
	for _, io := range in.Inputs {
		fmt.Fprintf(&b, "  input:      %s %s [%s]\n", io.Name, io.DType, strings.Join(io.Shape, ","))
	}
	for _, io := range in.Outputs {
		fmt.Fprintf(&b, "  output:     %s %s [%s]\n", io.Name, io.DType, strings.Join(io.Shape, ","))
	}
	keys := make([]string, 0, len(in.Metadata))
	for k := range in.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  metadata:   %s = %s\n", k, in.Metadata[k])
	}
	return b.String()
}

// commas formats n with thousands separators.
func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
