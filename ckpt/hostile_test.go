package ckpt

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nlpodyssey/gopickle/types"
)

// Hostile files, built here rather than kept in testdata: each is a case of
// issue 10 §1 that made a reader run out of memory or time before.

// le32 and le64 encode little-endian lengths.
func le32(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }
func le64(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }

// binUnicode is a BINUNICODE opcode for s.
func binUnicode(s string) []byte { return append(append([]byte{'X'}, le32(uint32(len(s)))...), s...) }

// statePickle returns a protocol-2 pickle of {"w": tensor, <extra>}: a
// one-element float32 tensor viewing element `at` of storage "0" of numel
// elements; extra holds more key, value pairs ending in SETITEM opcodes.
func statePickle(numel, at int, extra []byte) []byte {
	var p []byte
	p = append(p, "\x80\x02}q\x00"...)
	p = append(p, binUnicode("w")...)
	p = append(p, "ctorch._utils\n_rebuild_tensor_v2\n("...)
	p = append(p, '(')
	p = append(p, binUnicode("storage")...)
	p = append(p, "ctorch\nFloatStorage\n"...)
	p = append(p, binUnicode("0")...)
	p = append(p, binUnicode("cpu")...)
	p = append(p, 'J')
	p = append(p, le32(uint32(numel))...)
	p = append(p, "tQ"...)
	p = append(p, 'J')
	p = append(p, le32(uint32(at))...)
	p = append(p, "K\x01\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRs"...)
	p = append(p, extra...)
	return append(p, '.')
}

// torchZip lays out a pickle and storage records like torch.save; records
// named in deflate are compressed.
func torchZip(t testing.TB, pkl []byte, storages map[string][]byte, deflate bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte, method uint16) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	add("archive/data.pkl", pkl, zip.Store)
	for k, b := range storages {
		m := zip.Store
		if deflate {
			m = zip.Deflate
		}
		add("archive/data/"+k, b, m)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// frameBomb is a pickle whose FRAME declares 2^40 bytes.
func frameBomb() []byte {
	return append(append([]byte("\x80\x04\x95"), le64(1<<40)...), "}\x8c\x05abcde0N."...)
}

func TestFrameLongerThanTheFileIsRefused(t *testing.T) {
	zipped := torchZip(t, frameBomb(), nil, false)
	legacy := frameBomb()[:24]
	legacy[23] = '.'
	for _, tt := range []struct {
		name string
		file []byte
		size int
	}{{"zip", zipped, 200}, {"legacy", legacy, 24}} {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.file) > tt.size {
				t.Fatalf("file is %d bytes; want at most %d", len(tt.file), tt.size)
			}
			_, err := readTorch(bytes.NewReader(tt.file), int64(len(tt.file)), readBudget(int64(len(tt.file))))
			if err == nil || !strings.Contains(err.Error(), "FRAME of 1099511627776 bytes is longer than the") {
				t.Fatalf("got error %v; want the FRAME refused", err)
			}
		})
	}
}

// memoBomb is a pickle of {"w": tensor, "meta": [s]*refs} where s, a string
// of strLen bytes, is in the memo and referenced refs times.
func memoBomb(strLen, refs int) []byte {
	var extra []byte
	extra = append(extra, binUnicode("meta")...)
	extra = append(extra, "](X"...)
	extra = append(extra, le32(uint32(strLen))...)
	extra = append(extra, bytes.Repeat([]byte{'a'}, strLen)...)
	extra = append(extra, 'q', 1)
	for range refs - 1 {
		extra = append(extra, 'h', 1)
	}
	extra = append(extra, "es"...)
	return statePickle(1, 0, extra)
}

func TestMemoBombIsRefused(t *testing.T) {
	pkl := memoBomb(1<<20, 400_000)
	file := torchZip(t, pkl, map[string][]byte{"0": make([]byte, 4)}, false)
	if len(file) < 1_800_000 || len(file) > 1_900_000 {
		t.Fatalf("file is %d bytes; want about 1.8 MB", len(file))
	}
	_, err := readTorch(bytes.NewReader(file), int64(len(file)), readBudget(int64(len(file))))
	if err == nil || !strings.Contains(err.Error(), "refers to its strings again for more than") {
		t.Fatalf("got error %v; want the memo references refused", err)
	}
	// Referenced a few times, the string is metadata like any other.
	pkl = memoBomb(1000, 3)
	file = torchZip(t, pkl, map[string][]byte{"0": make([]byte, 4)}, false)
	sd, err := readTorch(bytes.NewReader(file), int64(len(file)), readBudget(int64(len(file))))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(sd.Metadata["meta"]), 3*1002+4; got != want {
		t.Errorf("metadata is %d bytes; want %d", got, want)
	}
}

// The walk bounds the rendering of metadata by itself too, whatever the
// unpickler hands it: here a list of 400,000 references to one 1 MiB string.
func TestMetadataRenderingIsBounded(t *testing.T) {
	big := strings.Repeat("a", 1<<20)
	elems := make([]any, 400_000)
	for i := range elems {
		elems[i] = big
	}
	st := &storage{dtype: F32, key: "0", numel: 1, data: make([]byte, 4)}
	root := dictOf("w", &tensorRef{st: st, size: []int{1}, stride: []int{1}}, "meta", listOf(elems...))
	start := time.Now()
	_, err := buildStateDict(root, nil, readBudget(2<<20), 2<<20)
	if err == nil || !strings.Contains(err.Error(), `"meta": the names and metadata take more than 17825792 bytes`) {
		t.Fatalf("got error %v; want the metadata refused", err)
	}
	t.Logf("refused in %v", time.Since(start))
	// Long names are refused as well.
	root = dictOf(strings.Repeat("k", maxName+1), &tensorRef{st: st, size: []int{1}, stride: []int{1}})
	if _, err := buildStateDict(root, nil, readBudget(1<<20), 1<<20); err == nil || !strings.Contains(err.Error(), "exceeds the limit of 4096") {
		t.Fatalf("got error %v; want the long name refused", err)
	}
}

// inflateBomb is a zip .pth whose storage record holds n zero float32s,
// deflated, behind a one-element tensor viewing element at.
func inflateBomb(t testing.TB, n, at int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(statePickle(n, at, nil))
	w, err = zw.CreateHeader(&zip.FileHeader{Name: "archive/data/0", Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for left := 4 * n; left > 0; left -= len(zeros) {
		w.Write(zeros[:min(left, len(zeros))])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestInflatedRecordsAreBounded(t *testing.T) {
	const n = 64 << 20 // 256 MiB of zeros, deflated to about 250 KB
	file := inflateBomb(t, n, 0)
	size := int64(len(file))
	t.Logf("%d elements in a %d-byte file", n, size)

	// A view of the first element reads (and keeps) 4 bytes of the record.
	b := readBudget(size)
	sd, err := readTorch(bytes.NewReader(file), size, b)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := sd.Get("w"); len(w.Floats) != 1 {
		t.Fatalf("w = %v; want one element", w)
	}
	if streamed := b.streamLimit - b.stream; streamed > 4+1024 {
		t.Errorf("streamed %d bytes of the records; want 4 of the storage and the pickle", streamed)
	}
	if used := b.memLimit - b.mem; used > 1<<20 {
		t.Errorf("charged %d bytes of memory; want under 1 MiB", used)
	}

	// A view of the last element inflates the whole record, which must fit
	// the cap on what records may inflate to.
	file = inflateBomb(t, n, n-1)
	b = readBudget(size)
	b.stream, b.streamLimit = 100<<20, 100<<20
	_, err = readTorch(bytes.NewReader(file), size, b)
	if err == nil || !strings.Contains(err.Error(), "would inflate to more than 104857600 bytes") {
		t.Fatalf("got error %v; want the inflation refused", err)
	}
	b = readBudget(size)
	if _, err := readTorch(bytes.NewReader(file), size, b); err != nil {
		t.Fatal(err)
	}
	if streamed := b.streamLimit - b.stream; streamed < 4*n || streamed > 4*n+1024 {
		t.Errorf("streamed %d bytes; want the %d of the storage and the pickle", streamed, 4*n)
	}
}

func TestLongIntegersAreCapped(t *testing.T) {
	long4 := append(append([]byte("\x80\x02\x8b"), le32(2_000_000)...), bytes.Repeat([]byte{1}, 2_000_000)...)
	long4 = append(long4, '.')
	decimal := "L119547037146038801333356" + strings.Repeat("7", 900_000) + "L\n."
	for _, tt := range []struct {
		name string
		file []byte
		want string
	}{
		{"LONG4 of 2 MB in a zip", torchZip(t, long4, nil, false), "integer of 2000000 bytes exceeds the limit of 1024"},
		{"decimal LONG of 900 KB in the legacy magic slot", []byte(decimal), "text argument of 900025 bytes exceeds the limit of 4300"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := readTorch(bytes.NewReader(tt.file), int64(len(tt.file)), readBudget(int64(len(tt.file))))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v; want one containing %q", err, tt.want)
			}
			t.Logf("refused in %v", time.Since(start))
		})
	}
	if Sniff([]byte(decimal)) != TorchLegacy {
		t.Errorf("the decimal case does not sniff as a legacy file")
	}
}

// The charges of verifyPickle and the walk must cover what reading
// allocates, so that the budget bounds the memory a file can take.
func TestPickleChargesCoverAllocation(t *testing.T) {
	floods := map[string]string{
		"None": "N", "BININT1": "K\x07", "BININT2": "M\x07\x01", "BININT": "J\x07\x01\x00\x70",
		"BINFLOAT": "G\x00\x00\x00\x00\x00\x00\x00\x01", "EMPTY_LIST": "]", "EMPTY_DICT": "}",
		"EMPTY_TUPLE": ")", "EMPTY_SET": "\x8f", "MARK TUPLE": "(t", "MARK LIST": "(l", "MARK DICT": "(d",
		"MARK FROZENSET": "(\x91", "SHORT_BINUNICODE": "\x8c\x01a", "BINUNICODE": "X\x03\x00\x00\x00abc",
		"SHORT_BINBYTES": "C\x02ab", "LONG1": "\x8a\x09\x05\x05\x05\x05\x05\x05\x05\x05\x05",
		"INT": "I5\n", "FLOAT": "F5.5\n", "LONG": "L5\n", "UNICODE": "Vab\n", "TUPLE1": "K\x01\x85",
		"TUPLE2": "K\x01K\x02\x86", "TUPLE3": "K\x01K\x02K\x03\x87", "DUP": "N2", "BINPUT": "Nq\x01",
		"MEMOIZE": "N\x94", "LONG_BINPUT": "Nr\x01\x02\x03\x04", "BINGET": "h\x01", "TRUE": "\x88",
		"APPEND": "]Na", "SETITEM": "}NNs", "POP": "NN0", "OrderedDict": "ccollections\nOrderedDict\n)R",
		"Size": "ctorch\nSize\n)R",
	}
	const n = 50_000
	for name, op := range floods {
		p := append([]byte("\x80\x02]q\x01("), bytes.Repeat([]byte(op), n)...)
		p = append(p, "e."...)
		b := readBudget(int64(len(p)))
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		_, _, err := unpickle(p, b, nil)
		runtime.ReadMemStats(&m1)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		alloc, charged := int64(m1.TotalAlloc-m0.TotalAlloc), b.memLimit-b.mem
		if alloc > charged {
			t.Errorf("%s x %d: allocated %d bytes; charged only %d", name, n, alloc, charged)
		}
	}
}

// TestWriteHostileFiles writes the files of issue 10 §1 into
// $GANRT_HOSTILE_DIR, for measuring a ganrt binary on them
// (/usr/bin/time -v ganrt info FILE).
func TestWriteHostileFiles(t *testing.T) {
	dir := os.Getenv("GANRT_HOSTILE_DIR")
	if dir == "" {
		t.Skip("set GANRT_HOSTILE_DIR to write the hostile files")
	}
	legacy := frameBomb()[:24]
	legacy[23] = '.'
	long4 := append(append([]byte("\x80\x02\x8b"), le32(2_000_000)...), bytes.Repeat([]byte{1}, 2_000_000)...)
	files := map[string][]byte{
		"frame.pth":        torchZip(t, frameBomb(), nil, false),
		"frame_legacy.pth": legacy,
		"memo.pth":         torchZip(t, memoBomb(1<<20, 400_000), map[string][]byte{"0": make([]byte, 4)}, false),
		"long4.pth":        torchZip(t, append(long4, '.'), nil, false),
		"decimal.pth":      []byte("L119547037146038801333356" + strings.Repeat("7", 900_000) + "L\n."),
	}
	if os.Getenv("GANRT_HOSTILE_INFLATE") != "" {
		files["inflate.pth"] = inflateBomb(t, 1<<30, 0)
		files["inflate_last.pth"] = inflateBomb(t, 1<<30, 1<<30-1)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", name, len(b))
	}
}

// dictOf and listOf build unpickled values.
func dictOf(kv ...any) *types.Dict {
	d := types.NewDict()
	for i := 0; i+1 < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

func listOf(v ...any) *types.List { return types.NewListFromSlice(v) }

// The whole read is accounted for: what readTorch allocates, from the zip
// directory to the decoded tensors, stays within what it charged.
func TestReadChargesCoverAllocation(t *testing.T) {
	f32 := make([]byte, 4<<20)
	big := statePickle(1<<20, 5, append(binUnicode("meta"), "](K\x01K\x02X\x03\x00\x00\x00abcNes"...))
	files := map[string][]byte{
		"zip stored":   torchZip(t, big, map[string][]byte{"0": f32}, false),
		"zip deflated": torchZip(t, big, map[string][]byte{"0": f32}, true),
		"memo, few":    torchZip(t, memoBomb(1000, 300), map[string][]byte{"0": make([]byte, 4)}, false),
	}
	for _, name := range []string{"state_zip.pt", "state_legacy.pt", "legacy_view.pt", "nested_zip.pt"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, file := range files {
		b := readBudget(int64(len(file)))
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		_, err := readTorch(bytes.NewReader(file), int64(len(file)), b)
		runtime.ReadMemStats(&m1)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		alloc, charged := int64(m1.TotalAlloc-m0.TotalAlloc), b.memLimit-b.mem
		t.Logf("%s: allocated %d bytes, charged %d", name, alloc, charged)
		if alloc > charged {
			t.Errorf("%s: allocated %d bytes; charged only %d", name, alloc, charged)
		}
	}
}
