// Package regular opens files that must be regular files for reading,
// without blocking: opening a FIFO with no writer blocks open(2) forever and
// reading a device may never end, so a path named like an image or a weights
// file is opened with O_NONBLOCK and refused by fstat unless it is regular.
package regular

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrNotRegular is wrapped by the error for a path that is not a regular
// file.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path for reading and refuses anything but a regular file with
// an error wrapping ErrNotRegular that names the file and its type. Symbolic
// links are followed; what they point to must be regular.
func Open(path string) (*os.File, error) {
	return check(path, func() (*os.File, error) { return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0) })
}

// OpenIn is Open for name inside root (os.Root refuses names that leave it).
func OpenIn(root *os.Root, name string) (*os.File, error) {
	return check(name, func() (*os.File, error) { return root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0) })
}

func check(name string, open func() (*os.File, error)) (*os.File, error) {
	f, err := open()
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w (%s)", name, ErrNotRegular, fileType(fi.Mode()))
	}
	return f, nil
}

// fileType names a non-regular file mode.
func fileType(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a folder"
	}
	return "mode " + m.Type().String()
}
