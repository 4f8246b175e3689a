package ckpt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
)

// Format is a checkpoint file format, as recognized by Sniff.
type Format int

// The formats Sniff recognizes.
const (
	Unknown     Format = iota // none of the below
	Safetensors               // safetensors
	TorchZip                  // torch.save zip format (PyTorch 1.6 and later)
	TorchLegacy               // torch.save legacy format (a pickle stream first)
	TorchTar                  // torch.save tar format (PyTorch 0.1; not readable)
)

// String returns the name of the format.
func (f Format) String() string {
	switch f {
	case Safetensors:
		return "safetensors"
	case TorchZip:
		return "torch zip"
	case TorchLegacy:
		return "torch legacy"
	case TorchTar:
		return "torch tar"
	}
	return "unknown"
}

// Sniff tells the format of a file from its first bytes (at least 512 for
// the tar format; fewer suffice otherwise), not from its name: a zip archive
// is TorchZip, an 8-byte length followed by '{' is Safetensors (a length
// over the header limit only when '{' is followed by '"', so that the reader
// reports the length), a pickle
// protocol opcode (or the legacy magic number in pickle protocol 1) is
// TorchLegacy. Sniff only looks; the readers validate.
func Sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return TorchZip
	case len(head) >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) <= maxSafetensorsHeader,
		len(head) >= 10 && head[8] == '{' && head[9] == '"': // a header length over the limit: the reader says so
		return Safetensors
	case isTar(head):
		return TorchTar
	case len(head) >= 2 && head[0] == 0x80 && head[1] >= 2, // pickle PROTO
		bytes.HasPrefix(head, []byte("L119547037146038801333356")): // the magic number, pickle protocol 1
		return TorchLegacy
	}
	return Unknown
}

// SniffFile is Sniff on the first bytes of the file at path.
func SniffFile(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return Unknown, err
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	f.Close()
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return Unknown, &fs.PathError{Op: "read checkpoint", Path: path, Err: err}
	}
	return Sniff(head[:n]), nil
}

// Read reads a checkpoint in any supported format, chosen by content (see
// Sniff) rather than by file name: safetensors with ReadSafetensors, PyTorch
// zip and legacy files with ReadTorch. Errors name the file.
func Read(path string) (*StateDict, error) {
	format, err := SniffFile(path)
	if err != nil {
		return nil, err
	}
	switch format {
	case Safetensors:
		return ReadSafetensors(path)
	case TorchZip, TorchLegacy, TorchTar:
		return ReadTorch(path)
	}
	return nil, &fs.PathError{Op: "read checkpoint", Path: path,
		Err: errors.New("unrecognized format: not safetensors, nor a PyTorch zip or legacy file")}
}
