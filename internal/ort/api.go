package ort

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "capi.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// bindAPI points ganrt's own C API calls (capi.h) at the loaded library at
// path. Callers hold initMu.
func bindAPI(path string) error {
	p := C.CString(path)
	defer C.free(unsafe.Pointer(p))
	return cError("bind the C API", C.ganrt_load(p))
}

// cError turns an error message from capi.c (freed here) into an error
// saying what was being done, or nil for none.
func cError(what string, msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return fmt.Errorf("ort: %s: %s", what, C.GoString(msg))
}

// apiIndex returns the OrtApi table index that capi.c uses for the named
// entry, or -1 when it uses none: for the test that checks capi.c against
// the C API header.
func apiIndex(name string) int {
	p := C.CString(name)
	defer C.free(unsafe.Pointer(p))
	return int(C.ganrt_api_index(p))
}
