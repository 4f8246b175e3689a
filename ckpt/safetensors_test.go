package ckpt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadSafetensorsReference(t *testing.T) {
	// ref.safetensors was written by gen.py's own writer, not by this package.
	for _, read := range []func(string) (*StateDict, error){ReadSafetensors, Read} {
		sd, err := read("testdata/ref.safetensors")
		if err != nil {
			t.Fatal(err)
		}
		checkTensors(t, sd, expected(t, "safetensors"))
		if got := sd.Metadata; len(got) != 2 || got["format"] != "pt" || got["arch"] != "test" {
			t.Errorf("metadata = %v; want map[arch:test format:pt]", got)
		}
	}
}

// allDTypes returns a StateDict with one tensor of every DType, a scalar
// and an empty tensor.
func allDTypes() *StateDict {
	sd := NewStateDict()
	sd.Metadata["arch"] = "resnet_9blocks"
	sd.Metadata["ngf"] = "64"
	sd.Set("f32", NewFloat32([]int{2, 2}, []float32{1, -2, float32(math.Inf(1)), 0.1}))
	sd.Set("f16", &Tensor{DType: F16, Shape: []int{3}, Floats: []float32{1, -2.5, 65504}})
	sd.Set("bf16", &Tensor{DType: BF16, Shape: []int{2}, Floats: []float32{3.140625, -0x1p100}})
	sd.Set("f64", &Tensor{DType: F64, Shape: []int{1}, Floats: []float32{0.1}})
	sd.Set("num_batches_tracked", NewInt64(nil, []int64{1 << 40}))
	sd.Set("i32", &Tensor{DType: I32, Shape: []int{2}, Ints: []int64{math.MinInt32, math.MaxInt32}})
	sd.Set("i16", &Tensor{DType: I16, Shape: []int{1}, Ints: []int64{-300}})
	sd.Set("i8", &Tensor{DType: I8, Shape: []int{1}, Ints: []int64{-128}})
	sd.Set("u8", &Tensor{DType: U8, Shape: []int{2}, Ints: []int64{0, 255}})
	sd.Set("mask", &Tensor{DType: Bool, Shape: []int{2}, Ints: []int64{1, 0}})
	sd.Set("empty", NewFloat32([]int{0, 3}, []float32{}))
	return sd
}

func TestSafetensorsRoundTrip(t *testing.T) {
	want := allDTypes()
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := WriteSafetensors(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != want.Len() {
		t.Fatalf("got %d tensors %q; want %d", got.Len(), got.Names(), want.Len())
	}
	for name, w := range want.All() {
		g, ok := got.Get(name)
		if !ok {
			t.Errorf("tensor %q is missing", name)
			continue
		}
		if g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) {
			t.Errorf("%s: got %s %v; want %s %v", name, g.DType, g.Shape, w.DType, w.Shape)
		}
		if !slices.Equal(g.Floats, w.Floats) || !slices.Equal(g.Ints, w.Ints) {
			t.Errorf("%s: got %v %v; want %v %v", name, g.Floats, g.Ints, w.Floats, w.Ints)
		}
	}
	if len(got.Metadata) != 2 || got.Metadata["arch"] != "resnet_9blocks" || got.Metadata["ngf"] != "64" {
		t.Errorf("metadata = %v; want %v", got.Metadata, want.Metadata)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("file mode = %v, %v; want 0644", fi.Mode().Perm(), err)
	}
}

func TestWriteSafetensorsDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors")
	sd := allDTypes()
	// The same tensors inserted in reverse order must give the same bytes.
	rev := NewStateDict()
	rev.Metadata = map[string]string{"ngf": "64", "arch": "resnet_9blocks"}
	names := sd.Names()
	for i := len(names) - 1; i >= 0; i-- {
		tensor, _ := sd.Get(names[i])
		rev.Set(names[i], tensor)
	}
	if err := WriteSafetensors(a, sd); err != nil {
		t.Fatal(err)
	}
	if err := WriteSafetensors(b, rev); err != nil {
		t.Fatal(err)
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Errorf("two writes of the same tensors differ")
	}
	// The header is padded to 8 bytes, so data is aligned.
	if n := binary.LittleEndian.Uint64(ab); n%8 != 0 {
		t.Errorf("header length = %d; want a multiple of 8", n)
	}
}

func TestWriteSafetensorsRounding(t *testing.T) {
	sd := NewStateDict()
	sd.Set("h", &Tensor{DType: F16, Shape: []int{3}, Floats: []float32{0.1, 1 + 1.0/4096, float32(math.NaN())}})
	sd.Set("b", &Tensor{DType: BF16, Shape: []int{2}, Floats: []float32{0.1, 1 + 1.0/256}})
	path := filepath.Join(t.TempDir(), "r.safetensors")
	if err := WriteSafetensors(path, sd); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := got.Get("h")
	b, _ := got.Get("b")
	// float16(0.1) = 0.0999755859375; 1+2^-12 ties to even 1.
	if h.Floats[0] != 0.0999755859375 || h.Floats[1] != 1 || !math.IsNaN(float64(h.Floats[2])) {
		t.Errorf("F16 values = %v; want [0.0999755859375 1 NaN]", h.Floats)
	}
	// bfloat16(0.1) = 0.10009765625; 1+2^-8 ties to even 1.
	if b.Floats[0] != 0.10009765625 || b.Floats[1] != 1 {
		t.Errorf("BF16 values = %v; want [0.10009765625 1]", b.Floats)
	}
}

func TestWriteSafetensorsRefusesInvalidTensors(t *testing.T) {
	tests := []struct {
		name   string
		tensor *Tensor
		want   string
	}{
		{"short data", NewFloat32([]int{2, 3}, make([]float32, 5)), "needs 6 values"},
		{"floats in an int tensor", &Tensor{DType: I64, Shape: []int{1}, Floats: []float32{1}}, "holds Floats"},
		{"u8 out of range", &Tensor{DType: U8, Shape: []int{1}, Ints: []int64{256}}, "out of range"},
		{"bool not 0 or 1", &Tensor{DType: Bool, Shape: []int{1}, Ints: []int64{2}}, "out of range"},
		{"negative dimension", NewFloat32([]int{-1}, nil), "invalid shape"},
		{"bad dtype", &Tensor{DType: numDTypes, Shape: []int{}}, "invalid dtype"},
		{"nil tensor", nil, "nil tensor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "bad.safetensors")
			sd := NewStateDict()
			sd.Set("ok", NewFloat32([]int{1}, []float32{1}))
			sd.Set("bad", tt.tensor)
			err := WriteSafetensors(path, sd)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) ||
				!strings.Contains(err.Error(), `"bad"`) {
				t.Fatalf("got error %v; want one naming the file, the tensor and %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("directory holds %v after a failed write; want nothing", entries)
			}
		})
	}
}

// header builds a safetensors file from a JSON header and data.
func header(json string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(json)))
	return append(append(b, json...), data...)
}

func TestReadSafetensorsValidation(t *testing.T) {
	f4 := make([]byte, 4)
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"too short", []byte{1, 2, 3}, "at least 8"},
		{"header past the end", binary.LittleEndian.AppendUint64(nil, 100), "past the end"},
		{"header too large", binary.LittleEndian.AppendUint64(nil, 1<<40), "exceeds the limit"},
		{"header not an object", header(`[1, 2]`, nil), "not a JSON object"},
		{"bad JSON", header(`{"a": `, nil), "invalid header"},
		{"unknown dtype", header(`{"a":{"dtype":"F13","shape":[1],"data_offsets":[0,4]}}`, f4), "F13"},
		{"unsupported dtype", header(`{"a":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}}`, f4), "unsupported dtype U16"},
		{"shape and bytes differ", header(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, f4), "mismatch"},
		{"offsets out of range", header(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f4), "incomplete"},
		{"offsets overlap", header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f4), "offset"},
		{"gap between tensors", header(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{0, 0}), "offset"},
		{"trailing bytes", header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8)), "incomplete"},
		{"reversed offsets", header(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, f4), "offset"},
		{"negative dimension", header(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f4), "shape"},
		{"huge dimensions", header(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, f4), "overflow"},
		{"metadata not strings", header(`{"__metadata__":{"epoch":7}}`, nil), "__metadata__"},
		{"extra tensor key", header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, f4), "keys"},
		{"bool byte 2", header(`{"a":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}`, []byte{2}), "not 0 or 1"},
		{"duplicate tensor", header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f4), `key "a" appears twice`},
		{"duplicate metadata key", header(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `key "__metadata__"."k" appears twice`},
		{"duplicate field", header(`{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}`, f4), `key "a"."dtype" appears twice`},
		{"non-UTF-8 name", header("{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", f4), "not valid UTF-8 (byte 0xff at offset 11)"},
		{"lone surrogate name", header(`{"a\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f4), "is not valid UTF-8"},
		{"non-UTF-8 metadata", header("{\"__metadata__\":{\"k\":\"\xc3\"}}", nil), "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, "bad.safetensors", tt.file)
			_, err := ReadSafetensors(path)
			if err == nil {
				t.Fatalf("got nil error; want one containing %q", tt.want)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || !strings.Contains(msg, path) {
				t.Errorf("error %q; want it to contain %q and the file name", msg, tt.want)
			}
		})
	}
}

func TestReadSafetensorsEdgeCases(t *testing.T) {
	// No tensors at all, and a scalar.
	sd, err := decodeSafetensors(header(`{}`, nil))
	if err != nil || sd.Len() != 0 || sd.Metadata == nil {
		t.Errorf("empty header: got %v, %v; want an empty StateDict", sd, err)
	}
	one := math.Float32bits(1.5)
	sd, err = decodeSafetensors(header(`{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`,
		binary.LittleEndian.AppendUint32(nil, one)))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := sd.Get("s"); len(s.Shape) != 0 || len(s.Floats) != 1 || s.Floats[0] != 1.5 {
		t.Errorf("scalar = %+v; want shape [] value 1.5", s)
	}
}

func TestWriteSafetensorsAtomic(t *testing.T) {
	sd := allDTypes()

	t.Run("target is a directory", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "model.safetensors")
		if err := os.MkdirAll(filepath.Join(target, "keep"), 0o755); err != nil {
			t.Fatal(err)
		}
		err := WriteSafetensors(target, sd)
		if err == nil || !strings.Contains(err.Error(), target) {
			t.Fatalf("got error %v; want one naming %s", err, target)
		}
		assertDir(t, dir, "model.safetensors")
	})

	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions")
		}
		dir := t.TempDir()
		os.Chmod(dir, 0o555)
		defer os.Chmod(dir, 0o755)
		target := filepath.Join(dir, "model.safetensors")
		if err := WriteSafetensors(target, sd); err == nil || !strings.Contains(err.Error(), target) {
			t.Fatalf("got error %v; want one naming %s", err, target)
		}
		assertDir(t, dir)
	})

	t.Run("replaces an existing file", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "model.safetensors")
		os.WriteFile(target, []byte("old"), 0o644)
		if err := WriteSafetensors(target, sd); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSafetensors(target); err != nil {
			t.Errorf("reading the replaced file: %v", err)
		}
		assertDir(t, dir, "model.safetensors")
	})
}

// assertDir fails unless dir holds exactly the named entries.
func assertDir(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Errorf("directory holds %q; want %q", got, names)
	}
}

func TestSniff(t *testing.T) {
	st, _ := os.ReadFile("testdata/ref.safetensors")
	zipFile, _ := os.ReadFile("testdata/state_zip.pt")
	legacy, _ := os.ReadFile("testdata/state_legacy.pt")
	tests := []struct {
		head []byte
		want Format
	}{
		{st, Safetensors},
		{zipFile, TorchZip},
		{legacy, TorchLegacy},
		{tarHeader(), TorchTar},
		{append(binary.LittleEndian.AppendUint64(nil, 1<<40), `{"a":`...), Safetensors},
		{append(binary.LittleEndian.AppendUint64(nil, 1<<40), `{x`...), Unknown},
		{[]byte("hello"), Unknown},
		{nil, Unknown},
	}
	for _, tt := range tests {
		if got := Sniff(tt.head); got != tt.want {
			t.Errorf("Sniff(%q...) = %v; want %v", tt.head[:min(len(tt.head), 12)], got, tt.want)
		}
	}
}

func TestReadSniffsContentNotName(t *testing.T) {
	dir := t.TempDir()
	st, _ := os.ReadFile("testdata/ref.safetensors")
	pt, _ := os.ReadFile("testdata/state_zip.pt")
	misnamed := filepath.Join(dir, "weights.pth")
	os.WriteFile(misnamed, st, 0o644)
	if sd, err := Read(misnamed); err != nil || sd.Len() != 11 {
		t.Errorf("Read(safetensors named .pth) = %v; want 11 tensors", err)
	}
	misnamed = filepath.Join(dir, "weights.safetensors")
	os.WriteFile(misnamed, pt, 0o644)
	if sd, err := Read(misnamed); err != nil || sd.Len() != 13 {
		t.Errorf("Read(zip named .safetensors) = %v; want 13 tensors", err)
	}
	unknown := filepath.Join(dir, "notes.txt")
	os.WriteFile(unknown, []byte("hello"), 0o644)
	if _, err := Read(unknown); err == nil || !strings.Contains(err.Error(), unknown) {
		t.Errorf("Read(text) = %v; want an error naming %s", err, unknown)
	}
	if _, err := Read(filepath.Join(dir, "missing.pt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Read(missing) = %v; want ErrNotExist", err)
	}
}

// A header length over the limit is reported as such, through Read and
// export's sniffing alike, not as an unknown format.
func TestReadSafetensorsHeaderTooLong(t *testing.T) {
	b := append(binary.LittleEndian.AppendUint64(nil, 200_000_000), `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`...)
	path := writeTemp(t, "long.safetensors", b)
	_, err := Read(path)
	if err == nil || !strings.Contains(err.Error(), "header length 200000000 exceeds the limit of 100000000 bytes") || !strings.Contains(err.Error(), path) {
		t.Fatalf("got error %v; want the header length named, with the file", err)
	}
}
