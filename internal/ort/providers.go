package ort

/*
#include <stdlib.h>
#include "capi.h"
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
// but ships without their provider libraries, and the one `make ort-gpu`
// installs lists only the CPU although its CUDA plugin adds CUDA at run time,
// so use CheckProvider to learn whether a provider can actually be used. It
// calls Init("") if nobody has.
func AvailableProviders() ([]string, error) {
	if err := Init(""); err != nil {
		return nil, err
	}
	var list **C.char
	var n C.int
	if err := cError("get available providers", C.ganrt_providers(&list, &n)); err != nil {
		return nil, err
	}
	defer C.ganrt_release_providers(list, n)
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

// providerChecks caches CheckProvider's answers, and cuda how cuda sessions
// get their provider: whether a provider's libraries load does not change
// while the process runs.
var (
	providerMu     sync.Mutex
	providerChecks = map[Kind]error{}
	cuda           *cudaState // set by a successful resolveCUDA
)

// cudaState is how cuda sessions get the CUDA provider.
type cudaState struct {
	// plugin is true for the plugin route: the CUDA plugin library is
	// registered and devices holds its devices, GPU ordinal order; false for
	// a core with CUDA built in (classic provider options).
	plugin  bool
	devices []EPDevice
}

// CheckProvider reports whether the execution provider of device kind k can
// be used with the loaded library: nil, or an error wrapping
// ErrProviderUnavailable that says why. For cuda there are two routes:
//
//   - a core with CUDA built in (an official GPU build) when it lists CUDA
//     and its provider library loads, checked by configuring a throwaway
//     session for GPU 0;
//   - otherwise, or whenever a plugin is named (Libraries.CUDAPlugin,
//     $GANRT_CUDA_PLUGIN), the CUDA plugin library (see CUDAPluginPath): it
//     must register and show at least one device. A plugin that does not
//     load is an error naming the CUDA libraries that do not load.
//
// tensorrt needs a core with TensorRT and CUDA built in. CheckProvider does
// not check that a built-in CUDA finds a GPU: creating a session does.
// KindCPU and KindAuto always return nil. It calls Init("") if nobody has.
func CheckProvider(k Kind) error {
	switch k {
	case KindCPU, KindAuto:
		return nil
	case KindCUDA, KindTensorRT:
	default:
		return fmt.Errorf("ort: unknown device kind %v", k)
	}
	providerMu.Lock()
	defer providerMu.Unlock()
	if err, ok := providerChecks[k]; ok {
		return err
	}
	var err error
	if k == KindCUDA {
		err = resolveCUDA()
	} else {
		err = checkTensorRT()
	}
	providerChecks[k] = err
	return err
}

// resolveCUDA finds how cuda sessions get CUDA and sets cuda. Callers hold
// providerMu.
func resolveCUDA() error {
	have, err := AvailableProviders()
	if err != nil {
		return err
	}
	plugin, source := CUDAPluginPath()
	named := source == sourceArgument || source == "$"+EnvCUDAPlugin
	var builtInErr error
	if !named && slices.Contains(have, ProviderCUDA) {
		builtInErr = tryClassic(func(so *onnxruntime.SessionOptions) error {
			return appendCUDA(so, cudaProviderOptions(CUDAOptions{}, 0))
		})
		if builtInErr == nil {
			cuda = &cudaState{}
			return nil
		}
		if plugin == "" {
			return fmt.Errorf("%w: %s lists %s but cannot load it (%v); install its provider libraries with CUDA and cuDNN, or run `make ort-gpu` for the CUDA plugin build",
				ErrProviderUnavailable, LibraryPath(), ProviderCUDA, builtInErr)
		}
	}
	if err := registerCUDAPlugin(); err != nil {
		if builtInErr != nil {
			return fmt.Errorf("%w (and the built-in CUDA of %s does not load: %v)", err, LibraryPath(), builtInErr)
		}
		return err
	}
	devs, err := epDevicesOf(ProviderCUDA)
	if err != nil {
		return err
	}
	if len(devs) == 0 {
		return fmt.Errorf("%w: the CUDA plugin %s loaded but offers no device (%s): no GPU is visible, or the NVIDIA driver is not loaded",
			ErrProviderUnavailable, plugin, ProviderCUDA)
	}
	cuda = &cudaState{plugin: true, devices: devs}
	return nil
}

// checkTensorRT checks that the core has TensorRT and CUDA built in and that
// their provider libraries load. Callers hold providerMu.
func checkTensorRT() error {
	have, err := AvailableProviders()
	if err != nil {
		return err
	}
	for _, p := range []string{ProviderTensorRT, ProviderCUDA} {
		if !slices.Contains(have, p) {
			return fmt.Errorf("%w: %s has no %s built in (it has %v); set %s to an official ONNX Runtime GPU build with TensorRT",
				ErrProviderUnavailable, LibraryPath(), p, have, EnvLibraryPath)
		}
	}
	err = tryClassic(func(so *onnxruntime.SessionOptions) error {
		if err := appendTensorRT(so, tensorRTProviderOptions(TensorRTOptions{}, 0)); err != nil {
			return err
		}
		return appendCUDA(so, cudaProviderOptions(CUDAOptions{}, 0))
	})
	if err != nil {
		return fmt.Errorf("%w: %s lists %s but cannot load it (%v); set %s to an official ONNX Runtime GPU build with its provider libraries (and CUDA/cuDNN/TensorRT) installed",
			ErrProviderUnavailable, LibraryPath(), ProviderTensorRT, err, EnvLibraryPath)
	}
	return nil
}

// tryClassic configures throwaway session options with add, which loads a
// built-in provider's library, and reports whether that worked.
func tryClassic(add func(*onnxruntime.SessionOptions) error) error {
	so, err := onnxruntime.NewSessionOptions()
	if err != nil {
		return fmt.Errorf("ort: create session options: %w", err)
	}
	defer so.Destroy()
	return add(so)
}

// cudaFor returns the CUDA route for GPU id, resolving it if needed: nil
// and an error wrapping ErrProviderUnavailable when CUDA cannot be used,
// or when the plugin has no device id.
func cudaFor(id int) (*cudaState, error) {
	if err := CheckProvider(KindCUDA); err != nil {
		return nil, err
	}
	providerMu.Lock()
	st := cuda
	providerMu.Unlock()
	if st.plugin && (id < 0 || id >= len(st.devices)) {
		return nil, fmt.Errorf("%w: cuda:%d: the CUDA plugin offers %d devices (cuda:0 to cuda:%d)", ErrProviderUnavailable, id, len(st.devices), len(st.devices)-1)
	}
	return st, nil
}
