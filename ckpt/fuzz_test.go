package ckpt

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"github.com/nlpodyssey/safetensors"
)

// FuzzReadSafetensors checks that no input makes the safetensors reader panic
// or return an invalid tensor, and that what it accepts writes back and reads
// again.
func FuzzReadSafetensors(f *testing.F) {
	ref, err := os.ReadFile("testdata/ref.safetensors")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ref)
	f.Add(header(`{"a":{"dtype":"BF16","shape":[1,2],"data_offsets":[0,4]},"__metadata__":{"k":"v"}}`, make([]byte, 4)))
	f.Add(header(`{}`, nil))
	f.Add([]byte("not a safetensors file"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := decodeSafetensors(b)
		if err != nil {
			return
		}
		for name, tensor := range sd.All() {
			if err := tensor.Validate(); err != nil {
				t.Fatalf("tensor %q: %v", name, err)
			}
		}
		views, meta, err := safetensorsViews(sd)
		if err != nil {
			t.Fatalf("accepted file does not write back: %v", err)
		}
		var buf bytes.Buffer
		if err := safetensors.SerializeToWriter(views, meta, &buf); err != nil {
			t.Fatalf("accepted file does not write back: %v", err)
		}
		again, err := decodeSafetensors(buf.Bytes())
		if err != nil {
			t.Fatalf("written file does not read back: %v", err)
		}
		if again.Len() != sd.Len() || len(again.Metadata) != len(sd.Metadata) {
			t.Fatalf("read back %d tensors, %d metadata; want %d, %d", again.Len(), len(again.Metadata), sd.Len(), len(sd.Metadata))
		}
		for name, want := range sd.All() {
			got, ok := again.Get(name)
			if !ok || got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) || !bytes.Equal(got.encode(), want.encode()) {
				t.Fatalf("tensor %q read back as %+v; want %+v", name, got, want)
			}
		}
	})
}

// FuzzReadTorch checks that no input makes the PyTorch reader panic.
func FuzzReadTorch(f *testing.F) {
	for _, name := range []string{"state_legacy.pt", "legacy_view.pt", "evil.pkl", "nested_zip.pt"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := readTorch(bytes.NewReader(b), int64(len(b)), readBudget(int64(len(b))))
		if err != nil {
			return
		}
		for name, tensor := range sd.All() {
			if err := tensor.Validate(); err != nil {
				t.Fatalf("tensor %q: %v", name, err)
			}
		}
	})
}
