package ckpt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/x448/float16"
)

// DType is the element type of a tensor as stored in a checkpoint file. The
// names are those of the safetensors format.
//
// Float types (F32, F16, BF16, F64) are held in memory as float32
// (Tensor.Floats); integer and boolean types as int64 (Tensor.Ints). The DType
// remembers what the file held, so that a tensor is written back in its
// original type. The zero value is F32.
type DType uint8

// The supported element types.
const (
	F32  DType = iota // float32, IEEE 754 binary32 (torch.float32)
	F16               // float16, IEEE 754 binary16 (torch.float16)
	BF16              // bfloat16, the top 16 bits of a float32 (torch.bfloat16)
	F64               // float64 (torch.float64); narrowed to float32 in memory
	I64               // int64 (torch.int64, e.g. num_batches_tracked)
	I32               // int32 (torch.int32)
	I16               // int16 (torch.int16)
	I8                // int8 (torch.int8)
	U8                // uint8 (torch.uint8)
	Bool              // bool, one byte 0 or 1 (torch.bool); held as 0 or 1
	numDTypes
)

var dtypeInfo = [numDTypes]struct {
	name  string
	size  int
	float bool
	min   int64 // range of integer types, as held in Ints
	max   int64
}{
	F32:  {"F32", 4, true, 0, 0},
	F16:  {"F16", 2, true, 0, 0},
	BF16: {"BF16", 2, true, 0, 0},
	F64:  {"F64", 8, true, 0, 0},
	I64:  {"I64", 8, false, math.MinInt64, math.MaxInt64},
	I32:  {"I32", 4, false, math.MinInt32, math.MaxInt32},
	I16:  {"I16", 2, false, math.MinInt16, math.MaxInt16},
	I8:   {"I8", 1, false, math.MinInt8, math.MaxInt8},
	U8:   {"U8", 1, false, 0, math.MaxUint8},
	Bool: {"BOOL", 1, false, 0, 1},
}

// String returns the safetensors name of d ("F32", "BF16", "BOOL", ...).
func (d DType) String() string {
	if d >= numDTypes {
		return fmt.Sprintf("DType(%d)", uint8(d))
	}
	return dtypeInfo[d].name
}

// Size returns the number of bytes one element of type d takes in a file, or 0
// for an invalid DType.
func (d DType) Size() int {
	if d >= numDTypes {
		return 0
	}
	return dtypeInfo[d].size
}

// IsFloat reports whether tensors of type d hold their values in
// Tensor.Floats (true) or in Tensor.Ints (false).
func (d DType) IsFloat() bool { return d < numDTypes && dtypeInfo[d].float }

// valid reports whether d is one of the declared DTypes.
func (d DType) valid() bool { return d < numDTypes }

// parseDType maps a safetensors dtype name to a DType.
func parseDType(s string) (DType, bool) {
	for d := range numDTypes {
		if dtypeInfo[d].name == s {
			return d, true
		}
	}
	return 0, false
}

// Tensor is a dense n-dimensional array in row-major (C) order with
// dimensions in PyTorch order: a Conv2d weight is [out, in, kh, kw], a
// ConvTranspose2d weight is [in, out, kh, kw], a Linear weight is [out, in].
// Element (i0, i1, ..., ik) is at index ((i0*Shape[1]+i1)*Shape[2]+...)+ik.
//
// Exactly one of Floats and Ints holds the values, chosen by DType.IsFloat:
// float tensors of any float DType are held as float32 (F16, BF16 and F64 are
// converted on load; F64 loses precision), integer and bool tensors as int64.
// A scalar has an empty Shape and one element; a tensor with a zero dimension
// has no elements.
type Tensor struct {
	// DType is the element type in the file it came from or goes to.
	DType DType
	// Shape holds the size of each dimension, outermost first.
	Shape []int
	// Floats holds the values of float tensors (nil otherwise).
	Floats []float32
	// Ints holds the values of integer and bool tensors (nil otherwise).
	Ints []int64
}

// NewFloat32 returns an F32 tensor of the given shape that uses data (not a
// copy) as its row-major values.
func NewFloat32(shape []int, data []float32) *Tensor {
	return &Tensor{DType: F32, Shape: shape, Floats: data}
}

// NewInt64 returns an I64 tensor of the given shape that uses data (not a
// copy) as its row-major values.
func NewInt64(shape []int, data []int64) *Tensor {
	return &Tensor{DType: I64, Shape: shape, Ints: data}
}

// NumElements returns the product of the dimensions in Shape (1 for a
// scalar), or -1 if a dimension is negative or the product overflows an int.
func (t *Tensor) NumElements() int {
	n, ok := numElements(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// Validate reports whether t is well formed: a known DType, non-negative
// dimensions, values in the slice that matches the DType and as many values
// as the shape asks for, and integer values in the range of the DType.
func (t *Tensor) Validate() error {
	if t == nil {
		return errors.New("nil tensor")
	}
	if !t.DType.valid() {
		return fmt.Errorf("invalid dtype %d", uint8(t.DType))
	}
	n, ok := numElements(t.Shape)
	if !ok {
		return fmt.Errorf("invalid shape %v", t.Shape)
	}
	if t.DType.IsFloat() {
		if t.Ints != nil {
			return fmt.Errorf("%s tensor holds Ints", t.DType)
		}
		if len(t.Floats) != n {
			return fmt.Errorf("shape %v needs %d values; Floats has %d", t.Shape, n, len(t.Floats))
		}
		return nil
	}
	if t.Floats != nil {
		return fmt.Errorf("%s tensor holds Floats", t.DType)
	}
	if len(t.Ints) != n {
		return fmt.Errorf("shape %v needs %d values; Ints has %d", t.Shape, n, len(t.Ints))
	}
	info := dtypeInfo[t.DType]
	for i, v := range t.Ints {
		if v < info.min || v > info.max {
			return fmt.Errorf("value %d at index %d is out of range for %s", v, i, t.DType)
		}
	}
	return nil
}

// numElements returns the product of shape, and false if a dimension is
// negative or the product overflows.
func numElements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		var ok bool
		if n, ok = mulInt(n, d); !ok {
			return 0, false
		}
	}
	return n, true
}

// mulInt returns a*b for non-negative a and b, and false on overflow.
func mulInt(a, b int) (int, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	if a > math.MaxInt/b {
		return 0, false
	}
	return a * b, true
}

// decodeTensor converts raw little-endian bytes of type d into a tensor of
// the given shape. len(raw) must be numElements(shape)*d.Size().
func decodeTensor(d DType, shape []int, raw []byte) (*Tensor, error) {
	n, ok := numElements(shape)
	if !ok {
		return nil, fmt.Errorf("invalid shape %v", shape)
	}
	if !d.valid() || n*d.Size() != len(raw) {
		return nil, fmt.Errorf("%s tensor of shape %v needs %d bytes; have %d", d, shape, n*d.Size(), len(raw))
	}
	t := &Tensor{DType: d, Shape: shape}
	le := binary.LittleEndian
	switch d {
	case F32:
		t.Floats = make([]float32, n)
		for i := range t.Floats {
			t.Floats[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case F16:
		t.Floats = make([]float32, n)
		for i := range t.Floats {
			t.Floats[i] = float16.Frombits(le.Uint16(raw[2*i:])).Float32()
		}
	case BF16:
		t.Floats = make([]float32, n)
		for i := range t.Floats {
			t.Floats[i] = math.Float32frombits(uint32(le.Uint16(raw[2*i:])) << 16)
		}
	case F64:
		t.Floats = make([]float32, n)
		for i := range t.Floats {
			t.Floats[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
		}
	case I64:
		t.Ints = make([]int64, n)
		for i := range t.Ints {
			t.Ints[i] = int64(le.Uint64(raw[8*i:]))
		}
	case I32:
		t.Ints = make([]int64, n)
		for i := range t.Ints {
			t.Ints[i] = int64(int32(le.Uint32(raw[4*i:])))
		}
	case I16:
		t.Ints = make([]int64, n)
		for i := range t.Ints {
			t.Ints[i] = int64(int16(le.Uint16(raw[2*i:])))
		}
	case I8:
		t.Ints = make([]int64, n)
		for i := range t.Ints {
			t.Ints[i] = int64(int8(raw[i]))
		}
	case U8:
		t.Ints = make([]int64, n)
		for i := range t.Ints {
			t.Ints[i] = int64(raw[i])
		}
	case Bool:
		t.Ints = make([]int64, n)
		for i := range t.Ints {
			if raw[i] > 1 {
				return nil, fmt.Errorf("bool value %d at index %d is not 0 or 1", raw[i], i)
			}
			t.Ints[i] = int64(raw[i])
		}
	}
	return t, nil
}

// encode returns the little-endian bytes of t in its DType. F16 and BF16
// round to nearest even; F64 widens exactly. t must pass Validate.
func (t *Tensor) encode() []byte {
	le := binary.LittleEndian
	var n int
	if t.DType.IsFloat() {
		n = len(t.Floats)
	} else {
		n = len(t.Ints)
	}
	raw := make([]byte, n*t.DType.Size())
	switch t.DType {
	case F32:
		for i, v := range t.Floats {
			le.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range t.Floats {
			le.PutUint16(raw[2*i:], float16.Fromfloat32(v).Bits())
		}
	case BF16:
		for i, v := range t.Floats {
			le.PutUint16(raw[2*i:], bfloat16Bits(v))
		}
	case F64:
		for i, v := range t.Floats {
			le.PutUint64(raw[8*i:], math.Float64bits(float64(v)))
		}
	case I64:
		for i, v := range t.Ints {
			le.PutUint64(raw[8*i:], uint64(v))
		}
	case I32:
		for i, v := range t.Ints {
			le.PutUint32(raw[4*i:], uint32(v))
		}
	case I16:
		for i, v := range t.Ints {
			le.PutUint16(raw[2*i:], uint16(v))
		}
	case I8, U8, Bool:
		for i, v := range t.Ints {
			raw[i] = byte(v)
		}
	}
	return raw
}

// bfloat16Bits rounds f to bfloat16 (nearest, ties to even), keeping NaNs
// quiet NaNs.
func bfloat16Bits(f float32) uint16 {
	b := math.Float32bits(f)
	if f != f {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}
