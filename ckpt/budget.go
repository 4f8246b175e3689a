package ckpt

import "fmt"

// limitError is an error for a file that exceeds a bound of this package (a
// budget, or a limit on a pickle's lengths); readers report it as it is
// rather than as a more general "not a checkpoint".
type limitError struct{ error }

func (e limitError) Unwrap() error { return e.error }

// budget is what one read may still spend: bytes of memory to allocate, and
// bytes of string data to process again (a string referenced from the memo
// is hashed, encoded or rendered once more each time it is referenced).
// Every reader of this package charges its allocations to a budget before it
// makes them, so that a file of S bytes never makes the process allocate
// more than readBudget(S) in all.
type budget struct {
	mem, work, stream                int64 // what is left
	memLimit, workLimit, streamLimit int64 // what there was, for messages
}

// readBudget returns the budget of a read of a file of size bytes: memory
// 16 times the size plus 1 GiB, the file's size plus 1 MiB of string bytes
// referenced again, and 16 times the size plus 1 GiB of bytes streamed out of
// zip records (inflated, skipped or checksummed).
//
// Sixteen is generous for legitimate files: tensors are read once from the
// file (1x), decoded to float32 (2x for F16 and BF16) or int64 (8x for bool
// and uint8), and the pickle interpreter allocates about 200 bytes per
// opcode, which a state dict's pickle, small beside its tensors, affords; the
// 1 GiB keeps small files free of the factor.
func readBudget(size int64) *budget {
	mem := 16*size + 1<<30
	work := size + 1<<20
	return &budget{mem: mem, work: work, stream: mem, memLimit: mem, workLimit: work, streamLimit: mem}
}

// take charges n bytes of memory for what; it fails when the budget is spent.
func (b *budget) take(n int64, what string) error {
	if n < 0 || n > b.mem {
		return limitError{fmt.Errorf("%s: reading the file would allocate more than %d bytes "+
			"(16 times its size plus 1 GiB): it is damaged or hostile", what, b.memLimit)}
	}
	b.mem -= n
	return nil
}

// redo charges n bytes of string data processed again for what.
func (b *budget) redo(n int64, what string) error {
	if n < 0 || n > b.work {
		return limitError{fmt.Errorf("%s: the file refers to its strings again for more than %d bytes "+
			"(its size plus 1 MiB): it is damaged or hostile", what, b.workLimit)}
	}
	b.work -= n
	return nil
}

// inflate charges n bytes streamed out of a zip record for what.
func (b *budget) inflate(n int64, what string) error {
	if n < 0 || n > b.stream {
		return limitError{fmt.Errorf("%s: the zip records would inflate to more than %d bytes "+
			"(16 times the file size plus 1 GiB): it is damaged or hostile", what, b.streamLimit)}
	}
	b.stream -= n
	return nil
}
