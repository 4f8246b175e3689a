package ckpt

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nlpodyssey/safetensors"

	"github.com/ganrt/ganrt/internal/atomicfile"
)

// maxSafetensorsHeader bounds the JSON header, as the reference
// implementation does (100 MB).
const maxSafetensorsHeader = 100_000_000

// ReadSafetensors reads a safetensors file: an 8-byte little-endian header
// length, a JSON header that maps names to dtype, shape and data offsets
// (plus an optional "__metadata__" map of strings), then the data.
//
// The header is validated before any tensor is decoded: its length is
// bounded by the file and by 100 MB; every tensor has a known dtype and a
// shape whose byte length matches its offsets; offsets are in range,
// contiguous and non-overlapping, and the data ends exactly at the end of the
// file; no key appears twice in any object of the header, and the header is
// valid UTF-8 (no lone surrogate escapes either). Tensors come in data order
// (ties between empty tensors by name).
// Dtypes other than those of DType (U16, U32, U64, F8_*) are refused. Errors
// name the file.
func ReadSafetensors(path string) (*StateDict, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sd, err := decodeSafetensors(b)
	if err != nil {
		return nil, &fs.PathError{Op: "read safetensors", Path: path, Err: err}
	}
	return sd, nil
}

// decodeSafetensors parses a whole safetensors file held in b.
func decodeSafetensors(b []byte) (*StateDict, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("file is %d bytes; a safetensors file has at least 8", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxSafetensorsHeader {
		return nil, fmt.Errorf("header length %d exceeds the limit of %d bytes (a damaged file, or not safetensors)", n, maxSafetensorsHeader)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("header length %d runs past the end of the %d-byte file", n, len(b))
	}
	if n == 0 || b[8] != '{' {
		return nil, errors.New("header is not a JSON object")
	}
	if err := checkHeaderJSON(b[8 : 8+n]); err != nil {
		return nil, fmt.Errorf("invalid header: %w", err)
	}
	hlen, meta, err := safetensors.ReadMetadata(b)
	if err != nil {
		return nil, fmt.Errorf("invalid header: %w", err)
	}
	data := b[8+hlen:]
	type entry struct {
		name string
		info *safetensors.TensorInfo
	}
	var entries []entry
	for name, info := range meta.Tensors() {
		entries = append(entries, entry{name, info})
	}
	// Data order; empty tensors share offsets, so ties go by name.
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.info.DataOffsets[0], b.info.DataOffsets[0]),
			cmp.Compare(a.info.DataOffsets[1], b.info.DataOffsets[1]),
			strings.Compare(a.name, b.name))
	})
	sd := NewStateDict()
	for _, e := range entries {
		dt, ok := parseDType(e.info.DType.String())
		if !ok {
			return nil, fmt.Errorf("tensor %q: unsupported dtype %s", e.name, e.info.DType)
		}
		shape := make([]int, len(e.info.Shape))
		for i, d := range e.info.Shape {
			if d > math.MaxInt {
				return nil, fmt.Errorf("tensor %q: dimension %d is too large", e.name, d)
			}
			shape[i] = int(d)
		}
		// ReadMetadata checked that the offsets are in range and contiguous
		// and that each byte length matches dtype and shape.
		t, err := decodeTensor(dt, shape, data[e.info.DataOffsets[0]:e.info.DataOffsets[1]])
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", e.name, err)
		}
		sd.Set(e.name, t)
	}
	for k, v := range meta.Metadata() {
		sd.Metadata[k] = v
	}
	return sd, nil
}

// checkHeaderJSON refuses what the safetensors library's JSON decoding
// would let through silently: a key given twice in any object of the header
// (encoding/json keeps the last), and names or metadata that are not valid
// UTF-8 (encoding/json replaces invalid bytes and lone surrogate escapes with
// U+FFFD, which is refused too).
func checkHeaderJSON(h []byte) error {
	if !utf8.Valid(h) {
		i := 0
		for i < len(h) {
			r, size := utf8.DecodeRune(h[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return fmt.Errorf("header is not valid UTF-8 (byte 0x%02x at offset %d)", h[i], 8+i)
	}
	dec := json.NewDecoder(bytes.NewReader(h))
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				if strings.ContainsRune(k, utf8.RuneError) {
					return fmt.Errorf("key %s%q is not valid UTF-8", path, k)
				}
				if seen[k] {
					return fmt.Errorf("key %s%q appears twice", path, k)
				}
				seen[k] = true
				if err := walk(path + strconv.Quote(k) + "."); err != nil {
					return err
				}
			}
			_, err = dec.Token() // '}'
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(path); err != nil {
					return err
				}
			}
			_, err = dec.Token() // ']'
			return err
		}
		if v, ok := tok.(string); ok && strings.ContainsRune(v, utf8.RuneError) {
			return fmt.Errorf("value of %s is not valid UTF-8", strings.TrimSuffix(path, "."))
		}
		return nil
	}
	return walk("")
}

// WriteSafetensors writes sd to path in the safetensors format, each tensor in
// its DType (F16 and BF16 round to nearest even), with sd.Metadata as
// "__metadata__" (omitted when empty).
//
// The bytes are deterministic: header keys are sorted and the data is ordered
// by dtype alignment, then name, so writing the same StateDict twice gives
// identical files. The write is atomic: it goes to a temporary file in the
// same directory that is synced and renamed over path; on any error path is
// left untouched and no temporary file remains. Every tensor is validated
// (see Tensor.Validate) before anything is written; errors name the file and
// the tensor.
func WriteSafetensors(path string, sd *StateDict) error {
	views, meta, err := safetensorsViews(sd)
	if err != nil {
		return &fs.PathError{Op: "write safetensors", Path: path, Err: err}
	}
	// atomicfile's errors name the path.
	return atomicfile.Write(path, func(w io.Writer) error {
		return safetensors.SerializeToWriter(views, meta, w)
	})
}

// safetensorsViews validates and encodes the tensors of sd for the
// safetensors writer, and returns the metadata to write (nil when empty).
func safetensorsViews(sd *StateDict) (map[string]stView, map[string]string, error) {
	views := make(map[string]stView, sd.Len())
	for name, t := range sd.All() {
		if err := t.Validate(); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		dt, err := safetensors.ParseDType(t.DType.String())
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		shape := make([]uint64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = uint64(d)
		}
		views[name] = stView{dtype: dt, shape: shape, data: t.encode()}
	}
	if len(sd.Metadata) == 0 {
		return views, nil, nil
	}
	return views, sd.Metadata, nil
}

// stView adapts encoded tensor bytes to safetensors.View.
type stView struct {
	dtype safetensors.DType
	shape []uint64
	data  []byte
}

// DType returns the element type.
func (v stView) DType() safetensors.DType { return v.dtype }

// Shape returns the dimensions.
func (v stView) Shape() []uint64 { return v.shape }

// Data returns the little-endian bytes.
func (v stView) Data() []byte { return v.data }

// DataLen returns len(Data()).
func (v stView) DataLen() uint64 { return uint64(len(v.data)) }
