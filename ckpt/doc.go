// Package ckpt reads and writes checkpoint files: safetensors (read and
// write) and PyTorch torch.save files (read only), in pure Go.
//
// # Data model
//
// A checkpoint is a StateDict: an ordered list of named Tensors (names are
// PyTorch state-dict keys such as "model.1.weight") plus a map of string
// metadata. A Tensor is dense and row-major, dimensions in PyTorch order
// (Conv weights [out, in, kh, kw], ConvTranspose weights [in, out, kh, kw]).
// Float tensors are held as []float32 whatever their type in the file
// (F16, BF16 and F64 are converted on load); integer and bool tensors as
// []int64 (num_batches_tracked is an int64 scalar). Tensor.DType remembers
// the file's type so a tensor is written back as it came.
//
// # Formats
//
// Read picks the reader by content, not by file name (see Sniff).
//
// Safetensors (ReadSafetensors, WriteSafetensors) uses
// github.com/nlpodyssey/safetensors for the header and layout; this package
// adds the bounds checks on the header length, dtype conversion, and atomic,
// deterministic writes (temporary file, fsync, rename; sorted keys).
// Architecture and options go in the metadata.
//
// PyTorch files (ReadTorch) are unpickled by github.com/nlpodyssey/gopickle's
// pickle interpreter, which never runs Python code. This package supplies
// the containers (zip format, legacy format), the storages, and the class
// resolution: only an allowlist of globals (AllowedGlobals) may appear, and
// anything else, from os.system to a model class, is refused with a
// *ForbiddenGlobalError as soon as it is read. Each pickle is first
// scanned opcode by opcode, so that lengths read from the file cannot make
// the unpickler allocate more than the file holds. Tensors saved as strided
// views (transposed, sliced) are copied into contiguous order. Nested
// checkpoints ({"state_dict": ...}, {"model": ...}, several networks) are
// unwrapped or flattened as ReadTorch describes.
//
// # Errors
//
// Errors are *fs.PathError values that name the file and the operation, and
// wrap a description of the problem (the tensor, record or header field at
// fault). Malformed input gives an error, never a panic; readers are fuzzed
// (FuzzReadSafetensors, FuzzReadTorch).
package ckpt
