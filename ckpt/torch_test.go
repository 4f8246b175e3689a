package ckpt

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nlpodyssey/gopickle/types"
)

func TestReadTorchFixtures(t *testing.T) {
	tests := []struct {
		file    string
		section string
		meta    map[string]string
	}{
		{"state_zip.pt", "state", map[string]string{}},
		{"state_legacy.pt", "state", map[string]string{}},
		{"nested_zip.pt", "nested", map[string]string{
			"epoch": "7", "arch": "unet_256", "lr": "0.0002", "betas": "[0.5,0.999]", "best": "null", "ema": "true",
			"size": "[2,3]", // torch.Size; the bytes value "blob" is skipped
		}},
	}
	for _, tt := range tests {
		for _, read := range []struct {
			name string
			fn   func(string) (*StateDict, error)
		}{{"ReadTorch", ReadTorch}, {"Read", Read}} {
			t.Run(read.name+"/"+tt.file, func(t *testing.T) {
				sd, err := read.fn(filepath.Join("testdata", tt.file))
				if err != nil {
					t.Fatalf("got error %v; want nil", err)
				}
				checkTensors(t, sd, expected(t, tt.section))
				if len(sd.Metadata) != len(tt.meta) {
					t.Errorf("metadata = %v; want %v", sd.Metadata, tt.meta)
				}
				for k, v := range tt.meta {
					if sd.Metadata[k] != v {
						t.Errorf("metadata[%q] = %q; want %q", k, sd.Metadata[k], v)
					}
				}
			})
		}
	}
}

func TestReadTorchLegacyView(t *testing.T) {
	sd, err := ReadTorch("testdata/legacy_view.pt")
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := sd.Get("whole")
	view, _ := sd.Get("view")
	if got, want := whole.Floats, []float32{0, 1, 2, 3, 4, 5}; !equalFloats(got, want) {
		t.Errorf("whole = %v; want %v", got, want)
	}
	if got, want := view.Floats, []float32{3, 4}; !equalFloats(got, want) {
		t.Errorf("view = %v; want %v", got, want)
	}
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// pickleZip wraps a pickle in a zip archive laid out like torch.save's.
func pickleZip(t *testing.T, pkl []byte) []byte {
	return zipOf(t, "archive/data.pkl", string(pkl))
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadTorchRefusesForeignGlobals(t *testing.T) {
	// Hand-assembled pickles: GLOBAL (protocol 2) and STACK_GLOBAL (protocol 4).
	evalGlobal := []byte("\x80\x02c__builtin__\neval\nX\x04\x00\x00\x001+1\x85R.")
	evalStack := []byte("\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x031+1\x85R.")
	mainClass := []byte("\x80\x02c__main__\nGenerator\n)\x81.")
	reconstructor := []byte("\x80\x02ccopy_reg\n_reconstructor\n.")

	tests := []struct {
		name  string
		path  string
		wants []string // any of these globals
	}{
		{"torch.save of os.system reduce", "testdata/evil_zip.pt", []string{"posix.system", "os.system"}},
		{"bare pickle of os.system reduce", "testdata/evil.pkl", []string{"posix.system", "os.system"}},
		{"whole nn.Module", "testdata/module_zip.pt", []string{"torch.nn.modules.linear.Linear"}},
		{"GLOBAL eval, legacy", writeTemp(t, "eval.pt", evalGlobal), []string{"__builtin__.eval"}},
		{"GLOBAL eval, zip", writeTemp(t, "evalzip.pt", pickleZip(t, evalGlobal)), []string{"__builtin__.eval"}},
		{"STACK_GLOBAL eval, zip", writeTemp(t, "stack.pt", pickleZip(t, evalStack)), []string{"builtins.eval"}},
		{"__main__ class, zip", writeTemp(t, "main.pt", pickleZip(t, mainClass)), []string{"__main__.Generator"}},
		{"copy_reg._reconstructor, zip", writeTemp(t, "rec.pt", pickleZip(t, reconstructor)), []string{"copy_reg._reconstructor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(tt.path)
			var fg *ForbiddenGlobalError
			if !errors.As(err, &fg) {
				t.Fatalf("got error %v; want a *ForbiddenGlobalError", err)
			}
			got := fg.Module + "." + fg.Name
			found := false
			for _, w := range tt.wants {
				found = found || got == w
			}
			if !found {
				t.Errorf("forbidden global = %s; want one of %v", got, tt.wants)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.path) || !strings.Contains(msg, got) {
				t.Errorf("error %q; want it to name the file %s and the global %s", msg, tt.path, got)
			}
		})
	}
}

func TestAllowedGlobalsResolve(t *testing.T) {
	for _, g := range AllowedGlobals() {
		i := strings.LastIndex(g, ".")
		if _, err := findClass(g[:i], g[i+1:]); err != nil {
			t.Errorf("findClass(%q) = %v; want nil", g, err)
		}
	}
	if _, err := findClass("os", "system"); err == nil {
		t.Errorf("findClass(os.system) = nil; want an error")
	}
}

// rezip copies a zip archive, letting edit change each record's contents.
func rezip(t *testing.T, src []byte, edit func(name string, b []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(edit(f.Name, b))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// recordOffset returns where a zip record's data starts in the archive.
func recordOffset(t *testing.T, archive []byte, name string) (int64, int) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name {
			off, err := f.DataOffset()
			if err != nil {
				t.Fatal(err)
			}
			return off, int(f.CompressedSize64)
		}
	}
	t.Fatalf("no record %s", name)
	return 0, 0
}

func TestReadTorchCorrupt(t *testing.T) {
	zipFile, err := os.ReadFile("testdata/state_zip.pt")
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := os.ReadFile("testdata/state_legacy.pt")
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, at int64) []byte {
		c := bytes.Clone(b)
		c[at] ^= 0x5a
		return c
	}
	pklOff, _ := recordOffset(t, zipFile, "state_zip/data.pkl")
	dataOff, _ := recordOffset(t, zipFile, "state_zip/data/0")

	tests := []struct {
		name string
		file []byte
		want string // in the error
	}{
		{"empty", nil, "not a PyTorch checkpoint"},
		{"zip cut in half", zipFile[:len(zipFile)/2], "zip"},
		{"zip pickle byte flipped", flip(zipFile, pklOff+40), "checksum"},
		{"zip storage byte flipped", flip(zipFile, dataOff+3), "checksum"},
		{"zip storage record short", rezip(t, zipFile, func(name string, b []byte) []byte {
			if strings.HasSuffix(name, "/data/0") {
				return b[:len(b)-4]
			}
			return b
		}), "has 92 bytes"},
		{"zip storage record missing", removeRecord(t, zipFile, "state_zip/data/3"), `record "state_zip/data/3" is missing`},
		{"zip pickle truncated", rezip(t, zipFile, func(name string, b []byte) []byte {
			if strings.HasSuffix(name, "data.pkl") {
				return b[:len(b)/2]
			}
			return b
		}), "data.pkl: pickle"},
		{"zip without data.pkl", zipOf(t, "archive/other.pkl", "x"), "no data.pkl"},
		{"torchscript", zipOf(t, "archive/constants.pkl", "x", "archive/data.pkl", ""), "TorchScript"},
		{"legacy cut before the storages", legacy[:len(legacy)-200], "file ends"},
		{"legacy cut inside the pickle", legacy[:300], "legacy format"},
		{"legacy bad magic", flip(legacy, 6), "magic number"},
		{"plain pickle, not torch", []byte("\x80\x02K\x05."), "magic number"},
		{"tar", tarHeader(), "tar-format"},
		{"random bytes", []byte("hello, world, this is not a checkpoint"), "not a PyTorch checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, "bad.pt", tt.file)
			_, err := ReadTorch(path)
			if err == nil {
				t.Fatalf("got nil error; want one containing %q", tt.want)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || !strings.Contains(msg, path) {
				t.Errorf("error %q; want it to contain %q and the file name", msg, tt.want)
			}
		})
	}
}

// zipOf builds a zip archive from alternating record names and contents.
func zipOf(t *testing.T, kv ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(kv); i += 2 {
		w, err := zw.Create(kv[i])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(kv[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func removeRecord(t *testing.T, src []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if f.Name == name {
			continue
		}
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarHeader() []byte {
	b := make([]byte, 1024)
	copy(b, "model.pt")
	copy(b[257:], "ustar\x0000")
	return b
}

// Every truncation and every single-byte change of the fixtures must give a
// result or an error, never a panic; truncations must always fail.
func TestReadTorchMutationsDoNotPanic(t *testing.T) {
	for _, file := range []string{"state_zip.pt", "state_legacy.pt", "legacy_view.pt", "nested_zip.pt"} {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(b) {
			if _, err := readTorch(bytes.NewReader(b[:n]), int64(n), readBudget(int64(n))); err == nil {
				t.Errorf("%s cut to %d bytes: got nil error", file, n)
			}
		}
		for i := range b {
			c := bytes.Clone(b)
			c[i] ^= 0xff
			readTorch(bytes.NewReader(c), int64(len(c)), readBudget(int64(len(c))))
		}
	}
}

func TestRebuildTensorBounds(t *testing.T) {
	st := &storage{dtype: F32, key: "0", numel: 6}
	tuple := func(v ...any) *types.Tuple { return types.NewTupleFromSlice(v) }
	tests := []struct {
		name         string
		offset       int
		size, stride *types.Tuple
		wantErr      bool
	}{
		{"fits", 0, tuple(2, 3), tuple(3, 1), false},
		{"transposed fits", 0, tuple(3, 2), tuple(1, 3), false},
		{"offset fits", 5, tuple(1), tuple(1), false},
		{"empty beyond the end", 100, tuple(0, 4), tuple(4, 1), false},
		{"one past the end", 1, tuple(2, 3), tuple(3, 1), true},
		{"stride past the end", 0, tuple(2), tuple(6), true},
		{"rank mismatch", 0, tuple(2, 3), tuple(1), true},
		{"negative size", 0, tuple(-1), tuple(1), true},
		{"overflow", 0, tuple(1<<40, 1<<40), tuple(1<<40, 1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rebuildTensor{name: "v2", nargs: 6}.Call(st, tt.offset, tt.size, tt.stride, false, nil)
			if (err != nil) != tt.wantErr {
				t.Errorf("got error %v; want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestGatherStrided(t *testing.T) {
	// A [2,3,4] arange storage viewed as x.permute(2,0,1)[1:3, :, ::2]:
	// size (2,2,2), stride (1,12,8), offset 1.
	src := make([]byte, 24)
	for i := range src {
		src[i] = byte(i)
	}
	dst := make([]byte, 8)
	gather(dst, src, 1, 1, []int{2, 2, 2}, []int{1, 12, 8})
	want := []byte{1, 9, 13, 21, 2, 10, 14, 22}
	if !bytes.Equal(dst, want) {
		t.Errorf("gather = %v; want %v", dst, want)
	}
}

func TestBuildStateDictShapes(t *testing.T) {
	st := &storage{dtype: F32, key: "0", numel: 1, data: make([]byte, 4)}
	ref := &tensorRef{st: st, size: []int{1}, stride: []int{1}}
	dict := func(kv ...any) *types.Dict {
		d := types.NewDict()
		for i := 0; i < len(kv); i += 2 {
			d.Set(kv[i], kv[i+1])
		}
		return d
	}
	list := func(v ...any) *types.List { return types.NewListFromSlice(v) }
	// A list that contains itself, and 30 levels of a list holding the level
	// below twice (2^30 paths from a tiny pickle).
	cyclic := list(ref)
	*cyclic = append(*cyclic, cyclic)
	laughs := list(ref)
	for range 30 {
		laughs = list(laughs, laughs)
	}
	bigSt := &storage{dtype: U8, key: "1", numel: 100_000, data: make([]byte, 100_000)}
	big1 := &tensorRef{st: bigSt, size: []int{100_000}, stride: []int{1}}

	tests := []struct {
		name    string
		root    any
		names   []string
		meta    map[string]string
		wantErr string
	}{
		{"flat", dict("a", ref, "step", 3), []string{"a"}, map[string]string{"step": "3"}, ""},
		{"model wrapper", dict("model", dict("w", ref), "optimizer", dict("state", dict(0, dict("exp_avg", ref))), "iter", 9),
			[]string{"w"}, map[string]string{"iter": "9"}, ""},
		{"params_ema preferred", dict("params", dict("p", ref), "params_ema", dict("e", ref)), []string{"e"}, map[string]string{}, ""},
		{"several networks", dict("G", dict("w", ref), "D", dict("w", ref, "n", list(1, 2.5, "x"))),
			[]string{"G.w", "D.w"}, map[string]string{"D.n": `[1,2.5,"x"]`}, ""},
		{"list of tensors", dict("blocks", list(ref, ref)), []string{"blocks.0", "blocks.1"}, map[string]string{}, ""},
		{"duplicate names", dict("a", dict("b", ref), "a.b", ref), nil, nil, "duplicate tensor name"},
		{"single tensor", ref, nil, nil, "single tensor"},
		{"list at top", list(ref), nil, nil, "a list"},
		{"no tensors", dict("epoch", 1), nil, nil, "no tensors"},
		{"tuple key", dict(types.NewTupleFromSlice([]any{1}), ref), nil, nil, "unsupported dict key"},
		{"cycle", dict("x", cyclic), nil, nil, "contain themselves"},
		{"shared lists blow up", dict("x", laughs), nil, nil, "more than 1000000 values"},
		{"over the memory budget", dict("a", big1, "b", big1), nil, nil, "would allocate more than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := int64(1 << 30)
			if strings.HasPrefix(tt.name, "over the memory budget") {
				mem = 1 << 20
			}
			b := &budget{mem: mem, memLimit: mem}
			sd, err := buildStateDict(tt.root, func(*storage, int, int) error { return errors.New("no load") }, b, 1<<24)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v; want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v; want nil", err)
			}
			if got := sd.Names(); strings.Join(got, " ") != strings.Join(tt.names, " ") {
				t.Errorf("names = %q; want %q", got, tt.names)
			}
			if len(sd.Metadata) != len(tt.meta) {
				t.Errorf("metadata = %v; want %v", sd.Metadata, tt.meta)
			}
			for k, v := range tt.meta {
				if sd.Metadata[k] != v {
					t.Errorf("metadata[%q] = %q; want %q", k, sd.Metadata[k], v)
				}
			}
		})
	}
}

func TestScanPickle(t *testing.T) {
	tests := []struct {
		name    string
		pickle  string
		wantLen int
		wantErr string
	}{
		{"int", "\x80\x02K\x05.", 5, ""},
		{"stops at STOP", "\x80\x02N.trailing", 4, ""},
		{"framed protocol 4", "\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00K\x01.", 14, ""},
		{"text lines", "I42\n.", 5, ""},
		{"no STOP", "\x80\x02K\x05", 0, "without a STOP"},
		{"unknown opcode", "\x80\x02\xff.", 0, "unknown pickle opcode 0xff"},
		{"protocol 6", "\x80\x06N.", 0, "unsupported pickle protocol 6"},
		{"string past the end", "X\xff\xff\xff\x7fabc.", 0, "past the end"},
		{"huge BINBYTES8", "\x8e\xff\xff\xff\xff\xff\xff\xff\x7f.", 0, "run past the end"},
		{"negative BINSTRING", "T\xff\xff\xff\xff.", 0, "bad length"},
		{"empty LONG1", "\x8a\x00.", 0, "empty LONG1"},
		{"unterminated GLOBAL", "ctorch\nSize", 0, "unterminated"},
		{"forbidden INST", "(ios\nsystem\n.", 0, "forbidden global os.system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := verifyPickle([]byte(tt.pickle), readBudget(int64(len(tt.pickle))))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %d, %v; want an error containing %q", n, err, tt.wantErr)
				}
				return
			}
			if err != nil || n != tt.wantLen {
				t.Errorf("got %d, %v; want %d, nil", n, err, tt.wantLen)
			}
		})
	}
}

func TestTorchCallables(t *testing.T) {
	st := &storage{dtype: F32, key: "0", numel: 2}
	tuple := func(v ...any) *types.Tuple { return types.NewTupleFromSlice(v) }
	v2 := rebuildTensor{name: "_rebuild_tensor_v2", nargs: 6}

	got, err := rebuildFromType{}.Call(v2, tensorType{}, tuple(st, 0, tuple(2), tuple(1), false, nil), nil)
	if ref, ok := got.(*tensorRef); err != nil || !ok || ref.size[0] != 2 {
		t.Errorf("_rebuild_from_type_v2(Tensor) = %v, %v; want a tensor of size [2]", got, err)
	}
	if _, err := (rebuildFromType{}).Call(v2, sizeClass{}, tuple(st, 0, tuple(2), tuple(1), false, nil), nil); err == nil {
		t.Errorf("_rebuild_from_type_v2 with a non-tensor type: got nil error")
	}
	got, err = rebuildParameter{}.Call(&tensorRef{st: st}, true, nil)
	if _, ok := got.(*tensorRef); err != nil || !ok {
		t.Errorf("_rebuild_parameter = %v, %v; want the tensor", got, err)
	}
	got, err = sizeClass{}.Call(tuple(2, 3))
	if tp, ok := got.(*types.Tuple); err != nil || !ok || tp.Len() != 2 {
		t.Errorf("torch.Size((2, 3)) = %v, %v; want (2, 3)", got, err)
	}
	got, err = codecsEncode{}.Call("\x00\u00ffab", "latin1")
	if b, ok := got.(*types.ByteArray); err != nil || !ok || !bytes.Equal(*b, []byte{0, 0xff, 'a', 'b'}) {
		t.Errorf("_codecs.encode = %v, %v; want [0 255 97 98]", got, err)
	}
	if _, err := (codecsEncode{}).Call("x", "utf-8"); err == nil {
		t.Errorf("_codecs.encode(utf-8): got nil error")
	}
}
