package ort

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// onnxruntime_go does not wrap OrtApi::GetAvailableProviders, so this calls it
// directly. OrtApi is a table of function pointers whose order ONNX Runtime
// keeps fixed across releases (new entries are only appended), so the
// indexes below, read off onnxruntime_c_api.h, hold for every API version
// since they were added.
typedef struct OrtStatus OrtStatus;
typedef struct {
	void *const *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} ganrtOrtApiBase;
typedef ganrtOrtApiBase *(*ganrtGetApiBaseFn)(void);
typedef const char *(*ganrtGetErrorMessageFn)(const OrtStatus *);
typedef void (*ganrtReleaseStatusFn)(OrtStatus *);
typedef OrtStatus *(*ganrtGetAvailableProvidersFn)(char ***, int *);
typedef OrtStatus *(*ganrtReleaseAvailableProvidersFn)(char **, int);

enum {
	ganrtApiVersion = 24, // ORT_API_VERSION of onnxruntime_go v1.27.0
	ganrtGetErrorMessage = 2,
	ganrtReleaseStatus = 93,
	ganrtGetAvailableProviders = 125,
	ganrtReleaseAvailableProviders = 126,
};

// ganrt_providers sets *out to ORT's provider names (release with
// ganrt_release_providers) and returns NULL, or returns an error message to
// free() with free.
static char *ganrt_providers(const char *lib, char ***out, int *n) {
	void *h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
	if (h == NULL) return strdup("library is not loaded");
	ganrtGetApiBaseFn getBase = (ganrtGetApiBaseFn)dlsym(h, "OrtGetApiBase");
	dlclose(h); // the library stays loaded: onnxruntime_go holds it open
	if (getBase == NULL) return strdup("OrtGetApiBase not found");
	void *const *api = getBase()->GetApi(ganrtApiVersion);
	if (api == NULL) return strdup("ORT C API version 24 not supported");
	OrtStatus *st = ((ganrtGetAvailableProvidersFn)api[ganrtGetAvailableProviders])(out, n);
	if (st == NULL) return NULL;
	char *msg = strdup(((ganrtGetErrorMessageFn)api[ganrtGetErrorMessage])(st));
	((ganrtReleaseStatusFn)api[ganrtReleaseStatus])(st);
	return msg;
}

static void ganrt_release_providers(const char *lib, char **p, int n) {
	void *h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
	if (h == NULL) return;
	ganrtGetApiBaseFn getBase = (ganrtGetApiBaseFn)dlsym(h, "OrtGetApiBase");
	dlclose(h);
	if (getBase == NULL) return;
	void *const *api = getBase()->GetApi(ganrtApiVersion);
	if (api == NULL) return;
	OrtStatus *st = ((ganrtReleaseAvailableProvidersFn)api[ganrtReleaseAvailableProviders])(p, n);
	if (st != NULL) ((ganrtReleaseStatusFn)api[ganrtReleaseStatus])(st);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	onnxruntime "github.com/yalue/onnxruntime_go"
)

// ORT's names of the execution providers ganrt uses, as AvailableProviders
// reports them.
const (
	ProviderCPU      = "CPUExecutionProvider"
	ProviderCUDA     = "CUDAExecutionProvider"
	ProviderTensorRT = "TensorrtExecutionProvider"
)

// AvailableProviders returns the execution providers compiled into the loaded
// ONNX Runtime library, such as [TensorrtExecutionProvider CUDAExecutionProvider
// CPUExecutionProvider] for a GPU build. It lists what the library was
// compiled with: the library `make ort` installs lists CUDA and TensorRT too,
// but ships without their provider libraries, so use CheckProvider to learn
// whether a provider can actually be used. It calls Init("") if nobody has.
func AvailableProviders() ([]string, error) {
	if err := Init(""); err != nil {
		return nil, err
	}
	lib := C.CString(LibraryPath())
	defer C.free(unsafe.Pointer(lib))
	var list **C.char
	var n C.int
	if msg := C.ganrt_providers(lib, &list, &n); msg != nil {
		defer C.free(unsafe.Pointer(msg))
		return nil, fmt.Errorf("ort: get available providers: %s", C.GoString(msg))
	}
	defer C.ganrt_release_providers(lib, list, n)
	names := make([]string, 0, int(n))
	for _, p := range unsafe.Slice(list, int(n)) {
		names = append(names, C.GoString(p))
	}
	return names, nil
}

// ErrProviderUnavailable is wrapped by NewSession's error when the device
// needs an execution provider that the loaded library was built without
// (cuda or tensorrt with the CPU build).
var ErrProviderUnavailable = errors.New("execution provider unavailable")

// providerChecks caches CheckProvider's answers: whether a provider's
// libraries load does not change while the process runs.
var (
	providerMu     sync.Mutex
	providerChecks = map[Kind]error{}
)

// CheckProvider reports whether the execution provider of device kind k can
// be used with the loaded library: nil, or an error wrapping
// ErrProviderUnavailable that says why. A provider is usable when the library
// lists it (AvailableProviders) and its provider libraries load, which it
// checks by configuring a throwaway session for GPU 0; tensorrt needs the
// CUDA provider too. It does not check that a GPU is present: creating a
// session does. KindCPU and KindAuto always return nil. It calls Init("") if
// nobody has.
func CheckProvider(k Kind) error {
	var providers []string
	switch k {
	case KindCPU, KindAuto:
		return nil
	case KindCUDA:
		providers = []string{ProviderCUDA}
	case KindTensorRT:
		providers = []string{ProviderTensorRT, ProviderCUDA}
	default:
		return fmt.Errorf("ort: unknown device kind %v", k)
	}
	providerMu.Lock()
	defer providerMu.Unlock()
	if err, ok := providerChecks[k]; ok {
		return err
	}
	have, err := AvailableProviders()
	if err != nil {
		return err
	}
	for _, p := range providers {
		if !slices.Contains(have, p) {
			err = fmt.Errorf("%w: %s has no %s (it has %v); set %s to an official ONNX Runtime GPU build",
				ErrProviderUnavailable, LibraryPath(), p, have, EnvLibraryPath)
			break
		}
	}
	if err == nil {
		var so *onnxruntime.SessionOptions
		if so, err = newORTOptions(SessionOptions{}, k, 0); err == nil {
			so.Destroy()
		} else {
			err = fmt.Errorf("%w: %s lists %v but cannot load it (%v); set %s to an official ONNX Runtime GPU build with its provider libraries (and CUDA/cuDNN/TensorRT) installed",
				ErrProviderUnavailable, LibraryPath(), providers, err, EnvLibraryPath)
		}
	}
	providerChecks[k] = err
	return err
}
