package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrOverwritesInput is wrapped by the error for an output that would
// replace one of the command's own inputs (ganrt export g.safetensors -o
// g.safetensors, translate writing over a source image, ...).
var ErrOverwritesInput = errors.New("would overwrite an input")

// Inputs is the set of files a command reads, for refusing outputs that
// would replace one of them. Files are compared by os.SameFile, so a hard
// link or a symbolic link to an input, or another spelling of its path,
// counts as the input. The zero value is empty and ready to use.
type Inputs struct {
	abs    map[string]string     // absolute path -> path as given
	bySize map[int64][]inputFile // stat'd inputs, bucketed by size
}

type inputFile struct {
	path string
	fi   os.FileInfo
}

// NewInputs returns the set of paths (see Add).
func NewInputs(paths ...string) *Inputs {
	in := &Inputs{}
	for _, p := range paths {
		in.Add(p)
	}
	return in
}

// Add adds path to the set; a path that cannot be stat'd (missing) is
// remembered by its absolute path only.
func (in *Inputs) Add(path string) {
	if in.abs == nil {
		in.abs, in.bySize = map[string]string{}, map[int64][]inputFile{}
	}
	if a, err := filepath.Abs(path); err == nil {
		in.abs[a] = path
	}
	if fi, err := os.Stat(path); err == nil {
		in.bySize[fi.Size()] = append(in.bySize[fi.Size()], inputFile{path, fi})
	}
}

// Check returns nil when writing dst would replace none of the inputs, and
// otherwise an error wrapping ErrOverwritesInput that names dst and the
// input.
func (in *Inputs) Check(dst string) error {
	if in == nil || in.abs == nil {
		return nil
	}
	if a, err := filepath.Abs(dst); err == nil {
		if src, ok := in.abs[a]; ok {
			return overwrites(dst, src)
		}
	}
	di, err := os.Stat(dst)
	if err != nil {
		return nil
	}
	for _, f := range in.bySize[di.Size()] {
		if os.SameFile(f.fi, di) {
			return overwrites(dst, f.path)
		}
	}
	return nil
}

func overwrites(dst, src string) error {
	if dst == src {
		return fmt.Errorf("output %s %w (it is the input)", dst, ErrOverwritesInput)
	}
	return fmt.Errorf("output %s %w: it is %s", dst, ErrOverwritesInput, src)
}

// CheckNotInput is NewInputs(inputs...).Check(dst).
func CheckNotInput(dst string, inputs ...string) error {
	return NewInputs(inputs...).Check(dst)
}
