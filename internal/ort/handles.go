package ort

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	onnxruntime "github.com/yalue/onnxruntime_go"
)

// onnxruntime_go v1.27.0 keeps the C handles of its session options and
// sessions in unexported fields: SessionOptions{o *C.OrtSessionOptions} and
// DynamicAdvancedSession{s *AdvancedSession}, AdvancedSession{ortSession
// *C.OrtSession, ...}. Appending plugin EP devices
// (SessionOptionsAppendExecutionProvider_V2) and I/O binding with ORT-owned
// memory need those handles, which the package does not hand out, so
// sessionOptionsHandle and sessionHandle read the fields. checkHandleLayout
// verifies with reflect, once, that each field is a pointer at offset 0 of
// its struct, as read below; a different onnxruntime_go version that moves
// them makes both return an error instead of reading garbage.

// handleField describes where a handle is expected: the struct type, the
// field's name, and that it is a pointer at offset 0.
type handleField struct {
	typ  reflect.Type
	name string
}

var (
	layoutOnce sync.Once
	layoutErr  error
)

// checkHandleLayout returns nil when onnxruntime_go's structs hold the
// handles where sessionOptionsHandle and sessionHandle read them.
func checkHandleLayout() error {
	layoutOnce.Do(func() {
		dyn := reflect.TypeFor[onnxruntime.DynamicAdvancedSession]()
		fields := []handleField{
			{reflect.TypeFor[onnxruntime.SessionOptions](), "o"},
			{dyn, "s"},
		}
		if f, ok := dyn.FieldByName("s"); ok && f.Type.Kind() == reflect.Pointer {
			fields = append(fields, handleField{f.Type.Elem(), "ortSession"})
		}
		if len(fields) != 3 {
			layoutErr = fmt.Errorf("ort: onnxruntime_go's DynamicAdvancedSession has no pointer field s")
			return
		}
		for _, hf := range fields {
			f, ok := hf.typ.FieldByName(hf.name)
			if !ok || f.Offset != 0 || f.Type.Kind() != reflect.Pointer {
				layoutErr = fmt.Errorf("ort: onnxruntime_go's %s has no pointer field %s at offset 0 (this ganrt needs onnxruntime_go v1.27.0's layout)", hf.typ, hf.name)
				return
			}
		}
	})
	return layoutErr
}

// sessionOptionsHandle returns the OrtSessionOptions behind so.
func sessionOptionsHandle(so *onnxruntime.SessionOptions) (unsafe.Pointer, error) {
	if err := checkHandleLayout(); err != nil {
		return nil, err
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(so)), nil
}

// sessionHandle returns the OrtSession behind s.
func sessionHandle(s *onnxruntime.DynamicAdvancedSession) (unsafe.Pointer, error) {
	if err := checkHandleLayout(); err != nil {
		return nil, err
	}
	adv := *(*unsafe.Pointer)(unsafe.Pointer(s))
	return *(*unsafe.Pointer)(adv), nil
}
