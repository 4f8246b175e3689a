package ckpt

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
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

// checkTorch reads b as a torch.save file and fails on an invalid result or
// a budget spent beyond its limit.
//
// The budget is readBudget's with 32 MiB in place of its 1 GiB, so that an
// input that may take its whole budget (a stride-0 view expanded to a huge
// tensor is legitimate) costs milliseconds, not seconds, of fuzzing.
func checkTorch(t *testing.T, b []byte) {
	n := int64(len(b))
	bud := &budget{mem: 16*n + 32<<20, work: n + 1<<20, stream: 16*n + 32<<20}
	bud.memLimit, bud.workLimit, bud.streamLimit = bud.mem, bud.work, bud.stream
	sd, err := readTorch(bytes.NewReader(b), int64(len(b)), bud)
	if bud.mem < 0 || bud.work < 0 || bud.stream < 0 {
		t.Fatalf("budget overdrawn: %+v", *bud)
	}
	if err != nil {
		return
	}
	for name, tensor := range sd.All() {
		if err := tensor.Validate(); err != nil {
			t.Fatalf("tensor %q: %v", name, err)
		}
	}
}

// FuzzReadTorchZip checks that no zip .pth makes the reader panic, return an
// invalid tensor or overdraw its budget.
func FuzzReadTorchZip(f *testing.F) {
	for _, name := range []string{"state_zip.pt", "nested_zip.pt", "evil_zip.pt"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(torchZip(f, frameBomb(), nil, false))
	f.Add(torchZip(f, memoBomb(64, 40), map[string][]byte{"0": make([]byte, 4)}, false))
	f.Add(torchZip(f, statePickle(4, 3, nil), map[string][]byte{"0": make([]byte, 16)}, true))
	f.Fuzz(checkTorch)
}

// FuzzReadTorchLegacy checks the same of legacy .pth files (and of anything
// that is not a zip archive).
func FuzzReadTorchLegacy(f *testing.F) {
	for _, name := range []string{"state_legacy.pt", "legacy_view.pt", "evil.pkl"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	legacy := frameBomb()[:24]
	legacy[23] = '.'
	f.Add(legacy)
	f.Add([]byte("L119547037146038801333356" + strings.Repeat("7", 100) + "L\n."))
	f.Fuzz(checkTorch)
}

// FuzzUnpickle checks that no pickle makes the verifier or the unpickler
// panic or overdraw the budget, and that what the verifier passes the
// unpickler reads to the same length.
func FuzzUnpickle(f *testing.F) {
	f.Add(statePickle(1, 0, nil))
	f.Add(memoBomb(100, 10))
	f.Add(frameBomb())
	f.Add([]byte("\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00\x8c\x01a\x8c\x01b\x86\x94h\x00."))
	f.Add([]byte("(ctorch\nSize\n(K\x01K\x02tR}q\x01h\x01\x8f(N\x90\x8f(\x91e."))
	f.Add([]byte("\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09L12345678901234567890123L\n\x86."))
	f.Fuzz(func(t *testing.T, p []byte) {
		b := readBudget(int64(len(p)))
		_, n, err := unpickle(p, b, func(any) (any, error) { return nil, errors.New("no persistent ids") })
		if b.mem < 0 || b.work < 0 {
			t.Fatalf("budget overdrawn: %+v", *b)
		}
		if err == nil && (n <= 0 || n > len(p) || p[n-1] != '.') {
			t.Fatalf("pickle read to %d of %d bytes, not through a STOP", n, len(p))
		}
	})
}
