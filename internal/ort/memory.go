package ort

/*
#include "capi.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/internal/onnxpb"
)

// Memory allocates tensors (Values) in the memory of one device, where they
// stay between runs of any session on that device, and copies between them
// and Go buffers. It is what keeps a training run's parameters and
// optimizer state on a GPU: the step sessions bind its Values, and only
// Upload and Download cross the bus.
//
// A Memory owns a tiny session (an ONNX Identity) on the device: its
// allocator allocates the Values, and running it with one side bound to a
// Go buffer and the other to a Value is the copy, so that the same code
// copies on every provider ORT has, the CPU included. Its methods are safe
// for concurrent use. The creator calls Close after every Value it made is
// closed and every session that binds them is done.
type Memory struct {
	sess  *Session
	alloc *C.OrtAllocator
	info  MemoryInfo

	mu   sync.Mutex // serializes copies through bind
	bind *Binding
}

// NewMemory returns the memory of the device opts selects (with auto
// resolved as NewSession resolves it; other options such as threads apply
// to the copies).
func NewMemory(opts SessionOptions) (*Memory, error) {
	opts.Binding = BindNever
	opts.TensorCacheSize = -1
	sess, err := NewSession(identityModel(), opts)
	if err != nil {
		return nil, fmt.Errorf("ort: memory: %w", err)
	}
	m := &Memory{sess: sess}
	if err := m.init(); err != nil {
		sess.Close()
		return nil, fmt.Errorf("ort: memory on %v: %w", sess.Device(), err)
	}
	return m, nil
}

// init finds the device memory and makes the allocator and binding.
func (m *Memory) init() error {
	if m.sess.handleErr != nil {
		return fmt.Errorf("%w: %w", ErrNoBinding, m.sess.handleErr)
	}
	infos := make([]*C.OrtMemoryInfo, 1)
	if err := cError("get memory info", C.ganrt_session_memory((*C.OrtSession)(m.sess.handle), 0, &infos[0], 1)); err != nil {
		return err
	}
	if infos[0] == nil {
		return errors.New("ort: the session reports no memory for its input")
	}
	var err error
	if m.info, err = describeMemory(infos[0]); err != nil {
		return err
	}
	if err := cError("create allocator for "+m.info.String(), C.ganrt_allocator((*C.OrtSession)(m.sess.handle), infos[0], &m.alloc)); err != nil {
		return err
	}
	if m.bind, err = m.sess.NewBinding(); err != nil {
		C.ganrt_release_allocator(m.alloc)
		m.alloc = nil
		return err
	}
	return nil
}

// identityModel is an ONNX model whose float32 output y is its input x, of
// any shape.
func identityModel() []byte { return oneNodeModel("copy", "Identity", "x") }

// oneNodeModel is an ONNX model named name with one float32 input x and one
// output y of any shape, y = op(inputs...).
func oneNodeModel(name, op string, inputs ...string) []byte {
	anyFloat := func(name string) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
			Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}}}}
	}
	m := &onnxpb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("ganrt"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{
			Name:   proto.String(name),
			Node:   []*onnxpb.NodeProto{{OpType: proto.String(op), Input: inputs, Output: []string{"y"}}},
			Input:  []*onnxpb.ValueInfoProto{anyFloat("x")},
			Output: []*onnxpb.ValueInfoProto{anyFloat("y")},
		},
	}
	b, err := proto.Marshal(m)
	if err != nil {
		panic("ort: marshal the " + name + " model: " + err.Error())
	}
	return b
}

// Device returns the device the memory belongs to.
func (m *Memory) Device() Device { return m.sess.Device() }

// Info returns where NewValue allocates.
func (m *Memory) Info() MemoryInfo { return m.info }

// NewValue allocates a tensor of shape; its contents are undefined until
// written (by Upload or as a bound output).
func (m *Memory) NewValue(shape ...int64) (*Value, error) {
	return newValue(m.alloc, m.info, shape)
}

// Upload copies src, row-major with v's number of elements, into v.
func (m *Memory) Upload(v *Value, src []float32) error {
	if len(src) != v.n {
		return fmt.Errorf("ort: upload: %d elements into a value of shape %v", len(src), v.shape)
	}
	return m.copy(Tensor{Shape: v.shape, Data: src}, v, true)
}

// Download copies v into dst, which has v's number of elements.
func (m *Memory) Download(dst []float32, v *Value) error {
	if len(dst) != v.n {
		return fmt.Errorf("ort: download: a value of shape %v into %d elements", v.shape, len(dst))
	}
	return m.copy(Tensor{Shape: v.shape, Data: dst}, v, false)
}

// copy runs the identity from host to v (up) or from v to host.
func (m *Memory) copy(host Tensor, v *Value, up bool) error {
	if v.n == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var err error
	if up {
		err = errors.Join(m.bind.BindInput("x", host), m.bind.BindOutputValue("y", v))
	} else {
		err = errors.Join(m.bind.BindInputValue("x", v), m.bind.BindOutput("y", host))
	}
	if err == nil {
		err = m.bind.Run()
	}
	// Keep no reference to v or to the Go buffer between copies.
	m.bind.unbind()
	return err
}

// Traffic returns the bytes Upload (Up) and Download (Down) moved so far.
func (m *Memory) Traffic() Traffic {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bind.traffic
}

// Close frees the allocator and the copy session. It may be called more
// than once.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil {
		return nil
	}
	m.bind.Close()
	C.ganrt_release_allocator(m.alloc)
	err := m.sess.Close()
	m.sess = nil
	return err
}
