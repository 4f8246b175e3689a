package ckpt

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/big"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
)

// resaveHint tells users how to turn an unsupported PyTorch file into one
// that ReadTorch reads.
const resaveHint = "re-save it with PyTorch 1.6 or later: torch.save(torch.load(f), f2)"

// legacyMagic is the magic number that starts a legacy (non-zip) torch.save
// file, as a pickled int.
var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

// wrapperKeys are the keys, in order of preference, under which training
// checkpoints keep the model's state dict.
var wrapperKeys = []string{"state_dict", "model_state_dict", "model", "module", "net", "network", "params_ema", "params"}

// ReadTorch reads a PyTorch checkpoint written by torch.save without running
// any pickled code. It reads
//
//   - the zip format (the default since PyTorch 1.6: ARCHIVE/data.pkl plus
//     one ARCHIVE/data/KEY record per storage), and
//   - the legacy format (_use_new_zipfile_serialization=False and PyTorch
//     before 1.6: magic number, protocol version, sys_info, the pickle, the
//     storage keys, then the raw storages), little-endian only.
//
// The very old tar format (PyTorch 0.1) and TorchScript archives
// (torch.jit.save) are refused with a hint.
//
// The pickle may only use the globals listed by AllowedGlobals: OrderedDict,
// torch.Size, the torch.*Storage types, _rebuild_tensor(_v2),
// _rebuild_parameter, _rebuild_from_type_v2 (plain tensors only) and
// _codecs.encode. Any other global (os.system, builtins.eval, a model class
// such as __main__.Generator or a torch.nn module) is refused with a
// *ForbiddenGlobalError naming it, as soon as it is read. Numpy values
// inside a checkpoint are refused the same way.
//
// The top-level object must be a dict (dict or OrderedDict):
//
//   - if some of its values are tensors, it is the state dict;
//   - otherwise, if it has one of the keys state_dict, model_state_dict,
//     model, module, net, network, params_ema, params (tried in that order)
//     whose value is a dict with tensor values, that dict is the state dict,
//     and the scalar entries beside it become Metadata (e.g. "epoch");
//   - otherwise all nested dicts and lists are flattened, joining keys with
//     "." (a {"G": ..., "D": ...} checkpoint gives "G.model.1.weight"; see
//     StateDict.Sub).
//
// Within the chosen dict, nested dicts and lists of tensors are flattened the
// same way; scalars (str, int, float, bool, None) and lists or tuples of
// scalars become Metadata under their dotted key (numbers in Go syntax, bools
// as true/false, None as null, lists as JSON); bytes and sets are skipped.
// Tensors keep the dict's order. Strided views (transposed or sliced tensors
// saved as they are) are copied into contiguous row-major order; tensors that
// share a storage are read from it once. "module." prefixes are kept; see
// StateDict.StripPrefix.
//
// Hostile files are bounded: the pickle is at most 1 GiB, containers nest at
// most 100 deep, the walk visits at most a million values, and the tensors may
// take at most 16 times the file size plus 1 GiB of memory. Zip records are
// checked against their CRC-32. Errors name the file.
func ReadTorch(path string) (*StateDict, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	sd, err := readTorch(f, fi.Size())
	if err != nil {
		return nil, &fs.PathError{Op: "read torch checkpoint", Path: path, Err: err}
	}
	return sd, nil
}

// readTorch reads a torch.save file of the given size from r.
func readTorch(r io.ReaderAt, size int64) (*StateDict, error) {
	var head [512]byte
	n, _ := r.ReadAt(head[:], 0)
	switch {
	case bytes.HasPrefix(head[:n], []byte("PK\x03\x04")):
		return readTorchZip(r, size)
	case isTar(head[:n]):
		return nil, errors.New("tar-format PyTorch file (PyTorch 0.1) is not supported; " + resaveHint)
	default:
		return readTorchLegacy(r, size)
	}
}

// isTar reports whether head starts a POSIX tar archive.
func isTar(head []byte) bool {
	return len(head) >= 263 && string(head[257:262]) == "ustar"
}

// readTorchZip reads the zip format.
func readTorchZip(r io.ReaderAt, size int64) (*StateDict, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("bad zip archive: %w", err)
	}
	files := make(map[string]*zip.File, len(zr.File))
	var pkl *zip.File
	for _, f := range zr.File {
		files[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && strings.Count(f.Name, "/") <= 1 {
			if pkl != nil {
				return nil, fmt.Errorf("zip archive has two pickles, %s and %s", pkl.Name, f.Name)
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, errors.New("zip archive has no data.pkl; it is not a torch.save checkpoint")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if files[prefix+"constants.pkl"] != nil || files[prefix+"code/"] != nil {
		return nil, errors.New("file is a TorchScript archive (torch.jit.save), not a checkpoint; " +
			"save the model's state_dict() with torch.save instead")
	}
	if f := files[prefix+"byteorder"]; f != nil {
		b, err := readRecord(f, 16, size)
		if err != nil {
			return nil, err
		}
		if bo := strings.TrimSpace(string(b)); bo != "little" {
			return nil, fmt.Errorf("byte order %q is not supported", bo)
		}
	}
	p, err := readRecord(pkl, maxPickle, size)
	if err != nil {
		return nil, err
	}
	storages := map[string]*storage{}
	persistentLoad := func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() != 5 || t.Get(0) != "storage" {
			return nil, fmt.Errorf("unexpected persistent id %v", id)
		}
		return newStorage(storages, t.Get(1), t.Get(2), t.Get(4))
	}
	root, _, err := unpickle(p, persistentLoad)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	load := func(st *storage) error {
		name := prefix + "data/" + st.key
		f := files[name]
		if f == nil {
			return fmt.Errorf("storage %q: record %s is missing", st.key, name)
		}
		nbytes := st.numel * st.dtype.Size()
		if f.UncompressedSize64 != uint64(nbytes) {
			return fmt.Errorf("storage %q: record %s has %d bytes; %d %s elements need %d",
				st.key, name, f.UncompressedSize64, st.numel, st.dtype, nbytes)
		}
		st.data, err = readRecord(f, int64(nbytes), size)
		return err
	}
	return buildStateDict(root, load, outputBudget(size))
}

// readRecord reads a whole zip record of at most limit bytes, allocating no
// more than the archive size up front, and checks its CRC-32.
func readRecord(f *zip.File, limit, archiveSize int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("record %s is too large (%d bytes)", f.Name, f.UncompressedSize64)
	}
	n := int64(f.UncompressedSize64)
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", f.Name, err)
	}
	defer rc.Close()
	var b []byte
	if n <= archiveSize {
		b = make([]byte, n)
		_, err = io.ReadFull(rc, b)
	} else {
		b, err = io.ReadAll(io.LimitReader(rc, n))
		if err == nil && int64(len(b)) < n {
			err = io.ErrUnexpectedEOF
		}
	}
	if err == nil {
		// Reading to the end makes archive/zip verify the CRC-32.
		var one [1]byte
		if m, e := rc.Read(one[:]); m != 0 || e != io.EOF {
			if e == nil || e == io.EOF {
				e = errors.New("record is longer than its header says")
			}
			err = e
		}
	}
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", f.Name, err)
	}
	return b, nil
}

// newStorage returns the storage with the given key, creating it on first
// use from a persistent id's class and element count.
func newStorage(storages map[string]*storage, class, key, numel any) (*storage, error) {
	sc, ok := class.(storageClass)
	if !ok {
		return nil, fmt.Errorf("persistent id: storage type is %T, not a torch storage class", class)
	}
	k, ok := key.(string)
	if !ok {
		return nil, fmt.Errorf("persistent id: storage key is %T, not a string", key)
	}
	n, ok := asInt(numel)
	if !ok || n < 0 {
		return nil, fmt.Errorf("storage %q: bad size %v", k, numel)
	}
	if _, ok := mulInt(n, sc.dtype.Size()); !ok {
		return nil, fmt.Errorf("storage %q: size %d is too large", k, n)
	}
	if st := storages[k]; st != nil {
		if st.dtype != sc.dtype || st.numel != n {
			return nil, fmt.Errorf("storage %q is used as %d %s and as %d %s elements", k, st.numel, st.dtype, n, sc.dtype)
		}
		return st, nil
	}
	st := &storage{dtype: sc.dtype, key: k, numel: n}
	storages[k] = st
	return st, nil
}

// readTorchLegacy reads the legacy (non-zip) format.
func readTorchLegacy(r io.ReaderAt, size int64) (*StateDict, error) {
	// Check the magic number before reading the whole file.
	head := make([]byte, min(size, 1<<20))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, err
	}
	magic, off, err := unpickle(head, nil)
	if fg := (*ForbiddenGlobalError)(nil); errors.As(err, &fg) {
		return nil, err
	}
	if m, ok := magic.(*big.Int); err != nil || !ok || m.Cmp(legacyMagic) != 0 {
		return nil, errors.New("not a PyTorch checkpoint: neither a zip archive nor a legacy file with the torch.save magic number")
	}
	b := head
	if int64(len(b)) < size {
		b = make([]byte, size)
		if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
			return nil, err
		}
	}
	next := func(what string, pl func(any) (any, error)) (any, error) {
		v, n, err := unpickle(b[off:], pl)
		if err != nil {
			return nil, fmt.Errorf("legacy format: %s: %w", what, err)
		}
		off += n
		return v, nil
	}
	proto, err := next("protocol version", nil)
	if err != nil {
		return nil, err
	}
	if proto != 1001 {
		return nil, fmt.Errorf("legacy format: protocol version %v is not supported; %s", proto, resaveHint)
	}
	sysInfo, err := next("sys_info", nil)
	if err != nil {
		return nil, err
	}
	if le, ok := dictGet(sysInfo, "little_endian"); ok && le != true {
		return nil, errors.New("legacy format: big-endian files are not supported")
	}

	storages := map[string]*storage{}
	views := map[string]*storage{}
	persistentLoad := func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() == 0 {
			return nil, fmt.Errorf("unexpected persistent id %v", id)
		}
		switch t.Get(0) {
		case "storage":
		case "module":
			return nil, errors.New("file holds pickled nn.Module source (a whole model); " +
				"re-save it with torch.save(model.state_dict(), path)")
		default:
			return nil, fmt.Errorf("unexpected persistent id %v", id)
		}
		if t.Len() != 6 {
			return nil, fmt.Errorf("unexpected persistent id %v", id)
		}
		st, err := newStorage(storages, t.Get(1), t.Get(2), t.Get(4))
		if err != nil || t.Get(5) == nil {
			return st, err
		}
		// A view of part of the storage, from PyTorch before 1.0.
		vm, ok := t.Get(5).(*types.Tuple)
		if !ok || vm.Len() != 3 {
			return nil, fmt.Errorf("storage %q: bad view metadata %v", st.key, t.Get(5))
		}
		vkey, ok1 := vm.Get(0).(string)
		voff, ok2 := asInt(vm.Get(1))
		vsize, ok3 := asInt(vm.Get(2))
		if !ok1 || !ok2 || !ok3 || voff < 0 || vsize < 0 || voff > st.numel || vsize > st.numel-voff {
			return nil, fmt.Errorf("storage %q: bad view metadata %v", st.key, t.Get(5))
		}
		if v := views[vkey]; v != nil {
			if v.base != st || v.offset != voff || v.numel != vsize {
				return nil, fmt.Errorf("storage view %q is defined twice", vkey)
			}
			return v, nil
		}
		v := &storage{dtype: st.dtype, key: vkey, numel: vsize, base: st, offset: voff}
		views[vkey] = v
		return v, nil
	}
	root, err := next("pickle", persistentLoad)
	if err != nil {
		return nil, err
	}
	keysV, err := next("storage keys", nil)
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*types.List)
	if !ok {
		return nil, fmt.Errorf("legacy format: storage keys are a %T, not a list", keysV)
	}
	for _, kv := range *keys {
		k, _ := kv.(string)
		st := storages[k]
		if st == nil {
			return nil, fmt.Errorf("legacy format: storage key %v is not used by the pickle", kv)
		}
		if st.data != nil {
			return nil, fmt.Errorf("legacy format: storage %q is listed twice", k)
		}
		if len(b)-off < 8 {
			return nil, fmt.Errorf("legacy format: storage %q: file ends before its size", k)
		}
		n := int64(binary.LittleEndian.Uint64(b[off:]))
		off += 8
		if n != int64(st.numel) {
			return nil, fmt.Errorf("legacy format: storage %q has %d elements; the pickle says %d", k, n, st.numel)
		}
		nbytes := st.numel * st.dtype.Size()
		if nbytes > len(b)-off {
			return nil, fmt.Errorf("legacy format: storage %q: file ends after %d of its %d bytes", k, len(b)-off, nbytes)
		}
		st.data = b[off : off+nbytes : off+nbytes]
		off += nbytes
	}
	load := func(st *storage) error {
		return fmt.Errorf("legacy format: storage %q has no data in the file", st.key)
	}
	return buildStateDict(root, load, outputBudget(size))
}

// storageBytes returns the bytes of st, loading them with load if needed.
func storageBytes(st *storage, load func(*storage) error) ([]byte, error) {
	if st.base != nil {
		b, err := storageBytes(st.base, load)
		if err != nil {
			return nil, err
		}
		es := st.dtype.Size()
		return b[st.offset*es : (st.offset+st.numel)*es], nil
	}
	if st.data == nil {
		if err := load(st); err != nil {
			return nil, err
		}
	}
	return st.data, nil
}

// materialize copies the strided view t into a contiguous row-major tensor.
func materialize(t *tensorRef, load func(*storage) error) (*Tensor, error) {
	data, err := storageBytes(t.st, load)
	if err != nil {
		return nil, err
	}
	dt := t.st.dtype
	es := dt.Size()
	n, _ := numElements(t.size) // checked by rebuildTensor
	out := make([]byte, n*es)
	if n > 0 {
		if isContiguous(t.size, t.stride) {
			copy(out, data[t.offset*es:])
		} else {
			gather(out, data, es, t.offset, t.size, t.stride)
		}
	}
	return decodeTensor(dt, append([]int(nil), t.size...), out)
}

// isContiguous reports whether stride is the row-major stride of size
// (ignoring dimensions of size 1).
func isContiguous(size, stride []int) bool {
	want := 1
	for d := len(size) - 1; d >= 0; d-- {
		if size[d] != 1 && stride[d] != want {
			return false
		}
		want *= size[d]
	}
	return true
}

// gather copies the elements of a strided view (element offset, size and
// stride into src, es bytes each) into dst in row-major order.
func gather(dst, src []byte, es, offset int, size, stride []int) {
	idx := make([]int, len(size))
	pos := offset
	for k := 0; k*es < len(dst); k++ {
		copy(dst[k*es:(k+1)*es], src[pos*es:])
		for d := len(size) - 1; d >= 0; d-- {
			idx[d]++
			pos += stride[d]
			if idx[d] < size[d] {
				break
			}
			pos -= idx[d] * stride[d]
			idx[d] = 0
		}
	}
}

// dictEntry is one key/value pair of a pickled dict, in order.
type dictEntry struct{ key, value any }

// dictEntries returns the entries of a pickled dict or OrderedDict.
func dictEntries(v any) ([]dictEntry, bool) {
	switch d := v.(type) {
	case *types.Dict:
		out := make([]dictEntry, 0, len(*d))
		for _, e := range *d {
			out = append(out, dictEntry{e.Key, e.Value})
		}
		return out, true
	case *types.OrderedDict:
		out := make([]dictEntry, 0, d.Len())
		for e := d.List.Front(); e != nil; e = e.Next() {
			oe := e.Value.(*types.OrderedDictEntry)
			out = append(out, dictEntry{oe.Key, oe.Value})
		}
		return out, true
	}
	return nil, false
}

// dictGet looks up a string key in a pickled dict.
func dictGet(v any, key string) (any, bool) {
	entries, _ := dictEntries(v)
	for _, e := range entries {
		if e.key == key {
			return e.value, true
		}
	}
	return nil, false
}

// hasTensorValue reports whether a pickled dict has a tensor among its values.
func hasTensorValue(entries []dictEntry) bool {
	for _, e := range entries {
		if _, ok := e.value.(*tensorRef); ok {
			return true
		}
	}
	return false
}

// Limits that keep a hostile pickle from exhausting the stack, time or
// memory: containers may nest maxDepth deep, the walk may visit maxSteps
// values (shared references make a small pickle a huge tree), and the
// tensors may take at most outputBudget bytes in memory.
const (
	maxDepth = 100
	maxSteps = 1_000_000
)

// outputBudget returns the in-memory bytes the tensors of a file of the given
// size may take: generous for legitimate files (bool or uint8 data grows 8
// times as int64; stride-0 expanded views are the only larger case), small
// enough to refuse a pickle that names one storage a million times.
func outputBudget(fileSize int64) int64 { return 16*fileSize + 1<<30 }

// buildStateDict finds the state dict in an unpickled checkpoint (see
// ReadTorch) and materializes its tensors, at most budget bytes of them.
func buildStateDict(root any, load func(*storage) error, budget int64) (*StateDict, error) {
	entries, ok := dictEntries(root)
	if !ok {
		if _, ok := root.(*tensorRef); ok {
			return nil, errors.New("file holds a single tensor, not a state dict")
		}
		return nil, fmt.Errorf("file holds %s, not a dict of tensors", describeValue(root))
	}
	fl := &flattener{sd: NewStateDict(), seen: map[string]bool{}}
	var err error
	switch inner := findWrapped(entries); {
	case hasTensorValue(entries) || inner == nil:
		err = fl.walk("", root, 0)
	default:
		err = fl.walk("", inner, 0)
		for _, e := range entries {
			if e.value == inner {
				continue
			}
			if k, ok := e.key.(string); ok {
				if s, ok := metadataString(e.value); ok {
					fl.sd.Metadata[k] = s
				}
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if len(fl.refs) == 0 {
		return nil, errors.New("no tensors found in the checkpoint")
	}
	for i, ref := range fl.refs {
		n, _ := numElements(ref.size)
		if budget -= int64(n) * 8; budget < 0 {
			return nil, fmt.Errorf("tensor %q: the tensors take more memory than a file of this size can hold", fl.names[i])
		}
		t, err := materialize(ref, load)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", fl.names[i], err)
		}
		fl.sd.Set(fl.names[i], t)
	}
	return fl.sd, nil
}

// findWrapped returns the value of the first wrapper key that is a dict with
// tensor values, or nil.
func findWrapped(entries []dictEntry) any {
	for _, k := range wrapperKeys {
		for _, e := range entries {
			if e.key != k {
				continue
			}
			if inner, ok := dictEntries(e.value); ok && hasTensorValue(inner) {
				return e.value
			}
		}
	}
	return nil
}

// flattener walks an unpickled value, collecting tensors and metadata under
// dotted names.
type flattener struct {
	sd    *StateDict
	names []string
	refs  []*tensorRef
	seen  map[string]bool
	steps int
}

func (fl *flattener) walk(name string, v any, depth int) error {
	if fl.steps++; fl.steps > maxSteps {
		return fmt.Errorf("checkpoint has more than %d values", maxSteps)
	}
	if depth > maxDepth {
		return fmt.Errorf("%s: containers nest more than %d deep (or contain themselves)", nameOrRoot(name), maxDepth)
	}
	if entries, ok := dictEntries(v); ok {
		for _, e := range entries {
			k, ok := keyString(e.key)
			if !ok {
				return fmt.Errorf("%s: unsupported dict key %s", nameOrRoot(name), describeValue(e.key))
			}
			if err := fl.walk(joinName(name, k), e.value, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	switch x := v.(type) {
	case *tensorRef:
		if fl.seen[name] {
			return fmt.Errorf("duplicate tensor name %q", name)
		}
		fl.seen[name] = true
		fl.names = append(fl.names, name)
		fl.refs = append(fl.refs, x)
		return nil
	case *types.List, *types.Tuple:
		if s, ok := metadataString(v); ok {
			fl.sd.Metadata[name] = s
			return nil
		}
		var elems []any
		if l, ok := x.(*types.List); ok {
			elems = *l
		} else {
			elems = *x.(*types.Tuple)
		}
		for i, e := range elems {
			if err := fl.walk(joinName(name, strconv.Itoa(i)), e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case []byte, *types.ByteArray, *types.Set, *types.FrozenSet:
		return nil // skipped
	}
	if s, ok := metadataString(v); ok {
		fl.sd.Metadata[name] = s
		return nil
	}
	return fmt.Errorf("%s: unsupported value %s", nameOrRoot(name), describeValue(v))
}

func joinName(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func nameOrRoot(name string) string {
	if name == "" {
		return "top level"
	}
	return strconv.Quote(name)
}

// keyString formats a dict key used in a name.
func keyString(k any) (string, bool) {
	switch x := k.(type) {
	case string:
		return x, true
	case int, *big.Int, bool:
		return fmt.Sprint(x), true
	}
	return "", false
}

// metadataString formats a scalar, or a list or tuple of scalars, as a
// metadata value.
func metadataString(v any) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	if j, ok := scalarJSON(v); ok {
		return j, true
	}
	var elems []any
	switch x := v.(type) {
	case *types.List:
		elems = *x
	case *types.Tuple:
		elems = *x
	default:
		return "", false
	}
	parts := make([]string, len(elems))
	for i, e := range elems {
		j, ok := scalarJSON(e)
		if !ok {
			return "", false
		}
		parts[i] = j
	}
	return "[" + strings.Join(parts, ",") + "]", true
}

// scalarJSON formats a Python scalar as JSON (NaN and infinities as
// Python's json module writes them).
func scalarJSON(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "null", true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case *big.Int:
		return x.String(), true
	case float64:
		switch {
		case math.IsNaN(x):
			return "NaN", true
		case math.IsInf(x, 1):
			return "Infinity", true
		case math.IsInf(x, -1):
			return "-Infinity", true
		}
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case string:
		b, _ := json.Marshal(x)
		return string(b), true
	}
	return "", false
}

// describeValue names the Python type of an unpickled value for errors.
func describeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return "a str"
	case int, *big.Int:
		return "an int"
	case float64:
		return "a float"
	case bool:
		return "a bool"
	case *types.List:
		return "a list"
	case *types.Tuple:
		return "a tuple"
	case *tensorRef:
		return "a tensor"
	case *storage:
		return "a storage"
	case *types.GenericObject:
		return "an object of class " + x.Class.Module + "." + x.Class.Name
	}
	return fmt.Sprintf("a value of Go type %T", v)
}
