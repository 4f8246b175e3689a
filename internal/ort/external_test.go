package ort

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/internal/onnxpb"
)

// externalTensor is a float32 tensor of shape dims whose data is in
// location at offset (length given unless length < 0).
func externalTensor(name string, dims []int64, location string, offset, length int64) *onnxpb.TensorProto {
	kv := func(k, v string) *onnxpb.StringStringEntryProto {
		return &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(v)}
	}
	t := &onnxpb.TensorProto{
		Name:         proto.String(name),
		Dims:         dims,
		DataType:     proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
		ExternalData: []*onnxpb.StringStringEntryProto{kv("location", location), kv("offset", strconv.FormatInt(offset, 10))},
	}
	if length >= 0 {
		t.ExternalData = append(t.ExternalData, kv("length", strconv.FormatInt(length, 10)))
	}
	return t
}

// addWeightModel: y = x + w, x and y float32[4], w the given initializer.
func addWeightModel(t testing.TB, w *onnxpb.TensorProto) []byte {
	return serialize(t, &onnxpb.GraphProto{
		Name:        proto.String("add_weight"),
		Node:        []*onnxpb.NodeProto{node("Add", []string{"x", "w"}, []string{"y"})},
		Initializer: []*onnxpb.TensorProto{w},
		Input:       []*onnxpb.ValueInfoProto{value("x", 4)},
		Output:      []*onnxpb.ValueInfoProto{value("y", 4)},
	}, nil)
}

// constWeightModel: y = x + w, w a Constant node's value attribute (a
// tensor inside a node, not an initializer).
func constWeightModel(t testing.TB, w *onnxpb.TensorProto) []byte {
	return serialize(t, &onnxpb.GraphProto{
		Name: proto.String("const_weight"),
		Node: []*onnxpb.NodeProto{
			node("Constant", nil, []string{"w"}, &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: w}),
			node("Add", []string{"x", "w"}, []string{"y"}),
		},
		Input:  []*onnxpb.ValueInfoProto{value("x", 4)},
		Output: []*onnxpb.ValueInfoProto{value("y", 4)},
	}, nil)
}

func floatBytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runAdd runs a y = x + w model on x = 0 and returns w.
func runAdd(t testing.TB, model []byte, dir string) ([]float32, error) {
	s, err := NewSession(model, SessionOptions{IntraOpThreads: 1, ModelDir: dir})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out, err := s.RunAlloc([]Tensor{{Shape: []int64{4}, Data: make([]float32, 4)}})
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Data, nil
}

// TestExternalData lays out
//
//	ROOT/models/sub/model.onnx   (the model, various locations)
//	ROOT/models/sub/weights.bin  (genuine weights: 1 2 3 4 after 8 bytes)
//	ROOT/secret/secret.bin       (someone else's data: 7 7 7 7)
//
// and checks that the genuine weights load from any working directory,
// and that every location that leaves models/sub/ is refused.
func TestExternalData(t *testing.T) {
	mustInit(t)
	root := t.TempDir()
	sub := filepath.Join(root, "models", "sub")
	secret := filepath.Join(root, "secret", "secret.bin")
	writeFile(t, filepath.Join(sub, "weights.bin"), append(make([]byte, 8), floatBytes(1, 2, 3, 4)...))
	writeFile(t, secret, floatBytes(7, 7, 7, 7))
	if err := os.Symlink("../../secret/secret.bin", filepath.Join(sub, "link-out.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("weights.bin", filepath.Join(sub, "link-in.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "secret"), filepath.Join(sub, "dir-out")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(sub, "fifo.bin"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Any working directory but the model's: the tests resolve nothing
	// against it.
	t.Chdir(filepath.Join(root, "secret"))

	w := func(loc string, off, length int64) *onnxpb.TensorProto {
		return externalTensor("w", []int64{4}, loc, off, length)
	}
	for _, tc := range []struct {
		name  string
		model []byte
		dir   string
		want  []float32
	}{
		{"genuine", addWeightModel(t, w("weights.bin", 8, 16)), sub, []float32{1, 2, 3, 4}},
		{"genuine without length", addWeightModel(t, w("weights.bin", 8, -1)), sub, []float32{1, 2, 3, 4}},
		{"symlink inside the folder", addWeightModel(t, w("link-in.bin", 8, 16)), sub, []float32{1, 2, 3, 4}},
		{"dot segments inside", addWeightModel(t, w("./weights.bin", 8, 16)), sub, []float32{1, 2, 3, 4}},
		{"node attribute", constWeightModel(t, w("weights.bin", 8, 16)), sub, []float32{1, 2, 3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runAdd(t, tc.model, tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Fatalf("w = %v; want %v", got, tc.want)
				}
			}
		})
	}

	for _, tc := range []struct {
		name  string
		model []byte
		dir   string
		want  string
	}{
		{"dot dot", addWeightModel(t, w("../../secret/secret.bin", 0, 16)), sub, `location "../../secret/secret.bin" leaves the model's folder`},
		{"absolute", addWeightModel(t, w(secret, 0, 16)), sub, "leaves the model's folder"},
		{"symlink out", addWeightModel(t, w("link-out.bin", 0, 16)), sub, "link-out.bin"},
		{"folder symlink out", addWeightModel(t, w("dir-out/secret.bin", 0, 16)), sub, "dir-out/secret.bin"},
		{"dot dot inside the path", addWeightModel(t, w("x/../../../secret/secret.bin", 0, 16)), sub, "leaves the model's folder"},
		{"ORT memory address", addWeightModel(t, w("*/_ORT_MEM_ADDR_/*", 0, 16)), sub, "_ORT_MEM_ADDR_"},
		{"missing", addWeightModel(t, w("absent.bin", 0, 16)), sub, "absent.bin"},
		{"fifo", addWeightModel(t, w("fifo.bin", 0, 16)), sub, "not a regular file"},
		{"folder", addWeightModel(t, w(".", 0, 16)), sub, "not a regular file"},
		{"past the end", addWeightModel(t, w("weights.bin", 12, 16)), sub, "16 bytes at offset 12 are outside the file (24 bytes)"},
		{"huge offset", addWeightModel(t, w("weights.bin", math.MaxInt64, 16)), sub, "outside the file"},
		{"length mismatch", addWeightModel(t, w("weights.bin", 0, 8)), sub, "length 8; dims [4] of FLOAT take 16 bytes"},
		{"too many elements", addWeightModel(t, externalTensor("w", []int64{1 << 40, 1 << 40}, "weights.bin", 0, -1)), sub, "too many elements"},
		{"over 2 GiB", addWeightModel(t, externalTensor("w", []int64{1 << 30}, "weights.bin", 0, -1)), sub, "larger than 2147483647 bytes"},
		{"no folder", addWeightModel(t, w("weights.bin", 8, 16)), "", "given without its folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runAdd(t, tc.model, tc.dir)
			if err == nil {
				t.Fatalf("session created; w = %v", got)
			}
			if !errors.Is(err, ErrExternalData) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant ErrExternalData saying %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

// FuzzInlineExternalData feeds arbitrary model bytes to the external-data
// reader with a folder holding a small weights file: it must return an
// error or a model, never panic, hang or read outside the folder (the
// seeds' inlined data comes from weights.bin only).
func FuzzInlineExternalData(f *testing.F) {
	f.Add(addWeightModel(f, externalTensor("w", []int64{4}, "weights.bin", 8, 16)))
	f.Add(addWeightModel(f, externalTensor("w", []int64{4}, "../weights.bin", 0, 16)))
	f.Add(constWeightModel(f, externalTensor("w", []int64{2}, "weights.bin", 0, 8)))
	f.Add(addWeightModel(f, floatInit("w", []int64{4}, []float32{1, 2, 3, 4})))
	dir := f.TempDir()
	writeFile(f, filepath.Join(dir, "weights.bin"), append(make([]byte, 8), floatBytes(1, 2, 3, 4)...))
	f.Fuzz(func(t *testing.T, model []byte) {
		out, err := inlineExternalData(model, dir)
		if err != nil {
			return
		}
		if found, err := hasExternalData(out, (&onnxpb.ModelProto{}).ProtoReflect().Descriptor(), 0); err != nil || found {
			t.Fatalf("inlined model still has external data (%v, %v)", found, err)
		}
	})
}

// BenchmarkExternalDataScan measures the scan every NewSession does for
// external data, on a model of 45 MB of float32 weights in 100 initializers
// (the size of a ResNet-9 ngf 64 CycleGAN generator), none external.
func BenchmarkExternalDataScan(b *testing.B) {
	g := &onnxpb.GraphProto{
		Name:   proto.String("big"),
		Node:   []*onnxpb.NodeProto{node("Identity", []string{"x"}, []string{"y"})},
		Input:  []*onnxpb.ValueInfoProto{value("x", 4)},
		Output: []*onnxpb.ValueInfoProto{value("y", 4)},
	}
	for i := range 100 {
		g.Initializer = append(g.Initializer, floatInit("w"+strconv.Itoa(i), []int64{112500}, make([]float32, 112500)))
	}
	model := serialize(b, g, nil)
	md := (&onnxpb.ModelProto{}).ProtoReflect().Descriptor()
	b.SetBytes(int64(len(model)))
	for b.Loop() {
		if found, err := hasExternalData(model, md, 0); err != nil || found {
			b.Fatal(found, err)
		}
	}
}
