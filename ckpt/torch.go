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
// Hostile files are bounded as the package documentation states (memory,
// time, and the limits on pickles, names and metadata). Only the elements of
// a storage that its tensors view are read. Zip records stored uncompressed
// (as torch.save writes them) are checked against their CRC-32; a
// compressed record is checked when it is read to its end. Errors name the
// file.
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
	sd, err := readTorch(f, fi.Size(), readBudget(fi.Size()))
	if err != nil {
		return nil, &fs.PathError{Op: "read torch checkpoint", Path: path, Err: err}
	}
	return sd, nil
}

// readTorch reads a torch.save file of the given size from r, within b.
func readTorch(r io.ReaderAt, size int64, b *budget) (*StateDict, error) {
	var head [512]byte
	n, _ := r.ReadAt(head[:], 0)
	switch {
	case bytes.HasPrefix(head[:n], []byte("PK\x03\x04")):
		return readTorchZip(r, size, b)
	case isTar(head[:n]):
		return nil, errors.New("tar-format PyTorch file (PyTorch 0.1) is not supported; " + resaveHint)
	default:
		return readTorchLegacy(r, size, b)
	}
}

// isTar reports whether head starts a POSIX tar archive.
func isTar(head []byte) bool {
	return len(head) >= 263 && string(head[257:262]) == "ustar"
}

// zipEntryCharge is the memory charged per zip entry on top of its name:
// archive/zip's File (about 300 bytes) and the map entry.
const zipEntryCharge = 512

// readTorchZip reads the zip format.
func readTorchZip(r io.ReaderAt, size int64, b *budget) (*StateDict, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("bad zip archive: %w", err)
	}
	// archive/zip has read the central directory, which lies in the file:
	// charge what it took.
	for _, f := range zr.File {
		if err := b.take(zipEntryCharge+2*int64(len(f.Name)+len(f.Extra)+len(f.Comment)), "zip directory"); err != nil {
			return nil, err
		}
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
		bo, err := readRecord(f, 0, 16, b)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(bo)); s != "little" {
			return nil, fmt.Errorf("byte order %s is not supported", quoteShort(s))
		}
	}
	if pkl.UncompressedSize64 > maxPickle {
		return nil, fmt.Errorf("record %s is too large (%d bytes; a pickle may have %d)", pkl.Name, pkl.UncompressedSize64, maxPickle)
	}
	p, err := readRecord(pkl, 0, int64(pkl.UncompressedSize64), b)
	if err != nil {
		return nil, err
	}
	storages := map[string]*storage{}
	persistentLoad := func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() != 5 || t.Get(0) != "storage" {
			return nil, fmt.Errorf("unexpected persistent id: %s", describeValue(id))
		}
		return newStorage(storages, b, t.Get(1), t.Get(2), t.Get(4))
	}
	root, _, err := unpickle(p, b, persistentLoad)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	p = nil
	load := func(st *storage, lo, hi int) error {
		name := prefix + "data/" + st.key
		f := files[name]
		if f == nil {
			return fmt.Errorf("storage %s: record %s is missing", quoteShort(st.key), quoteShort(name))
		}
		es := st.dtype.Size()
		nbytes := st.numel * es
		if f.UncompressedSize64 != uint64(nbytes) {
			return fmt.Errorf("storage %s: record %s has %d bytes; %d %s elements need %d",
				quoteShort(st.key), quoteShort(name), f.UncompressedSize64, st.numel, st.dtype, nbytes)
		}
		st.data, err = readRecord(f, int64(lo*es), int64(hi*es), b)
		st.lo = lo
		return err
	}
	return buildStateDict(root, load, b, int64(len(p)))
}

// readRecord returns bytes [from, to) of a zip record, charging b with the
// bytes kept (memory) and the bytes streamed (time). A record stored
// uncompressed, as torch.save writes them, is read to its end and checked
// against its CRC-32 (its bytes lie in the file, so this costs no more than
// reading the file); a compressed record is inflated only as far as to, and
// checked when that is its end.
func readRecord(f *zip.File, from, to int64, b *budget) ([]byte, error) {
	size := int64(f.UncompressedSize64)
	if f.UncompressedSize64 > math.MaxInt64/2 || from < 0 || from > to || to > size {
		return nil, fmt.Errorf("record %s: bad range [%d, %d) of %d bytes", quoteShort(f.Name), from, to, f.UncompressedSize64)
	}
	stream := to
	if f.Method == zip.Store {
		stream = size
	}
	if err := b.inflate(stream, "record "+quoteShort(f.Name)); err != nil {
		return nil, err
	}
	// The flate reader's window and buffers, and the bytes kept.
	if err := b.take(64<<10+(to-from), "record "+quoteShort(f.Name)); err != nil {
		return nil, err
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", quoteShort(f.Name), err)
	}
	defer rc.Close()
	out := make([]byte, to-from)
	if _, err = io.CopyN(io.Discard, rc, from); err == nil {
		_, err = io.ReadFull(rc, out)
	}
	if err == nil && stream == size {
		// Reading to the end makes archive/zip verify the CRC-32.
		if _, err = io.CopyN(io.Discard, rc, size-to); err == nil {
			var one [1]byte
			if m, e := rc.Read(one[:]); m != 0 || e != io.EOF {
				if e == nil || e == io.EOF {
					e = errors.New("record is longer than its header says")
				}
				err = e
			}
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", quoteShort(f.Name), err)
	}
	return out, nil
}

// newStorage returns the storage with the given key, creating it on first
// use from a persistent id's class and element count.
// Looking the key up hashes it, and a pickle may name one storage many
// times: b is charged with the key each time, and with the new storage.
func newStorage(storages map[string]*storage, b *budget, class, key, numel any) (*storage, error) {
	sc, ok := class.(storageClass)
	if !ok {
		return nil, fmt.Errorf("persistent id: storage type is %s, not a torch storage class", describeValue(class))
	}
	k, ok := key.(string)
	if !ok {
		return nil, fmt.Errorf("persistent id: storage key is %s, not a string", describeValue(key))
	}
	if err := b.redo(int64(len(k)), "storage key"); err != nil {
		return nil, err
	}
	n, ok := asInt(numel)
	if !ok || n < 0 {
		return nil, fmt.Errorf("storage %s: size is %s, not a non-negative int", quoteShort(k), describeValue(numel))
	}
	if _, ok := mulInt(n, sc.dtype.Size()); !ok {
		return nil, fmt.Errorf("storage %s: size %d is too large", quoteShort(k), n)
	}
	if st := storages[k]; st != nil {
		if st.dtype != sc.dtype || st.numel != n {
			return nil, fmt.Errorf("storage %s is used as %d %s and as %d %s elements", quoteShort(k), st.numel, st.dtype, n, sc.dtype)
		}
		return st, nil
	}
	if err := b.take(256+int64(len(k)), "storage"); err != nil {
		return nil, err
	}
	st := &storage{dtype: sc.dtype, key: k, numel: n}
	storages[k] = st
	return st, nil
}

// readTorchLegacy reads the legacy (non-zip) format.
func readTorchLegacy(r io.ReaderAt, size int64, bud *budget) (*StateDict, error) {
	// Check the magic number before reading the whole file.
	if err := bud.take(min(size, 1<<20), "legacy file head"); err != nil {
		return nil, err
	}
	head := make([]byte, min(size, 1<<20))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, err
	}
	magic, off, err := unpickle(head, bud, nil)
	if fg, le := (*ForbiddenGlobalError)(nil), (limitError{}); errors.As(err, &fg) || errors.As(err, &le) {
		return nil, err
	}
	if m, ok := magic.(*big.Int); err != nil || !ok || m.Cmp(legacyMagic) != 0 {
		return nil, errors.New("not a PyTorch checkpoint: neither a zip archive nor a legacy file with the torch.save magic number")
	}
	b := head
	if int64(len(b)) < size {
		if err := bud.take(size, "legacy file"); err != nil {
			return nil, err
		}
		b = make([]byte, size)
		if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
			return nil, err
		}
	}
	next := func(what string, pl func(any) (any, error)) (any, error) {
		v, n, err := unpickle(b[off:], bud, pl)
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
		return nil, fmt.Errorf("legacy format: protocol version %s is not supported; %s", describeValue(proto), resaveHint)
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
			return nil, fmt.Errorf("unexpected persistent id: %s", describeValue(id))
		}
		switch t.Get(0) {
		case "storage":
		case "module":
			return nil, errors.New("file holds pickled nn.Module source (a whole model); " +
				"re-save it with torch.save(model.state_dict(), path)")
		default:
			return nil, fmt.Errorf("unexpected persistent id: a tuple of %s", describeValue(t.Get(0)))
		}
		if t.Len() != 6 {
			return nil, fmt.Errorf("unexpected persistent id: a storage tuple of %d items", t.Len())
		}
		st, err := newStorage(storages, bud, t.Get(1), t.Get(2), t.Get(4))
		if err != nil || t.Get(5) == nil {
			return st, err
		}
		// A view of part of the storage, from PyTorch before 1.0.
		vm, ok := t.Get(5).(*types.Tuple)
		if !ok || vm.Len() != 3 {
			return nil, fmt.Errorf("storage %s: view metadata is %s, not a 3-tuple", quoteShort(st.key), describeValue(t.Get(5)))
		}
		vkey, ok1 := vm.Get(0).(string)
		voff, ok2 := asInt(vm.Get(1))
		vsize, ok3 := asInt(vm.Get(2))
		if !ok1 || !ok2 || !ok3 || voff < 0 || vsize < 0 || voff > st.numel || vsize > st.numel-voff {
			return nil, fmt.Errorf("storage %s: bad view metadata (key %s, offset %s, size %s)", quoteShort(st.key),
				describeValue(vm.Get(0)), describeValue(vm.Get(1)), describeValue(vm.Get(2)))
		}
		if err := bud.redo(int64(len(vkey)), "storage view key"); err != nil {
			return nil, err
		}
		if v := views[vkey]; v != nil {
			if v.base != st || v.offset != voff || v.numel != vsize {
				return nil, fmt.Errorf("storage view %s is defined twice", quoteShort(vkey))
			}
			return v, nil
		}
		if err := bud.take(256+int64(len(vkey)), "storage view"); err != nil {
			return nil, err
		}
		v := &storage{dtype: st.dtype, key: vkey, numel: vsize, base: st, offset: voff}
		views[vkey] = v
		return v, nil
	}
	pickleStart := off
	root, err := next("pickle", persistentLoad)
	if err != nil {
		return nil, err
	}
	pickleLen := int64(off - pickleStart)
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
		if err := bud.redo(int64(len(k)), "storage keys"); err != nil {
			return nil, err
		}
		st := storages[k]
		if st == nil {
			return nil, fmt.Errorf("legacy format: storage key %s is not used by the pickle", describeValue(kv))
		}
		if st.data != nil {
			return nil, fmt.Errorf("legacy format: storage %s is listed twice", quoteShort(k))
		}
		if len(b)-off < 8 {
			return nil, fmt.Errorf("legacy format: storage %s: file ends before its size", quoteShort(k))
		}
		n := int64(binary.LittleEndian.Uint64(b[off:]))
		off += 8
		if n != int64(st.numel) {
			return nil, fmt.Errorf("legacy format: storage %s has %d elements; the pickle says %d", quoteShort(k), n, st.numel)
		}
		nbytes := st.numel * st.dtype.Size()
		if nbytes > len(b)-off {
			return nil, fmt.Errorf("legacy format: storage %s: file ends after %d of its %d bytes", quoteShort(k), len(b)-off, nbytes)
		}
		st.data = b[off : off+nbytes : off+nbytes]
		off += nbytes
	}
	load := func(st *storage, lo, hi int) error {
		return fmt.Errorf("legacy format: storage %s has no data in the file", quoteShort(st.key))
	}
	return buildStateDict(root, load, bud, pickleLen)
}

// base returns the storage whose bytes st holds, and the element of it where
// st starts (st itself and 0, unless st is a legacy view).
func (st *storage) root() (*storage, int) {
	if st.base != nil {
		return st.base, st.offset
	}
	return st, 0
}

// span returns the elements [lo, hi) of its root storage that a tensor with
// elements views (rebuildTensor checked that they lie inside it).
func (t *tensorRef) span() (lo, hi int) {
	_, off := t.st.root()
	last := t.offset
	for d := range t.size {
		last += (t.size[d] - 1) * t.stride[d]
	}
	return off + t.offset, off + last + 1
}

// materialize copies the strided view t into a contiguous row-major tensor,
// from the bytes its root storage holds (elements from root.lo on).
func materialize(t *tensorRef) (*Tensor, error) {
	root, off := t.st.root()
	dt := t.st.dtype
	es := dt.Size()
	n, _ := numElements(t.size) // checked by rebuildTensor
	var raw []byte
	if n > 0 {
		start := (off + t.offset - root.lo) * es
		if isContiguous(t.size, t.stride) {
			raw = root.data[start : start+n*es]
		} else {
			raw = make([]byte, n*es)
			gather(raw, root.data[start:], es, 0, t.size, t.stride)
		}
	}
	return decodeTensor(dt, append([]int(nil), t.size...), raw)
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
// values (shared references make a small pickle a huge tree; each element of
// a list rendered as metadata counts), names may be maxName bytes long, and
// the names and metadata kept may take 8 times the pickle's size plus 1 MiB
// (metaBudget). Tensors and storages are charged to the read's budget.
const (
	maxDepth = 100
	maxSteps = 1_000_000
	maxName  = 4096
)

// metaBudget returns the bytes of names and metadata that a pickle of n bytes
// may give: each of its opcodes renders to a few bytes at most ("null," for
// the 1-byte None, up to 6 bytes per byte of a string of control characters
// written as JSON), unless it refers to a value again.
func metaBudget(n int64) int64 { return 8*n + 1<<20 }

// buildStateDict finds the state dict in an unpickled checkpoint (see
// ReadTorch), loads the storages its tensors view with load (elements [lo,
// hi) of each, the union of the views), and materializes the tensors,
// charging b. pickleLen is the size of the pickle, for metaBudget.
func buildStateDict(root any, load func(st *storage, lo, hi int) error, b *budget, pickleLen int64) (*StateDict, error) {
	entries, ok := dictEntries(root)
	if !ok {
		if _, ok := root.(*tensorRef); ok {
			return nil, errors.New("file holds a single tensor, not a state dict")
		}
		return nil, fmt.Errorf("file holds %s, not a dict of tensors", describeValue(root))
	}
	limit := metaBudget(pickleLen)
	fl := &flattener{sd: NewStateDict(), seen: map[string]bool{}, b: b, metaLeft: limit, metaLimit: limit}
	var err error
	switch inner := findWrapped(entries); {
	case hasTensorValue(entries) || inner == nil:
		err = fl.walk("", root, 0)
	default:
		err = fl.walk("", inner, 0)
		for _, e := range entries {
			if err != nil {
				break
			}
			if e.value == inner {
				continue
			}
			if k, ok := e.key.(string); ok {
				var s string
				if s, ok, err = fl.metadata(k, e.value); ok && err == nil {
					err = fl.keep(k, s)
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
	// The elements of each storage that the tensors view.
	type span struct{ lo, hi int }
	spans := map[*storage]span{}
	var order []*storage
	for _, ref := range fl.refs {
		st, _ := ref.st.root()
		sp, seen := spans[st]
		if !seen {
			order = append(order, st)
			sp = span{-1, -1}
		}
		if n, _ := numElements(ref.size); n > 0 {
			lo, hi := ref.span()
			if sp.lo < 0 {
				sp = span{lo, hi}
			} else {
				sp = span{min(sp.lo, lo), max(sp.hi, hi)}
			}
		}
		spans[st] = sp
	}
	for _, st := range order {
		if st.data != nil {
			continue // a legacy storage, read with the file
		}
		sp := spans[st]
		if sp.lo < 0 {
			sp = span{0, 0} // viewed by empty tensors only: check the record, read nothing
		}
		if err := load(st, sp.lo, sp.hi); err != nil {
			return nil, err
		}
	}
	for i, ref := range fl.refs {
		n, _ := numElements(ref.size)
		held := int64(n) * 8
		if ref.st.dtype.IsFloat() {
			held = int64(n) * 4
		}
		if !isContiguous(ref.size, ref.stride) {
			held += int64(n * ref.st.dtype.Size())
		}
		if err := b.take(held+128, "tensor "+quoteShort(fl.names[i])); err != nil {
			return nil, err
		}
		t, err := materialize(ref)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", quoteShort(fl.names[i]), err)
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
// dotted names, within the limits above.
type flattener struct {
	sd    *StateDict
	names []string
	refs  []*tensorRef
	seen  map[string]bool
	steps int
	b     *budget
	// metaLeft is what names and metadata values may still take (bytes).
	metaLeft, metaLimit int64
}

// step counts one value visited or rendered.
func (fl *flattener) step() error {
	if fl.steps++; fl.steps > maxSteps {
		return fmt.Errorf("checkpoint has more than %d values", maxSteps)
	}
	return nil
}

// keep stores a metadata value under name, within metaBudget.
func (fl *flattener) keep(name, value string) error {
	n := int64(len(name) + len(value))
	if n > fl.metaLeft {
		return fmt.Errorf("%s: the names and metadata take more than %d bytes (8 times the pickle plus 1 MiB; a value referenced many times?)",
			nameOrRoot(name), fl.metaLimit)
	}
	fl.metaLeft -= n
	if err := fl.b.take(2*n+64, "metadata"); err != nil {
		return err
	}
	fl.sd.Metadata[name] = value
	return nil
}

func (fl *flattener) walk(name string, v any, depth int) error {
	if err := fl.step(); err != nil {
		return err
	}
	if depth > maxDepth {
		return fmt.Errorf("%s: containers nest more than %d deep (or contain themselves)", nameOrRoot(name), maxDepth)
	}
	if len(name) > maxName {
		return fmt.Errorf("%s: name of %d bytes exceeds the limit of %d", nameOrRoot(name), len(name), maxName)
	}
	if err := fl.b.take(int64(len(name))+64, "checkpoint names"); err != nil {
		return err
	}
	if entries, ok := dictEntries(v); ok {
		if err := fl.b.take(int64(32*len(entries))+64, "checkpoint dicts"); err != nil {
			return err
		}
		for _, e := range entries {
			k, ok := keyString(e.key)
			if !ok {
				return fmt.Errorf("%s: unsupported dict key %s", nameOrRoot(name), describeValue(e.key))
			}
			if len(k) > maxName {
				return fmt.Errorf("%s: dict key of %d bytes exceeds the limit of %d", nameOrRoot(name), len(k), maxName)
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
			return fmt.Errorf("duplicate tensor name %s", quoteShort(name))
		}
		if n := int64(len(name)); n > fl.metaLeft {
			return fmt.Errorf("%s: the names and metadata take more than %d bytes", nameOrRoot(name), fl.metaLimit)
		} else {
			fl.metaLeft -= n
		}
		fl.seen[name] = true
		fl.names = append(fl.names, name)
		fl.refs = append(fl.refs, x)
		return nil
	case *types.List, *types.Tuple:
		s, ok, err := fl.metadata(name, v)
		if err != nil {
			return err
		}
		if ok {
			return fl.keep(name, s)
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
	s, ok, err := fl.metadata(name, v)
	if err != nil {
		return err
	}
	if ok {
		return fl.keep(name, s)
	}
	return fmt.Errorf("%s: unsupported value %s", nameOrRoot(name), describeValue(v))
}

// metadata formats a scalar, or a list or tuple of scalars, as the metadata
// value of name (see metadataString), counting each element rendered as a
// step and stopping once the rendering outgrows what may still be kept. It
// returns false for other values.
func (fl *flattener) metadata(name string, v any) (string, bool, error) {
	var elems []any
	switch x := v.(type) {
	case *types.List:
		elems = *x
	case *types.Tuple:
		elems = *x
	default:
		s, ok := metadataString(v)
		return s, ok, nil
	}
	for _, e := range elems {
		if _, ok := scalarJSON(e, 0); !ok {
			return "", false, nil
		}
	}
	var out strings.Builder
	out.WriteByte('[')
	for i, e := range elems {
		if err := fl.step(); err != nil {
			return "", false, err
		}
		room := fl.metaLeft - int64(len(name)) - int64(out.Len())
		j, _ := scalarJSON(e, room)
		if int64(len(j)+1) > room {
			return "", false, fmt.Errorf("%s: the names and metadata take more than %d bytes (8 times the pickle plus 1 MiB; a value referenced many times?)",
				nameOrRoot(name), fl.metaLimit)
		}
		// json.Marshal's buffers and copy, and the builder's growth
		// (measured: about 5 bytes per byte rendered).
		if err := fl.b.take(6*int64(len(j))+64, "metadata"); err != nil {
			return "", false, err
		}
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString(j)
	}
	out.WriteByte(']')
	return out.String(), true, nil
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
	return quoteShort(name)
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
// metadata value: a str as it is, other scalars and lists as JSON. It does
// not bound its work; the walk uses flattener.metadata.
func metadataString(v any) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	if j, ok := scalarJSON(v, math.MaxInt64); ok {
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
		j, ok := scalarJSON(e, math.MaxInt64)
		if !ok {
			return "", false
		}
		parts[i] = j
	}
	return "[" + strings.Join(parts, ",") + "]", true
}

// scalarJSON formats a Python scalar as JSON (NaN and infinities as
// Python's json module writes them). A string longer than room bytes is not
// rendered: the result is only as long as the string (and too long).
func scalarJSON(v any, room int64) (string, bool) {
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
		if int64(len(x)) > room {
			return x, true
		}
		b, _ := json.Marshal(x)
		return string(b), true
	}
	return "", false
}

// quoteShort quotes s for an error message, cut to 64 bytes.
func quoteShort(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return strconv.Quote(s)
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
