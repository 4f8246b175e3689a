package exec

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/ganrt/ganrt/internal/ort"
)

// Traffic counts bytes between Go buffers and the device (see ort.Traffic).
type Traffic = ort.Traffic

// Resident holds named tensors that stay in the memory of one device
// between runs of any number of Execs on it: a training run's parameters
// and optimizer moments, which on a GPU then never cross the bus during
// training. Each tensor has two buffers: the current one, which runs read,
// and the next one, which a run that updates the tensor writes; the run
// then swaps them (see Bound). Each tensor also has a host buffer, the Go
// slice it was added from: Add uploads it and Download writes the current
// values back into it (for checkpoints and samples).
//
// Resident is safe for concurrent use, but the runs that bind its tensors
// must not overlap. The creator calls Close after closing every Bound that
// uses it.
type Resident struct {
	mem *ort.Memory

	mu      sync.Mutex
	tensors map[string]*residentTensor
}

type residentTensor struct {
	cur, next *ort.Value
	host      []float32
}

// NewResident returns an empty set of tensors in the memory of the device
// that opts select.
func NewResident(opts ort.SessionOptions) (*Resident, error) {
	mem, err := ort.NewMemory(opts)
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	return &Resident{mem: mem, tensors: map[string]*residentTensor{}}, nil
}

// Device returns the device that holds the tensors.
func (r *Resident) Device() ort.Device { return r.mem.Device() }

// Memory returns where the tensors live.
func (r *Resident) Memory() ort.MemoryInfo { return r.mem.Info() }

// Add makes tensor name of shape, uploading host (row-major, the shape's
// size) as its value and keeping host as the buffer Download fills. Adding
// a name again is a no-op that checks the shape (the device's value is the
// current one; host may be stale).
func (r *Resident) Add(name string, shape []int64, host []float32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.tensors[name]; ok {
		if !slices.Equal(t.cur.Shape(), shape) {
			return fmt.Errorf("exec: resident %s has shape %v, not %v", name, t.cur.Shape(), shape)
		}
		return nil
	}
	cur, err := r.mem.NewValue(shape...)
	if err != nil {
		return fmt.Errorf("exec: resident %s: %w", name, err)
	}
	next, err := r.mem.NewValue(shape...)
	if err != nil {
		cur.Close()
		return fmt.Errorf("exec: resident %s: %w", name, err)
	}
	if err := r.mem.Upload(cur, host); err != nil {
		cur.Close()
		next.Close()
		return fmt.Errorf("exec: resident %s: %w", name, err)
	}
	r.tensors[name] = &residentTensor{cur: cur, next: next, host: host}
	return nil
}

// Len returns the number of tensors and their elements (one buffer each).
func (r *Resident) Len() (tensors, elements int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tensors {
		elements += t.cur.Len()
	}
	return len(r.tensors), elements
}

// tensor returns the named tensor, or an error.
func (r *Resident) tensor(name string) (*residentTensor, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.tensors[name]
	if !ok {
		return nil, fmt.Errorf("exec: no resident tensor %s", name)
	}
	return t, nil
}

// Download copies the current value of every tensor into its host buffer.
// A nil Resident's Download does nothing.
func (r *Resident) Download() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(r.tensors)) {
		t := r.tensors[name]
		if err := r.mem.Download(t.host, t.cur); err != nil {
			return fmt.Errorf("exec: download %s: %w", name, err)
		}
	}
	return nil
}

// Traffic returns the bytes Add uploaded (Up) and Download downloaded
// (Down) so far.
func (r *Resident) Traffic() ort.Traffic { return r.mem.Traffic() }

// Close frees the tensors and the device memory. A nil Resident's Close
// does nothing.
func (r *Resident) Close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, t := range r.tensors {
		t.cur.Close()
		t.next.Close()
		delete(r.tensors, name)
	}
	return r.mem.Close()
}

// Bound is an Exec with its inputs and outputs bound by name, for repeated
// runs through ORT I/O binding: host buffers (Go slices, read and written at
// each run) and tensors of a Resident. An output that updates a resident
// tensor writes its next buffer, and the run swaps it in, so that the next
// run (of this or another Exec) reads the new value where it is.
//
// A Bound is not safe for concurrent use. The creator calls Close before
// closing the Exec.
type Bound struct {
	x       *Exec
	b       *ort.Binding
	r       *Resident
	reads   map[string]string // model input -> resident tensor
	updates map[string]string // model output -> resident tensor
}

// Bind returns a Bound of x whose resident tensors come from r (nil: host
// buffers only).
func (x *Exec) Bind(r *Resident) (*Bound, error) {
	b, err := x.sess.NewBinding()
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	return &Bound{x: x, b: b, r: r, reads: map[string]string{}, updates: map[string]string{}}, nil
}

// Input binds host buffer t to model input name.
func (bd *Bound) Input(name string, t Tensor) error {
	if err := bd.b.BindInput(name, t); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	delete(bd.reads, name)
	return nil
}

// Output binds host buffer t to output name.
func (bd *Bound) Output(name string, t Tensor) error {
	if err := bd.b.BindOutput(name, t); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	delete(bd.updates, name)
	return nil
}

// ResidentInput makes model input name read resident tensor key.
func (bd *Bound) ResidentInput(name, key string) error {
	if _, err := bd.resident(key); err != nil {
		return err
	}
	bd.reads[name] = key
	return nil
}

// ResidentOutput makes output name write the next value of resident tensor
// key, which each run then swaps in. Two outputs may not update one tensor.
func (bd *Bound) ResidentOutput(name, key string) error {
	if _, err := bd.resident(key); err != nil {
		return err
	}
	for out, k := range bd.updates {
		if k == key && out != name {
			return fmt.Errorf("exec: outputs %s and %s both update %s", out, name, key)
		}
	}
	bd.updates[name] = key
	return nil
}

func (bd *Bound) resident(key string) (*residentTensor, error) {
	if bd.r == nil {
		return nil, errors.New("exec: binding has no resident tensors")
	}
	return bd.r.tensor(key)
}

// Run binds the resident tensors' current and next buffers as they are now,
// runs, and swaps the updated tensors.
func (bd *Bound) Run() error {
	for name, key := range bd.reads {
		t, err := bd.r.tensor(key)
		if err != nil {
			return err
		}
		if err := bd.b.BindInputValue(name, t.cur); err != nil {
			return fmt.Errorf("exec: %w", err)
		}
	}
	for name, key := range bd.updates {
		t, err := bd.r.tensor(key)
		if err != nil {
			return err
		}
		if err := bd.b.BindOutputValue(name, t.next); err != nil {
			return fmt.Errorf("exec: %w", err)
		}
	}
	if err := bd.b.Run(); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	bd.r.swap(bd.updates)
	return nil
}

// swap makes the next buffer current for each tensor that updates names.
func (r *Resident) swap(updates map[string]string) {
	if len(updates) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, key := range updates {
		t := r.tensors[key]
		t.cur, t.next = t.next, t.cur
	}
}

// Traffic returns the bytes the runs moved through host buffers.
func (bd *Bound) Traffic() ort.Traffic { return bd.b.Traffic() }

// Close frees the binding.
func (bd *Bound) Close() error { return bd.b.Close() }
