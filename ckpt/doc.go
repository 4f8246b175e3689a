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
// verified opcode by opcode against a model of the unpickler's stack and
// memo (see Bounds). Tensors saved as strided
// views (transposed, sliced) are copied into contiguous order. Nested
// checkpoints ({"state_dict": ...}, {"model": ...}, several networks) are
// unwrapped or flattened as ReadTorch describes.
//
// # Bounds
//
// Reading a file of S bytes allocates at most 16xS + 1 GiB in all (so its
// peak memory is at most that, plus the Go runtime's few MiB), and takes
// time close to linear in S. Every reader charges a per-read budget before
// it allocates:
//
//   - memory, 16xS + 1 GiB: the file's bytes held (a legacy file is read
//     whole; of a zip storage record only the element span that the tensors
//     view), the decoded tensors (4 bytes per float element, 8 per integer
//     one), names and metadata, the zip directory, and what the pickle
//     interpreter will allocate, estimated per opcode before it runs (about
//     400 bytes per value; TestPickleChargesCoverAllocation checks the
//     estimates against the allocator);
//   - string bytes referenced again, S + 1 MiB: each memo GET or DUP of a
//     str or bytes value, each storage key looked up, each _codecs.encode,
//     since each may be hashed, copied or rendered once more (a 1 MiB string
//     referenced 400,000 times is refused here);
//   - bytes streamed out of zip records, 16xS + 1 GiB: inflated, skipped or
//     checksummed (a record that inflates to 4 GiB is read only as far as
//     its views need, and refused if they need more than the cap).
//
// Beside the budget: a pickle is at most 1 GiB; no FRAME or length-prefixed
// argument may run past the end of the data (refused before anything is
// allocated, whatever length it declares); LONG4 integers have at most 1024
// bytes and text numbers at most 4300 digits (decoding long integers is
// quadratic); at most 100 BUILD opcodes; tensors have at most 64
// dimensions. The state-dict walk nests at most 100 deep and visits at most
// a million values (each element of a list rendered as metadata counts);
// names are at most 4096 bytes, and names and metadata together at most 8
// times the pickle's size plus 1 MiB. A safetensors header is at most
// 100 MB; the file is read whole and its tensors decoded once (at most 9xS
// for U8 or BOOL data).
//
// # Errors
//
// Errors are *fs.PathError values that name the file and the operation, and
// wrap a description of the problem (the tensor, record or header field at
// fault). Malformed input gives an error, never a panic; readers are fuzzed
// (FuzzUnpickle, FuzzReadTorchZip, FuzzReadTorchLegacy, FuzzReadSafetensors;
// `make fuzz`). Float tensors may hold NaN or infinite values; see
// StateDict.NonFinite.
package ckpt
