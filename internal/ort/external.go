package ort

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/ganrt/ganrt/internal/onnxpb"
	"github.com/ganrt/ganrt/internal/regular"
)

// External data.
//
// An ONNX tensor may keep its bytes in another file (TensorProto.data_location
// EXTERNAL, with external_data entries "location", "offset", "length"). Given
// a model as bytes, ONNX Runtime resolves such a location against the
// process's working directory and follows "../", absolute paths and symbolic
// links, so a model could read any file the process can (and its special
// location "*/_ORT_MEM_ADDR_/*" reads process memory). NewSession therefore
// never lets ORT see an external location: it reads the data itself, from
// SessionOptions.ModelDir only (through os.Root, which refuses "..", absolute
// paths and symbolic links that leave the folder, and from regular files
// only), and hands ORT the model with the bytes inlined in raw_data.

// MaxInlinedModel bounds the model after its external data is inlined:
// protobuf (and ORT) read messages under 2 GiB. It also bounds the memory
// the external data of one model takes.
const MaxInlinedModel = math.MaxInt32

// maxProtoDepth bounds the nesting that hasExternalData walks (protobuf's
// own default recursion limit).
const maxProtoDepth = 100

var tensorDesc = (&onnxpb.TensorProto{}).ProtoReflect().Descriptor()

// TensorProto fields read by hasExternalData (onnx.proto).
const (
	fieldTensorExternalData = 13
	fieldTensorDataLocation = 14
)

// hasExternalData reports whether any TensorProto in the serialized message
// b of type md (at any depth: initializers, node attributes, subgraphs,
// functions) stores its data externally. It walks the wire format with the
// schema, skipping bytes fields (the weights) without copying them.
func hasExternalData(b []byte, md protoreflect.MessageDescriptor, depth int) (bool, error) {
	if depth > maxProtoDepth {
		return false, fmt.Errorf("messages nested deeper than %d", maxProtoDepth)
	}
	isTensor := md.FullName() == tensorDesc.FullName()
	fields := md.Fields()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false, protowire.ParseError(n)
		}
		b = b[n:]
		if isTensor && num == fieldTensorExternalData && typ == protowire.BytesType {
			return true, nil
		}
		if isTensor && num == fieldTensorDataLocation && typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return false, protowire.ParseError(n)
			}
			if v != uint64(onnxpb.TensorProto_DEFAULT) {
				return true, nil
			}
			b = b[n:]
			continue
		}
		fd := fields.ByNumber(num)
		if typ == protowire.BytesType && fd != nil && (fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind) {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return false, protowire.ParseError(n)
			}
			b = b[n:]
			found, err := hasExternalData(v, fd.Message(), depth+1)
			if found || err != nil {
				return found, err
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return false, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return false, nil
}

// ErrExternalData is wrapped by the errors of models whose external data
// cannot be read safely (a location outside the model's folder, a file that
// is not regular, a range outside the file, ...).
var ErrExternalData = errors.New("external data refused")

// inlineExternalData returns model with the external data of every tensor
// read from the files named relative to dir and held in raw_data instead;
// a model without external data is returned as it is. dir "" refuses
// external data (a model given only as bytes has no folder).
func inlineExternalData(model []byte, dir string) ([]byte, error) {
	md := (&onnxpb.ModelProto{}).ProtoReflect().Descriptor()
	found, err := hasExternalData(model, md, 0)
	if err != nil {
		return nil, fmt.Errorf("ort: not an ONNX model: %w", err)
	}
	if !found {
		return model, nil
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(model, &mp); err != nil {
		return nil, fmt.Errorf("ort: not an ONNX model: %w", err)
	}
	var tensors []*onnxpb.TensorProto
	collectTensors(mp.ProtoReflect(), &tensors)
	if len(tensors) == 0 {
		// The wire scan is a filter; protobuf's own parse (ORT's too) finds
		// no external tensor.
		return model, nil
	}
	if dir == "" {
		return nil, fmt.Errorf("ort: %w: tensor %q keeps its data in another file, and the model was given without its folder (open it by path)", ErrExternalData, tensors[0].GetName())
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("ort: external data: model folder: %w", err)
	}
	defer root.Close()
	budget := int64(MaxInlinedModel - len(model))
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, t := range tensors {
		data, err := readExternal(root, dir, t, files, &budget)
		if err != nil {
			return nil, fmt.Errorf("ort: %w: tensor %q: %w", ErrExternalData, t.GetName(), err)
		}
		t.RawData = data
		t.ExternalData = nil
		t.DataLocation = nil
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(&mp)
	if err != nil {
		return nil, fmt.Errorf("ort: inline external data: %w", err)
	}
	return out, nil
}

// collectTensors appends every TensorProto under m that keeps its data
// externally.
func collectTensors(m protoreflect.Message, out *[]*onnxpb.TensorProto) {
	if t, ok := m.Interface().(*onnxpb.TensorProto); ok && (t.GetDataLocation() != onnxpb.TensorProto_DEFAULT || len(t.GetExternalData()) > 0) {
		*out = append(*out, t)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := range l.Len() {
				collectTensors(l.Get(i).Message(), out)
			}
			return true
		}
		if !fd.IsMap() {
			collectTensors(v.Message(), out)
		}
		return true
	})
}

// elemSize is the bytes per element of the fixed-size ONNX data types (0:
// not storable as external data by ganrt: strings, unknown types).
func elemSize(dt onnxpb.TensorProto_DataType) int64 {
	switch dt {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_INT32, onnxpb.TensorProto_UINT32:
		return 4
	case onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_INT64, onnxpb.TensorProto_UINT64, onnxpb.TensorProto_COMPLEX64:
		return 8
	case onnxpb.TensorProto_COMPLEX128:
		return 16
	case onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16, onnxpb.TensorProto_INT16, onnxpb.TensorProto_UINT16:
		return 2
	case onnxpb.TensorProto_INT8, onnxpb.TensorProto_UINT8, onnxpb.TensorProto_BOOL:
		return 1
	}
	return 0
}

// readExternal reads tensor t's external data from root (the folder dir),
// charging budget. files caches the opened files by location.
func readExternal(root *os.Root, dir string, t *onnxpb.TensorProto, files map[string]*os.File, budget *int64) ([]byte, error) {
	if t.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
		return nil, fmt.Errorf("external_data entries with data_location %v", t.GetDataLocation())
	}
	var loc string
	offset, length := int64(0), int64(-1)
	seen := map[string]bool{}
	for _, e := range t.GetExternalData() {
		k, v := e.GetKey(), e.GetValue()
		if seen[k] {
			return nil, fmt.Errorf("external_data key %q given twice", k)
		}
		seen[k] = true
		switch k {
		case "location":
			loc = v
		case "offset", "length":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("external_data %s %q is not a non-negative integer", k, v)
			}
			if k == "offset" {
				offset = n
			} else {
				length = n
			}
		case "checksum":
		default:
			return nil, fmt.Errorf("unknown external_data key %q", k)
		}
	}
	if loc == "" {
		return nil, errors.New("external data without a location")
	}
	if !filepath.IsLocal(filepath.FromSlash(loc)) {
		return nil, fmt.Errorf("location %q leaves the model's folder %s (external data must be a relative path inside it)", loc, dir)
	}
	size := elemSize(onnxpb.TensorProto_DataType(t.GetDataType()))
	if size == 0 {
		return nil, fmt.Errorf("data type %v cannot be read from external data", onnxpb.TensorProto_DataType(t.GetDataType()))
	}
	want := size
	for _, d := range t.GetDims() {
		if d < 0 || (d > 0 && want > math.MaxInt64/d) {
			return nil, fmt.Errorf("dims %v: bad or too many elements", t.GetDims())
		}
		want *= d
	}
	if length >= 0 && length != want {
		return nil, fmt.Errorf("external_data length %d; dims %v of %v take %d bytes", length, t.GetDims(), onnxpb.TensorProto_DataType(t.GetDataType()), want)
	}
	if want > *budget {
		return nil, fmt.Errorf("%d bytes of external data make the model larger than %d bytes", want, int64(MaxInlinedModel))
	}
	f, ok := files[loc]
	if !ok {
		var err error
		if f, err = regular.OpenIn(root, loc); err != nil {
			return nil, fmt.Errorf("location %q in the model's folder %s: %w", loc, dir, err)
		}
		files[loc] = f
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if offset > fi.Size() || want > fi.Size()-offset {
		return nil, fmt.Errorf("%s: %d bytes at offset %d are outside the file (%d bytes)", filepath.Join(dir, loc), want, offset, fi.Size())
	}
	data := make([]byte, want)
	if _, err := f.ReadAt(data, offset); err != nil && !(errors.Is(err, io.EOF) && want == 0) {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, loc), err)
	}
	*budget -= want
	return data, nil
}
