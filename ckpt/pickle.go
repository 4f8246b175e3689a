package ckpt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
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

// classFinder is findClass for one read: the callables whose work grows
// with their arguments charge b.
func classFinder(b *budget) func(module, name string) (any, error) {
	return func(module, name string) (any, error) {
		v, err := findClass(module, name)
		if _, ok := v.(codecsEncode); ok {
			v = codecsEncode{b: b}
		}
		return v, err
	}
}

// maxPickle bounds the pickle of a checkpoint (tensor data lives outside it).
const maxPickle = 1 << 30

// Bounds that verifyPickle puts on a pickle, beside its budget.
const (
	// maxLongBytes bounds a LONG4 integer (8192 bits); decoding a long
	// integer takes time quadratic in its length.
	maxLongBytes = 1024
	// maxNumberText bounds the text argument of INT, LONG, FLOAT, GET and
	// PUT: 4300 digits, Python's own limit on int-from-string conversion.
	maxNumberText = 4300
	// maxBuilds bounds the BUILD opcodes, each of which may hash all the
	// keys of a state dict again (torch.save writes one per state dict).
	maxBuilds = 100
)

// Memory charged per opcode, in bytes: gopickle v0.2.0 allocates (in all,
// counting the garbage of slices grown by append) up to about 330 bytes per
// value pushed (the stack slot, boxing, the growth of the stack and of the
// container it ends in), 390 more for a MARK (a fresh stack), 470 for an
// empty dict, 400 for an empty list. TestPickleChargesCoverAllocation checks
// that these charges cover what the unpickler allocates.
const (
	opCharge    = 384
	markCharge  = 256 + opCharge
	dictCharge  = 128 + opCharge
	listCharge  = 128 + opCharge // EMPTY_LIST, EMPTY_SET
	frozenExtra = 256            // FROZENSET builds a map of its items
	// unpicklerCharge is a new Unpickler: a memo map sized for 384 entries.
	unpicklerCharge = 32 << 10
)

// pval is what verifyPickle knows of a value on the pickle stack: whether it
// is a str or bytes, and where its bytes are in the pickle.
type pval struct {
	kind byte // 's' str, 'b' bytes, 0 anything else
	off  int  // a str's or bytes' data is p[off : off+n]
	n    int
}

// verifyPickle checks the pickle at the start of p without executing it and
// returns its length through its STOP opcode. It walks the opcodes with a
// model of the unpickler's stack and memo that knows only which values are
// strings, and refuses
//
//   - unknown opcodes and opcodes the unpickler would fail on (a stack or
//     mark underflow, a memo or mark misuse);
//   - arguments that run past the end of p, before anything is allocated:
//     a FRAME, BINUNICODE8, BINBYTES8 or SHORT_BINSTRING longer than what
//     remains is refused, whatever length it declares;
//   - integers longer than maxLongBytes (LONG4) or maxNumberText digits
//     (LONG text), and text numbers longer than maxNumberText;
//   - globals outside the allowlist, named by GLOBAL, INST or STACK_GLOBAL
//     (whose module and name must be strings of the pickle);
//   - more than maxBuilds BUILD opcodes.
//
// It charges b with what unpickling will allocate (see opCharge) and with the
// bytes of every str or bytes value referenced again by GET or DUP (which the
// unpickler and the state-dict walk may hash, encode or render once more).
func verifyPickle(p []byte, b *budget) (int, error) {
	var (
		stack  []pval
		marks  []int // stack heights at each MARK
		memo   = map[uint64]pval{}
		builds int
		i      int
		op     byte
		at     int // offset of the current opcode
	)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("pickle opcode 0x%02x at offset %d: %s", op, at, fmt.Sprintf(format, args...))
	}
	need := func(n uint64) error {
		if n > uint64(len(p)-i) {
			return limitError{fail("its %d bytes run past the end of the data (%d bytes left)", n, len(p)-i)}
		}
		return nil
	}
	line := func(limit int) (int, int, error) {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			return 0, 0, fail("unterminated line")
		}
		if limit > 0 && j > limit {
			return 0, 0, limitError{fail("text argument of %d bytes exceeds the limit of %d", j, limit)}
		}
		off := i
		i += j + 1
		return off, j, b.take(int64(5*j), "pickle text argument")
	}
	base := func() int {
		if len(marks) == 0 {
			return 0
		}
		return marks[len(marks)-1]
	}
	pop := func(k int) error {
		if len(stack)-base() < k {
			return fail("the stack is empty")
		}
		stack = stack[:len(stack)-k]
		return nil
	}
	popMark := func() error {
		if len(marks) == 0 {
			return fail("no MARK to pop to")
		}
		stack = stack[:marks[len(marks)-1]]
		marks = marks[:len(marks)-1]
		return nil
	}
	push := func(v pval) { stack = append(stack, v) }
	other := pval{}
	le := binary.LittleEndian
	for i < len(p) {
		at, op = i, p[i]
		i++
		charge := int64(opCharge)
		var err error
		switch op {
		case '.': // STOP
			if err := pop(1); err != nil {
				return 0, err
			}
			return i, b.take(charge, "pickle")
		case '(': // MARK
			marks = append(marks, len(stack))
			charge = markCharge
		case 'N', '\x88', '\x89', ')': // NONE, TRUE, FALSE, EMPTY_TUPLE
			push(other)
		case ']', '\x8f': // EMPTY_LIST, EMPTY_SET
			push(other)
			charge = listCharge
		case '}': // EMPTY_DICT
			push(other)
			charge = dictCharge
		case '0': // POP (of a MARK when the stack above it is empty, as gopickle does)
			if len(stack) == base() {
				err = popMark()
			} else {
				err = pop(1)
			}
		case '1': // POP_MARK
			err = popMark()
		case '2': // DUP
			if len(stack) == base() {
				return 0, fail("the stack is empty")
			}
			v := stack[len(stack)-1]
			push(v)
			err = b.redo(int64(v.n), "pickle DUP")
		case 'R', '\x93': // REDUCE, STACK_GLOBAL: two values to one
			if op == '\x93' {
				if len(stack)-base() < 2 {
					return 0, fail("the stack is empty")
				}
				m, n := stack[len(stack)-2], stack[len(stack)-1]
				if m.kind != 's' || n.kind != 's' {
					return 0, fail("STACK_GLOBAL module and name are not strings of the pickle")
				}
				if _, err := findClass(string(p[m.off:m.off+m.n]), string(p[n.off:n.off+n.n])); err != nil {
					return 0, err
				}
			}
			if err = pop(2); err == nil {
				push(other)
			}
		case 'Q', '\x85': // BINPERSID, TUPLE1: one value to one
			if err = pop(1); err == nil {
				push(other)
			}
		case '\x86', '\x81', 'a': // TUPLE2, NEWOBJ, APPEND: two to one
			if err = pop(2); err == nil {
				push(other)
			}
		case '\x87', '\x92': // TUPLE3, NEWOBJ_EX: three to one
			if err = pop(3); err == nil {
				push(other)
			}
		case 's': // SETITEM: the dict stays
			if err = pop(2); err == nil && len(stack) == base() {
				err = fail("the stack is empty")
			}
		case 'b': // BUILD: the object stays
			if builds++; builds > maxBuilds {
				return 0, limitError{fail("more than %d BUILD opcodes", maxBuilds)}
			}
			if err = pop(1); err == nil && len(stack) == base() {
				err = fail("the stack is empty")
			}
		case 't', 'l', 'd', '\x91', 'o': // TUPLE, LIST, DICT, FROZENSET, OBJ: the items since MARK to one
			if op == 'd' {
				charge = dictCharge
				if (len(stack)-base())%2 != 0 {
					return 0, fail("DICT of an odd number of items")
				}
			}
			if op == '\x91' {
				charge += frozenExtra
			}
			if err = popMark(); err == nil {
				push(other)
			}
		case 'e', 'u', '\x90': // APPENDS, SETITEMS, ADDITEMS: the items since MARK into the container below
			if op == 'u' && (len(stack)-base())%2 != 0 {
				return 0, fail("SETITEMS of an odd number of items")
			}
			if err = popMark(); err == nil {
				if err = pop(1); err == nil {
					push(other)
				}
			}
		case 'p', 'q', 'r', '\x94': // PUT, BINPUT, LONG_BINPUT, MEMOIZE
			var k uint64
			switch op {
			case 'p':
				off, n, err := line(maxNumberText)
				if err != nil {
					return 0, err
				}
				v, perr := strconv.ParseUint(string(p[off:off+n]), 10, 63)
				if perr != nil {
					return 0, fail("bad PUT index %.20q", p[off:off+n])
				}
				k = v
			case 'q':
				if err := need(1); err != nil {
					return 0, err
				}
				k = uint64(p[i])
				i++
			case 'r':
				if err := need(4); err != nil {
					return 0, err
				}
				k = uint64(le.Uint32(p[i:]))
				i += 4
			case '\x94':
				k = uint64(len(memo))
			}
			if len(stack) == base() {
				return 0, fail("the stack is empty")
			}
			memo[k] = stack[len(stack)-1]
		case 'g', 'h', 'j': // GET, BINGET, LONG_BINGET
			var k uint64
			switch op {
			case 'g':
				off, n, err := line(maxNumberText)
				if err != nil {
					return 0, err
				}
				v, perr := strconv.ParseUint(string(p[off:off+n]), 10, 63)
				if perr != nil {
					return 0, fail("bad GET index %.20q", p[off:off+n])
				}
				k = v
			case 'h':
				if err := need(1); err != nil {
					return 0, err
				}
				k = uint64(p[i])
				i++
			case 'j':
				if err := need(4); err != nil {
					return 0, err
				}
				k = uint64(le.Uint32(p[i:]))
				i += 4
			}
			v := memo[k] // gopickle pushes None for a missing entry
			push(v)
			err = b.redo(int64(v.n), "pickle memo reference")
		case '\x80': // PROTO
			if err := need(1); err != nil {
				return 0, err
			}
			if p[i] > pickle.HighestProtocol {
				return 0, fmt.Errorf("unsupported pickle protocol %d", p[i])
			}
			i++
		case '\x95': // FRAME: its opcodes follow inline; the unpickler copies them
			if err := need(8); err != nil {
				return 0, err
			}
			n := le.Uint64(p[i:])
			i += 8
			if err := need(n); err != nil {
				return 0, limitError{fail("FRAME of %d bytes is longer than the %d bytes left", n, len(p)-i)}
			}
			charge += int64(n)
		case 'K', 'M', 'J', 'G': // BININT1, BININT2, BININT, BINFLOAT
			n := map[byte]uint64{'K': 1, 'M': 2, 'J': 4, 'G': 8}[op]
			if err := need(n); err != nil {
				return 0, err
			}
			i += int(n)
			push(other)
		case 'I', 'F', 'L': // INT, FLOAT, LONG as text
			if _, _, err := line(maxNumberText); err != nil {
				return 0, err
			}
			push(other)
		case 'S', 'V', 'P': // STRING (quoted), UNICODE (raw), PERSID
			off, n, err := line(0)
			if err != nil {
				return 0, err
			}
			switch op {
			case 'S':
				if n < 2 {
					return 0, fail("STRING argument is not quoted")
				}
				push(pval{kind: 's', off: off + 1, n: n - 2})
			case 'V':
				push(pval{kind: 's', off: off, n: n})
			default:
				push(other)
			}
		case 'c', 'i': // GLOBAL, INST
			moff, mn, err := line(0)
			if err != nil {
				return 0, err
			}
			noff, nn, err := line(0)
			if err != nil {
				return 0, err
			}
			if _, err := findClass(string(p[moff:moff+mn]), string(p[noff:noff+nn])); err != nil {
				return 0, err
			}
			if op == 'i' {
				if err := popMark(); err != nil {
					return 0, err
				}
			}
			push(other)
		case '\x8a': // LONG1
			if err := need(1); err != nil {
				return 0, err
			}
			n := uint64(p[i])
			if n == 0 {
				return 0, fail("empty LONG1")
			}
			i++
			if err := need(n); err != nil {
				return 0, err
			}
			i += int(n)
			charge += int64(4 * n)
			push(other)
		case '\x8b': // LONG4
			if err := need(4); err != nil {
				return 0, err
			}
			n := int32(le.Uint32(p[i:]))
			i += 4
			if n <= 0 {
				return 0, fail("bad length %d", n)
			}
			if n > maxLongBytes {
				return 0, limitError{fail("integer of %d bytes exceeds the limit of %d", n, maxLongBytes)}
			}
			if err := need(uint64(n)); err != nil {
				return 0, err
			}
			i += int(n)
			charge += int64(4 * n)
			push(other)
		case 'U', 'C', '\x8c', 'T', 'X', 'B', '\x8d', '\x8e', '\x96':
			// Length-prefixed str and bytes: SHORT_BINSTRING, SHORT_BINBYTES,
			// SHORT_BINUNICODE (1-byte length), BINSTRING, BINUNICODE,
			// BINBYTES (4 bytes), BINUNICODE8, BINBYTES8, BYTEARRAY8 (8 bytes).
			var w uint64 = 1
			switch op {
			case 'T', 'X', 'B':
				w = 4
			case '\x8d', '\x8e', '\x96':
				w = 8
			}
			if err := need(w); err != nil {
				return 0, err
			}
			var n uint64
			switch w {
			case 1:
				n = uint64(p[i])
			case 4:
				n = uint64(le.Uint32(p[i:]))
				if op == 'T' && int32(n) < 0 {
					return 0, fail("bad length %d", int32(n))
				}
			case 8:
				n = le.Uint64(p[i:])
			}
			i += int(w)
			if err := need(n); err != nil {
				return 0, err
			}
			v := pval{kind: 's', off: i, n: int(n)}
			if op == 'C' || op == 'B' || op == '\x8e' || op == '\x96' {
				v.kind = 'b'
			}
			i += int(n)
			charge += 2 * int64(n)
			push(v)
		default:
			return 0, fmt.Errorf("unknown pickle opcode 0x%02x at offset %d", op, at)
		}
		if err != nil {
			return 0, err
		}
		if err := b.take(charge, "pickle"); err != nil {
			return 0, err
		}
	}
	return 0, errors.New("pickle ends without a STOP opcode")
}

// unpickle verifies and then loads the pickle at the start of p with the
// allowlist, charging b, and returns the value and the pickle's length.
// persistentLoad resolves persistent ids (nil refuses them).
func unpickle(p []byte, b *budget, persistentLoad func(any) (any, error)) (v any, n int, err error) {
	if len(p) > maxPickle {
		p = p[:maxPickle]
	}
	// The unpickler's memo map and stacks to start with.
	if err := b.take(unpicklerCharge, "pickle"); err != nil {
		return nil, 0, err
	}
	n, err = verifyPickle(p, b)
	if err != nil {
		return nil, 0, err
	}
	u := pickle.NewUnpickler(bytes.NewReader(p[:n]))
	u.FindClass = classFinder(b)
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
	data  []byte // the bytes of elements [lo, lo+len(data)/dtype.Size()) once loaded
	lo    int
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
		return nil, fmt.Errorf("%s: storage offset is %s, not a non-negative int", r.name, describeValue(args[1]))
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

// maxRank bounds the dimensions of a tensor (PyTorch allows 64), so that a
// pickle cannot make each of many tensors convert a long tuple.
const maxRank = 64

// intTuple converts a tuple (or torch.Size) of ints.
func intTuple(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("got %s; want a tuple of ints", describeValue(v))
	}
	if t.Len() > maxRank {
		return nil, fmt.Errorf("%d dimensions; at most %d are supported", t.Len(), maxRank)
	}
	out := make([]int, t.Len())
	for i, e := range *t {
		n, ok := e.(int)
		if !ok || n < 0 {
			return nil, fmt.Errorf("element %d is %s; want a non-negative int", i, describeValue(e))
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
	return nil, fmt.Errorf("torch.Size: unexpected %d arguments", len(args))
}

// codecsEncode is _codecs.encode(str, "latin1"), which protocol-2 pickles use
// for Python 3 bytes objects. It charges b (nil: unbounded, for tests) with
// the string, which a pickle may encode many times over.
type codecsEncode struct{ b *budget }

// Call returns the latin1 bytes of the string as a *types.ByteArray (a
// pointer, so that error messages that print a container of many
// references to it stay short).
func (c codecsEncode) Call(args ...any) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("_codecs.encode: got %d arguments; want 2", len(args))
	}
	s, ok1 := args[0].(string)
	enc, ok2 := args[1].(string)
	if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") {
		return nil, fmt.Errorf("_codecs.encode: unsupported arguments (%s, %s)", describeValue(args[0]), describeValue(args[1]))
	}
	if c.b != nil {
		if err := c.b.redo(int64(len(s)), "_codecs.encode"); err != nil {
			return nil, err
		}
		if err := c.b.take(int64(len(s))+64, "_codecs.encode"); err != nil {
			return nil, err
		}
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, errors.New("_codecs.encode: character outside latin1")
		}
		b = append(b, byte(r))
	}
	return types.NewByteArrayFromSlice(b), nil
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
