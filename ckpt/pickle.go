package ckpt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// This file holds the safe side of pickle: a scanner that checks a pickle's
// opcodes before anything is unpickled, the allowlist of globals, and the
// Go stand-ins for the few PyTorch callables a state dict needs. gopickle's
// Unpickler is an interpreter that never runs Python code, but by default it
// turns any unknown global into a generic object; here every global outside
// the allowlist stops the load with a ForbiddenGlobalError.

// ForbiddenGlobalError reports a pickle that refers to a Python global (a
// function or class) outside the allowlist of ReadTorch, such as os.system,
// builtins.eval or a model class like __main__.Generator. A global named by a
// GLOBAL or INST opcode is refused before unpickling starts; one built with
// the protocol-4 STACK_GLOBAL opcode when the unpickler reaches it, before
// anything can use it.
type ForbiddenGlobalError struct {
	// Module and Name spell the global as the pickle does ("posix", "system").
	Module, Name string
}

// Error names the global and says what to do about it.
func (e *ForbiddenGlobalError) Error() string {
	g := e.Module + "." + e.Name
	msg := fmt.Sprintf("pickle refers to forbidden global %s; only plain state dicts of tensors are read", g)
	if strings.HasPrefix(e.Module, "torch.nn.") || e.Module == "__main__" {
		msg += " (the file holds a pickled Python object such as a whole nn.Module: " +
			"re-save it with torch.save(model.state_dict(), path))"
	}
	return msg
}

// Allowlisted globals. Keys are "module.name".
var allowedGlobals = map[string]any{
	"collections.OrderedDict":                    &types.OrderedDictClass{},
	"torch._utils._rebuild_tensor":               rebuildTensor{name: "_rebuild_tensor", nargs: 4},
	"torch._utils._rebuild_tensor_v2":            rebuildTensor{name: "_rebuild_tensor_v2", nargs: 6},
	"torch._utils._rebuild_parameter":            rebuildParameter{},
	"torch._utils._rebuild_parameter_with_state": rebuildParameter{},
	"torch._tensor._rebuild_from_type_v2":        rebuildFromType{},
	"torch.Tensor":                               tensorType{},
	"torch.nn.parameter.Parameter":               tensorType{},
	"torch.Size":                                 sizeClass{},
	"torch.FloatStorage":                         storageClass{F32},
	"torch.HalfStorage":                          storageClass{F16},
	"torch.BFloat16Storage":                      storageClass{BF16},
	"torch.DoubleStorage":                        storageClass{F64},
	"torch.LongStorage":                          storageClass{I64},
	"torch.IntStorage":                           storageClass{I32},
	"torch.ShortStorage":                         storageClass{I16},
	"torch.CharStorage":                          storageClass{I8},
	"torch.ByteStorage":                          storageClass{U8},
	"torch.BoolStorage":                          storageClass{Bool},
	"_codecs.encode":                             codecsEncode{},
}

// AllowedGlobals returns, sorted, the Python globals ("module.name") that a
// pickle read by ReadTorch may refer to. Every other global is refused with a
// ForbiddenGlobalError.
func AllowedGlobals() []string {
	var names []string
	for k := range allowedGlobals {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// findClass resolves a global for the unpickler, refusing all but the
// allowlist.
func findClass(module, name string) (any, error) {
	if v, ok := allowedGlobals[module+"."+name]; ok {
		return v, nil
	}
	return nil, &ForbiddenGlobalError{Module: module, Name: name}
}

// maxPickle bounds the pickle of a checkpoint (tensor data lives outside it).
const maxPickle = 1 << 30

// scanPickle walks the opcodes of the pickle at the start of p without
// executing any of them and returns the pickle's length through its STOP
// opcode. It refuses unknown opcodes, arguments that run past the end of p
// (so that no length read from the file makes the unpickler allocate more
// than the file holds) and GLOBAL or INST opcodes that name a global outside
// the allowlist. Globals built with STACK_GLOBAL are checked by findClass.
func scanPickle(p []byte) (int, error) {
	i := 0
	need := func(n uint64) error {
		if n > uint64(len(p)-i) {
			return fmt.Errorf("pickle opcode at offset %d runs past the end of the data", i)
		}
		return nil
	}
	line := func() (string, error) {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			return "", fmt.Errorf("pickle opcode at offset %d: unterminated line", i)
		}
		s := string(p[i : i+j])
		i += j + 1
		return s, nil
	}
	le := binary.LittleEndian
	for i < len(p) {
		op := p[i]
		i++
		var n uint64 // fixed-size argument bytes, or length-prefixed data
		switch op {
		case '.': // STOP
			return i, nil
		case '(', '0', '1', '2', 'N', 'R', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 's', 't', ')', 'u', 'Q',
			'\x81', '\x85', '\x86', '\x87', '\x88', '\x89', '\x8f', '\x90', '\x91', '\x92', '\x93', '\x94':
			continue
		case '\x80', 'K', 'h', 'q', '\x82': // PROTO, BININT1, BINGET, BINPUT, EXT1
			n = 1
		case 'M', '\x83': // BININT2, EXT2
			n = 2
		case 'J', 'j', 'r', '\x84': // BININT, LONG_BINGET, LONG_BINPUT, EXT4
			n = 4
		case 'G', '\x95': // BINFLOAT, FRAME (the frame's opcodes follow inline)
			n = 8
		case 'F', 'I', 'L', 'P', 'S', 'V', 'g', 'p': // text argument
			if _, err := line(); err != nil {
				return 0, err
			}
			continue
		case 'c', 'i': // GLOBAL, INST
			module, err := line()
			if err != nil {
				return 0, err
			}
			name, err := line()
			if err != nil {
				return 0, err
			}
			if _, err := findClass(module, name); err != nil {
				return 0, err
			}
			continue
		case 'U', 'C', '\x8c', '\x8a': // SHORT_BINSTRING, SHORT_BINBYTES, SHORT_BINUNICODE, LONG1
			if err := need(1); err != nil {
				return 0, err
			}
			n = uint64(p[i]) + 1
			if op == '\x8a' && p[i] == 0 {
				return 0, fmt.Errorf("pickle opcode at offset %d: empty LONG1", i-1)
			}
		case 'T', 'X', 'B', '\x8b': // BINSTRING, BINUNICODE, BINBYTES, LONG4
			if err := need(4); err != nil {
				return 0, err
			}
			l := le.Uint32(p[i:])
			if op == 'T' && int32(l) < 0 || op == '\x8b' && int32(l) <= 0 {
				return 0, fmt.Errorf("pickle opcode at offset %d: bad length %d", i-1, int32(l))
			}
			n = uint64(l) + 4
		case '\x8d', '\x8e', '\x96': // BINUNICODE8, BINBYTES8, BYTEARRAY8
			if err := need(8); err != nil {
				return 0, err
			}
			l := le.Uint64(p[i:])
			if l > math.MaxInt32 {
				return 0, fmt.Errorf("pickle opcode at offset %d: length %d is too large", i-1, l)
			}
			n = l + 8
		default:
			return 0, fmt.Errorf("unknown pickle opcode 0x%02x at offset %d", op, i-1)
		}
		if err := need(n); err != nil {
			return 0, err
		}
		if op == '\x80' && p[i] > pickle.HighestProtocol {
			return 0, fmt.Errorf("unsupported pickle protocol %d", p[i])
		}
		i += int(n)
	}
	return 0, errors.New("pickle ends without a STOP opcode")
}

// unpickle scans and then loads the pickle at the start of p with the
// allowlist, and returns the value and the pickle's length. persistentLoad
// resolves persistent ids (nil refuses them).
func unpickle(p []byte, persistentLoad func(any) (any, error)) (v any, n int, err error) {
	if len(p) > maxPickle {
		p = p[:maxPickle]
	}
	n, err = scanPickle(p)
	if err != nil {
		return nil, 0, err
	}
	u := pickle.NewUnpickler(bytes.NewReader(p[:n]))
	u.FindClass = findClass
	u.PersistentLoad = persistentLoad
	if u.PersistentLoad == nil {
		u.PersistentLoad = func(any) (any, error) { return nil, errors.New("unexpected persistent id in pickle") }
	}
	defer func() {
		// gopickle indexes its stacks without checking on some malformed
		// input; report that as a bad file, not a crash.
		if r := recover(); r != nil {
			v, n, err = nil, 0, fmt.Errorf("malformed pickle: %v", r)
		}
	}()
	v, err = u.Load()
	if err != nil {
		return nil, 0, err
	}
	return v, n, nil
}

// storage is a typed PyTorch storage referenced by a persistent id. Its
// bytes are filled in by the container format (see torch.go).
type storage struct {
	dtype DType
	key   string
	numel int
	data  []byte // numel*dtype.Size() bytes once loaded
	// A legacy view of part of another storage: elements [offset, offset+numel) of base.
	base   *storage
	offset int
}

// storageClass is a torch.*Storage global; it only names a dtype.
type storageClass struct{ dtype DType }

// tensorRef is a tensor rebuilt from a pickle: a strided view of a storage,
// materialized once the storage bytes are available.
type tensorRef struct {
	st     *storage
	offset int
	size   []int
	stride []int
}

// rebuildTensor is torch._utils._rebuild_tensor(_v2): (storage,
// storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]]).
type rebuildTensor struct {
	name  string
	nargs int
}

// Call rebuilds a strided tensor view of a storage.
func (r rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < r.nargs || len(args) > r.nargs+1 {
		return nil, fmt.Errorf("%s: got %d arguments; want %d", r.name, len(args), r.nargs)
	}
	st, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("%s: argument 0 is %T, not a storage", r.name, args[0])
	}
	offset, ok := args[1].(int)
	if !ok || offset < 0 {
		return nil, fmt.Errorf("%s: bad storage offset %v", r.name, args[1])
	}
	size, err := intTuple(args[2])
	if err != nil {
		return nil, fmt.Errorf("%s: size: %w", r.name, err)
	}
	stride, err := intTuple(args[3])
	if err != nil {
		return nil, fmt.Errorf("%s: stride: %w", r.name, err)
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("%s: size %v and stride %v differ in length", r.name, size, stride)
	}
	n, ok := numElements(size)
	if !ok {
		return nil, fmt.Errorf("%s: invalid size %v", r.name, size)
	}
	if n > 0 {
		// The last element must lie inside the storage.
		last := offset
		for d := range size {
			if stride[d] < 0 {
				return nil, fmt.Errorf("%s: negative stride %v", r.name, stride)
			}
			step, ok := mulInt(size[d]-1, stride[d])
			if !ok || last > math.MaxInt-step {
				return nil, fmt.Errorf("%s: size %v and stride %v overflow", r.name, size, stride)
			}
			last += step
		}
		if last >= st.numel {
			return nil, fmt.Errorf("%s: view (offset %d, size %v, stride %v) reaches element %d of a storage of %d",
				r.name, offset, size, stride, last, st.numel)
		}
	}
	return &tensorRef{st: st, offset: offset, size: size, stride: stride}, nil
}

// intTuple converts a tuple (or torch.Size) of ints.
func intTuple(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("got %T; want a tuple of ints", v)
	}
	out := make([]int, t.Len())
	for i, e := range *t {
		n, ok := e.(int)
		if !ok || n < 0 {
			return nil, fmt.Errorf("element %d is %v; want a non-negative int", i, e)
		}
		out[i] = n
	}
	return out, nil
}

// rebuildParameter is torch._utils._rebuild_parameter(data, requires_grad,
// backward_hooks[, state]); a Parameter is its data.
type rebuildParameter struct{}

// Call returns the parameter's data tensor.
func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 3 || len(args) > 4 {
		return nil, fmt.Errorf("_rebuild_parameter: got %d arguments; want 3 or 4", len(args))
	}
	t, ok := args[0].(*tensorRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_parameter: data is %T, not a tensor", args[0])
	}
	return t, nil
}

// tensorType is torch.Tensor or torch.nn.parameter.Parameter as the type
// argument of _rebuild_from_type_v2.
type tensorType struct{}

// rebuildFromType is torch._tensor._rebuild_from_type_v2(func, type, args,
// state), used for tensors that carry Python state; the state is dropped.
type rebuildFromType struct{}

// Call calls the rebuild function on its arguments.
func (rebuildFromType) Call(args ...any) (any, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("_rebuild_from_type_v2: got %d arguments; want 4", len(args))
	}
	fn, ok := args[0].(types.Callable)
	if !ok {
		return nil, fmt.Errorf("_rebuild_from_type_v2: function is %T", args[0])
	}
	if _, ok := args[1].(tensorType); !ok {
		return nil, fmt.Errorf("_rebuild_from_type_v2: type is %T, not torch.Tensor or Parameter", args[1])
	}
	fargs, ok := args[2].(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("_rebuild_from_type_v2: arguments are %T, not a tuple", args[2])
	}
	v, err := fn.Call(*fargs...)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(*tensorRef); !ok {
		return nil, fmt.Errorf("_rebuild_from_type_v2: result is %T, not a tensor", v)
	}
	return v, nil
}

// sizeClass is torch.Size, a tuple of ints.
type sizeClass struct{}

// Call returns the tuple of sizes.
func (sizeClass) Call(args ...any) (any, error) {
	if len(args) == 0 {
		return types.NewTupleFromSlice(nil), nil
	}
	if len(args) == 1 {
		if t, ok := args[0].(*types.Tuple); ok {
			return t, nil
		}
		if l, ok := args[0].(*types.List); ok {
			return types.NewTupleFromSlice(*l), nil
		}
	}
	return nil, fmt.Errorf("torch.Size: unexpected arguments %v", args)
}

// codecsEncode is _codecs.encode(str, "latin1"), which protocol-2 pickles use
// for Python 3 bytes objects.
type codecsEncode struct{}

// Call returns the latin1 bytes of the string.
func (codecsEncode) Call(args ...any) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("_codecs.encode: got %d arguments; want 2", len(args))
	}
	s, ok1 := args[0].(string)
	enc, ok2 := args[1].(string)
	if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") {
		return nil, fmt.Errorf("_codecs.encode: unsupported arguments %q", args)
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, errors.New("_codecs.encode: character outside latin1")
		}
		b = append(b, byte(r))
	}
	return b, nil
}

// asInt converts a pickled int (which may be a *big.Int) to int.
func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case *big.Int:
		if x.IsInt64() && x.Int64() >= math.MinInt && x.Int64() <= math.MaxInt {
			return int(x.Int64()), true
		}
	}
	return 0, false
}
