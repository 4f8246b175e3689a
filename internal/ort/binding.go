package ort

/*
#include <stdlib.h>
#include "capi.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// MemoryInfo says where a tensor's data lives (ORT's OrtMemoryInfo).
type MemoryInfo struct {
	// Name is the allocator's name: "Cpu", "Cuda", "CudaPinned", ...
	Name string `json:"name"`
	// ID is the device ordinal.
	ID int `json:"id"`
	// Device is "cpu", "gpu", "fpga" or "npu": the device the memory belongs
	// to (pinned host memory of a GPU is "cpu" memory that the GPU reads).
	Device string `json:"device"`
	// MemType is ORT's OrtMemType: 0 for the device's own memory, -1 and -2
	// for CPU memory that a device provider writes or reads.
	MemType int `json:"mem_type"`
}

// OnHost reports whether the CPU can read and write the memory directly.
func (m MemoryInfo) OnHost() bool { return m.Device == "cpu" }

func (m MemoryInfo) String() string {
	return fmt.Sprintf("%s:%d (%s)", m.Name, m.ID, m.Device)
}

// describeMemory reads an OrtMemoryInfo.
func describeMemory(m *C.OrtMemoryInfo) (MemoryInfo, error) {
	var name *C.char
	var id, memType, devType C.int
	if err := cError("describe memory", C.ganrt_memory_desc(m, &name, &id, &memType, &devType)); err != nil {
		return MemoryInfo{}, err
	}
	dev := map[C.int]string{C.ganrtMemDeviceCPU: "cpu", C.ganrtMemDeviceGPU: "gpu", 2: "fpga", 3: "npu"}[devType]
	return MemoryInfo{Name: C.GoString(name), ID: int(id), Device: dev, MemType: int(memType)}, nil
}

// Traffic counts the bytes a binding moved between Go buffers (host memory)
// and the session: on a GPU session they cross the bus; on the CPU they are
// what would cross. Values bound with BindInputValue and BindOutputValue
// move nothing and are not counted.
type Traffic struct {
	// Runs is the number of runs counted.
	Runs int64 `json:"runs"`
	// Up is the bytes of host inputs, Down the bytes of host outputs, over
	// all runs.
	Up   int64 `json:"up_bytes"`
	Down int64 `json:"down_bytes"`
}

// Sub returns t - u: the traffic between two readings.
func (t Traffic) Sub(u Traffic) Traffic {
	return Traffic{Runs: t.Runs - u.Runs, Up: t.Up - u.Up, Down: t.Down - u.Down}
}

// Value is a float32 tensor in memory that ORT allocated, such as a GPU's
// device memory, which keeps its contents between runs: bind it as an input
// or output of any session on the same device (BindInputValue,
// BindOutputValue) and nothing is copied. Its data is row-major (NCHW for
// images). The creator calls Close; a Value must not be closed while a run
// that binds it is in flight.
type Value struct {
	v     *C.OrtValue
	shape []int64
	n     int
	mem   MemoryInfo
	host  []float32 // the data, when the memory is on the host; else nil
}

// newValue allocates a tensor of shape with allocator a, whose memory is
// mem.
func newValue(a *C.OrtAllocator, mem MemoryInfo, shape []int64) (*Value, error) {
	n, err := numElements(shape)
	if err != nil {
		return nil, fmt.Errorf("ort: new value: %w", err)
	}
	v := &Value{shape: append([]int64(nil), shape...), n: n, mem: mem}
	if err := cError(fmt.Sprintf("allocate %v in %v", shape, mem), C.ganrt_tensor_new(a, cShape(shape), C.size_t(len(shape)), &v.v)); err != nil {
		return nil, err
	}
	if mem.OnHost() && n > 0 {
		var p unsafe.Pointer
		if err := cError("get tensor data", C.ganrt_tensor_data(v.v, &p)); err != nil {
			C.ganrt_release_value(v.v)
			return nil, err
		}
		v.host = unsafe.Slice((*float32)(p), n)
	}
	return v, nil
}

// cShape returns shape for C (nil for a scalar). The slice stays Go memory;
// ORT copies the dimensions during the call.
func cShape(shape []int64) *C.int64_t {
	if len(shape) == 0 {
		return nil
	}
	return (*C.int64_t)(unsafe.Pointer(&shape[0]))
}

// Shape returns the tensor's shape (a copy).
func (v *Value) Shape() []int64 { return append([]int64(nil), v.shape...) }

// Len returns the number of elements.
func (v *Value) Len() int { return v.n }

// Memory returns where the data lives.
func (v *Value) Memory() MemoryInfo { return v.mem }

// Host returns the data when the memory is on the host (the CPU, or pinned
// host memory of a GPU), for reading and writing in place; nil for device
// memory, which Memory.Upload and Memory.Download reach.
func (v *Value) Host() []float32 { return v.host }

// Close frees the tensor. It may be called more than once.
func (v *Value) Close() {
	if v.v != nil {
		C.ganrt_release_value(v.v)
		v.v, v.host = nil, nil
	}
}

// slot is one bound input or output of a Binding.
type slot struct {
	name  *C.char
	value *Value // bound device value; nil for host memory
	host  Tensor // bound host memory (Go), when value is nil
	// For host memory: the OrtValue wrapping it (pinned while it lives), or
	// a staging Value in pinned memory that Run copies through.
	key   tensorKey
	wrap  *C.OrtValue
	pin   runtime.Pinner
	stage *Value
}

// release frees what the slot made for host memory.
func (s *slot) release() {
	if s.wrap != nil {
		C.ganrt_release_value(s.wrap)
		s.wrap = nil
		s.pin.Unpin()
	}
	if s.stage != nil {
		s.stage.Close()
		s.stage = nil
	}
}

// Binding ties a Session's inputs and outputs to buffers for repeated runs
// (ORT I/O binding), so that values which stay on the device (Values) go
// in and out of runs without copies and only host buffers cross.
//
// Host buffers (BindInput, BindOutput: Go memory) are read and written at
// Run: Run takes each host input's data as it is when Run is called, and
// fills each host output before it returns. On a GPU session they go
// through pinned host memory when the provider has it (one copy into or out
// of a staging buffer the Binding keeps, then a DMA transfer), else ORT
// copies them from the Go buffer. A binding keeps each name's last buffer,
// so a loop that binds the same buffers again allocates nothing.
//
// A Binding is not safe for concurrent use; bindings of one Session may run
// concurrently under Session's rules. The creator calls Close before closing
// the Session.
type Binding struct {
	s       *Session
	b       *C.OrtIoBinding
	inputs  map[string]*slot
	outputs map[string]*slot
	traffic Traffic
}

// ErrNoBinding is wrapped by NewBinding's error when I/O binding cannot be
// used with this onnxruntime_go (see handles.go).
var ErrNoBinding = errors.New("I/O binding unavailable")

// NewBinding returns a new, empty binding of the session's inputs and
// outputs.
func (s *Session) NewBinding() (*Binding, error) {
	if s.handleErr != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoBinding, s.handleErr)
	}
	b := &Binding{s: s, inputs: map[string]*slot{}, outputs: map[string]*slot{}}
	if err := cError("create I/O binding", C.ganrt_binding_new((*C.OrtSession)(s.handle), &b.b)); err != nil {
		return nil, err
	}
	return b, nil
}

// Close frees the binding and the staging buffers and wrappers it keeps.
// It may be called more than once.
func (b *Binding) Close() error {
	if b.b == nil {
		return nil
	}
	b.unbind()
	C.ganrt_binding_release(b.b)
	b.b = nil
	return nil
}

// unbind drops every bound value and buffer, and what the binding made for
// host buffers, so that it references nothing of the caller's.
func (b *Binding) unbind() {
	C.ganrt_binding_clear(b.b)
	for _, m := range []map[string]*slot{b.inputs, b.outputs} {
		for k, sl := range m {
			sl.release()
			C.free(unsafe.Pointer(sl.name))
			delete(m, k)
		}
	}
}

// Traffic returns the bytes moved through host buffers so far.
func (b *Binding) Traffic() Traffic { return b.traffic }

// slotFor returns the slot of name in m, making it.
func (b *Binding) slotFor(m map[string]*slot, name string) *slot {
	sl := m[name]
	if sl == nil {
		sl = &slot{name: C.CString(name)}
		m[name] = sl
	}
	return sl
}

// BindInput binds host memory t (Go) to the named input; Run reads it.
func (b *Binding) BindInput(name string, t Tensor) error {
	if err := checkHost("input", name, t); err != nil {
		return err
	}
	sl := b.slotFor(b.inputs, name)
	sl.value, sl.host = nil, t
	return nil
}

// BindOutput binds host memory t (Go), sized to what the model produces, to
// the named output; Run fills it.
func (b *Binding) BindOutput(name string, t Tensor) error {
	if err := checkHost("output", name, t); err != nil {
		return err
	}
	sl := b.slotFor(b.outputs, name)
	sl.value, sl.host = nil, t
	return nil
}

// BindInputValue binds v to the named input; the run reads it where it is.
func (b *Binding) BindInputValue(name string, v *Value) error {
	sl := b.slotFor(b.inputs, name)
	if msg := C.ganrt_bind_input(b.b, sl.name, v.v); msg != nil {
		return cError("bind input "+name, msg)
	}
	sl.value, sl.host = v, Tensor{}
	return nil
}

// BindOutputValue binds v to the named output; the run writes into it.
func (b *Binding) BindOutputValue(name string, v *Value) error {
	sl := b.slotFor(b.outputs, name)
	if msg := C.ganrt_bind_output(b.b, sl.name, v.v); msg != nil {
		return cError("bind output "+name, msg)
	}
	sl.value, sl.host = v, Tensor{}
	return nil
}

func checkHost(what, name string, t Tensor) error {
	n, err := numElements(t.Shape)
	if err != nil {
		return fmt.Errorf("ort: bind %s %q: %w", what, name, err)
	}
	if n != len(t.Data) {
		return fmt.Errorf("ort: bind %s %q: shape %v has %d elements, data has %d", what, name, t.Shape, n, len(t.Data))
	}
	return nil
}

// Run runs the session on the bound values: it binds the host inputs as
// they are now, runs, and fills the host outputs. Every model input and
// output must be bound; so may be initializers that the model lets inputs
// override.
func (b *Binding) Run() error {
	if b.b == nil {
		return errors.New("ort: run: binding is closed")
	}
	if err := b.s.begin(); err != nil {
		return err
	}
	defer b.s.end()
	return b.run(nil)
}

// run is Run for a caller that counted the run in flight (Session.begin),
// with run options ro (nil: none).
func (b *Binding) run(ro *C.OrtRunOptions) error {
	for _, v := range b.s.inputs {
		if b.inputs[v.Name] == nil {
			return fmt.Errorf("ort: run: input %s is not bound", v)
		}
	}
	for _, v := range b.s.outputs {
		if b.outputs[v.Name] == nil {
			return fmt.Errorf("ort: run: output %s is not bound", v)
		}
	}
	up, err := b.bindHost(b.inputs, true)
	if err != nil {
		return err
	}
	down, err := b.bindHost(b.outputs, false)
	if err != nil {
		return err
	}
	if err := cError("run model", C.ganrt_run_binding((*C.OrtSession)(b.s.handle), ro, b.b)); err != nil {
		return err
	}
	for _, out := range b.outputs {
		if out.value == nil && out.stage != nil {
			copy(out.host.Data, out.stage.host)
		}
	}
	b.traffic.Runs++
	b.traffic.Up += up
	b.traffic.Down += down
	return nil
}

// bindHost binds the host buffers of the input (or output) slots m, and
// returns their bytes.
func (b *Binding) bindHost(m map[string]*slot, input bool) (int64, error) {
	var bytes int64
	for _, sl := range m {
		if sl.value != nil {
			continue
		}
		v, err := b.hostValue(sl, input)
		if err != nil {
			return 0, err
		}
		what, msg := "bind output ", (*C.char)(nil)
		if input {
			what, msg = "bind input ", C.ganrt_bind_input(b.b, sl.name, v)
		} else {
			msg = C.ganrt_bind_output(b.b, sl.name, v)
		}
		if msg != nil { // the message is built only on failure: Run allocates nothing
			return 0, cError(what+C.GoString(sl.name), msg)
		}
		bytes += 4 * int64(len(sl.host.Data))
	}
	return bytes, nil
}

// hostValue returns the OrtValue that carries sl's host buffer: a staging
// Value in pinned memory (inputs copied into it now) when the session has
// pinned memory, else a wrapper of the Go buffer. Both are kept for the
// next Run with the same buffer and shape.
func (b *Binding) hostValue(sl *slot, input bool) (*C.OrtValue, error) {
	t := sl.host
	k := keyOf(t)
	alloc, mem, err := b.s.stagingAllocator()
	if err != nil {
		return nil, err
	}
	if sl.key != k || (sl.wrap == nil && sl.stage == nil) {
		sl.release()
		sl.key = k
		if alloc != nil {
			if sl.stage, err = newValue(alloc, mem, t.Shape); err != nil {
				return nil, err
			}
		} else if sl.wrap, err = wrapHost(t, &sl.pin); err != nil {
			return nil, err
		}
	}
	if sl.stage != nil {
		if input {
			copy(sl.stage.host, t.Data)
		}
		return sl.stage.v, nil
	}
	return sl.wrap, nil
}

// keyOf identifies a Go buffer with a shape (tensors of rank above
// maxKeyRank share the key of their first dimensions; wrapHost rechecks).
func keyOf(t Tensor) tensorKey {
	k := tensorKey{n: len(t.Data), rank: len(t.Shape)}
	if len(t.Data) > 0 {
		k.data = &t.Data[0]
	}
	copy(k.dims[:], t.Shape)
	return k
}

// cpuMemory is plain host memory, for wrapping Go buffers; made once.
var (
	cpuMemOnce sync.Once
	cpuMem     *C.OrtMemoryInfo
	cpuMemErr  error
)

// wrapHost wraps Go buffer t in an OrtValue that points at it, pinning the
// buffer with pin while the wrapper lives (ORT keeps the pointer).
func wrapHost(t Tensor, pin *runtime.Pinner) (*C.OrtValue, error) {
	if len(t.Shape) > maxKeyRank {
		return nil, fmt.Errorf("ort: bind: rank %d is above %d", len(t.Shape), maxKeyRank)
	}
	cpuMemOnce.Do(func() { cpuMemErr = cError("create CPU memory info", C.ganrt_cpu_memory(&cpuMem)) })
	if cpuMemErr != nil {
		return nil, cpuMemErr
	}
	var data unsafe.Pointer
	if len(t.Data) > 0 {
		pin.Pin(&t.Data[0])
		data = unsafe.Pointer(&t.Data[0])
	}
	var v *C.OrtValue
	if err := cError(fmt.Sprintf("wrap tensor %v", t.Shape), C.ganrt_tensor_wrap(cpuMem, data, C.size_t(4*len(t.Data)), cShape(t.Shape), C.size_t(len(t.Shape)), &v)); err != nil {
		pin.Unpin()
		return nil, err
	}
	return v, nil
}

// bindState is a Session's I/O-binding state: bindings kept for Run, and
// the pinned host allocator that stages host buffers on a GPU.
type bindState struct {
	mu      sync.Mutex
	idle    []*Binding // for Run; at most maxIdleBindings
	once    sync.Once
	alloc   *C.OrtAllocator // nil: wrap Go buffers instead
	allocOf MemoryInfo
	why     string // why there is no pinned memory on a GPU session
	// forceStaging stages through the session's CPU allocator on the CPU
	// too, so that tests run the staging code without a GPU.
	forceStaging bool
}

// maxIdleBindings bounds the bindings a Session keeps for Run.
const maxIdleBindings = 8

// stagingAllocator returns the allocator of pinned host memory that host
// buffers of a GPU session go through, or nil to wrap Go buffers (the CPU,
// or a GPU provider without pinned memory). It is looked up once.
func (s *Session) stagingAllocator() (*C.OrtAllocator, MemoryInfo, error) {
	st := s.bind
	st.once.Do(func() {
		if s.device.Kind == KindCPU && !st.forceStaging {
			return
		}
		st.alloc, st.allocOf, st.why = s.pinnedAllocator()
	})
	return st.alloc, st.allocOf, nil
}

// pinnedAllocator finds the session's host memory for transfers: the EP
// device's host-accessible memory for the CUDA plugin, "CudaPinned" for a
// built-in CUDA, the CPU allocator on the CPU (tests). It returns nil and
// why when there is none.
func (s *Session) pinnedAllocator() (*C.OrtAllocator, MemoryInfo, string) {
	var info *C.OrtMemoryInfo
	owned := false
	switch {
	case s.device.Kind == KindCPU:
		if err := cError("create CPU memory info", C.ganrt_cpu_memory(&info)); err != nil {
			return nil, MemoryInfo{}, err.Error()
		}
		owned = true
	case s.epDevice != nil:
		info = C.ganrt_ep_memory(s.epDevice.handle, C.ganrtMemoryHostAccessible)
		if info == nil {
			return nil, MemoryInfo{}, s.epDevice.EP + " offers no host-accessible memory"
		}
	default:
		name := C.CString("CudaPinned")
		defer C.free(unsafe.Pointer(name))
		if err := cError("describe pinned memory", C.ganrt_memory_new(name, C.int(s.device.ID), -1, &info)); err != nil {
			return nil, MemoryInfo{}, err.Error()
		}
		owned = true
	}
	if owned {
		defer C.ganrt_release_memory(info)
	}
	mem, err := describeMemory(info)
	if err != nil {
		return nil, MemoryInfo{}, err.Error()
	}
	var a *C.OrtAllocator
	if err := cError("create allocator for "+mem.String(), C.ganrt_allocator((*C.OrtSession)(s.handle), info, &a)); err != nil {
		return nil, MemoryInfo{}, err.Error()
	}
	return a, mem, ""
}

// PinnedMemory returns the pinned host memory that host buffers of the
// session go through, or ok false and why not (always, on the CPU).
func (s *Session) PinnedMemory() (mem MemoryInfo, ok bool, why string) {
	if s.handleErr != nil {
		return MemoryInfo{}, false, s.handleErr.Error()
	}
	a, m, _ := s.stagingAllocator()
	if a == nil {
		if s.bind.why == "" {
			return MemoryInfo{}, false, "the session runs on the CPU"
		}
		return MemoryInfo{}, false, s.bind.why
	}
	return m, true, ""
}

// inputMemory returns where the session expects each input, in Inputs
// order.
func (s *Session) inputMemory() ([]MemoryInfo, error) {
	return s.ioMemory(false)
}

// ioMemory returns where the session expects each input (outputs false) or
// produces each output.
func (s *Session) ioMemory(outputs bool) ([]MemoryInfo, error) {
	if s.handleErr != nil {
		return nil, s.handleErr
	}
	n := len(s.inputs)
	flag := 0
	if outputs {
		n, flag = len(s.outputs), 1
	}
	infos := (**C.OrtMemoryInfo)(C.calloc(C.size_t(max(n, 1)), C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(infos))
	if err := cError("get session memory info", C.ganrt_session_memory((*C.OrtSession)(s.handle), C.int(flag), infos, C.size_t(n))); err != nil {
		return nil, err
	}
	out := make([]MemoryInfo, n)
	for i, m := range unsafe.Slice(infos, n) {
		if m == nil {
			out[i] = MemoryInfo{Name: "Cpu", Device: "cpu"}
			continue
		}
		var err error
		if out[i], err = describeMemory(m); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// releaseBindings frees the Session's binding state. Callers hold s.mu
// after the last run.
func (s *Session) releaseBindings() {
	st := s.bind
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, b := range st.idle {
		b.Close()
	}
	st.idle = nil
	if st.alloc != nil {
		C.ganrt_release_allocator(st.alloc)
		st.alloc = nil
	}
}

// runBound is Run through I/O binding, for sessions that bind: inputs and
// outputs are host buffers of a binding from the session's idle list.
func (s *Session) runBound(ctx context.Context, inputs, outputs []Tensor) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ort: run: %w", err)
	}
	// Counted in flight from the start: Close must not free the session or
	// the idle bindings while this run makes or returns one.
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	st := s.bind
	st.mu.Lock()
	var b *Binding
	if n := len(st.idle); n > 0 {
		b, st.idle = st.idle[n-1], st.idle[:n-1]
	}
	st.mu.Unlock()
	if b == nil {
		var err error
		if b, err = s.NewBinding(); err != nil {
			return err
		}
	}
	err := func() error {
		for i, t := range inputs {
			if err := b.BindInput(s.inputs[i].Name, t); err != nil {
				return err
			}
		}
		for i, t := range outputs {
			if err := b.BindOutput(s.outputs[i].Name, t); err != nil {
				return err
			}
		}
		if ctx.Done() == nil {
			return b.run(nil)
		}
		var ro *C.OrtRunOptions
		if err := cError("create run options", C.ganrt_run_options_new(&ro)); err != nil {
			return err
		}
		defer C.ganrt_run_options_release(ro)
		stop := onDone(ctx, func() { C.free(unsafe.Pointer(C.ganrt_run_options_terminate(ro))) })
		err := b.run(ro)
		stop()
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return err
	}()
	st.mu.Lock()
	if len(st.idle) < maxIdleBindings {
		st.idle = append(st.idle, b)
		b = nil
	}
	st.mu.Unlock()
	if b != nil {
		b.Close()
	}
	return err
}
